// Jinja templates, the language of tokenizer_config.json's `chat_template`: a Jinja2 subset with
// transformers' settings (enough for Llama 3 / 3.1 / 3.2, ChatML / Qwen2 and Mistral templates):
// for/if/elif/else/set, macros, loop variables, expressions with + ~ comparisons and boolean
// logic, indexing and attribute access, filters (trim, tojson, length, ...), `raise_exception`,
// `strftime_now`; the caller's context supplies `messages`, `add_generation_prompt`, `bos_token`...
//
// An unsupported construct is an Unimplemented error naming it and its line; a template that calls
// raise_exception yields InvalidArgument with the template's message.
//
// The engine (lexer, parser, evaluator, filters, tests, methods) is private to src/jinja/.
//
// Thread-safety: a parsed Template is immutable; Render may be called from many threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet::jinja {

// Rendering knobs beyond the context. Defaults make rendering deterministic.
struct RenderOptions {
  // The instant `strftime_now(format)` formats (transformers defines it as
  // datetime.now().strftime(format); here in UTC with the C locale). Default 2024-07-26 00:00 UTC,
  // so Llama 3.2's "Today Date" line equals the "26 Jul 2024" default of Llama 3.1's template.
  // Pass std::chrono::system_clock::now() for transformers' live behaviour.
  std::chrono::system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2024} / 7 / 26};
  // Rendering fails (InvalidArgument) once the output, or any string built on the way, exceeds
  // this many bytes; guards against templates that loop or repeat without bound.
  size_t max_output_bytes = size_t{64} << 20;
};

class Template {
 public:
  // Parses template source. InvalidArgument for syntax errors, Unimplemented for constructs
  // outside the supported subset (both naming the line).
  static Result<Template> Parse(std::string_view source);

  // Renders with `context` as the template's globals, typically
  //   {"messages": [{"role": "system", "content": "..."}, ...], "add_generation_prompt": true,
  //    "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
  // Undefined names render as "" (Jinja's default Undefined); using one in arithmetic or
  // looking an attribute up on it is InvalidArgument, as in Jinja2. Note nlohmann::json objects
  // iterate in sorted key order, so `tojson` and `.items()` see keys sorted.
  Result<std::string> Render(const nlohmann::json& context) const;
  Result<std::string> Render(const nlohmann::json& context, const RenderOptions& options) const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  struct Impl;

 private:
  explicit Template(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet::jinja
