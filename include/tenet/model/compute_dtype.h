// The compute-dtype policy, in one place for every command: which dtype a model computes in and
// which its weight matrices are stored in, from the checkpoint, the device and the CPU.
//
// - `--dtype` given: that dtype for both (weights converted at load).
// - CUDA, or a CPU whose kernels have native bf16 (AVX512_BF16 / AMX; tenet/util/isa.h, so
//   `--isa avx2` counts): the checkpoint's dtype; with `prefer_bf16` (generation: decoding reads
//   every weight per token, so half the bytes is nearly twice the speed) bf16 for an fp32 one too.
// - Any other CPU (AVX2 / AVX-512 without BF16): fp32 compute, since bf16 arithmetic there runs in
//   slow fallbacks (measured 20-70x slower, docs/benchmarks.md). A bf16 checkpoint keeps bf16
//   storage (half the memory of an fp32 copy: a Llama 3 8B is 16 GB instead of 32) and the
//   products widen it block by block (tenet/model/matmul.h); fp16 weights become fp32.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace tenet {

struct DtypeChoice {
  torch::ScalarType compute = torch::kFloat32;
  torch::ScalarType weights = torch::kFloat32;
  std::string reason;  // one line for stderr and `tenet info`
};

DtypeChoice ChooseDtypes(torch::ScalarType checkpoint, const torch::Device& device, std::optional<torch::ScalarType> requested,
                         bool prefer_bf16 = false);

}  // namespace tenet
