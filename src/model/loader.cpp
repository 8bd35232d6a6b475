// HF folder -> LlamaForCausalLM. See tenet/model/loader.h.
#include "tenet/model/loader.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "tenet/io/hf_folder.h"
#include "tenet/model/compute_dtype.h"
#include "tenet/util/file.h"
#include "tenet/util/runtime.h"

namespace tenet {

namespace {


// Tensors a checkpoint may carry that the model legitimately ignores.
bool Ignorable(const std::string& name, const ModelConfig& c) {
  return name.ends_with(".rotary_emb.inv_freq") || (c.tie_word_embeddings && name == "lm_head.weight");
}

}  // namespace

Result<torch::Device> ParseDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name == "auto") {
    if (torch::cuda::is_available()) return torch::Device(torch::kCUDA);
    if (name == "auto") return torch::Device(torch::kCPU);
    return Status::InvalidArgument("--device cuda", "no CUDA device is available (this build or machine has none)");
  }
  return Status::InvalidArgument("--device " + name, "expected cpu, cuda or auto");
}

Result<LoadedModel> LoadModel(const std::string& dir, const LoadOptions& options) {
  if (!IsDirectory(dir)) {
    return FileExists(dir) ? Status::InvalidArgument(dir, "is not a directory (expected an HF model folder)")
                           : Status::NotFound(dir, "no such model folder");
  }
  LoadedModel out;
  out.dir = dir;
  TENET_ASSIGN_OR_RETURN(out.config, LoadModelConfig(JoinPath(dir, "config.json")));
  const ModelConfig& c = out.config;
  TENET_ASSIGN_OR_RETURN(auto store, TensorStore::OpenDir(dir));
  out.checkpoint_bytes = store->total_bytes();

  const auto expected = LlamaForCausalLM::ExpectedTensors(c);
  std::set<std::string> wanted;
  for (const auto& s : expected) wanted.insert(s.name);
  for (const std::string& name : store->names()) {
    if (!wanted.count(name) && !Ignorable(name, c)) {
      return Status::InvalidArgument(dir, "unexpected tensor '" + name + "' (does config.json match the weights? it has " +
                                              std::to_string(c.num_hidden_layers) + " layers, tie_word_embeddings=" +
                                              (c.tie_word_embeddings ? "true" : "false") + ")");
    }
  }
  ModelOptions mo;
  mo.device = options.device;
  if (c.raw.contains("torch_dtype") || c.raw.contains("dtype")) {
    out.checkpoint_dtype = c.dtype;
  } else {
    const TensorInfo* first = store->Info(expected.front().name);
    out.checkpoint_dtype = first != nullptr && torch::isFloatingType(first->dtype) ? first->dtype : torch::kFloat32;
  }
  if (options.hardware_policy) {
    const DtypeChoice choice = ChooseDtypes(out.checkpoint_dtype, options.device, options.dtype, options.prefer_bf16);
    mo.dtype = choice.compute;
    out.dtype_reason = choice.reason;
    if (choice.weights != choice.compute) {
      bool narrow = options.storage == WeightStorage::kNarrow;
      std::string why;
      if (options.storage == WeightStorage::kComputeIfFits) {
        // The wider copy of the checkpoint's tensors against a quarter of the memory available.
        const int64_t wide = static_cast<int64_t>(store->total_bytes()) / static_cast<int64_t>(c10::elementSize(choice.weights)) *
                             static_cast<int64_t>(c10::elementSize(choice.compute));
        const int64_t available = AvailableMemoryBytes();
        narrow = available < 0 || wide > available / 4;
        char gb[32];
        std::snprintf(gb, sizeof gb, "%.1f GB", static_cast<double>(wide) / 1e9);
        why = narrow ? std::string(" (a copy of ") + gb + " would not fit comfortably)"
                     : std::string(" once (") + gb + " fits; large products run faster on them)";
      }
      out.dtype_reason += narrow ? ", weights kept in " + DtypeName(choice.weights) + " and widened inside the products" + why
                                 : ", weights widened to " + DtypeName(choice.compute) + why;
      if (narrow) mo.weight_dtype = choice.weights;
    }
  } else {
    mo.dtype = options.dtype.value_or(out.checkpoint_dtype);
    out.dtype_reason = options.dtype ? "requested" : "the checkpoint's";
  }
  WeightSource source = [&](const TensorSpec& spec) -> Result<torch::Tensor> {
    if (!store->Contains(spec.name)) {
      return Status::NotFound(dir, "missing tensor '" + spec.name + "' required by config.json");
    }
    return store->Get(spec.name);
  };
  auto model = LlamaForCausalLM::Create(c, source, mo);
  if (!model.ok()) return model.status().WithContext(dir);
  out.model = std::move(model).value();

  out.eos_token_ids = c.eos_token_ids;
  const std::string gen_path = JoinPath(dir, "generation_config.json");
  if (FileExists(gen_path)) {
    TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(gen_path));
    nlohmann::json g = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (g.is_discarded() || !g.is_object()) return Status::InvalidArgument(gen_path, "not a JSON object");
    if (g.contains("eos_token_id")) {
      const auto& e = g["eos_token_id"];
      std::vector<int64_t> ids;
      if (e.is_number_integer()) ids.push_back(e.get<int64_t>());
      else if (e.is_array()) {
        for (const auto& x : e) {
          if (!x.is_number_integer()) return Status::InvalidArgument(gen_path, "eos_token_id list must hold integers");
          ids.push_back(x.get<int64_t>());
        }
      } else if (!e.is_null()) {
        return Status::InvalidArgument(gen_path, "eos_token_id must be an integer or a list");
      }
      if (!ids.empty()) out.eos_token_ids = ids;
    }
  }
  for (int64_t id : out.eos_token_ids) {
    if (id < 0 || id >= c.vocab_size) {
      return Status::InvalidArgument(dir, "eos_token_id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  return out;
}

}  // namespace tenet
