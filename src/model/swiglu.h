// Private to src/model: Llama's gated MLP activation silu(gate) * up (Shazeer 2020, arXiv
// 2002.05202) as one autograd node. HF computes act_fn(gate) * up: silu rounded to the model dtype,
// then the product rounded. Here silu is computed in fp32 and rounded once (LibTorch 1.13's bf16
// silu rounds after each of its steps, so it is the less exact one), in one pass that keeps only
// gate and up (autograd keeps silu(gate) too); the backward is one pass writing both gradients.
//
// Shapes: gate, up, result (N, F), any leading dims.
#pragma once

#include <torch/torch.h>

namespace tenet {

// gate, up of one shape and dtype. On the CPU at fp32 or bf16 the fused kernel; else the eager ops.
torch::Tensor SwiGlu(const torch::Tensor& gate, const torch::Tensor& up);

}  // namespace tenet
