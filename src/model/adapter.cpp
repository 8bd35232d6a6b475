// LoRA attach. See tenet/model/adapter.h.
#include "tenet/model/adapter.h"

#include <map>

namespace tenet {

namespace {

// InvalidArgument naming the first module of `adapter` that the model lacks or that does not fit.
Status CheckFits(const std::map<std::string, std::shared_ptr<Linear>>& by_path, const LoraAdapter& adapter) {
  for (const auto& [path, m] : adapter.modules) {
    auto it = by_path.find(path);
    if (it == by_path.end()) {
      return Status::InvalidArgument("adapter", "module '" + path + "' does not exist in this model (wrong base model?)");
    }
    const Linear& l = *it->second;
    if (m.a.size(1) != l.in_features() || m.b.size(0) != l.out_features()) {
      return Status::InvalidArgument("adapter", "module '" + path + "' expects a layer of " + std::to_string(m.a.size(1)) +
                                                    " -> " + std::to_string(m.b.size(0)) + " features, the model has " +
                                                    std::to_string(l.in_features()) + " -> " + std::to_string(l.out_features()));
    }
  }
  return Status::OK();
}

}  // namespace

Status AttachAdapter(LlamaForCausalLM& model, const LoraAdapter& adapter, torch::ScalarType adapter_dtype) {
  std::map<std::string, std::shared_ptr<Linear>> by_path(model.linears().begin(), model.linears().end());
  // Validate everything first so that a bad adapter leaves the model untouched.
  TENET_RETURN_IF_ERROR(CheckFits(by_path, adapter));
  for (const auto& [path, m] : adapter.modules) {
    const int64_t rank = m.a.size(0);
    by_path[path]->SetLora(m.a.to(model.device(), adapter_dtype).clone(), m.b.to(model.device(), adapter_dtype).clone(),
                           LoraScale(adapter.config, path, rank), adapter.config.lora_dropout);
  }
  return Status::OK();
}

}  // namespace tenet

namespace tenet {

Result<std::shared_ptr<const ServedAdapter>> MakeServedAdapter(const LlamaForCausalLM& model, const LoraAdapter& adapter,
                                                               std::string name) {
  const auto& linears = model.linears();
  std::map<std::string, std::shared_ptr<Linear>> by_path(linears.begin(), linears.end());
  TENET_RETURN_IF_ERROR(CheckFits(by_path, adapter));
  auto out = std::make_shared<ServedAdapter>();
  out->name = std::move(name);
  out->layers.resize(linears.size());
  for (size_t i = 0; i < linears.size(); ++i) {
    auto it = adapter.modules.find(linears[i].first);
    if (it == adapter.modules.end()) continue;
    ServedAdapter::Layer& l = out->layers[i];
    // As LoraLinearFn rounds them for its products: A and scale * B in the compute dtype.
    const double scale = LoraScale(adapter.config, it->first, it->second.a.size(0));
    l.a = it->second.a.to(model.device(), torch::kFloat32).to(model.dtype()).contiguous();
    l.b = (it->second.b.to(model.device(), torch::kFloat32) * scale).to(model.dtype()).contiguous();
    out->bytes += (l.a.numel() + l.b.numel()) * static_cast<int64_t>(l.a.element_size());
  }
  return std::shared_ptr<const ServedAdapter>(std::move(out));
}

}  // namespace tenet
