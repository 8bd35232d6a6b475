// What a training run updates, and how it is checkpointed and delivered:
//   - LoRA: the adapter weights attached to the model (fp32), saved as a PEFT folder `adapter/`;
//   - full fine-tuning: every weight of the model, saved as an HF model folder `model/`.
//
// Full fine-tuning keeps fp32 master weights (Micikevicius et al. 2018, arXiv 1710.03740) when the
// model computes in bf16: the forward and backward run on the bf16 weights, each micro-batch's
// gradients are added into fp32 gradients of the masters, AdamW steps the masters, and the model's
// weights are set to the masters rounded to bf16. On an fp32 model the masters are the model's
// weights. Norm weights and biases are not weight-decayed (as in HF's Trainer).
//
// Checkpoints hold the exact trainable state (fp32), so a resumed run continues bit for bit.
//
// Thread-safety: one per model; not thread-safe.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tenet/io/peft_adapter.h"
#include "tenet/model/llama.h"
#include "tenet/util/status.h"

namespace tenet {

class Trainable {
 public:
  virtual ~Trainable() = default;
  // The fp32 tensors the optimizer updates, in two groups: with and without weight decay.
  virtual std::vector<torch::Tensor> decayed() const = 0;
  virtual std::vector<torch::Tensor> not_decayed() const = 0;
  // After each micro-batch's backward: move the model's gradients into the masters' (no-op when
  // the masters are the model's own tensors).
  virtual void AccumulateGradients() = 0;
  // After each optimizer step: write the masters into the model.
  virtual void SyncModel() = 0;
  // The exact trainable state, into / from a checkpoint folder.
  virtual Status SaveCheckpoint(const std::string& dir) const = 0;
  virtual Status LoadCheckpoint(const std::string& dir) = 0;
  // The run's deliverable: "adapter" (PEFT folder) or "model" (HF folder), written by Export.
  virtual std::string artifact() const = 0;
  virtual Status Export(const std::string& dir) const = 0;
  // For config.json: {"lora": {...}} or {"full": {...}}.
  virtual nlohmann::json Describe() const = 0;
};

// Trains the LoRA adapter already attached to `model` (fresh or loaded), described by `config`.
// InvalidArgument if the model carries no adapter.
Result<std::unique_ptr<Trainable>> MakeLoraTrainable(LlamaForCausalLM& model, const LoraConfig& config);

// Trains every weight of `model`, which was loaded from the HF folder `base_dir` and carries no
// adapter (InvalidArgument otherwise). Export writes `base_dir`'s config, tokenizer and generation
// config with the trained weights, each in the dtype the base folder stores it in.
Result<std::unique_ptr<Trainable>> MakeFullTrainable(LlamaForCausalLM& model, const std::string& base_dir);

}  // namespace tenet
