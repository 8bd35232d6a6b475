// cpp-httplib's Server with what a server on a network needs and the library leaves out:
// bounded time for the headers and the body of every request, a per-client connection cap, one
// exception boundary around every request, and checks before routing (invalid UTF-8 in the path
// or query, an unexpected Host, a declared body over the limit). The labeling portal and the
// OpenAI-compatible server are built on it; handlers are registered on it as on httplib::Server.
//
// Not for: TLS (put a reverse proxy in front) or HTTP/2.
// Thread-safety: handlers run on the worker threads (one per open connection); Stop() may be
// called from any thread.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tenet::http {

struct Limits {
  size_t threads = 64;                      // worker threads; each open connection holds one
  size_t max_connections_per_client = 32;   // open connections from one address; more get 503
  int header_timeout_s = 10;                // the request line and headers must arrive within this
  size_t max_header_bytes = 64u << 10;      // request line + headers
  int body_timeout_s = 20;                  // a body gets this long, plus one second per
  size_t body_min_bytes_per_s = 64u << 10;  //   this many bytes (a client slower than that is cut off)
  int idle_timeout_s = 5;                   // keep-alive wait between requests; longest stall of one read or write
  size_t max_body_bytes = 64u << 20;        // a larger declared body gets 413 before it is read
  size_t max_requests_per_connection = 100000;
  // Host header names (without port, compared case-insensitively) that are served; others get 400.
  // Empty: any. A server bound to a loopback address should list only loopback names (DNS rebinding).
  std::vector<std::string> allowed_hosts;
};

// Whether `host` (an address to bind) is a loopback address, and the names such a server answers to.
bool IsLoopbackHost(const std::string& host);
std::vector<std::string> LoopbackHostNames();

// One line for the server's log (escaped exceptions, refused connections). Called from worker threads.
using LogFn = std::function<void(const std::string& line)>;

// The JSON body of an error the server itself answers (a refused request, a handler that threw):
// by default {"error": {"code": code, "message": message}}; the OpenAI server answers in OpenAI's
// shape instead.
using ErrorFormat = std::function<nlohmann::json(int status, const std::string& code, const std::string& message)>;

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(Limits limits, LogFn log = nullptr);
  ~GuardedServer() override;

  const Limits& limits() const { return limits_; }
  // Set before the server starts.
  void set_error_format(ErrorFormat format) { error_format_ = std::move(format); }
  void set_allowed_hosts(std::vector<std::string> hosts) { limits_.allowed_hosts = std::move(hosts); }

  // Serves every request of one connected socket until the client closes it, a limit ends it or
  // the server stops, then closes it. What each accepted connection gets; fuzzers call it with one
  // end of a socketpair.
  void ServeSocket(int fd);

  // Whether the client of the request this thread is handling has closed or reset its connection
  // (a handler that works long before it answers polls it to stop early). False outside a handler.
  static bool ClientGone();

  // Stops accepting and ends open connections at their next wait (at most a fraction of a second).
  void Stop();

  // Requests whose handler threw (answered 500) and connections refused by the per-client cap,
  // since the start.
  size_t escaped_exceptions() const { return escaped_exceptions_.load(); }
  size_t refused_connections() const { return refused_connections_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  // httplib's process_request: cpp-httplib 0.18 (Debian 13) added the addresses to its arguments.
  template <typename Self = GuardedServer>
  bool ProcessRequest(httplib::Stream& strm, bool close_connection, bool& connection_closed) {
    Self& self = *this;
    if constexpr (requires { self.process_request(strm, close_connection, connection_closed, nullptr); }) {
      return self.process_request(strm, close_connection, connection_closed, nullptr);
    } else {
      std::string remote, local;
      int remote_port = 0, local_port = 0;
      strm.get_remote_ip_and_port(remote, remote_port);
      strm.get_local_ip_and_port(local, local_port);
      return self.process_request(strm, remote, remote_port, local, local_port, close_connection, connection_closed, nullptr);
    }
  }
  bool AdmitClient(const std::string& address);
  void ReleaseClient(const std::string& address);
  void Log(const std::string& line) const;

  void SendOwnError(httplib::Response& res, int status, const std::string& code, const std::string& message) const;
  nlohmann::json ErrorBody(int status, const std::string& code, const std::string& message) const;

  Limits limits_;
  LogFn log_;
  ErrorFormat error_format_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> escaped_exceptions_{0}, refused_connections_{0};
  std::mutex clients_mu_;
  std::map<std::string, size_t> open_by_client_;
};

}  // namespace tenet::http
