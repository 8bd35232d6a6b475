// Chat templates: renders the Jinja `chat_template` of tokenizer_config.json with a small Jinja
// subset (enough for Llama 3 / 3.1, ChatML / Qwen2 and Mistral templates): for/if/elif/else/set,
// loop variables, expressions with + ~ comparisons and boolean logic, indexing and attribute
// access, filters (trim, tojson, length, ...), `raise_exception`, `add_generation_prompt`,
// `bos_token`, `eos_token`.
//
// An unsupported construct is an Unimplemented error naming it and its line; a template that calls
// raise_exception yields InvalidArgument with the template's message.
//
// Thread-safety: a parsed ChatTemplate is immutable; Render may be called from many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet {

class ChatTemplate {
 public:
  // Parses template source. InvalidArgument for syntax errors, Unimplemented for constructs
  // outside the supported subset (both naming the line).
  static Result<ChatTemplate> Parse(std::string_view source);

  // Renders with `context` as the template's globals, typically
  //   {"messages": [{"role": "system", "content": "..."}, ...], "add_generation_prompt": true,
  //    "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
  Result<std::string> Render(const nlohmann::json& context) const;

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  struct Impl;

 private:
  explicit ChatTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet
