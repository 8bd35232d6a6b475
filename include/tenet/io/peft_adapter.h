// PEFT LoRA adapter folders: adapter_config.json + adapter_model.safetensors with keys
// `base_model.model.<module path>.lora_A.weight` (R, in) and `.lora_B.weight` (out, R).
// scale = lora_alpha / r (lora_alpha / sqrt(r) with use_rslora); alpha_pattern and rank_pattern
// override per module, as PEFT does.
//
// Unsupported PEFT features (DoRA, bias other than "none", fan_in_fan_out, modules_to_save,
// embedding adapters, pickled adapter_model.bin) are Unimplemented errors naming the field.
// Thread-safety: plain values and free functions.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet {

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8.0;
  double lora_dropout = 0.0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;  // module names ("q_proj"); empty if target_regex
  std::string target_regex;                 // PEFT's string form of target_modules
  std::map<std::string, double> alpha_pattern;
  std::map<std::string, int64_t> rank_pattern;
  std::string base_model_name_or_path;
  nlohmann::json raw = nlohmann::json::object();  // the file as read (unknown keys kept)
};

struct LoraModule {
  torch::Tensor a;  // (R, in)
  torch::Tensor b;  // (out, R)
};

struct LoraAdapter {
  LoraConfig config;
  std::map<std::string, LoraModule> modules;  // module path ("model.layers.0.self_attn.q_proj") -> weights
};

Result<LoraConfig> ParseLoraConfig(std::string_view json_text, const std::string& origin);
nlohmann::json LoraConfigToJson(const LoraConfig& config);

// The scale PEFT applies to module `path` whose adapter has rank `rank`.
double LoraScale(const LoraConfig& config, const std::string& path, int64_t rank);

// Reads <dir>/adapter_config.json and <dir>/adapter_model.safetensors. Every lora_A must have its
// lora_B with matching rank. NotFound / InvalidArgument / Corruption / Unimplemented as above.
Result<LoraAdapter> LoadPeftAdapter(const std::string& dir);

// Writes the folder (both files atomically; weights in fp32 unless they are stored otherwise).
Status SavePeftAdapter(const std::string& dir, const LoraAdapter& adapter);

}  // namespace tenet
