// `tenet label serve` and `tenet label admin-link`: the annotator portal and its admin sign-in.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/label/accounts.h"
#include "tenet/label/portal_server.h"

namespace tenet::cli {

namespace {
constexpr int64_t kAdminLinkTtlS = 24 * 3600;

Result<std::string> NewAdminLink(label::LabelDb& db) {
  label::Accounts accounts(db);
  TENET_ASSIGN_OR_RETURN(label::User admin, accounts.EnsureAdmin());
  return accounts.CreateSigninLink(admin.id, kAdminLinkTtlS);
}
}  // namespace

RunFn AddLabelServeCommand(CLI::App& sub) {
  struct Args {
    std::string db, host = "127.0.0.1";
    int port = 8080;
    label::PortalOptions portal;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database (SQLite file; created if missing)")->required();
  sub.add_option("--host", a->host, "Address to listen on")->capture_default_str();
  sub.add_option("--port", a->port, "Port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  http::Limits& l = a->portal.http;
  sub.add_option("--threads", l.threads, "Worker threads (one per open connection)")->capture_default_str()->check(CLI::Range(2, 4096));
  sub.add_option("--max-connections-per-client", l.max_connections_per_client,
                 "Open connections one address may hold; more are refused with 503 (raise it behind a reverse proxy)")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sub.add_option("--header-timeout", l.header_timeout_s, "Seconds a client has to send a request's line and headers")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  sub.add_option("--body-timeout", l.body_timeout_s, "Seconds a request body may take, plus 1 s per 64 KiB")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  sub.add_option("--idle-timeout", l.idle_timeout_s, "Seconds an idle keep-alive connection stays open; longest stall of one read or write")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  sub.add_option("--allowed-host", l.allowed_hosts,
                 "A Host name the portal answers to (repeat it; default: any, or only loopback names when --host is a loopback address)");
  sub.footer(R"(Serves the annotator portal and its JSON API (docs/label-api.md). Prints the address and a
one-time admin sign-in link (valid 24 hours) on stdout. Ctrl-C or SIGTERM stops it cleanly; every
acknowledged submission is already on disk.

Limits on clients (each configurable above): request line and headers within 10 s and 64 KiB,
bodies at 20 s plus 1 s per 64 KiB, keep-alive connections closed after 5 s idle, at most 32 open
connections per client address. Failed sign-ins are limited per account and per address and the
limits are kept in the database, so a restart does not reset them.

Example:
  tenet label serve --db labels.db --port 8080
  tenet label serve --db labels.db --host 0.0.0.0 --allowed-host labels.example.com)");
  return [a]() {
    // Signals go to one waiting thread, which stops the server.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto db = label::LabelDb::Open(a->db);
    if (!db.ok()) return Fail(db.status());
    label::PortalServer server(**db, a->portal);
    Status s = server.Bind(a->host, a->port);
    if (!s.ok()) return Fail(s);
    auto link = NewAdminLink(**db);
    if (!link.ok()) return Fail(link.status());
    const std::string base = "http://" + a->host + ":" + std::to_string(server.port());
    std::cout << "listening on " << base << "\n"
              << "admin sign-in link (one-time): " << base << "/signin/" << *link << std::endl;
    std::thread waiter([&server, set] {
      int sig = 0;
      sigwait(&set, &sig);
      server.Stop();
    });
    s = server.Run();
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake it if the server stopped by itself
    waiter.join();
    std::cerr << "tenet label serve: stopped\n";
    if (!s.ok()) return Fail(s);
    return kExitOk;
  };
}

RunFn AddLabelAdminLinkCommand(CLI::App& sub) {
  struct Args {
    std::string db, base_url = "http://127.0.0.1:8080";
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database")->required();
  sub.add_option("--base-url", a->base_url, "The portal's address as annotators reach it")->capture_default_str();
  sub.footer("Prints a new one-time admin sign-in link (valid 24 hours).\n\nExample:\n  tenet label admin-link --db labels.db");
  return [a]() {
    auto db = OpenExistingLabelDb(a->db);
    if (!db.ok()) return Fail(db.status());
    auto link = NewAdminLink(**db);
    if (!link.ok()) return Fail(link.status());
    std::cout << a->base_url << "/signin/" << *link << std::endl;
    return kExitOk;
  };
}

}  // namespace tenet::cli
