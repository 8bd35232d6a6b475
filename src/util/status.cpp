// Status rendering. See tenet/util/status.h.
#include "tenet/util/status.h"

namespace tenet {

namespace {
const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kCorruption: return "corrupt";
    case Status::Code::kUnimplemented: return "unsupported";
    case Status::Code::kInternal: return "internal error";
    case Status::Code::kUnauthenticated: return "not signed in";
    case Status::Code::kPermissionDenied: return "forbidden";
    case Status::Code::kConflict: return "conflict";
    case Status::Code::kGone: return "gone";
    case Status::Code::kResourceExhausted: return "too many requests";
  }
  return "unknown";
}
}  // namespace

Status::Status(Code code, std::string_view what, std::string_view msg) : code_(code) {
  message_ = std::string(what);
  if (!msg.empty()) {
    if (!message_.empty()) message_ += ": ";
    message_ += msg;
  }
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = std::string(prefix) + ": " + message_;
  return s;
}

}  // namespace tenet
