// Merging a LoRA adapter into its base model: W' = W + scale * B A for every adapted module,
// computed in fp64 and stored in the base tensor's dtype (or `dtype` when given), written as a
// plain HF folder that any Llama loader reads (no adapter needed).
//
// Not for: unmerged inference (tenet/model/adapter.h).
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "tenet/io/peft_adapter.h"
#include "tenet/io/safetensors.h"
#include "tenet/util/status.h"

namespace tenet {

// Reads every tensor of the folder `model_dir` and returns them with the adapter merged.
// InvalidArgument naming a module the base lacks or whose shape does not fit.
Result<NamedTensors> MergeLoraWeights(const std::string& model_dir, const LoraAdapter& adapter,
                                      std::optional<torch::ScalarType> dtype = std::nullopt);

// The whole job of `tenet merge`: weights, config.json (torch_dtype updated), generation_config,
// tokenizer files, into `out_dir`, which must not be either input and must be empty or absent.
// The inputs are only read.
Status MergeToFolder(const std::string& model_dir, const std::string& adapter_dir, const std::string& out_dir,
                     std::optional<torch::ScalarType> dtype = std::nullopt);

}  // namespace tenet
