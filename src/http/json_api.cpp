// JSON API conventions. See tenet/http/json_api.h.
#include "tenet/http/json_api.h"

#include <cctype>
#include <sstream>

namespace tenet::http {

using nlohmann::json;

void SendJson(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int code, const std::string& err, const std::string& message) {
  SendJson(res, code, {{"error", {{"code", err}, {"message", message}}}});
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnauthenticated: return 401;
    case Status::Code::kPermissionDenied: return 403;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kConflict: return 409;
    case Status::Code::kGone: return 410;
    case Status::Code::kResourceExhausted: return 429;
    default: return 500;
  }
}

void SendError(httplib::Response& res, const Status& s) {
  const int code = HttpStatusOf(s);
  if (code == 500) return SendError(res, code, "internal", "internal error; the server logged it");
  SendError(res, code, s.reason().empty() ? "error" : s.reason(), s.message());
}

bool IsJsonMediaType(std::string_view type) {
  const size_t semi = type.find(';');
  std::string_view media = type.substr(0, semi);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (media.size() != kJson.size()) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != kJson[i]) return false;
  }
  return true;
}

namespace {
[[noreturn]] void Fail(const std::string& name, const std::string& what) {
  throw FieldError(name, "field '" + name + "' " + what);
}
}  // namespace

double AsNumber(const json& v, const std::string& name, double lo, double hi) {
  std::ostringstream range;
  range << "a number from " << lo << " to " << hi;
  if (!v.is_number()) Fail(name, "must be " + range.str());
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi)) Fail(name, "must be " + range.str());
  return d;
}

std::string AsString(const json& v, const std::string& name) {
  if (!v.is_string()) Fail(name, "must be a string");
  return v.get<std::string>();  // the parser accepted only valid UTF-8
}

int64_t AsInt(const json& v, const std::string& name, int64_t lo, int64_t hi) {
  const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!v.is_number_integer()) Fail(name, "must be " + range);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX) || static_cast<int64_t>(u) > hi || static_cast<int64_t>(u) < lo) Fail(name, "must be " + range);
    return static_cast<int64_t>(u);
  }
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) Fail(name, "must be " + range);
  return i;
}

bool AsBool(const json& v, const std::string& name) {
  if (!v.is_boolean()) Fail(name, "must be true or false");
  return v.get<bool>();
}

void RequireArray(const json& v, const std::string& name, size_t max_size) {
  if (!v.is_array()) Fail(name, "must be an array");
  if (v.size() > max_size) Fail(name, "has more than " + std::to_string(max_size) + " elements");
}

Fields::Fields(const json& object, std::string path) : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) throw FieldError(path_.empty() ? "the body must be a JSON object" : "field '" + path_ + "' must be an object");
}

std::string Fields::Name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

bool Fields::Has(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const json& Fields::Required(const char* key) const {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) Fail(Name(key), "is missing");
  return *it;
}

std::string Fields::String(const char* key) const { return AsString(Required(key), Name(key)); }
std::string Fields::String(const char* key, const std::string& fallback) const {
  return Has(key) ? AsString(object_.at(key), Name(key)) : fallback;
}
int64_t Fields::Int(const char* key, int64_t lo, int64_t hi) const { return AsInt(Required(key), Name(key), lo, hi); }
int64_t Fields::Int(const char* key, int64_t lo, int64_t hi, int64_t fallback) const {
  return Has(key) ? AsInt(object_.at(key), Name(key), lo, hi) : fallback;
}
bool Fields::Bool(const char* key, bool fallback) const { return Has(key) ? AsBool(object_.at(key), Name(key)) : fallback; }

std::vector<std::string> Fields::Strings(const char* key) const {
  const json& a = Required(key);
  RequireArray(a, Name(key), 10000);
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(AsString(a[i], Name(key) + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace tenet::http
