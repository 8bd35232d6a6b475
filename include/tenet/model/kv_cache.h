// Key/value cache for incremental decoding: pre-allocated per layer, filled left to right.
//
// Shape legend: L layers, B batch, K kv heads, S capacity (max positions), D head dim.
// Rows of a batch share one fill length; sequences of different lengths are handled by the
// caller's attention mask (padding positions masked out). Not thread-safe: one cache per decoding
// loop.
#pragma once

#include <torch/torch.h>

#include "tenet/io/model_config.h"
#include "tenet/util/status.h"

namespace tenet {

class KVCache {
 public:
  // Allocates (B, K, S, D) keys and values for each layer. InvalidArgument for bad sizes.
  static Result<KVCache> Create(const ModelConfig& config, int64_t batch, int64_t capacity, torch::ScalarType dtype,
                                torch::Device device = torch::kCPU);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }
  // Positions already filled (the next write starts here).
  int64_t length() const { return length_; }

  // Writes new keys/values (B, K, T, D) for `layer` at [length, length+T) and returns views of
  // the filled prefix, each (B, K, length+T, D). The caller guarantees length+T <= capacity
  // (checked by the model before the forward pass).
  std::pair<torch::Tensor, torch::Tensor> Append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  // Marks T more positions filled; called once per forward pass after every layer appended.
  void Advance(int64_t t) { length_ += t; }
  // Forgets everything (keeps the memory).
  void Reset() { length_ = 0; }
  // Keeps only the first `length` positions (e.g. to reuse a shared prompt).
  void Truncate(int64_t length) { length_ = std::min(length_, length); }

  // Bytes held by the cache.
  size_t bytes() const;

 private:
  KVCache() = default;
  int64_t batch_ = 0, capacity_ = 0, length_ = 0;
  std::vector<torch::Tensor> keys_, values_;  // per layer (B, K, S, D)
};

}  // namespace tenet
