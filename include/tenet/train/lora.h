// Trainable LoRA on a loaded model (Hu et al. 2021, arXiv 2106.09685), initialized as PEFT does:
// A (R, in) Kaiming-uniform with a = sqrt(5) (bound 1 / sqrt(in)), B (out, R) zero, so training
// starts exactly at the base model. Adapter weights are fp32 even on a bf16 base (PEFT's default
// autocast_adapter_dtype), and so are their gradients and the optimizer state.
//
// Not for: reading/writing PEFT folders (tenet/io/peft_adapter.h), attaching a stored adapter
// (tenet/model/adapter.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tenet/io/peft_adapter.h"
#include "tenet/model/llama.h"
#include "tenet/util/status.h"

namespace tenet {

// The Llama linear layer names LoRA may target.
const std::vector<std::string>& LoraTargetNames();

// Parses "q_proj,k_proj,..." (or "all-linear"). InvalidArgument naming an unknown module.
Result<std::vector<std::string>> ParseLoraTargets(const std::string& list);

// A fresh adapter for every linear layer of `model` whose name is in config.target_modules:
// A Kaiming-uniform from a CPU generator seeded with `seed` (the same seed gives the same bits on
// every machine), B zero, fp32. InvalidArgument for r < 1, alpha <= 0, dropout outside [0, 1), or
// no matching layer.
Result<LoraAdapter> NewLoraAdapter(const LlamaForCausalLM& model, const LoraConfig& config, uint64_t seed);

// The adapter weights currently in the model (a copy on the CPU, fp32), under `config`.
LoraAdapter ExportLoraAdapter(const LlamaForCausalLM& model, const LoraConfig& config);

// The model's LoRA tensors in a fixed order (linears() order, A then B): what the optimizer updates.
std::vector<torch::Tensor> LoraParameters(const LlamaForCausalLM& model);

}  // namespace tenet
