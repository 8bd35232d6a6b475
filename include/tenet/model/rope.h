// Rotary position embeddings (Su et al. 2021, RoFormer, arXiv 2104.09864), as Hugging Face's
// Llama computes them: rotate-half layout, inverse frequencies and cos/sin in fp32, then cast to
// the activations' dtype; "linear" and Llama 3.1's "llama3" frequency scaling.
//
// Shape legend: B batch, T tokens, H heads, D head dim.
#pragma once

#include <torch/torch.h>

#include "tenet/io/model_config.h"

namespace tenet {

// Inverse frequencies (D/2,) fp32, with the config's rope scaling applied.
torch::Tensor RopeInverseFrequencies(const ModelConfig& config);

// cos, sin for positions (B, T) int64 -> each (B, 1, T, D) in `dtype`.
std::pair<torch::Tensor, torch::Tensor> RopeCosSin(const torch::Tensor& inv_freq, const torch::Tensor& positions,
                                                   torch::ScalarType dtype);

// x (B, H, T, D) -> x*cos + rotate_half(x)*sin.
torch::Tensor ApplyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// A projection's output x (B, T, H*D) -> ApplyRope(x.view(B, T, H, D).transpose(1, 2), cos, sin),
// contiguous (B, H, T, D). On the CPU at fp32 or bf16 it is one autograd node with a one-pass
// kernel each way (the head transpose included, and the same rounding as the eager ops); else
// those ops.
torch::Tensor RopeToHeads(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, int64_t heads);

}  // namespace tenet
