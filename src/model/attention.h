// Private to src/model: attention on the CPU (training, scoring and decoding over a KV cache), with a
// recomputing backward for long sequences (the idea of FlashAttention, Dao et al. 2022, arXiv
// 2205.14135, at the granularity of row blocks): the forward keeps only each row's max and softmax
// sum, never the (T, S) probabilities, and the backward recomputes them block by block. Short
// sequences, whose probabilities take at most 4x the memory of q, keep them instead (rounded to the
// model dtype, as the eager chain's softmax output is), which saves the backward a q k^T and an exp. Scale, mask, fp32 softmax,
// rounding and the softmax gradient are one pass per row instead of a chain of whole-tensor ops,
// each with its own (B, H, T, S) temporaries.
//
// Numerics follow the eager chain it replaces (HF's eager attention): q k^T in the model dtype, then
// in fp32 scale, mask and softmax; the probabilities are rounded to the model dtype before P V.
//
// Shapes: B batch, H query heads, K kv heads, G = H / K (query head h reads kv head h / G),
// T queries, S keys, D head dim.
#pragma once

#include <torch/torch.h>

namespace tenet::attention {

// Whether the forward keeps the probabilities for the backward: by their size (kAuto), or always
// or never (tests compare the two paths).
enum class Probs { kAuto, kKeep, kRecompute };

// q (B, H, T, D); k, v (B, K, S, D); all fp32 or all bf16, on the CPU. bias (B, T, S) fp32: 0 where
// query t may see key s, -inf where not (a row that sees no key gives zeros).
// -> (B, H, T, D) in q's dtype; differentiable w.r.t. q, k and v.
torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias,
                     double scale, Probs keep = Probs::kAuto);

// True when Attend handles these tensors (CPU, fp32 or bf16).
bool Supports(const torch::Tensor& q);

}  // namespace tenet::attention
