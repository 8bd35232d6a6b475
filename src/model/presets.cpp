// Model presets and random init. See tenet/model/presets.h.
#include "tenet/model/presets.h"

#include <ATen/CPUGeneratorImpl.h>

#include <memory>

namespace tenet {

namespace {
struct Preset {
  const char* name;
  int64_t layers, hidden, heads, kv_heads, intermediate;
  bool tied = false;            // the output head is the embedding matrix
  double rope_factor = 8.0;     // llama3 rope scaling factor
};
constexpr Preset kPresets[] = {
    {"tiny", 2, 64, 4, 2, 192},
    {"small", 4, 256, 8, 2, 768},
    {"bench", 8, 512, 8, 2, 1536},
    // Meta's Llama 3.2 1B (config.json of meta-llama/Llama-3.2-1B-Instruct): 1.24B parameters,
    // 2.47 GB in bf16, so benchmarks and users can measure a real-sized model without a download.
    {"llama-3.2-1b", 16, 2048, 32, 8, 8192, /*tied=*/true, /*rope_factor=*/32.0},
};

}  // namespace

std::vector<std::string> PresetNames() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.emplace_back(p.name);
  return out;
}

Result<ModelConfig> PresetConfig(const std::string& preset, int64_t vocab_size) {
  if (vocab_size <= 0) return Status::InvalidArgument("vocab_size", "must be positive");
  for (const auto& p : kPresets) {
    if (preset != p.name) continue;
    ModelConfig c;
    c.vocab_size = vocab_size;
    c.hidden_size = p.hidden;
    c.intermediate_size = p.intermediate;
    c.num_hidden_layers = p.layers;
    c.num_attention_heads = p.heads;
    c.num_key_value_heads = p.kv_heads;
    c.head_dim = p.hidden / p.heads;
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 500000.0;
    c.rope_scaling = RopeScaling{"llama3", p.rope_factor, 1.0, 4.0, 8192};
    c.tie_word_embeddings = p.tied;
    c.raw = {{"initializer_range", 0.02}, {"attention_dropout", 0.0}, {"pretraining_tp", 1}, {"use_cache", true}};
    return c;
  }
  std::string names;
  for (const auto& n : PresetNames()) names += (names.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("preset \"" + preset + "\"", "unknown (known: " + names + ")");
}

WeightSource RandomWeights(uint64_t seed, double std) {
  auto gen = std::make_shared<at::Generator>(at::detail::createCPUGenerator(seed));
  return [gen, std](const TensorSpec& spec) -> Result<torch::Tensor> {
    if (spec.name.ends_with("norm.weight")) return torch::ones(spec.shape);
    if (spec.name.ends_with(".bias")) return torch::zeros(spec.shape);
    return torch::randn(spec.shape, *gen, torch::kFloat32) * std;
  };
}

}  // namespace tenet
