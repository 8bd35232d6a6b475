// KV cache with per-row lengths. See tenet/model/kv_cache.h.
#include "tenet/model/kv_cache.h"

#include <algorithm>

namespace tenet {

Result<KVCache> KVCache::Create(const ModelConfig& c, int64_t batch, int64_t capacity, torch::ScalarType dtype,
                                torch::Device device) {
  if (batch <= 0 || capacity <= 0) return Status::InvalidArgument("kv cache", "batch and capacity must be positive");
  KVCache cache;
  cache.batch_ = batch;
  cache.active_ = batch;
  cache.capacity_ = capacity;
  cache.lengths_.assign(static_cast<size_t>(batch), 0);
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    cache.keys_.push_back(torch::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
    cache.values_.push_back(torch::zeros({batch, c.num_key_value_heads, capacity, c.head_dim}, opts));
  }
  return cache;
}

int64_t KVCache::length() const { return *std::max_element(lengths_.begin(), lengths_.begin() + active_); }

bool KVCache::uniform() const {
  return std::all_of(lengths_.begin(), lengths_.begin() + active_, [&](int64_t l) { return l == lengths_[0]; });
}

void KVCache::SetActiveRows(int64_t rows) {
  TORCH_CHECK(rows >= 1 && rows <= batch_, "kv cache: active rows out of range");
  active_ = rows;
}

std::pair<torch::Tensor, torch::Tensor> KVCache::Append(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  torch::Tensor keys = keys_[static_cast<size_t>(layer)];
  torch::Tensor values = values_[static_cast<size_t>(layer)];
  if (active_ < batch_) {
    keys = keys.narrow(0, 0, active_);
    values = values.narrow(0, 0, active_);
  }
  if (uniform()) {
    keys.narrow(2, lengths_[0], t).copy_(k);
    values.narrow(2, lengths_[0], t).copy_(v);
  } else if (t == 1) {
    // Decode step with rows at different lengths: one scatter per tensor, row b at lengths[b].
    using torch::indexing::Slice;
    auto idx = torch::TensorOptions().dtype(torch::kInt64).device(keys.device());
    torch::Tensor rows = torch::arange(active_, idx);
    torch::Tensor pos = torch::tensor(lengths(), torch::kInt64).to(keys.device());
    keys.index_put_({rows, Slice(), pos}, k.squeeze(2));  // k (B, K, 1, D) -> (B, K, D)
    values.index_put_({rows, Slice(), pos}, v.squeeze(2));
  } else {
    for (int64_t b = 0; b < active_; ++b) {
      keys[b].narrow(1, lengths_[static_cast<size_t>(b)], t).copy_(k[b]);
      values[b].narrow(1, lengths_[static_cast<size_t>(b)], t).copy_(v[b]);
    }
  }
  const int64_t s = length() + t;
  return {keys.narrow(2, 0, s), values.narrow(2, 0, s)};
}

void KVCache::Advance(int64_t t) {
  for (int64_t b = 0; b < active_; ++b) lengths_[static_cast<size_t>(b)] += t;
}

void KVCache::SetLength(int64_t row, int64_t length) {
  lengths_[static_cast<size_t>(row)] = std::clamp<int64_t>(length, 0, capacity_);
}

void KVCache::Reset() { std::fill(lengths_.begin(), lengths_.end(), 0); }

Status KVCache::CopyRow(const KVCache& src, int64_t src_row, int64_t dst_row, int64_t length) {
  if (src.keys_.size() != keys_.size() || src_row < 0 || src_row >= src.batch_ || dst_row < 0 || dst_row >= batch_ ||
      length < 0 || length > src.lengths_[static_cast<size_t>(src_row)] || length > capacity_) {
    return Status::InvalidArgument("kv cache", "row copy does not fit");
  }
  for (size_t l = 0; l < keys_.size(); ++l) {
    if (src.keys_[l].size(1) != keys_[l].size(1) || src.keys_[l].size(3) != keys_[l].size(3)) {
      return Status::InvalidArgument("kv cache", "row copy between caches of different shapes");
    }
    keys_[l][dst_row].narrow(1, 0, length).copy_(src.keys_[l][src_row].narrow(1, 0, length));
    values_[l][dst_row].narrow(1, 0, length).copy_(src.values_[l][src_row].narrow(1, 0, length));
  }
  lengths_[static_cast<size_t>(dst_row)] = length;
  return Status::OK();
}

size_t KVCache::bytes() const {
  size_t n = 0;
  for (const auto& t : keys_) n += static_cast<size_t>(t.numel()) * t.element_size();
  for (const auto& t : values_) n += static_cast<size_t>(t.numel()) * t.element_size();
  return n;
}

}  // namespace tenet
