// OpenAI request bodies. See tenet/serve/openai_request.h.
#include "tenet/serve/openai_request.h"

#include "tenet/http/json_api.h"

namespace tenet::serve {

using nlohmann::json;

json ApiError::ToJson() const {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

namespace {

[[noreturn]] void Fail(const std::string& field, const std::string& what) {
  throw http::FieldError(field, "field '" + field + "' " + what);
}

// A message's content as plain text: a string, or an array of {"type": "text", "text": ...} parts
// (joined). Images, audio and files are refused by name.
std::string ContentText(const json& content, const std::string& name) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) Fail(name, "must be a string or an array of text parts");
  http::RequireArray(content, name, 4096);
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string part = name + "[" + std::to_string(i) + "]";
    http::Fields f(content[i], part);
    const std::string type = f.String("type");
    if (type != "text") Fail(part + ".type", "is '" + type + "'; this server takes text parts only");
    text += f.String("text");
  }
  return text;
}

json Messages(const json& v) {
  http::RequireArray(v, "messages", kMaxMessages);
  if (v.empty()) Fail("messages", "must not be empty");
  json out = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string name = "messages[" + std::to_string(i) + "]";
    http::Fields f(v[i], name);
    std::string role = f.String("role");
    if (role == "developer") role = "system";  // OpenAI's newer name for the system message
    if (role != "system" && role != "user" && role != "assistant") {
      Fail(name + ".role", "must be one of system, developer, user, assistant (this server has no tools)");
    }
    if (f.Has("tool_calls")) Fail(name + ".tool_calls", "is not supported (this server has no tools)");
    const std::string content = f.Has("content") ? ContentText(v[i]["content"], name + ".content") : std::string();
    if (!f.Has("content") && role != "assistant") Fail(name + ".content", "is missing");
    out.push_back({{"role", role}, {"content", content}});
  }
  return out;
}

std::vector<std::string> Prompts(const json& v) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) Fail("prompt", "must be a string or an array of strings");
  http::RequireArray(v, "prompt", kMaxPrompts);
  if (v.empty()) Fail("prompt", "must not be empty");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) Fail("prompt[" + std::to_string(i) + "]", "must be a string (token-id prompts are not supported)");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

std::vector<std::string> Stops(const json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else {
    if (!v.is_array()) Fail("stop", "must be a string or an array of strings");
    http::RequireArray(v, "stop", kMaxStops);
    for (size_t i = 0; i < v.size(); ++i) out.push_back(http::AsString(v[i], "stop[" + std::to_string(i) + "]"));
  }
  for (const auto& s : out) {
    if (s.empty()) Fail("stop", "must not contain an empty string");
  }
  return out;
}

float Num(const http::Fields& f, const json& body, const char* key, double lo, double hi, float fallback) {
  return f.Has(key) ? static_cast<float>(http::AsNumber(body[key], key, lo, hi)) : fallback;
}

CompletionRequest Read(const json& body, Endpoint endpoint) {
  http::Fields f(body);
  CompletionRequest r;
  r.endpoint = endpoint;
  r.model = f.String("model");
  if (endpoint == Endpoint::kChat) {
    r.messages = Messages(f.Required("messages"));
  } else {
    r.prompts = Prompts(f.Required("prompt"));
  }
  constexpr int64_t kMaxTokens = int64_t{1} << 31;
  if (f.Has("max_completion_tokens")) {
    r.max_tokens = f.Int("max_completion_tokens", 1, kMaxTokens);
  } else if (f.Has("max_tokens")) {
    r.max_tokens = f.Int("max_tokens", 1, kMaxTokens);
  }
  r.n = static_cast<int32_t>(f.Int("n", 1, kMaxN, 1));
  SamplingParams& s = r.sampling;
  s.temperature = Num(f, body, "temperature", 0, 2, 1.0f);
  s.top_p = Num(f, body, "top_p", 0, 1, 1.0f);
  if (f.Has("top_p") && s.top_p <= 0) Fail("top_p", "must be greater than 0");
  s.presence_penalty = Num(f, body, "presence_penalty", -2, 2, 0.0f);
  s.frequency_penalty = Num(f, body, "frequency_penalty", -2, 2, 0.0f);
  s.repetition_penalty = Num(f, body, "repetition_penalty", 0, 100, 1.0f);
  if (f.Has("repetition_penalty") && s.repetition_penalty <= 0) Fail("repetition_penalty", "must be greater than 0");
  s.min_p = Num(f, body, "min_p", 0, 1, 0.0f);
  if (s.min_p >= 1) Fail("min_p", "must be below 1");
  // vLLM's convention: -1 (or 0) turns top-k off.
  const int64_t top_k = f.Int("top_k", -1, 1 << 30, 0);
  s.top_k = static_cast<int32_t>(top_k < 0 ? 0 : top_k);
  if (f.Has("seed")) {
    const int64_t seed = f.Int("seed", INT64_MIN, INT64_MAX);
    s.seed = static_cast<uint64_t>(seed);
    r.seeded = true;
  }
  if (f.Has("stop")) r.stop = Stops(body["stop"]);
  r.stream = f.Bool("stream", false);
  if (f.Has("stream_options")) {
    if (!r.stream) Fail("stream_options", "is only allowed when stream is true");
    http::Fields so(body["stream_options"], "stream_options");
    r.include_usage = so.Bool("include_usage", false);
  }
  if (endpoint == Endpoint::kChat) {
    r.logprobs = f.Bool("logprobs", false);
    if (f.Has("top_logprobs")) {
      r.top_logprobs = static_cast<int32_t>(f.Int("top_logprobs", 0, kMaxTopLogprobs));
      if (!r.logprobs) Fail("top_logprobs", "needs logprobs set to true");
    }
  } else {
    if (f.Has("logprobs")) {
      r.logprobs = true;
      r.top_logprobs = static_cast<int32_t>(f.Int("logprobs", 0, 5));
    }
    r.echo = f.Bool("echo", false);
  }
  r.user = f.String("user", "");
  return r;
}

}  // namespace

std::variant<CompletionRequest, ApiError> ParseCompletionRequest(const json& body, Endpoint endpoint) {
  try {
    return Read(body, endpoint);
  } catch (const http::FieldError& e) {
    ApiError err;
    err.message = e.what();
    err.param = e.field();
    return err;
  }
}

std::variant<CompletionRequest, ApiError> ParseCompletionRequest(std::string_view body, Endpoint endpoint) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ApiError err;
    err.message = "the body is not valid JSON";
    return err;
  }
  return ParseCompletionRequest(j, endpoint);
}

}  // namespace tenet::serve
