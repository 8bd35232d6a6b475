// Hugging Face `tokenizer.json` tokenizer: byte-level BPE (GPT-2 / Llama 3 style) with the Split
// pre-tokenizer regex (PCRE2), added/special tokens, and the ByteLevel decoder; plus the few
// fields of `tokenizer_config.json` the rest of Tenet needs (bos/eos, add_bos_token,
// chat_template).
//
// Not for: SentencePiece/Unigram models (Llama 2's tokenizer.json uses BPE with byte fallback and
// a Metaspace pre-tokenizer; supported only if listed in docs/formats.md).
//
// Thread-safety: a loaded Tokenizer is immutable except for an internal word cache guarded by a
// mutex; Encode/Decode may be called from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenet/util/status.h"

namespace tenet {

// Fields of tokenizer_config.json (and special tokens resolved to ids).
struct TokenizerConfig {
  std::string bos_token;               // "" if none
  std::string eos_token;               // "" if none
  std::optional<int32_t> bos_id;       // id of bos_token, if it is in the vocabulary
  std::optional<int32_t> eos_id;
  bool add_bos_token = false;          // config's add_bos_token; if absent, true when the
                                       // post_processor template starts with the BOS token
  std::string chat_template;           // "" if none (a list of named templates -> "default")
};

// Tuning knobs for loading; the defaults suit every caller but benchmarks.
struct TokenizerOptions {
  // Words (under 256 bytes) whose BPE result is cached; 0 disables the cache. Default 65536.
  size_t word_cache_capacity = 65536;
};

class Tokenizer {
 public:
  // Loads <dir>/tokenizer.json and, when present, <dir>/tokenizer_config.json (and
  // <dir>/chat_template.jinja when the config has no chat_template, as newer transformers save it).
  // NotFound if tokenizer.json is missing; Corruption (naming the file and the field) for malformed
  // JSON or missing/mistyped fields; InvalidArgument for a pattern PCRE2 rejects; Unimplemented
  // (naming the field) for valid but unsupported content, e.g. a Unigram model or a Lowercase normalizer.
  static Result<std::unique_ptr<Tokenizer>> Load(const std::string& dir, const TokenizerOptions& options = {});
  // Same, from the two files' contents (config_json may be empty). `origin` names them in errors.
  static Result<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json, std::string_view config_json,
                                                     const std::string& origin = "tokenizer.json",
                                                     const TokenizerOptions& options = {});
  virtual ~Tokenizer() = default;

  // Encodes `text` without adding BOS/EOS. With `special` true, added tokens marked special
  // (e.g. "<|eot_id|>") that occur in the text become their single ids; with false they are
  // encoded as plain text. Non-special added tokens are always matched. InvalidArgument if `text`
  // is not valid UTF-8.
  virtual Result<std::vector<int32_t>> Encode(std::string_view text, bool special = true) const = 0;
  // As Encode(text, true), except that special tokens overlapping one of the byte ranges
  // [begin, end) in `plain` (sorted, disjoint) are plain text: a chat prompt whose message
  // contents are untrusted (a user typing "<|eot_id|>" must not end a turn).
  virtual Result<std::vector<int32_t>> Encode(std::string_view text, const std::vector<std::pair<size_t, size_t>>& plain) const = 0;

  // Decodes ids to text (ByteLevel decoder). Bytes that do not form valid UTF-8 become U+FFFD,
  // as in Hugging Face. With skip_special, special added tokens are dropped. InvalidArgument for
  // an id outside [0, vocab_size()).
  virtual Result<std::string> Decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;

  // Number of ids (base vocabulary plus added tokens; max id + 1).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  // The token's string as stored in tokenizer.json ("" for an id outside the vocabulary).
  virtual std::string IdToToken(int32_t id) const = 0;
  virtual bool IsSpecial(int32_t id) const = 0;
  virtual const TokenizerConfig& config() const = 0;
};

// The bytes token `id` stands for: its ByteLevel-decoded bytes, which may be part of a UTF-8
// character (what OpenAI's logprobs report as "bytes"), or an added token's own text. Empty for
// an id outside the vocabulary.
std::string TokenBytes(const Tokenizer& tokenizer, int32_t id);

// Streaming detokenizer for generated tokens: feed ids one at a time, get back only complete
// UTF-8 text (never half a character); Flush() returns what remains (invalid bytes as U+FFFD).
// Not thread-safe; one per stream. The Tokenizer must outlive it.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false);
  // Returns the newly completed text (may be empty). InvalidArgument for an out-of-range id.
  Result<std::string> Push(int32_t id);
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::string pending_;  // bytes of an incomplete UTF-8 sequence
};

}  // namespace tenet
