// Private to src/model: log p(target) under the output head with a hand-written backward, used by
// TokenLogProbs on the CPU. Autograd through linear -> fp32 cast -> logsumexp -> gather keeps a
// (N, V) fp32 copy per chunk and walks it ~8 times (logsumexp alone allocates three temporaries);
// here the forward keeps, only when a gradient is wanted, an (N, V) matrix in the head's dtype that
// the d logits are a per-row multiple of (exp(logit - max), with the row's softmax sum taken off at
// the target), written over the logits while each row is in cache; the backward is one GEMM and a
// per-row scale.
//
// Shapes: N rows, C hidden, V vocab.
#pragma once

#include <torch/torch.h>

#include "tenet/model/logprobs.h"

namespace tenet::head_logprobs {

// hidden (N, C) and head (V, C) of one dtype (fp32 or bf16) on the CPU, targets (N,) int64 ->
// log p (N,) fp32, differentiable w.r.t. hidden, and w.r.t. the head when it requires grad (full
// fine-tuning).
torch::Tensor TokenLogProbs(const torch::Tensor& hidden, const torch::Tensor& head, const torch::Tensor& targets,
                            int64_t chunk, TokenLogitStats* stats);

}  // namespace tenet::head_logprobs
