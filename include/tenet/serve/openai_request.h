// OpenAI's request bodies for POST /v1/chat/completions and /v1/completions, read into typed
// requests, field by field as OpenAI documents them, plus vLLM's sampling extensions where OpenAI
// has none (top_k, min_p, repetition_penalty). Unknown fields are ignored, as OpenAI does; a field
// of the wrong type or out of range is an ApiError (400) that names it in `param`.
//
// Not for: tokenizing or templating (openai_server.h does that with the model's tokenizer), or
// limits that depend on the model (context length, batch size).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tenet/generate/sampler.h"

namespace tenet::serve {

// An error as OpenAI's API answers it: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // OpenAI's types: invalid_request_error, authentication_error, ...
  std::string param;                           // the offending field; empty: null
  std::string code;                            // e.g. "model_not_found"; empty: null
  nlohmann::json ToJson() const;
};

enum class Endpoint { kChat, kCompletions };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;
  nlohmann::json messages = nlohmann::json::array();  // chat: [{role, content}], content as plain text
  std::vector<std::string> prompts;                   // completions: one choice set per prompt
  std::optional<int64_t> max_tokens;                  // max_completion_tokens, else max_tokens; none: up to the context
  int32_t n = 1;
  SamplingParams sampling;                            // temperature 1, top_p 1 unless given
  bool seeded = false;                                // `seed` was given (else the server draws one)
  std::vector<std::string> stop;                      // the text ends before the first of these
  bool stream = false;
  bool include_usage = false;                         // stream_options.include_usage
  bool logprobs = false;                              // chat: logprobs; completions: logprobs given
  int32_t top_logprobs = 0;                           // chat: top_logprobs; completions: the logprobs number
  bool echo = false;                                  // completions: the prompt leads the text
  std::string user;
};

inline constexpr int32_t kMaxN = 128;
inline constexpr int32_t kMaxTopLogprobs = 20;
inline constexpr size_t kMaxStops = 16;
inline constexpr size_t kMaxPrompts = 64;
inline constexpr size_t kMaxMessages = 4096;

// Reads a request body (already parsed as JSON) for `endpoint`.
std::variant<CompletionRequest, ApiError> ParseCompletionRequest(const nlohmann::json& body, Endpoint endpoint);
// The same from the raw body text (invalid JSON is an ApiError too).
std::variant<CompletionRequest, ApiError> ParseCompletionRequest(std::string_view body, Endpoint endpoint);

}  // namespace tenet::serve
