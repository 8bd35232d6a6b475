// LoRA attach. See tenet/model/adapter.h.
#include "tenet/model/adapter.h"

#include <map>

namespace tenet {

Status AttachAdapter(LlamaForCausalLM& model, const LoraAdapter& adapter, torch::ScalarType adapter_dtype) {
  std::map<std::string, std::shared_ptr<Linear>> by_path(model.linears().begin(), model.linears().end());
  // Validate everything first so that a bad adapter leaves the model untouched.
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
  for (const auto& [path, m] : adapter.modules) {
    const int64_t rank = m.a.size(0);
    by_path[path]->SetLora(m.a.to(model.device(), adapter_dtype).clone(), m.b.to(model.device(), adapter_dtype).clone(),
                           LoraScale(adapter.config, path, rank), adapter.config.lora_dropout);
  }
  return Status::OK();
}

}  // namespace tenet
