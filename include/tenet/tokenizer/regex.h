// A compiled PCRE2 pattern (UTF + UCP, JIT when available) with the Oniguruma semantics that
// Hugging Face `tokenizers` uses for its Split and ByteLevel pre-tokenizer patterns.
//
// PCRE2 and Oniguruma differ in a few escapes; Compile rewrites them before compiling:
//   \s, \S -> \p{White_Space}, \P{White_Space}  (PCRE2's UCP \s also accepts U+180E)
//   \w     -> [\p{L}\p{M}\p{Nd}\p{Pc}]          (PCRE2 10.42's UCP \w has no marks)
// \W inside a character class is left as PCRE2's.
//
// Not for: user-facing search. Thread-safety: immutable after Compile; FindAll may be called from
// many threads (each thread keeps its own match data and JIT stack).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenet/util/status.h"

namespace tenet {

class Regex {
 public:
  // InvalidArgument naming `what` (e.g. "tokenizer.json: pre_tokenizer.pattern.Regex") and the
  // PCRE2 message and offset if the pattern does not compile.
  static Result<std::unique_ptr<Regex>> Compile(std::string_view pattern, std::string_view what);
  // A pattern that matches `literal` exactly (Split with {"String": ...}).
  static Result<std::unique_ptr<Regex>> CompileLiteral(std::string_view literal, std::string_view what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the [start, end) byte ranges of all non-overlapping, non-empty leftmost matches in
  // `text`, which must be valid UTF-8 (it is passed with PCRE2_NO_UTF_CHECK). Internal if PCRE2
  // gives up (e.g. its match limit on a pathological input).
  Status FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

  // Rewrites the Oniguruma escapes listed above into PCRE2 syntax. Exposed for tests.
  static std::string TranslateOniguruma(std::string_view pattern);

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*; void keeps pcre2.h out of this header
  bool jit_ = false;
  std::string what_;
};

}  // namespace tenet
