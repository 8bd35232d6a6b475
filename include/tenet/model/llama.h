// The Llama decoder (Touvron et al. 2023; Llama 3 herd, arXiv 2407.21783) in LibTorch, matching
// Hugging Face's LlamaForCausalLM: RMSNorm in fp32, rotate-half RoPE with fp32 cos/sin, grouped-
// query attention with the softmax in fp32, SwiGLU MLP, optional tied output head. Also serves
// Mistral and Qwen2 checkpoints (see tenet/io/model_config.h).
//
// Parameter names are Hugging Face's (`model.layers.0.self_attn.q_proj.weight`, ...), so
// named_parameters() maps 1:1 onto checkpoint and PEFT names.
//
// Shape legend: B batch, T new tokens, S key positions (cached + new), C hidden, H query heads,
// K kv heads, G = H/K, D head dim, F intermediate, V vocab, N selected positions.
//
// Thread-safety: forward passes only read parameters; concurrent forwards with distinct KV caches
// are safe. Attaching or removing adapters is not safe concurrently with forwards; choosing them
// per call (AdapterChoice) is.
#pragma once

#include <torch/torch.h>

#include <optional>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tenet/io/model_config.h"
#include "tenet/model/kv_cache.h"
#include "tenet/model/linear.h"
#include "tenet/util/status.h"

namespace tenet {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// Supplies a parameter with exactly `spec.shape` (any float dtype; converted by the model).
using WeightSource = std::function<Result<torch::Tensor>(const TensorSpec& spec)>;

struct ModelOptions {
  torch::ScalarType dtype = torch::kFloat32;  // compute dtype: activations, KV cache, norms, biases
  // Storage of the weight matrices (projections, embeddings, head) when it differs from `dtype`:
  // bf16 under fp32 compute (tenet/model/compute_dtype.h). nullopt = `dtype`.
  std::optional<torch::ScalarType> weight_dtype;
  torch::Device device = torch::kCPU;
  torch::ScalarType storage_dtype() const { return weight_dtype.value_or(dtype); }
};

class LlamaForCausalLM : public torch::nn::Module {
 public:
  // The tensors a checkpoint for `config` must contain, in a fixed order (HF names).
  static std::vector<TensorSpec> ExpectedTensors(const ModelConfig& config);

  // Builds the model, asking `source` for every expected tensor. Returns the source's error, or
  // InvalidArgument if it returns a wrong shape or a non-float tensor.
  static Result<std::shared_ptr<LlamaForCausalLM>> Create(const ModelConfig& config, const WeightSource& source,
                                                          const ModelOptions& options);

  // input_ids (B, T) int64 -> final-normed hidden states (B, T - output_from, C).
  //   positions: (B, T) int64 rotary positions; undefined = each row's cache length + arange(T).
  //   allowed:   (B, T, S) bool, true where query t may attend key s; undefined = causal per row,
  //              new token t of row b sitting at position (row b's cache length + t).
  //   cache:     when given, keys/values are appended to each row at its own length and attention
  //              covers the cache; S = longest row + T must fit its capacity (InvalidArgument
  //              otherwise). Rows of different lengths decode together (continuous batching).
  //   output_from: returns only positions output_from..T-1, (B, T - output_from, C); must be in
  //              [0, T). The last decoder layer then makes queries, attention and MLP only for
  //              those positions (keys and values for all, cache included). Exact, and cheaper
  //              when only a suffix needs logits (completions, the last prompt token).
  //   adapters:  the attached adapters or the base alone (AdapterChoice::Base(): DPO's reference),
  //              plus per-row LoRA adapters (row_lora.h; inference). Chosen per call: the model
  //              has no adapter on/off state.
  Result<torch::Tensor> Hidden(const torch::Tensor& input_ids, const torch::Tensor& positions = {},
                               const torch::Tensor& allowed = {}, KVCache* cache = nullptr, int64_t output_from = 0,
                               const AdapterChoice& adapters = {});

  // hidden (..., C) -> logits (..., V) in the model dtype. Select rows first to compute logits
  // only where they are needed.
  torch::Tensor Logits(const torch::Tensor& hidden);

  const ModelConfig& config() const { return config_; }
  // The output head (V, C): lm_head.weight, or the embedding when tied. Frozen.
  const torch::Tensor& lm_head_weight() const { return lm_head_; }
  torch::ScalarType dtype() const { return options_.dtype; }  // compute dtype
  torch::ScalarType weight_dtype() const { return options_.storage_dtype(); }
  torch::Device device() const { return options_.device; }

  // Every linear layer with its module path ("model.layers.0.self_attn.q_proj"), for adapters.
  const std::vector<std::pair<std::string, std::shared_ptr<Linear>>>& linears() const { return linears_; }
  // Number of base parameters (adapters excluded).
  int64_t num_base_parameters() const;
  // Gradient checkpointing (Chen et al. 2016, arXiv 1604.06174) for training on long sequences:
  // when on and gradients are being recorded, each decoder layer keeps only its input; its
  // activations are recomputed during the backward pass (with the same dropout masks). Exact:
  // losses and gradients are those of the plain forward. Costs about one more forward pass.
  void SetGradientCheckpointing(bool on) { checkpointing_ = on; }
  bool gradient_checkpointing() const { return checkpointing_; }

  struct Layer;

 private:
  LlamaForCausalLM(ModelConfig config, ModelOptions options);

  ModelConfig config_;
  ModelOptions options_;
  torch::Tensor embed_;     // (V, C)
  torch::Tensor norm_;      // (C,)
  torch::Tensor lm_head_;   // (V, C), the embedding when tied
  torch::Tensor inv_freq_;  // (D/2,) fp32
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<std::pair<std::string, std::shared_ptr<Linear>>> linears_;
  bool checkpointing_ = false;
};

}  // namespace tenet
