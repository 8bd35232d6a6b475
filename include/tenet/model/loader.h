// Loads an HF model folder (config.json + safetensors weights, single or sharded) into a
// LlamaForCausalLM, checking every tensor's presence and shape against config.json, and reads the
// stop ids from generation_config.json.
//
// Thread-safety: free functions; safe to call concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tenet/model/llama.h"

namespace tenet {

struct LoadOptions {
  // Storage/compute dtype; nullopt = the checkpoint's (config.json torch_dtype, else the stored
  // tensors' dtype).
  std::optional<torch::ScalarType> dtype;
  torch::Device device = torch::kCPU;
};

struct LoadedModel {
  std::string dir;
  ModelConfig config;
  std::shared_ptr<LlamaForCausalLM> model;
  std::vector<int64_t> eos_token_ids;  // generation_config.json, else config.json
  size_t checkpoint_bytes = 0;         // bytes of tensor data on disk
};

// Errors: NotFound for a missing folder/file/tensor; InvalidArgument for a shape that disagrees
// with config.json or a tensor the config does not explain; Corruption for damaged safetensors;
// Unimplemented for an unsupported architecture or rope type. Every message names the file.
Result<LoadedModel> LoadModel(const std::string& dir, const LoadOptions& options = {});

// Resolves --device: "cpu", "cuda" (InvalidArgument if unavailable), "auto" (cuda when available).
Result<torch::Device> ParseDevice(const std::string& name);

}  // namespace tenet
