// Bounded connections and an exception boundary around cpp-httplib. See tenet/http/guarded_server.h.
//
// httplib::Server reads each request through a Stream; its own socket stream bounds every single
// read by a timeout but not the request as a whole, so a client sending one header line every few
// seconds holds a worker thread forever. Here every connection goes through DeadlineStream, whose
// reads fail once the request's headers (or its body, at a minimum rate) take too long, and whose
// keep-alive loop wraps httplib's process_request in the one try/catch that no exception passes.
#include "tenet/http/guarded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "tenet/http/json_api.h"
#include "tenet/util/utf8.h"

namespace tenet::http {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSliceMs = 100;  // waits are cut into slices so that Stop() is seen quickly

std::string AsciiLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Per-connection state the pre-routing checks reach: they run on the connection's own thread.
struct ConnectionState {
  int fd = -1;
  bool close_after_response = false;
};
thread_local ConnectionState* current_connection = nullptr;

class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(int fd, const Limits& limits, const std::atomic<bool>& stopping)
      : fd_(fd), limits_(limits), stopping_(stopping) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) Address(addr, &remote_ip_, &remote_port_);
    len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) Address(addr, &local_ip_, &local_port_);
  }

  const std::string& remote_ip() const { return remote_ip_; }
  size_t written_this_request() const { return written_; }
  // A read ran out of time or over the header limit: the connection cannot go on.
  bool failed() const { return failed_; }

  // Waits up to the keep-alive timeout for the next request. False: closed, idle or stopping.
  bool WaitForRequest() {
    if (begin_ < end_) return true;
    const auto deadline = Clock::now() + std::chrono::seconds(limits_.idle_timeout_s);
    return Wait(POLLIN, deadline) && Fill() > 0;
  }

  // A new request starts: its headers must be complete within the header timeout.
  void BeginRequest() {
    in_headers_ = true;
    header_bytes_ = 0;
    body_bytes_ = 0;
    written_ = 0;
    last4_ = 0;
    header_deadline_ = Clock::now() + std::chrono::seconds(limits_.header_timeout_s);
    write_start_ = Clock::time_point{};
  }

  bool is_readable() const override { return begin_ < end_ || Wait(POLLIN, ReadDeadline()); }
  bool is_writable() const override { return Wait(POLLOUT, WriteDeadline()); }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (begin_ == end_) {
      if (!Wait(POLLIN, ReadDeadline())) return Failed();
      const ssize_t n = Fill();
      if (n <= 0) return n;
    }
    size_t n = std::min(size, end_ - begin_);
    if (in_headers_) n = TrackHeaders(n);
    else body_bytes_ += n;
    if (n == 0) return Failed();  // headers over the limit
    std::memcpy(ptr, buf_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (write_start_ == Clock::time_point{}) write_start_ = Clock::now();
    if (!Wait(POLLOUT, WriteDeadline())) return Failed();
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    if (n > 0) written_ += static_cast<size_t>(n);
    return n < 0 ? -1 : n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return fd_; }

 private:
  static void Address(const sockaddr_storage& a, std::string* ip, int* port) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (a.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      *port = ntohs(in->sin_port);
    } else if (a.ss_family == AF_INET6) {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(&a);
      inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text));
      *port = ntohs(in->sin6_port);
    } else {
      std::strcpy(text, "local");
      *port = 0;
    }
    *ip = text;
  }

  ssize_t Failed() {
    failed_ = true;
    return -1;
  }

  // Counts header bytes handed out and notices the blank line that ends them; returns how many of
  // the `n` available bytes may be handed out (0 once the headers are over the limit).
  size_t TrackHeaders(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      last4_ = (last4_ << 8) | static_cast<unsigned char>(buf_[begin_ + i]);
      if (++header_bytes_ > limits_.max_header_bytes) return 0;
      if (last4_ == 0x0d0a0d0au) {  // \r\n\r\n: what follows is the body
        in_headers_ = false;
        body_start_ = Clock::now();
        body_bytes_ = n - i - 1;
        return n;
      }
    }
    return n;
  }

  Clock::time_point ReadDeadline() const {
    if (in_headers_) return header_deadline_;
    return body_start_ + std::chrono::seconds(limits_.body_timeout_s) +
           std::chrono::seconds(body_bytes_ / std::max<size_t>(limits_.body_min_bytes_per_s, 1));
  }
  Clock::time_point WriteDeadline() const {
    const auto start = write_start_ == Clock::time_point{} ? Clock::now() : write_start_;
    return start + std::chrono::seconds(limits_.body_timeout_s) +
           std::chrono::seconds(written_ / std::max<size_t>(limits_.body_min_bytes_per_s, 1));
  }

  // Polls in slices until `events`, the deadline (also bounded by the idle timeout from now), or Stop().
  bool Wait(short events, Clock::time_point deadline) const {
    deadline = std::min(deadline, Clock::now() + std::chrono::seconds(limits_.idle_timeout_s));
    for (;;) {
      if (stopping_.load()) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kSliceMs)));
      if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  ssize_t Fill() {
    ssize_t n;
    do {
      n = ::recv(fd_, buf_, sizeof(buf_), 0);
    } while (n < 0 && errno == EINTR);
    begin_ = 0;
    end_ = n > 0 ? static_cast<size_t>(n) : 0;
    return n;
  }

  const int fd_;
  const Limits& limits_;
  const std::atomic<bool>& stopping_;
  std::string remote_ip_, local_ip_;
  int remote_port_ = 0, local_port_ = 0;
  char buf_[16384];
  size_t begin_ = 0, end_ = 0;
  bool in_headers_ = true, failed_ = false;
  uint32_t last4_ = 0;
  size_t header_bytes_ = 0, body_bytes_ = 0, written_ = 0;
  Clock::time_point header_deadline_, body_start_, write_start_;
};

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string RawReply(int code, const char* reason, const nlohmann::json& error) {
  const std::string body = error.dump();
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The host name of a Host header value: "name:port", "[v6]:port" or "name".
std::string HostName(const std::string& value) {
  if (!value.empty() && value[0] == '[') {
    const size_t close = value.find(']');
    return close == std::string::npos ? value : value.substr(0, close + 1);
  }
  const size_t colon = value.find(':');
  return AsciiLower(colon == std::string::npos ? value : value.substr(0, colon));
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  const std::string h = AsciiLower(host);
  return h == "localhost" || h == "::1" || h == "[::1]" || h.rfind("127.", 0) == 0;
}

std::vector<std::string> LoopbackHostNames() { return {"localhost", "127.0.0.1", "[::1]"}; }

GuardedServer::GuardedServer(Limits limits, LogFn log) : limits_(std::move(limits)), log_(std::move(log)) {
  const size_t threads = limits_.threads;
  new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  set_payload_max_length(limits_.max_body_bytes);
  // Responses go out as two writes (headers, body): without TCP_NODELAY the body waits for the
  // client's delayed ACK, 40 ms per request.
  set_tcp_nodelay(true);
  set_keep_alive_max_count(limits_.max_requests_per_connection);
  set_keep_alive_timeout(limits_.idle_timeout_s);
  set_read_timeout(limits_.idle_timeout_s, 0);
  set_write_timeout(limits_.idle_timeout_s, 0);

  // Handlers that throw: a logged 500 that shows nothing of the exception to the client.
  set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    ++escaped_exceptions_;
    Log(utf8::Lossy(req.method + " " + req.path + " from " + req.remote_addr + " failed: " + what));
    SendOwnError(res, 500, "internal", "internal error; the server logged it");
  });
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    auto refuse = [&](int code, const std::string& err, const std::string& message) {
      SendOwnError(res, code, err, message);
      return HandlerResponse::Handled;
    };
    if (!utf8::IsValid(req.path)) return refuse(400, "bad_path", "the path is not valid UTF-8 once percent-decoded");
    for (const auto& [key, value] : req.params) {
      if (!utf8::IsValid(key) || !utf8::IsValid(value)) return refuse(400, "bad_query", "the query is not valid UTF-8 once percent-decoded");
    }
    if (!limits_.allowed_hosts.empty()) {
      const std::string host = HostName(req.get_header_value("Host"));
      const bool ok = std::any_of(limits_.allowed_hosts.begin(), limits_.allowed_hosts.end(),
                                  [&](const std::string& h) { return AsciiLower(h) == host; });
      if (!ok) return refuse(400, "bad_host", "this server does not answer to that Host header");
    }
    if (req.has_header("Content-Length")) {
      const std::string v = req.get_header_value("Content-Length");
      const bool digits = !v.empty() && v.size() <= 19 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || std::stoull(v) > limits_.max_body_bytes) {
        if (current_connection) current_connection->close_after_response = true;  // the body stays unread
        res.set_header("Connection", "close");
        return digits ? refuse(413, "too_large", "the request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes")
                      : refuse(400, "bad_length", "Content-Length is not a number");
      }
    }
    return HandlerResponse::Unhandled;
  });
}

