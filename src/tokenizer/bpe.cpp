// Byte-level BPE. See tenet/tokenizer/bpe.h.
#include "tenet/tokenizer/bpe.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "tenet/tokenizer/byte_level.h"

namespace tenet {

// Open-addressing hash map from an id pair to (rank, merged id). std::unordered_map costs a pointer
// chase per probe; this lookup is the inner loop of every merge.
struct BpeModel::MergeTable {
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t id = 0;
  };
  static constexpr uint64_t kEmpty = ~0ULL;
  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots.resize(cap);
    mask = cap - 1;
  }
  static uint64_t Key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }
  static uint64_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  // Later duplicates overwrite earlier ones, as HF's HashMap collect does.
  void Put(int32_t a, int32_t b, int32_t rank, int32_t id) {
    const uint64_t k = Key(a, b);
    for (uint64_t i = Hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == kEmpty || slots[i].key == k) {
        slots[i] = {k, rank, id};
        return;
      }
    }
  }
  const Slot* Find(int32_t a, int32_t b) const {
    const uint64_t k = Key(a, b);
    for (uint64_t i = Hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

// Open-addressing map from raw token bytes to id: the ignore_merges lookup runs once per word, and
// std::unordered_map's bucket division and node chase cost more than the rest of a hit.
struct BpeModel::BytesTable {
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    int32_t id = -1;  // -1: empty
  };
  std::string arena;  // all keys back to back
  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit BytesTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots.resize(cap);
    mask = cap - 1;
  }
  static uint64_t Hash(std::string_view s) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 31;
    }
    if (i < s.size()) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
      h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 32);
  }
  void Put(std::string_view key, int32_t id) {
    const uint64_t h = Hash(key);
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots[i];
      if (slot.id < 0) {
        slot = {h, static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(key.size()), id};
        arena.append(key);
        return;
      }
      if (slot.hash == h && std::string_view(arena).substr(slot.offset, slot.len) == key) {
        slot.id = id;
        return;
      }
    }
  }
  int32_t Find(std::string_view key) const {
    const uint64_t h = Hash(key);
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots[i];
      if (slot.id < 0) return -1;
      if (slot.hash == h && slot.len == key.size() && std::memcmp(arena.data() + slot.offset, key.data(), key.size()) == 0) {
        return slot.id;
      }
    }
  }
};

// Bounded cache of word -> ids. A full shard is cleared rather than tracked LRU: cheap, keeps memory
// bounded, and a skewed word distribution refills the hot entries immediately.
struct BpeModel::WordCache {
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxWordBytes = 256;  // longer words rarely repeat
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map;  // GUARDED_BY(mu)
  };
  std::array<Shard, kShards> shards;
  size_t per_shard;

  explicit WordCache(size_t capacity) : per_shard(std::max<size_t>(1, capacity / kShards)) {}
  Shard& ShardFor(std::string_view w) { return shards[StringHash{}(w) % kShards]; }

  bool Get(std::string_view w, std::vector<int32_t>* out) {
    Shard& s = ShardFor(w);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(w);
    if (it == s.map.end()) return false;
    out->insert(out->end(), it->second.begin(), it->second.end());
    return true;
  }
  void Put(std::string_view w, const int32_t* ids, size_t n) {
    Shard& s = ShardFor(w);
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.map.size() >= per_shard) s.map.clear();
    s.map.emplace(std::string(w), std::vector<int32_t>(ids, ids + n));
  }
};

BpeModel::BpeModel() { std::fill(std::begin(byte_id_), std::end(byte_id_), -1); }
BpeModel::~BpeModel() = default;

