// The byte-level BPE model of a Hugging Face tokenizer.json ("model": {"type": "BPE", ...}).
//
// Works on raw bytes: every vocabulary entry written in GPT-2's byte-level alphabet is also indexed
// by its bytes, so a pre-tokenized word is encoded without ever building its "Ġ..." string. Merges
// are applied lowest rank first, leftmost first on ties (HF tokenizers' Word::merge_all), with a
// binary heap: O(n log n) in the word's length. With ignore_merges (Meta's Llama 3 sets it) a word
// that is itself in the vocabulary is emitted directly. Results for short words are kept in a
// bounded, sharded cache.
//
// Not for: dropout, byte_fallback, continuing_subword_prefix, end_of_word_suffix (Unimplemented).
// Thread-safety: immutable after FromJson except the word cache, whose shards each have a mutex;
// EncodeWord may be called from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet {

// Hash for heterogeneous string_view lookups in unordered maps keyed by std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // Parses tokenizer.json's "model". Corruption (naming `origin` and the field) for missing or
  // mistyped fields and for a merge whose parts or result are not in the vocabulary; Unimplemented
  // for other model types and unsupported options. `cache_capacity` 0 disables the word cache.
  static Result<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& model, const std::string& origin,
                                                   size_t cache_capacity);
  ~BpeModel();

  // Appends the ids of one pre-tokenized word, given as raw UTF-8 bytes (non-empty).
  void EncodeWord(std::string_view word, std::vector<int32_t>* ids) const;

  // The vocabulary as stored in tokenizer.json (byte-level strings -> ids).
  const StringIdMap& vocab() const { return vocab_; }

 private:
  struct MergeTable;
  struct BytesTable;
  struct WordCache;
  BpeModel();
  void Merge(std::string_view word, std::vector<int32_t>* out) const;

  StringIdMap vocab_;
  std::unique_ptr<BytesTable> bytes_to_id_;  // raw bytes -> id, for entries in the byte-level alphabet
  int32_t byte_id_[256];             // id of each single byte, -1 if absent
  int32_t unk_id_ = -1;              // emitted for a byte without an id, if the model has unk_token
  bool ignore_merges_ = false;
  std::unique_ptr<MergeTable> merges_;
  std::unique_ptr<WordCache> cache_; // null when disabled
};

}  // namespace tenet
