// HF model folder weights. See tenet/io/hf_folder.h.
#include "tenet/io/hf_folder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tenet/io/model_config.h"
#include "tenet/util/file.h"

namespace tenet {

namespace {
using json = nlohmann::json;

Status AddFile(TensorStore* store, std::vector<std::unique_ptr<SafetensorsFile>>* files,
               std::map<std::string, std::pair<size_t, const TensorInfo*>>* where, std::unique_ptr<SafetensorsFile> f) {
  (void)store;
  size_t idx = files->size();
  for (const TensorInfo& t : f->tensors()) {
    auto [it, inserted] = where->emplace(t.name, std::make_pair(idx, &t));
    if (!inserted) {
      return Status::Corruption(f->path(), "tensor '" + t.name + "' also appears in " + (*files)[it->second.first]->path());
    }
  }
  files->push_back(std::move(f));
  return Status::OK();
}
}  // namespace

Result<std::unique_ptr<TensorStore>> TensorStore::OpenFile(const std::string& path) {
  auto store = std::unique_ptr<TensorStore>(new TensorStore());
  store->origin_ = path;
  TENET_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open(path));
  TENET_RETURN_IF_ERROR(AddFile(store.get(), &store->files_, &store->where_, std::move(f)));
  return store;
}

Result<std::unique_ptr<TensorStore>> TensorStore::OpenDir(const std::string& dir) {
  if (!IsDirectory(dir)) {
    return FileExists(dir) ? Status::InvalidArgument(dir, "is not a directory (expected an HF model folder)")
                           : Status::NotFound(dir, "no such model folder");
  }
  const std::string index_path = JoinPath(dir, "model.safetensors.index.json");
  const std::string single = JoinPath(dir, "model.safetensors");
  if (!FileExists(index_path)) {
    if (!FileExists(single)) {
      std::string hint = FileExists(JoinPath(dir, "pytorch_model.bin")) || FileExists(JoinPath(dir, "pytorch_model.bin.index.json"))
                             ? " (found pytorch_model.bin: convert it to safetensors; pickled weights are not loaded)"
                             : "";
      return Status::NotFound(dir, "no model.safetensors or model.safetensors.index.json" + hint);
    }
    TENET_ASSIGN_OR_RETURN(auto store, OpenFile(single));
    store->origin_ = dir;
    return store;
  }
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(index_path));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return Status::Corruption(index_path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return Status::Corruption(index_path, "needs a \"weight_map\" object");
  }
  std::map<std::string, std::vector<std::string>> by_file;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) return Status::Corruption(index_path, "weight_map values must be file names");
    std::string file = it.value().get<std::string>();
    if (file.find('/') != std::string::npos || file == ".." || file.empty()) {
      return Status::Corruption(index_path, "weight_map names file \"" + file + "\" outside the folder");
    }
    by_file[file].push_back(it.key());
  }
  if (by_file.empty()) return Status::Corruption(index_path, "weight_map is empty");
  auto store = std::unique_ptr<TensorStore>(new TensorStore());
  store->origin_ = dir;
  for (const auto& [file, names] : by_file) {
    TENET_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open(JoinPath(dir, file)));
    for (const std::string& n : names) {
      if (f->Find(n) == nullptr) {
        return Status::Corruption(index_path, "lists tensor '" + n + "' in " + file + ", which does not contain it");
      }
    }
    TENET_RETURN_IF_ERROR(AddFile(store.get(), &store->files_, &store->where_, std::move(f)));
  }
  return store;
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [n, _] : where_) out.push_back(n);
  return out;
}

const TensorInfo* TensorStore::Info(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : it->second.second;
}

Result<torch::Tensor> TensorStore::Get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return Status::NotFound(origin_, "missing tensor '" + name + "'");
  return files_[it->second.first]->Get(*it->second.second);
}

size_t TensorStore::total_bytes() const {
  size_t n = 0;
  for (const auto& [_, w] : where_) n += w.second->end - w.second->begin;
  return n;
}

Status SaveWeights(const std::string& dir, const NamedTensors& tensors, size_t max_shard_bytes) {
  TENET_RETURN_IF_ERROR(MakeDirs(dir));
  NamedTensors sorted = tensors;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t total = 0;
  std::vector<NamedTensors> shards(1);
  size_t current = 0;
  for (const auto& nt : sorted) {
    size_t bytes = static_cast<size_t>(nt.second.numel()) * nt.second.element_size();
    if (current > 0 && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(nt);
    current += bytes;
    total += bytes;
  }
  // Remove weights of an earlier save so the folder never mixes layouts.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == "model.safetensors.index.json" || (name.rfind("model-", 0) == 0 && name.size() > 12 &&
                                                    name.substr(name.size() - 12) == ".safetensors")) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  if (shards.size() == 1) {
    std::filesystem::remove(JoinPath(dir, "model.safetensors.index.json"), ec);
    return SaveSafetensors(JoinPath(dir, "model.safetensors"), shards[0]);
  }
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    TENET_RETURN_IF_ERROR(SaveSafetensors(JoinPath(dir, name), shards[i]));
    for (const auto& nt : shards[i]) weight_map[nt.first] = name;
  }
  std::filesystem::remove(JoinPath(dir, "model.safetensors"), ec);
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  return WriteFileAtomic(JoinPath(dir, "model.safetensors.index.json"), index.dump(2) + "\n");
}

Status WriteDerivedModelFolder(const std::string& base_dir, const std::string& out_dir, const NamedTensors& weights,
                               std::optional<torch::ScalarType> dtype) {
  TENET_ASSIGN_OR_RETURN(std::string config_text, ReadFile(base_dir + "/config.json"));
  nlohmann::json config = nlohmann::json::parse(config_text, nullptr, false);
  if (config.is_discarded()) return Status::Corruption(base_dir + "/config.json", "not valid JSON");
  if (dtype) config["torch_dtype"] = DtypeName(*dtype);
  TENET_RETURN_IF_ERROR(MakeDirs(out_dir));
  TENET_RETURN_IF_ERROR(SaveWeights(out_dir, weights));
  TENET_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/config.json", config.dump(2) + "\n"));
  for (const char* f : {"generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = base_dir + "/" + f;
    if (!FileExists(src)) continue;
    TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(src));
    TENET_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/" + f, text));
  }
  return Status::OK();
}

}  // namespace tenet
