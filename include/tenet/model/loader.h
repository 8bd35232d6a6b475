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

// Where the compute-dtype policy keeps a bf16 checkpoint's weights in bf16 under fp32 compute:
// kNarrow keeps them so (the memory of bf16; decoding reads half the bytes); kCompute stores them
// in the compute dtype; kComputeIfFits does that when the wider copy takes at most a quarter of the
// memory available (training's large GEMMs then skip widening weight blocks in every pass), and
// keeps them narrow otherwise. The reason says which.
enum class WeightStorage { kNarrow, kCompute, kComputeIfFits };

struct LoadOptions {
  // Storage/compute dtype; nullopt = the checkpoint's (config.json torch_dtype, else the stored
  // tensors' dtype), or with `hardware_policy` what tenet/model/compute_dtype.h picks for it.
  std::optional<torch::ScalarType> dtype;
  bool hardware_policy = false;
  bool prefer_bf16 = false;    // generation, under hardware_policy
  WeightStorage storage = WeightStorage::kNarrow;  // under hardware_policy
  torch::Device device = torch::kCPU;
};

struct LoadedModel {
  std::string dir;
  ModelConfig config;
  std::shared_ptr<LlamaForCausalLM> model;
  std::vector<int64_t> eos_token_ids;  // generation_config.json, else config.json
  size_t checkpoint_bytes = 0;         // bytes of tensor data on disk
  torch::ScalarType checkpoint_dtype = torch::kFloat32;
  std::string dtype_reason;            // why the model computes in its dtype (compute_dtype.h)
};

// Errors: NotFound for a missing folder/file/tensor; InvalidArgument for a shape that disagrees
// with config.json or a tensor the config does not explain; Corruption for damaged safetensors;
// Unimplemented for an unsupported architecture or rope type. Every message names the file.
Result<LoadedModel> LoadModel(const std::string& dir, const LoadOptions& options = {});

// Resolves --device: "cpu", "cuda" (InvalidArgument if unavailable), "auto" (cuda when available).
Result<torch::Device> ParseDevice(const std::string& name);

}  // namespace tenet
