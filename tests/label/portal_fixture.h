// A real portal on loopback for the HTTP tests: Browser (one client with its cookie and CSRF
// token) and PortalTest (a server on a fresh store, the admin, invited annotators, jobs).
#pragma once

#include <httplib.h>

#include <mutex>
#include <thread>
#include <vector>

#include "label_fixture.h"
#include "tenet/label/portal_server.h"

namespace tenet::label::testing {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
  std::string set_cookie;
  std::string raw;
  std::string code() const { return body.contains("error") ? body["error"]["code"].get<std::string>() : ""; }
};

// One browser: its cookie and CSRF token.
class Browser {
 public:
  explicit Browser(int port) : cli_("127.0.0.1", port) { cli_.set_read_timeout(10, 0); }
  Reply Get(const std::string& path) { return Wrap(cli_.Get(path, Headers())); }
  Reply Post(const std::string& path, const json& body, bool csrf = true) { return PostRaw(path, body.dump(), "application/json", csrf); }
  Reply PostRaw(const std::string& path, const std::string& body, const std::string& type, bool csrf = true) {
    httplib::Headers h = Headers();
    if (csrf && !csrf_.empty()) h.emplace("X-CSRF-Token", csrf_);
    return Wrap(cli_.Post(path, h, body, type));
  }
  void SignIn(const Reply& r) {
    ASSERT_EQ(r.status, 200) << r.raw;
    const size_t eq = r.set_cookie.find('='), semi = r.set_cookie.find(';');
    cookie_ = r.set_cookie.substr(eq + 1, semi - eq - 1);
    csrf_ = r.body["csrf_token"];
  }
  std::string cookie_, csrf_;

 private:
  httplib::Headers Headers() const {
    httplib::Headers h;
    if (!cookie_.empty()) h.emplace("Cookie", "tenet_session=" + cookie_);
    return h;
  }
  static Reply Wrap(const httplib::Result& res) {
    Reply r;
    if (!res) return r;
    r.status = res->status;
    r.raw = res->body;
    r.set_cookie = res->get_header_value("Set-Cookie");
    r.body = json::parse(res->body, nullptr, false);
    return r;
  }
  httplib::Client cli_;
};

class PortalTest : public LabelStoreTest {
 protected:
  void SetUp() override {
    LabelStoreTest::SetUp();
    server_ = std::make_unique<PortalServer>(*db_, Options());
    ASSERT_TRUE(server_->Bind("127.0.0.1", 0).ok());
    thread_ = std::thread([this] { (void)server_->Run(); });
    for (int i = 0; i < 200 && !httplib::Client("127.0.0.1", server_->port()).Get("/login"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  virtual PortalOptions Options() {
    PortalOptions o;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    return o;
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
  }
  Browser Admin() {
    Accounts accounts(*db_);
    auto admin = accounts.EnsureAdmin();
    auto token = accounts.CreateSigninLink(admin->id, 60);
    Browser b(server_->port());
    httplib::Client c("127.0.0.1", server_->port());
    auto res = c.Get("/signin/" + *token);
    EXPECT_EQ(res->status, 303);
    EXPECT_EQ(res->get_header_value("Location"), "/admin");
    Reply r;
    r.status = 200;
    r.set_cookie = res->get_header_value("Set-Cookie");
    b.cookie_ = r.set_cookie.substr(r.set_cookie.find('=') + 1, r.set_cookie.find(';') - r.set_cookie.find('=') - 1);
    Reply me = b.Get("/api/me");
    b.csrf_ = me.body["csrf_token"];
    EXPECT_EQ(me.body["user"]["role"], "admin");
    EXPECT_EQ(c.Get("/signin/" + *token)->status, 410);  // one-time
    return b;
  }
  // Invited through the admin API, accepted through the public API.
  Browser Invited(Browser& admin, const std::string& email, const std::string& team) {
    Reply inv = admin.Post("/api/admin/invitations", {{"email", email}, {"team", team}});
    EXPECT_EQ(inv.status, 200) << inv.raw;
    const std::string token = inv.body["link"].get<std::string>().substr(8);
    Browser b(server_->port());
    b.SignIn(b.Post("/api/invitations/" + token + "/accept", {{"name", email}, {"password", "a long password"}}));
    return b;
  }
  int64_t CreateJob(Browser& admin, const std::string& name, json extra = json::object()) {
    json body = {{"name", name}, {"instructions_md", "# Rank"}, {"responses_jsonl", ResponsesJsonl(3, 3, name)}, {"annotators_per_item", 1}};
    body.update(extra);
    Reply r = admin.Post("/api/admin/jobs", body);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["job"]["id"];
  }
  int64_t Submissions() { return Count("SELECT count(*) FROM submissions"); }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  std::unique_ptr<PortalServer> server_;
  std::thread thread_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

}  // namespace tenet::label::testing
