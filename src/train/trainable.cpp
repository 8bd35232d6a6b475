// LoRA and full fine-tuning as the trainer sees them. See tenet/train/trainable.h.
#include "tenet/train/trainable.h"

#include "tenet/io/hf_folder.h"
#include "tenet/io/safetensors.h"
#include "tenet/train/lora.h"
#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;

class LoraTrainable : public Trainable {
 public:
  LoraTrainable(LlamaForCausalLM& model, LoraConfig config) : model_(model), config_(std::move(config)) {
    params_ = LoraParameters(model);
    for (auto& p : params_) p.set_requires_grad(true);
  }
  bool empty() const { return params_.empty(); }

  std::vector<torch::Tensor> decayed() const override { return params_; }
  std::vector<torch::Tensor> not_decayed() const override { return {}; }
  void AccumulateGradients() override {}
  void SyncModel() override {}

  Status SaveCheckpoint(const std::string& dir) const override { return Export(dir + "/adapter"); }

  Status LoadCheckpoint(const std::string& dir) override {
    TENET_ASSIGN_OR_RETURN(LoraAdapter adapter, LoadPeftAdapter(dir + "/adapter"));
    torch::NoGradGuard no_grad;
    for (const auto& [path, linear] : model_.linears()) {
      if (!linear->has_lora()) continue;
      auto it = adapter.modules.find(path);
      if (it == adapter.modules.end()) return Status::Corruption(dir, "checkpoint lacks module " + path);
      if (!it->second.a.sizes().equals(linear->lora_a().sizes()) || !it->second.b.sizes().equals(linear->lora_b().sizes())) {
        return Status::Corruption(dir, "checkpoint's module " + path + " does not fit the run's adapter");
      }
      linear->lora_a().copy_(it->second.a);
      linear->lora_b().copy_(it->second.b);
    }
    return Status::OK();
  }

  std::string artifact() const override { return "adapter"; }
  Status Export(const std::string& dir) const override { return SavePeftAdapter(dir, ExportLoraAdapter(model_, config_)); }
  json Describe() const override { return {{"lora", LoraConfigToJson(config_)}}; }

 private:
  LlamaForCausalLM& model_;
  LoraConfig config_;
  std::vector<torch::Tensor> params_;
};

class FullTrainable : public Trainable {
 public:
  FullTrainable(LlamaForCausalLM& model, std::string base_dir) : base_dir_(std::move(base_dir)) {
    for (const auto& p : model.named_parameters(/*recurse=*/true)) {
      torch::Tensor w = p.value();
      w.set_requires_grad(true);
      Entry e{p.key(), w, w};
      if (w.scalar_type() != torch::kFloat32) {
        e.master = w.detach().to(torch::kFloat32).clone();
        e.master.set_requires_grad(true);
      }
      entries_.push_back(std::move(e));
    }
  }

  std::vector<torch::Tensor> decayed() const override { return Masters(/*decay=*/true); }
  std::vector<torch::Tensor> not_decayed() const override { return Masters(/*decay=*/false); }

  void AccumulateGradients() override {
    torch::NoGradGuard no_grad;
    for (auto& e : entries_) {
      if (e.master.is_same(e.weight) || !e.weight.grad().defined()) continue;
      if (e.master.grad().defined()) {
        e.master.mutable_grad().add_(e.weight.grad().to(torch::kFloat32));
      } else {
        e.master.mutable_grad() = e.weight.grad().to(torch::kFloat32);
      }
      e.weight.mutable_grad() = torch::Tensor();
    }
  }

  void SyncModel() override {
    torch::NoGradGuard no_grad;
    for (auto& e : entries_) {
      if (!e.master.is_same(e.weight)) e.weight.copy_(e.master);
    }
  }

  Status SaveCheckpoint(const std::string& dir) const override {
    NamedTensors tensors;
    for (const auto& e : entries_) tensors.emplace_back(e.name, e.master.detach());
    TENET_RETURN_IF_ERROR(MakeDirs(dir));
    return SaveSafetensors(dir + "/weights.safetensors", tensors);
  }

  Status LoadCheckpoint(const std::string& dir) override {
    TENET_ASSIGN_OR_RETURN(auto store, TensorStore::OpenFile(dir + "/weights.safetensors"));
    torch::NoGradGuard no_grad;
    for (auto& e : entries_) {
      TENET_ASSIGN_OR_RETURN(torch::Tensor t, store->Get(e.name));
      if (!t.sizes().equals(e.master.sizes()) || t.scalar_type() != torch::kFloat32) {
        return Status::Corruption(dir + "/weights.safetensors", "tensor " + e.name + " does not fit the model");
      }
      e.master.copy_(t);
    }
    SyncModel();
    return Status::OK();
  }

  std::string artifact() const override { return "model"; }

  Status Export(const std::string& dir) const override {
    TENET_ASSIGN_OR_RETURN(auto base, TensorStore::OpenDir(base_dir_));
    NamedTensors tensors;
    for (const auto& e : entries_) {
      const TensorInfo* info = base->Info(e.name);
      const torch::ScalarType dtype = info != nullptr ? info->dtype : e.weight.scalar_type();
      tensors.emplace_back(e.name, e.master.detach().to(torch::kCPU, dtype).contiguous());
    }
    return WriteDerivedModelFolder(base_dir_, dir, tensors);
  }

  json Describe() const override {
    int64_t n = 0;
    for (const auto& e : entries_) n += e.weight.numel();
    return {{"full", {{"parameters", n}, {"master_weights", "float32"}}}};
  }

 private:
  struct Entry {
    std::string name;
    torch::Tensor weight;  // the model's tensor (trained in its dtype)
    torch::Tensor master;  // fp32: the same tensor on an fp32 model
  };

  std::vector<torch::Tensor> Masters(bool decay) const {
    std::vector<torch::Tensor> out;
    // Norm weights and biases are 1-D.
    for (const auto& e : entries_) {
      if ((e.master.dim() >= 2) == decay) out.push_back(e.master);
    }
    return out;
  }

  std::string base_dir_;
  std::vector<Entry> entries_;
};

}  // namespace

Result<std::unique_ptr<Trainable>> MakeLoraTrainable(LlamaForCausalLM& model, const LoraConfig& config) {
  auto t = std::make_unique<LoraTrainable>(model, config);
  if (t->empty()) return Status::InvalidArgument("model", "carries no LoRA adapter to train");
  return std::unique_ptr<Trainable>(std::move(t));
}

Result<std::unique_ptr<Trainable>> MakeFullTrainable(LlamaForCausalLM& model, const std::string& base_dir) {
  for (const auto& [path, linear] : model.linears()) {
    if (linear->has_lora()) return Status::InvalidArgument("full fine-tuning", "the model carries an adapter (merge it first)");
  }
  if (!FileExists(base_dir + "/config.json")) return Status::InvalidArgument(base_dir, "is not an HF model folder (no config.json)");
  return std::unique_ptr<Trainable>(std::make_unique<FullTrainable>(model, base_dir));
}

}  // namespace tenet
