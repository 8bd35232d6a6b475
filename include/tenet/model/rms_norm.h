// RMSNorm (Zhang & Sennrich 2019, arXiv 1910.07467) as Hugging Face's LlamaRMSNorm computes it:
// normalize in fp32, cast back to the input's dtype, then scale by the weight in that dtype.
//
// On the CPU at fp32 or bf16 it is one autograd node with a hand-written kernel: the forward keeps
// only each row's 1/rms, and the backward is one pass per row (two reads of x and of the output
// gradient) instead of autograd's chain of casts, pow, mean, rsqrt and products, each with its
// own (N, C) temporaries. Elsewhere (CUDA, fp16) it is the eager chain.
//
// Shape legend: N rows (any leading dims), C hidden size.
#pragma once

#include <torch/torch.h>

namespace tenet {

// x (N, C), weight (C,) of x's dtype -> (N, C). Differentiable w.r.t. x and weight.
torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

}  // namespace tenet
