// Fuzz target: an OpenAI request body (POST /v1/chat/completions and /v1/completions) through
// ParseCompletionRequest for both endpoints; every outcome is a request or an ApiError, never a
// crash, and an error always names a status in 4xx.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "tenet/serve/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto endpoint : {tenet::serve::Endpoint::kChat, tenet::serve::Endpoint::kCompletions}) {
    auto r = tenet::serve::ParseCompletionRequest(body, endpoint);
    if (auto* e = std::get_if<tenet::serve::ApiError>(&r)) {
      if (e->status < 400 || e->status >= 500) std::abort();
      (void)e->ToJson().dump();
    }
  }
  return 0;
}
