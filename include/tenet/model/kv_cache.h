// Key/value cache for incremental decoding: pre-allocated per layer, one slot (row) per sequence,
// each row filled left to right to its own length.
//
// Shape legend: L layers, B rows (slots), K kv heads, S capacity (max positions), D head dim,
// T new tokens per forward.
//
// Rows may have different lengths (continuous batching: a finished sequence's slot is refilled
// while the others keep decoding). A forward pass appends T tokens to every row at that row's
// own length; attention masks positions past each row's length (LlamaForCausalLM::Hidden builds
// that mask). When all rows have the same length the append is one strided copy.
//
// Not thread-safe: one cache per decoding loop.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "tenet/io/model_config.h"
#include "tenet/util/status.h"

namespace tenet {

class KVCache {
 public:
  // Allocates (B, K, S, D) keys and values for each layer, all rows empty. InvalidArgument for
  // non-positive sizes.
  static Result<KVCache> Create(const ModelConfig& config, int64_t batch, int64_t capacity, torch::ScalarType dtype,
                                torch::Device device = torch::kCPU);

  // Rows a forward pass covers: the first active_rows() of the allocated rows (all by default).
  int64_t batch() const { return active_; }
  int64_t rows() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  // Positions filled in each row a forward pass covers.
  std::vector<int64_t> lengths() const { return {lengths_.begin(), lengths_.begin() + active_}; }
  // Lets forward passes cover only the first `rows` rows (a decoder whose live sequences are packed
  // at the front skips the empty slots); the others keep their contents. 1 <= rows <= rows().
  void SetActiveRows(int64_t rows);
  int64_t active_rows() const { return active_; }
  // Positions filled in one row (any row).
  int64_t lengths_of(int64_t row) const { return lengths_[static_cast<size_t>(row)]; }
  // The longest row (all rows when uniform).
  int64_t length() const;
  bool uniform() const;

  // Writes new keys/values (B, K, T, D) for `layer` at each row's length and returns views of
  // (B, K, max length + T, D); positions past a row's own length + T hold stale data that the
  // caller's mask must exclude. The caller guarantees every row's length + T <= capacity (checked
  // by the model before the forward pass).
  std::pair<torch::Tensor, torch::Tensor> Append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  // Marks T more positions filled in every row; called once per forward after every layer.
  void Advance(int64_t t);

  // Sets row `row`'s length (shorter forgets the tail; 0 empties the slot for reuse). Any row.
  void SetLength(int64_t row, int64_t length);
  void Reset();
  // Copies the first `length` positions of `src_row` in `src` (same layers, heads, head dim) into
  // `dst_row` of this cache and sets its length: how a prefilled prompt is forked into the slots
  // of its samples. InvalidArgument if shapes differ or it does not fit.
  Status CopyRow(const KVCache& src, int64_t src_row, int64_t dst_row, int64_t length);

  // Bytes held by the cache.
  size_t bytes() const;

 private:
  KVCache() = default;
  int64_t batch_ = 0, capacity_ = 0, active_ = 0;
  std::vector<int64_t> lengths_;              // per row
  std::vector<torch::Tensor> keys_, values_;  // per layer (B, K, S, D)
};

}  // namespace tenet
