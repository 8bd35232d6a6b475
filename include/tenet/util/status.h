// Status and Result<T>: expected failures as values (LevelDB style).
//
// Every function that can fail on user input (files, JSON, flags, data) returns a Status or a
// Result<T>; exceptions and asserts are reserved for programmer errors. A Status carries a code
// and one human-readable line that names the offending thing first, e.g.
//   Status::InvalidArgument("tiny/config.json", "hidden_size must be divisible by num_attention_heads")
// renders as "tiny/config.json: hidden_size must be divisible by num_attention_heads".
// Services that answer clients with a machine-readable reason beside the HTTP status give one:
//   Status::NotFound(Reason("job_unknown"), "no job with id 3")
// has the message "no job with id 3" and reason() "job_unknown" (the http/ layer maps code() to
// the HTTP status and sends reason() as the error's code).
//
// Thread-safety: values; safe to copy and move across threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tenet {

// A machine-readable reason for a Status: lower_snake_case, stable (clients match on it).
struct Reason {
  explicit constexpr Reason(std::string_view n) : name(n) {}
  std::string_view name;
};

class Status {
 public:
  enum class Code {
    kOk = 0, kInvalidArgument, kNotFound, kIOError, kCorruption, kUnimplemented, kInternal,
    // For services (the labeling portal): who may do what, and state conflicts.
    kUnauthenticated, kPermissionDenied, kConflict, kGone, kResourceExhausted,
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string_view what, std::string_view msg = {}) { return {Code::kInvalidArgument, what, msg}; }
  static Status InvalidArgument(Reason reason, std::string_view msg) { return {Code::kInvalidArgument, reason, msg}; }
  static Status NotFound(std::string_view what, std::string_view msg = {}) { return {Code::kNotFound, what, msg}; }
  static Status NotFound(Reason reason, std::string_view msg) { return {Code::kNotFound, reason, msg}; }
  static Status IOError(std::string_view what, std::string_view msg = {}) { return {Code::kIOError, what, msg}; }
  static Status IOError(Reason reason, std::string_view msg) { return {Code::kIOError, reason, msg}; }
  static Status Corruption(std::string_view what, std::string_view msg = {}) { return {Code::kCorruption, what, msg}; }
  static Status Corruption(Reason reason, std::string_view msg) { return {Code::kCorruption, reason, msg}; }
  static Status Unimplemented(std::string_view what, std::string_view msg = {}) { return {Code::kUnimplemented, what, msg}; }
  static Status Unimplemented(Reason reason, std::string_view msg) { return {Code::kUnimplemented, reason, msg}; }
  static Status Internal(std::string_view what, std::string_view msg = {}) { return {Code::kInternal, what, msg}; }
  static Status Internal(Reason reason, std::string_view msg) { return {Code::kInternal, reason, msg}; }
  static Status Unauthenticated(std::string_view what, std::string_view msg = {}) { return {Code::kUnauthenticated, what, msg}; }
  static Status Unauthenticated(Reason reason, std::string_view msg) { return {Code::kUnauthenticated, reason, msg}; }
  static Status PermissionDenied(std::string_view what, std::string_view msg = {}) { return {Code::kPermissionDenied, what, msg}; }
  static Status PermissionDenied(Reason reason, std::string_view msg) { return {Code::kPermissionDenied, reason, msg}; }
  static Status Conflict(std::string_view what, std::string_view msg = {}) { return {Code::kConflict, what, msg}; }
  static Status Conflict(Reason reason, std::string_view msg) { return {Code::kConflict, reason, msg}; }
  static Status Gone(std::string_view what, std::string_view msg = {}) { return {Code::kGone, what, msg}; }
  static Status Gone(Reason reason, std::string_view msg) { return {Code::kGone, reason, msg}; }
  static Status ResourceExhausted(std::string_view what, std::string_view msg = {}) { return {Code::kResourceExhausted, what, msg}; }
  static Status ResourceExhausted(Reason reason, std::string_view msg) { return {Code::kResourceExhausted, reason, msg}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The message without the code name, e.g. "x.json: missing key 'a'". Empty when ok().
  const std::string& message() const { return message_; }
  // The machine-readable reason, e.g. "job_unknown"; empty when none was given.
  const std::string& reason() const { return reason_; }
  // "OK" or "<code name>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>" (adds context while propagating; the
  // reason stays).
  Status WithContext(std::string_view prefix) const;

 private:
  Status(Code code, std::string_view what, std::string_view msg);
  Status(Code code, Reason reason, std::string_view msg) : code_(code), message_(msg), reason_(reason.name) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string reason_;
};

// Result<T> holds either a T or a non-OK Status. Accessing value() of an error is a programmer
// error (asserts).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tenet

#define TENET_CONCAT_INNER_(a, b) a##b
#define TENET_CONCAT_(a, b) TENET_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define TENET_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::tenet::Status _tenet_s = (expr);           \
    if (!_tenet_s.ok()) return _tenet_s;         \
  } while (0)

// `lhs = value of expr` (a Result<T>), or return its Status from the enclosing function.
// Expands to several statements (it declares a temporary): never use it as the body of an
// if/else/for without braces.
#define TENET_ASSIGN_OR_RETURN(lhs, expr) \
  TENET_ASSIGN_OR_RETURN_IMPL_(TENET_CONCAT_(_tenet_r_, __LINE__), lhs, expr)
#define TENET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
