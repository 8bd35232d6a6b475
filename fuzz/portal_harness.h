// The labeling portal for the HTTP fuzz targets: a real PortalServer on a real store (in the
// scratch folder), fed one connection's bytes through a socketpair, exactly the path an accepted
// socket takes (TENET_FUZZ_SHOW=1 prints each reply). Inputs reach signed-in routes through markers the harness replaces with live
// credentials: @A@ / @C@ the admin's session token / CSRF token, @a@ / @c@ an annotator's.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "fuzz_util.h"
#include "tenet/label/accounts.h"
#include "tenet/label/jobs.h"
#include "tenet/label/portal_server.h"

namespace tenet::fuzz {

class PortalHarness {
 public:
  PortalHarness() {
    db_ = std::move(label::LabelDb::Open(ScratchDir() + "/labels.db")).value();
    label::PortalOptions o;
    o.log = [](const std::string&) {};
    server_ = std::make_unique<label::PortalServer>(*db_, o);
    label::Accounts accounts(*db_);
    auto inv = std::move(accounts.Invite("ann@example.com", "team", 3600)).value();
    annotator_ = std::move(accounts.AcceptInvitation(inv.second, "Ann", "a long password")).value();
    annotator_id_ = annotator_.session.user.id;
    label::JobSpec spec;
    spec.name = "job";
    spec.instructions_md = "# Rank";
    spec.teams = {"team"};
    spec.annotators_per_item = 2;
    auto items = label::ParseResponses(
        "{\"id\":\"q1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"responses\":[\"a\",\"b\",\"c\"]}\n"
        "{\"source\":\"Rates?\",\"responses\":[\"x\",\"y\"]}\n",
        "seed");
    (void)label::Jobs(*db_).Create(spec, *items);
  }

  // Serves `request` (after replacing the markers) as one connection; returns the bytes sent back.
  std::string Serve(std::string request) {
    Refresh();
    Replace(request, "@A@", admin_.token);
    Replace(request, "@C@", admin_.session.csrf_token);
    Replace(request, "@a@", annotator_.token);
    Replace(request, "@c@", annotator_.session.csrf_token);
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return "";
    std::string reply;
    std::thread client([&] {
      size_t off = 0;
      while (off < request.size()) {
        const ssize_t n = ::send(fds[1], request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::shutdown(fds[1], SHUT_WR);
      char buf[16384];
      for (ssize_t n; (n = ::recv(fds[1], buf, sizeof(buf), 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
    });
    server_->ServeSocket(fds[0]);  // closes fds[0]
    client.join();
    ::close(fds[1]);
    if (std::getenv("TENET_FUZZ_SHOW")) std::fprintf(stderr, "%s\n----\n", reply.c_str());  // for writing seeds
    return reply;
  }

 private:
  static void Replace(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  }
  // Inputs may sign out, deactivate the annotator or fail sign-ins: keep live credentials.
  void Refresh() {
    label::Accounts accounts(*db_);
    if (admin_.token.empty() || !accounts.Authenticate(admin_.token).ok()) {
      const auto admin = std::move(accounts.EnsureAdmin()).value();
      const std::string link = std::move(accounts.CreateSigninLink(admin.id, 3600)).value();
      admin_ = std::move(accounts.UseSigninLink(link)).value();
    }
    if (!accounts.Authenticate(annotator_.token).ok()) {
      (void)accounts.SetActive(annotator_id_, true);
      auto s = accounts.Login("ann@example.com", "a long password");
      if (s.ok()) annotator_ = std::move(s).value();
    }
  }

  std::unique_ptr<label::LabelDb> db_;
  std::unique_ptr<label::PortalServer> server_;
  int64_t annotator_id_ = 0;
  label::NewSession admin_, annotator_;
};

inline PortalHarness& Portal() {
  static PortalHarness* h = new PortalHarness();  // lives until exit, as the server would
  return *h;
}

}  // namespace tenet::fuzz
