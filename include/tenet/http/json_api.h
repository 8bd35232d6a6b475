// Conventions of Tenet's JSON APIs: replies that cannot fail to encode, the Content-Type check,
// and strict reading of request fields (a wrong type or an out-of-range number is a 400 naming the
// field; nothing is coerced: 1.5 is not an integer, "3" is not a number, 2^32+1 does not wrap).
//
// Thread-safety: pure functions.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tenet/util/status.h"

namespace tenet::http {

// Serializes `body` as the reply. Never throws on text: bytes that are not UTF-8 (say, from a
// store written by an older version) go out as U+FFFD.
void SendJson(httplib::Response& res, int code, const nlohmann::json& body);
// {"error": {"code": err, "message": message}}
void SendError(httplib::Response& res, int code, const std::string& err, const std::string& message);

// The HTTP status for a failed Status: 400 invalid argument, 401 unauthenticated, 403 permission
// denied, 404 not found, 409 conflict, 410 gone, 429 resource exhausted, 500 anything else (our
// own failures: I/O, corruption, internal).
int HttpStatusOf(const Status& s);
// Answers a failed Status: its HTTP status, and {"error": {"code": reason, "message": message}}
// (reason "error" when it has none). A 500 says only "internal error; the server logged it": the
// caller logs the details.
void SendError(httplib::Response& res, const Status& s);

// Whether a Content-Type value names application/json (media type case-insensitive, parameters
// such as charset ignored; application/jsonx is not JSON).
bool IsJsonMediaType(std::string_view content_type);

// A request field that is missing, of the wrong type or out of range. The API layer answers it
// with 400 and what(): "field 'ranks[0][2]' must be an integer from 1 to 4".
class FieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  FieldError(std::string field, const std::string& message) : std::runtime_error(message), field_(std::move(field)) {}
  // The field's path ("ranks[0][2]"), or empty for the body as a whole.
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};
// Strict reader of a number (integer or not), finite, in [lo, hi].
double AsNumber(const nlohmann::json& v, const std::string& name, double lo, double hi);

// Strict readers over one JSON object; `path` names the object in messages ("" for the body).
class Fields {
 public:
  explicit Fields(const nlohmann::json& object, std::string path = "");

  // Present and not null.
  bool Has(const char* key) const;
  const nlohmann::json& Required(const char* key) const;

  std::string String(const char* key) const;
  std::string String(const char* key, const std::string& fallback) const;
  int64_t Int(const char* key, int64_t lo, int64_t hi) const;
  int64_t Int(const char* key, int64_t lo, int64_t hi, int64_t fallback) const;
  bool Bool(const char* key, bool fallback) const;
  std::vector<std::string> Strings(const char* key) const;

  std::string Name(const char* key) const;

 private:
  const nlohmann::json& object_;
  std::string path_;
};

// The same checks on one value, named `name` in messages.
std::string AsString(const nlohmann::json& v, const std::string& name);
int64_t AsInt(const nlohmann::json& v, const std::string& name, int64_t lo, int64_t hi);
bool AsBool(const nlohmann::json& v, const std::string& name);
// Throws FieldError unless `v` is an array of at most `max_size` elements.
void RequireArray(const nlohmann::json& v, const std::string& name, size_t max_size);

}  // namespace tenet::http
