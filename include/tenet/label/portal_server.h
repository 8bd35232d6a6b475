// The labeling portal over HTTP: the embedded web pages and the JSON API of docs/label-api.md,
// on cpp-httplib. Handlers are thin: check the session, role and CSRF token, parse the body,
// call accounts/jobs/tasks/report/export, encode the answer. Errors map from Status codes
// (400 invalid, 401, 403, 404, 409 conflict, 410 gone, 413, 415, 429).
#pragma once

#include <memory>
#include <string>

#include "tenet/label/db.h"
#include "tenet/util/status.h"

namespace tenet::label {

struct PortalOptions {
  size_t threads = 64;                      // worker threads (each keep-alive connection holds one)
  size_t max_body_bytes = 64u << 20;        // job uploads; other routes allow 1 MiB
  int max_login_failures_per_email = 5;     // within 15 minutes
  int max_login_failures_per_client = 20;   // within 15 minutes
};

class PortalServer {
 public:
  PortalServer(LabelDb& db, PortalOptions options = {});
  ~PortalServer();
  // Binds host:port (port 0: any free port). IOError when the address is taken.
  Status Bind(const std::string& host, int port);
  int port() const;
  // Serves until Stop() (from another thread or a signal handler's helper thread).
  Status Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet::label