Result<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& model, const std::string& origin,
                                                    size_t cache_capacity) {
  if (!model.is_object()) return Status::Corruption(origin, "\"model\" is missing or not an object");
  const std::string type = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "BPE";
  if (type != "BPE") return Status::Unimplemented(origin, "model.type '" + type + "' is not supported (only BPE)");
  auto flag = [&](const char* key) {
    auto it = model.find(key);
    return it != model.end() && it->is_boolean() && it->get<bool>();
  };
  auto nonempty_string = [&](const char* key) {
    auto it = model.find(key);
    return it != model.end() && it->is_string() && !it->get<std::string>().empty();
  };
  if (flag("byte_fallback")) return Status::Unimplemented(origin, "model.byte_fallback: true is not supported");
  if (nonempty_string("continuing_subword_prefix")) {
    return Status::Unimplemented(origin, "model.continuing_subword_prefix is not supported");
  }
  if (nonempty_string("end_of_word_suffix")) return Status::Unimplemented(origin, "model.end_of_word_suffix is not supported");
  if (auto d = model.find("dropout"); d != model.end() && d->is_number() && d->get<double>() > 0.0) {
    return Status::Unimplemented(origin, "model.dropout is not supported");
  }

  std::unique_ptr<BpeModel> m(new BpeModel());
  m->ignore_merges_ = flag("ignore_merges");

  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) return Status::Corruption(origin, "model.vocab is missing or not an object");
  m->vocab_.reserve(vocab->size());
  m->bytes_to_id_ = std::make_unique<BytesTable>(vocab->size());
  std::string bytes;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX - 1) {
      return Status::Corruption(origin, "model.vocab['" + it.key() + "'] is not a non-negative integer id");
    }
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    m->vocab_.emplace(it.key(), id);
    // Tokens outside the byte-level alphabet can never come out of byte-level BPE; they stay
    // reachable through vocab_ (TokenToId) only.
    if (byte_level::TokenToBytes(it.key(), &bytes)) {
      m->bytes_to_id_->Put(bytes, id);
      if (bytes.size() == 1) m->byte_id_[static_cast<unsigned char>(bytes[0])] = id;
    }
  }
  if (auto unk = model.find("unk_token"); unk != model.end() && unk->is_string()) {
    auto it = m->vocab_.find(unk->get<std::string>());
    if (it == m->vocab_.end()) return Status::Corruption(origin, "model.unk_token '" + unk->get<std::string>() + "' is not in the vocabulary");
    m->unk_id_ = it->second;
  }

  auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) return Status::Corruption(origin, "model.merges is missing or not an array");
  m->merges_ = std::make_unique<MergeTable>(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const nlohmann::json& e = (*merges)[i];
    std::string a, b;
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (e.is_string()) {
      // Legacy "a b" form: byte-level tokens never contain a real space, so it splits unambiguously.
      const std::string& s = e.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        return Status::Corruption(origin, where + " '" + s + "' is not two tokens separated by one space");
      }
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();  // tokenizers >= 0.20 writes ["a", "b"] pairs
      b = e[1].get<std::string>();
    } else {
      return Status::Corruption(origin, where + " must be \"a b\" or [\"a\", \"b\"]");
    }
    auto ia = m->vocab_.find(a), ib = m->vocab_.find(b), iab = m->vocab_.find(a + b);
    if (ia == m->vocab_.end()) return Status::Corruption(origin, where + " refers to unknown token '" + a + "'");
    if (ib == m->vocab_.end()) return Status::Corruption(origin, where + " refers to unknown token '" + b + "'");
    if (iab == m->vocab_.end()) return Status::Corruption(origin, where + ": merged token '" + a + b + "' is not in the vocabulary");
    m->merges_->Put(ia->second, ib->second, static_cast<int32_t>(i), iab->second);
  }
  if (cache_capacity > 0) m->cache_ = std::make_unique<WordCache>(cache_capacity);
  return m;
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.size() == 1) {
    const int32_t id = byte_id_[static_cast<unsigned char>(word[0])];
    if (id >= 0) ids->push_back(id);
    else if (unk_id_ >= 0) ids->push_back(unk_id_);
    return;
  }
  if (ignore_merges_) {
    if (const int32_t id = bytes_to_id_->Find(word); id >= 0) {
      ids->push_back(id);
      return;
    }
  }
  const bool cacheable = cache_ != nullptr && word.size() < WordCache::kMaxWordBytes;
  if (cacheable && cache_->Get(word, ids)) return;
  const size_t before = ids->size();
  Merge(word, ids);
  if (cacheable) cache_->Put(word, ids->data() + before, ids->size() - before);
}

void BpeModel::Merge(std::string_view word, std::vector<int32_t>* out) const {
  // Short words (almost all of them): scanning the pair ranks for the minimum beats heap
  // bookkeeping. Same order as the heap below: lowest rank, then leftmost.
  constexpr size_t kScanMax = 64;
  if (word.size() <= kScanMax) {
    constexpr int32_t kNone = INT32_MAX;
    int32_t ids[kScanMax], ranks[kScanMax], merged[kScanMax];
    size_t n = word.size();
    for (size_t i = 0; i < n; ++i) ids[i] = byte_id_[static_cast<unsigned char>(word[i])];
    auto rank_pair = [&](size_t i) {
      const MergeTable::Slot* s = ids[i] >= 0 && ids[i + 1] >= 0 ? merges_->Find(ids[i], ids[i + 1]) : nullptr;
      ranks[i] = s != nullptr ? s->rank : kNone;
      merged[i] = s != nullptr ? s->id : -1;
    };
    for (size_t i = 0; i + 1 < n; ++i) rank_pair(i);
    while (n > 1) {
      size_t best = 0;
      for (size_t i = 1; i + 1 < n; ++i) {
        if (ranks[i] < ranks[best]) best = i;
      }
      if (ranks[best] == kNone) break;
      ids[best] = merged[best];
      // Drop the right symbol of the pair; pair i+1's rank slides to i+1 and so on.
      for (size_t i = best + 1; i + 1 < n; ++i) {
        ids[i] = ids[i + 1];
        ranks[i] = ranks[i + 1];
        merged[i] = merged[i + 1];
      }
      --n;
      if (best > 0) rank_pair(best - 1);
      if (best + 1 < n) rank_pair(best);
    }
    for (size_t i = 0; i < n; ++i) {
      if (ids[i] >= 0) out->push_back(ids[i]);
      else if (unk_id_ >= 0) out->push_back(unk_id_);
    }
    return;
  }
  // Long words: a binary heap of candidate merges, O(n log n) (HF's Word::merge_all).
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t id;
    // std::priority_queue pops the largest: invert so the lowest rank, then leftmost, comes first.
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  // Scratch reused across calls on this thread: no allocation per word once warm.
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back({byte_id_[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true});
  }
  auto consider = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0 || symbols[pos].id < 0 || symbols[next].id < 0) return;
    if (const MergeTable::Slot* s = merges_->Find(symbols[pos].id, symbols[next].id)) {
      heap.push_back({s->rank, pos, s->id});
      std::push_heap(heap.begin(), heap.end());
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    // Stale entry: one side was merged since it was pushed, so the pair now differs.
    const MergeTable::Slot* s = merges_->Find(left.id, symbols[left.next].id);
    if (s == nullptr || s->id != top.id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  // Position 0 is always alive: a merge keeps its left symbol.
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) out->push_back(symbols[i].id);
    else if (unk_id_ >= 0) out->push_back(unk_id_);
  }
}

}  // namespace tenet
