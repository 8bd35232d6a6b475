// Hugging Face model folders: the weights as one TensorStore (model.safetensors, or shards listed
// in model.safetensors.index.json), and writing weights back (sharded when large), atomically.
//
// Not for: what the tensors mean (tenet/model/llama.h checks names and shapes against config).
// Thread-safety: an opened TensorStore is immutable; Get may be called from many threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tenet/io/safetensors.h"
#include "tenet/util/status.h"

namespace tenet {

class TensorStore {
 public:
  // Opens <dir>/model.safetensors.index.json if present (every shard it names must exist, each
  // listed tensor must be in its shard, no tensor may appear in two shards), else
  // <dir>/model.safetensors. NotFound if neither exists (mentions pytorch_model.bin if that is
  // what the folder holds: only safetensors is supported).
  static Result<std::unique_ptr<TensorStore>> OpenDir(const std::string& dir);
  // Opens one safetensors file.
  static Result<std::unique_ptr<TensorStore>> OpenFile(const std::string& path);

  // Sorted tensor names.
  std::vector<std::string> names() const;
  bool Contains(const std::string& name) const { return where_.count(name) != 0; }
  const TensorInfo* Info(const std::string& name) const;
  // NotFound naming the tensor and the folder when absent.
  Result<torch::Tensor> Get(const std::string& name) const;
  // Total bytes of tensor data across files.
  size_t total_bytes() const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;  // name -> (file, info)
};

// Writes weights into `dir`: model.safetensors when the total is at most `max_shard_bytes`, else
// model-0000k-of-0000n.safetensors shards plus model.safetensors.index.json (HF layout, tensors
// in name order). Each file is written atomically; stale shards of an earlier save are removed.
Status SaveWeights(const std::string& dir, const NamedTensors& tensors, size_t max_shard_bytes = 5ull << 30);

// Writes a model folder derived from `base_dir` (a merge, a fine-tune): `weights`, the base's
// config.json (torch_dtype set to `dtype` when given), and its generation config and tokenizer
// files, copied. `base_dir` is only read.
Status WriteDerivedModelFolder(const std::string& base_dir, const std::string& out_dir, const NamedTensors& weights,
                               std::optional<torch::ScalarType> dtype = std::nullopt);

}  // namespace tenet
