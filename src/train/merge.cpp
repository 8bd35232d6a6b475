// LoRA merge. See tenet/train/merge.h.
#include "tenet/train/merge.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "tenet/io/hf_folder.h"
#include "tenet/io/model_config.h"
#include "tenet/util/file.h"

namespace tenet {
namespace fs = std::filesystem;

Result<NamedTensors> MergeLoraWeights(const std::string& model_dir, const LoraAdapter& adapter,
                                      std::optional<torch::ScalarType> dtype) {
  TENET_ASSIGN_OR_RETURN(auto store, TensorStore::OpenDir(model_dir));
  for (const auto& [path, m] : adapter.modules) {
    const TensorInfo* info = store->Info(path + ".weight");
    if (info == nullptr) return Status::InvalidArgument("adapter", "module '" + path + "' does not exist in " + model_dir);
  }
  NamedTensors out;
  for (const std::string& name : store->names()) {
    TENET_ASSIGN_OR_RETURN(torch::Tensor t, store->Get(name));
    const torch::ScalarType target = dtype && t.is_floating_point() ? *dtype : t.scalar_type();
    const std::string module = name.size() > 7 && name.ends_with(".weight") ? name.substr(0, name.size() - 7) : "";
    auto it = adapter.modules.find(module);
    if (it != adapter.modules.end()) {
      const auto& m = it->second;
      if (t.dim() != 2 || m.b.size(0) != t.size(0) || m.a.size(1) != t.size(1)) {
        return Status::InvalidArgument("adapter", "module '" + module + "' does not fit the base weight's shape");
      }
      const double scale = LoraScale(adapter.config, module, m.a.size(0));
      torch::Tensor merged = t.to(torch::kFloat64) + scale * torch::matmul(m.b.to(torch::kFloat64), m.a.to(torch::kFloat64));
      out.emplace_back(name, merged.to(target).contiguous());
    } else {
      out.emplace_back(name, t.to(target).contiguous());
    }
  }
  return out;
}

Status MergeToFolder(const std::string& model_dir, const std::string& adapter_dir, const std::string& out_dir,
                     std::optional<torch::ScalarType> dtype) {
  std::error_code ec;
  const auto canon = [&](const std::string& p) { return fs::weakly_canonical(p, ec).string(); };
  if (canon(out_dir) == canon(model_dir) || canon(out_dir) == canon(adapter_dir)) {
    return Status::InvalidArgument("--out", "must be a new folder, not an input");
  }
  if (fs::exists(out_dir) && !(fs::is_directory(out_dir) && fs::is_empty(out_dir))) {
    return Status::InvalidArgument(out_dir, "already exists and is not empty (merge never overwrites)");
  }
  TENET_ASSIGN_OR_RETURN(LoraAdapter adapter, LoadPeftAdapter(adapter_dir));
  TENET_ASSIGN_OR_RETURN(NamedTensors merged, MergeLoraWeights(model_dir, adapter, dtype));
  return WriteDerivedModelFolder(model_dir, out_dir, merged, dtype);
}

}  // namespace tenet
