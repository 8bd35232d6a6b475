// KV cache. See tenet/model/kv_cache.h.
#include "tenet/model/kv_cache.h"

namespace tenet {

Result<KVCache> KVCache::Create(const ModelConfig& c, int64_t batch, int64_t capacity, torch::ScalarType dtype,
                                torch::Device device) {
  if (batch <= 0 || capacity <= 0) return Status::InvalidArgument("kv cache", "batch and capacity must be positive");
  KVCache cache;
  cache.batch_ = batch;
  cache.capacity_ = capacity;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    cache.keys_.push_back(torch::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
    cache.values_.push_back(torch::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
  }
  return cache;
}

std::pair<torch::Tensor, torch::Tensor> KVCache::Append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  torch::Tensor& keys = keys_[static_cast<size_t>(layer)];
  torch::Tensor& values = values_[static_cast<size_t>(layer)];
  keys.narrow(2, length_, t).copy_(k);
  values.narrow(2, length_, t).copy_(v);
  return {keys.narrow(2, 0, length_ + t), values.narrow(2, 0, length_ + t)};
}

size_t KVCache::bytes() const {
  size_t n = 0;
  for (const auto& t : keys_) n += static_cast<size_t>(t.numel()) * t.element_size();
  for (const auto& t : values_) n += static_cast<size_t>(t.numel()) * t.element_size();
  return n;
}

}  // namespace tenet
