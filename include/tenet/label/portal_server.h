// The labeling portal over HTTP: the embedded web pages and the JSON API of docs/label-api.md,
// on http::GuardedServer (bounded connections, an exception boundary, UTF-8 and Host checks).
// Handlers are thin: check the session, role and CSRF token, read the body strictly, call
// accounts/jobs/tasks/report/export, encode the answer. Errors map from Status codes
// (400 invalid, 401, 403, 404, 409 conflict, 410 gone, 413, 415, 429).
#pragma once

#include <memory>
#include <string>

#include "tenet/http/guarded_server.h"
#include "tenet/label/db.h"
#include "tenet/label/rate_limiter.h"
#include "tenet/util/status.h"

namespace tenet::label {

struct PortalOptions {
  http::Limits http;  // threads, timeouts, per-client connections, body size (job uploads; other routes allow 1 MiB)
  LoginLimits login;
  http::LogFn log;    // the server's own messages; stderr when empty
};

class PortalServer {
 public:
  PortalServer(LabelDb& db, PortalOptions options = {});
  ~PortalServer();
  // Binds host:port (port 0: any free port). IOError when the address is taken. A loopback
  // host with no allowed_hosts configured answers only to loopback Host names.
  Status Bind(const std::string& host, int port);
  int port() const;
  // Serves until Stop() (from another thread or a signal handler's helper thread).
  Status Run();
  void Stop();
  // Serves one connected socket as Run() serves each accepted one (the fuzzers' entry).
  void ServeSocket(int fd);
  const http::GuardedServer& http() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet::label
