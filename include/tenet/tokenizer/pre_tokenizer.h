// The pre-tokenizer stage of a Hugging Face tokenizer.json: cuts normalized text into words before
// BPE. Supports what Llama 3, Qwen2 and GPT-2 use:
//   Split {pattern: {Regex|String}, behavior: Isolated|Removed, invert: false}
//   ByteLevel {add_prefix_space, use_regex}  (use_regex: GPT-2's pattern)
//   Sequence {pretokenizers: [...]} of the above, with every Split before the ByteLevel.
// ByteLevel's byte -> character mapping is not done here: words stay raw UTF-8 bytes and the BPE
// model works on bytes directly (the mapping is a bijection, so ids are the same).
//
// Not for: Whitespace, Metaspace, Digits, Punctuation, BertPreTokenizer (Unimplemented errors).
// Thread-safety: immutable after FromJson; Split may be called from many threads.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/tokenizer/regex.h"
#include "tenet/util/status.h"

namespace tenet {

class PreTokenizer {
 public:
  // Parses tokenizer.json's "pre_tokenizer" value (null allowed: one word per section).
  // Unimplemented naming the type/field for anything outside the list above; InvalidArgument for a
  // pattern PCRE2 rejects; Corruption for a malformed entry. `origin` prefixes every message.
  static Result<std::unique_ptr<PreTokenizer>> FromJson(const nlohmann::json& j, const std::string& origin);

  // Appends the words of `text` (valid UTF-8) to *words, in order, never empty. Words are views
  // into `text` or, when ByteLevel add_prefix_space prepends a space, into strings kept in *arena.
  Status Split(std::string_view text, std::vector<std::string_view>* words, std::deque<std::string>* arena) const;

  // Whether a ByteLevel step is present (the BPE model requires one).
  bool byte_level() const { return byte_level_; }

 private:
  enum class Kind { kSplit, kByteLevel };
  struct Step {
    Kind kind = Kind::kSplit;
    std::unique_ptr<Regex> regex;  // Split's pattern, or GPT-2's for ByteLevel with use_regex
    bool remove_matches = false;   // Split behavior Removed (else Isolated)
    bool add_prefix_space = false; // ByteLevel
  };
  Status AddStep(const nlohmann::json& j, const std::string& where, const std::string& origin);

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace tenet
