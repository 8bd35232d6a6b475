// Trainable LoRA set-up. See tenet/train/lora.h.
#include "tenet/train/lora.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace tenet {
namespace {
std::string LastComponent(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}
}  // namespace

const std::vector<std::string>& LoraTargetNames() {
  static const std::vector<std::string> kNames = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return kNames;
}

Result<std::vector<std::string>> ParseLoraTargets(const std::string& list) {
  if (list == "all-linear") return LoraTargetNames();
  std::vector<std::string> out;
  std::istringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    const auto& known = LoraTargetNames();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return Status::InvalidArgument("--lora-targets", "unknown module \"" + name +
                                                           "\" (known: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, or all-linear)");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  if (out.empty()) return Status::InvalidArgument("--lora-targets", "names no module");
  return out;
}

Result<LoraAdapter> NewLoraAdapter(const LlamaForCausalLM& model, const LoraConfig& config, uint64_t seed) {
  if (config.r < 1) return Status::InvalidArgument("lora r", "must be >= 1");
  if (!(std::isfinite(config.lora_alpha) && config.lora_alpha > 0)) return Status::InvalidArgument("lora alpha", "must be > 0");
  if (!(config.lora_dropout >= 0 && config.lora_dropout < 1)) return Status::InvalidArgument("lora dropout", "must be in [0, 1)");
  LoraAdapter adapter;
  adapter.config = config;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& [path, linear] : model.linears()) {
    const std::string name = LastComponent(path);
    if (std::find(config.target_modules.begin(), config.target_modules.end(), name) == config.target_modules.end()) continue;
    const int64_t in = linear->in_features(), out = linear->out_features();
    const int64_t r = config.rank_pattern.count(name) ? config.rank_pattern.at(name) : config.r;
    // kaiming_uniform_(a=sqrt(5)): gain sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    LoraModule m;
    m.a = torch::empty({r, in}, torch::kFloat32).uniform_(-bound, bound, gen);
    m.b = torch::zeros({out, r}, torch::kFloat32);
    adapter.modules.emplace(path, std::move(m));
  }
  if (adapter.modules.empty()) return Status::InvalidArgument("--lora-targets", "match no layer of this model");
  return adapter;
}

LoraAdapter ExportLoraAdapter(const LlamaForCausalLM& model, const LoraConfig& config) {
  LoraAdapter adapter;
  adapter.config = config;
  for (const auto& [path, linear] : model.linears()) {
    if (!linear->has_lora()) continue;
    LoraModule m;
    m.a = linear->lora_a().detach().to(torch::kCPU, torch::kFloat32).clone();
    m.b = linear->lora_b().detach().to(torch::kCPU, torch::kFloat32).clone();
    adapter.modules.emplace(path, std::move(m));
  }
  return adapter;
}

std::vector<torch::Tensor> LoraParameters(const LlamaForCausalLM& model) {
  std::vector<torch::Tensor> params;
  for (const auto& [path, linear] : model.linears()) {
    if (!linear->has_lora()) continue;
    params.push_back(linear->lora_a());
    params.push_back(linear->lora_b());
  }
  return params;
}

}  // namespace tenet
