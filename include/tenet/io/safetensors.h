// safetensors files (Hugging Face's tensor container): read via mmap, write atomically.
//
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the byte buffer. The reader
// validates what the reference Rust implementation validates (header size and bounds, known
// dtypes, offsets inside the buffer, sizes matching shapes, tensors neither overlapping nor
// leaving gaps) and reports each violation as one Corruption/InvalidArgument line naming the file
// and tensor. Tensors whose bytes are aligned are returned zero-copy over a private
// (copy-on-write) mapping; others are copied.
//
// Not for: model semantics (names, shapes against config.json): see tenet/io/hf_folder.h.
// Thread-safety: an opened SafetensorsFile is immutable; Get may be called from many threads.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tenet/util/file.h"
#include "tenet/util/status.h"

namespace tenet {

struct TensorInfo {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0;  // absolute byte offsets in the file
  size_t end = 0;
};

// Safetensors dtype string ("F32", "BF16", ...) <-> torch dtype. InvalidArgument for unknown.
Result<torch::ScalarType> ParseSafetensorsDtype(const std::string& s);
Result<std::string> SafetensorsDtypeName(torch::ScalarType t);

class SafetensorsFile {
 public:
  // Header larger than this is rejected as hostile (the Rust reference uses the same bound).
  static constexpr size_t kMaxHeaderBytes = 100'000'000;

  // Maps and validates `path`. NotFound if absent; Corruption for any structural problem.
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr if absent.
  const TensorInfo* Find(const std::string& name) const;
  // A CPU tensor with the stored dtype and shape. Zero-copy (keeps the mapping alive) when the
  // data is aligned for its dtype; otherwise a copy.
  torch::Tensor Get(const TensorInfo& info) const;

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes `tensors` (any device/dtype among the supported ones; copied to CPU contiguous) to
// `path` atomically, tensors in name order, header padded to 8 bytes. InvalidArgument for a
// duplicate name or unsupported dtype; IOError on write failure (the old file stays intact).
Status SaveSafetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace tenet
