// safetensors reader and writer. See tenet/io/safetensors.h for the format and guarantees.
#include "tenet/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace tenet {

namespace {

using json = nlohmann::json;

struct DtypeName {
  const char* name;
  torch::ScalarType type;
};
constexpr DtypeName kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

uint64_t ReadLE64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Result<torch::ScalarType> ParseSafetensorsDtype(const std::string& s) {
  for (const auto& d : kDtypes)
    if (s == d.name) return d.type;
  return Status::Unimplemented("dtype \"" + s + "\"", "not supported (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

Result<std::string> SafetensorsDtypeName(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (t == d.type) return std::string(d.name);
  return Status::InvalidArgument(std::string("dtype ") + c10::toString(t), "cannot be stored in safetensors");
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  TENET_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  const size_t size = file->size();
  if (size < 8) return Status::Corruption(path, "truncated: shorter than the 8-byte header length");
  const uint64_t n = ReadLE64(file->data());
  if (n > kMaxHeaderBytes) {
    return Status::Corruption(path, "header length " + std::to_string(n) + " exceeds the " +
                                        std::to_string(kMaxHeaderBytes) + "-byte limit");
  }
  if (n > size - 8) {
    return Status::Corruption(path, "truncated: header length " + std::to_string(n) + " runs past the end of the " +
                                        std::to_string(size) + "-byte file");
  }
  std::string_view header(reinterpret_cast<const char*>(file->data() + 8), n);
  if (header.empty() || header[0] != '{') return Status::Corruption(path, "header is not a JSON object");
  json j;
  try {
    j = json::parse(header);
  } catch (const json::exception& e) {
    return Status::Corruption(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::Corruption(path, "header is not a JSON object");

  auto out = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  out->file_ = file;
  const size_t base = 8 + n;
  const size_t buffer_size = size - base;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return Status::Corruption(path, "__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) return Status::Corruption(path, "__metadata__." + m.key() + " must be a string");
        out->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets")) {
      return Status::Corruption(where, "needs dtype, shape and data_offsets");
    }
    if (!v["dtype"].is_string()) return Status::Corruption(where, "dtype must be a string");
    auto dtype = ParseSafetensorsDtype(v["dtype"].get<std::string>());
    if (!dtype.ok()) return dtype.status().WithContext(where);
    TensorInfo info;
    info.name = name;
    info.dtype = *dtype;
    const json& shape = v["shape"];
    if (!shape.is_array()) return Status::Corruption(where, "shape must be an array");
    uint64_t numel = 1;
    for (const json& d : shape) {
      if (!d.is_number_unsigned()) return Status::Corruption(where, "shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim)) {
        return Status::Corruption(where, "shape overflows");
      }
      numel *= dim;
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      return Status::Corruption(where, "data_offsets must be [begin, end] with non-negative integers");
    }
    uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e) return Status::Corruption(where, "data_offsets begin > end");
    if (e > buffer_size) {
      return Status::Corruption(where, "data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                                           "] out of range: the data buffer has " + std::to_string(buffer_size) +
                                           " bytes (truncated file?)");
    }
    const uint64_t elem = c10::elementSize(info.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / elem || numel * elem != e - b) {
      return Status::Corruption(where, "shape needs " + std::to_string(numel * elem) + " bytes but data_offsets span " +
                                           std::to_string(e - b));
    }
    info.begin = base + b;
    info.end = base + e;
    out->tensors_.push_back(std::move(info));
  }
  // Tensors must tile the buffer exactly: no overlap (aliasing) and no gaps.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : out->tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  size_t cursor = base;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < cursor) {
      return Status::Corruption(path, "tensors '" + prev->name + "' and '" + t->name + "' overlap");
    }
    if (t->begin > cursor) {
      return Status::Corruption(path, "gap of " + std::to_string(t->begin - cursor) + " bytes before tensor '" + t->name + "'");
    }
    cursor = t->end;
    prev = t;
  }
  if (cursor != size) {
    return Status::Corruption(path, std::to_string(size - cursor) + " trailing bytes after the last tensor");
  }
  std::sort(out->tensors_.begin(), out->tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  for (size_t i = 0; i < out->tensors_.size(); ++i) out->index_[out->tensors_[i].name] = i;
  return out;
}

const TensorInfo* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

torch::Tensor SafetensorsFile::Get(const TensorInfo& info) const {
  auto options = torch::TensorOptions().dtype(info.dtype).device(torch::kCPU);
  const size_t elem = c10::elementSize(info.dtype);
  uint8_t* ptr = file_->mutable_data() + info.begin;
  if (info.end == info.begin) return torch::empty(info.shape, options);
  if (reinterpret_cast<uintptr_t>(ptr) % elem == 0) {
    std::shared_ptr<MappedFile> keep = file_;
    return torch::from_blob(ptr, info.shape, [keep](void*) {}, options);
  }
  torch::Tensor t = torch::empty(info.shape, options);
  std::memcpy(t.data_ptr(), ptr, info.end - info.begin);
  return t;
}

Status SaveSafetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, torch::Tensor>> sorted;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") return Status::InvalidArgument(path, "tensor name __metadata__ is reserved");
    if (!seen.insert(name).second) return Status::InvalidArgument(path, "duplicate tensor name '" + name + "'");
    sorted.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& [name, t] : sorted) {
    auto dt = SafetensorsDtypeName(t.scalar_type());
    if (!dt.ok()) return dt.status().WithContext(path + ": tensor '" + name + "'");
    size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", *dt}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the buffer 8-byte aligned for zero-copy reads
  uint8_t len[8];
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  TENET_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::Open(path));
  TENET_RETURN_IF_ERROR(w->Append(len, 8));
  TENET_RETURN_IF_ERROR(w->Append(h));
  for (const auto& [name, t] : sorted) {
    TENET_RETURN_IF_ERROR(w->Append(t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size()));
  }
  return w->Commit();
}

}  // namespace tenet
