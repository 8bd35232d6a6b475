// Fuzz target: chat-template source (tokenizer_config.json's chat_template) through the Jinja
// engine: parsed, then rendered with a conversation as transformers passes it.
#include <cstdint>
#include <string_view>

#include "tenet/jinja/template.h"

namespace {
const nlohmann::json& Context() {
  static const nlohmann::json ctx = nlohmann::json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>there</b>"},
                 {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Rates? 3.5%"}],
    "add_generation_prompt": true, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
    "tools": null, "date_string": "26 Jul 2024"})");
  return ctx;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tmpl = tenet::jinja::Template::Parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!tmpl.ok()) return 0;
  tenet::jinja::RenderOptions options;
  options.max_output_bytes = 1 << 20;
  (void)tmpl->Render(Context(), options);
  return 0;
}