GuardedServer::~GuardedServer() { Stop(); }

nlohmann::json GuardedServer::ErrorBody(int status, const std::string& code, const std::string& message) const {
  if (error_format_) return error_format_(status, code, message);
  return {{"error", {{"code", code}, {"message", message}}}};
}

void GuardedServer::SendOwnError(httplib::Response& res, int status, const std::string& code, const std::string& message) const {
  SendJson(res, status, ErrorBody(status, code, message));
}

void GuardedServer::Stop() {
  stopping_ = true;
  if (is_running()) stop();
}

void GuardedServer::Log(const std::string& line) const {
  if (log_) log_(line);
}

bool GuardedServer::AdmitClient(const std::string& address) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  size_t& n = open_by_client_[address];
  if (n >= limits_.max_connections_per_client) {
    if (n == 0) open_by_client_.erase(address);
    return false;
  }
  ++n;
  return true;
}

void GuardedServer::ReleaseClient(const std::string& address) {
  std::lock_guard<std::mutex> lock(clients_mu_);
  auto it = open_by_client_.find(address);
  if (it != open_by_client_.end() && --it->second == 0) open_by_client_.erase(it);
}

bool GuardedServer::ClientGone() {
  if (!current_connection || current_connection->fd < 0) return false;
  pollfd p{current_connection->fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) < 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  ServeSocket(sock);
  return true;
}

