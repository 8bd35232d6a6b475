// config.json of a Hugging Face causal LM in the Llama family: LlamaForCausalLM (Llama 2, 3, 3.1,
// 3.2), MistralForCausalLM and Qwen2ForCausalLM (same graph; Qwen2 adds q/k/v biases; sliding
// windows are ignored, see docs/formats.md).
//
// Parsing validates everything the forward pass relies on and names the offending key; unknown
// architectures, activations and rope types are Unimplemented errors, never silently ignored.
// The original JSON is kept so that a model written back (merge, init) round-trips unknown keys.
//
// Thread-safety: plain values.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet {

struct RopeScaling {
  std::string type = "default";  // default | linear | llama3
  double factor = 1.0;
  // llama3 only (Llama 3.1 values are factor 8, low 1, high 4, original 8192).
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  std::string model_type = "llama";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // default: num_attention_heads
  int64_t head_dim = 0;             // default: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // attention_bias (Llama) or always (Qwen2)
  bool o_bias = false;    // attention_bias (Llama only)
  bool mlp_bias = false;
  torch::ScalarType dtype = torch::kFloat32;  // torch_dtype / dtype; float32 if absent
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be an int or a list
  nlohmann::json raw = nlohmann::json::object();  // the file as read (unknown keys kept)

  int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }
};

// Parses config.json text. `origin` (usually the path) prefixes every error.
Result<ModelConfig> ParseModelConfig(std::string_view json_text, const std::string& origin);
// Reads and parses a file.
Result<ModelConfig> LoadModelConfig(const std::string& path);
// HF-compatible JSON: `raw` with every known field overwritten from the struct.
nlohmann::json ModelConfigToJson(const ModelConfig& config);

// "float32"/"bfloat16"/"float16" (also "fp32", "bf16") -> dtype; InvalidArgument otherwise.
Result<torch::ScalarType> ParseDtypeName(const std::string& name);
// kFloat32 -> "float32" etc.
std::string DtypeName(torch::ScalarType t);

}  // namespace tenet