void GuardedServer::ServeSocket(int fd) {
  DeadlineStream strm(fd, limits_, stopping_);
  const std::string client = strm.remote_ip();
  if (!AdmitClient(client)) {
    ++refused_connections_;
    Log("refused a connection from " + client + ": it already has " + std::to_string(limits_.max_connections_per_client) +
        " open (max_connections_per_client)");
    WriteAll(fd, RawReply(503, "Service Unavailable", ErrorBody(503, "too_many_connections", "too many open connections from your address")));
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    return;
  }
  ConnectionState state;
  state.fd = fd;
  current_connection = &state;
  for (size_t served = 0; served < limits_.max_requests_per_connection && strm.WaitForRequest(); ++served) {
    strm.BeginRequest();
    bool connection_closed = false;
    const bool last = served + 1 == limits_.max_requests_per_connection;
    bool ok = false;
    std::string escaped;
    try {
      ok = ProcessRequest(strm, last, connection_closed);
    } catch (const std::exception& e) {
      escaped = e.what();
    } catch (...) {
      escaped = "unknown exception";
    }
    if (!escaped.empty()) {  // thrown outside the handlers (an error handler, a write); the connection ends
      ++escaped_exceptions_;
      Log("request from " + client + " failed: " + utf8::Lossy(escaped));
      if (strm.written_this_request() == 0) {
        WriteAll(fd, RawReply(500, "Internal Server Error", ErrorBody(500, "internal", "internal error; the server logged it")));
      }
      break;
    }
    if (state.close_after_response && !strm.failed()) {
      // The client may still be sending the body we refused: read and drop it for a moment so that
      // it gets to read our answer instead of a reset (a "lingering close").
      ::shutdown(fd, SHUT_WR);
      const auto until = Clock::now() + std::chrono::seconds(2);
      char sink[16384];
      while (!stopping_.load() && Clock::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, kSliceMs) < 0 || ((p.revents & POLLIN) && ::recv(fd, sink, sizeof(sink), 0) <= 0)) break;
      }
      break;
    }
    if (!ok || connection_closed || strm.failed()) break;
  }
  current_connection = nullptr;
  ReleaseClient(client);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace tenet::http
