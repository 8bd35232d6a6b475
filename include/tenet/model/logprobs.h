// Log-probabilities of completions given prompts, computing logits only where a completion token
// is predicted (never (B, T, V) logits for prompt tokens).
//
// Shape legend: B sequences, T padded length, C hidden, V vocab, N predicted positions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "tenet/model/llama.h"

namespace tenet {

// Side figures of the logits that TRL reports, gathered while they exist (no gradients).
struct TokenLogitStats {
  double logit_mean_sum = 0;  // sum over rows of the mean logit over V (TRL's logits/chosen)
  bool count_argmax_hits = false;  // set to have argmax_hits counted (one more pass over the logits)
  int64_t argmax_hits = 0;         // rows whose most likely token is the target (mean_token_accuracy)
};

// Rows of logits computed per head GEMM by default. Measured on the bench preset (hidden 512, 128k
// vocabulary, bf16, 2 threads): 256 rows ran the head GEMM 14% faster than 128 and the DPO step
// 3.5-4% faster; a 512-row head GEMM was slower inside the step (376 against 398 GFLOP/s,
// docs/benchmarks.md).
inline constexpr int64_t kLogitChunkRows = 256;

// hidden (N, C), targets (N,) int64 -> log p(target) (N,) fp32, differentiable when hidden is.
// On the CPU the gradient is hand-written (src/model/head_logprobs.h). Without gradients, logits
// exist for at most `chunk` rows at a time (chunk x V in the head's dtype), which bounds memory on
// a 128k vocabulary; with gradients the (N, V) logits are kept in the head's dtype for the backward.
torch::Tensor TokenLogProbs(LlamaForCausalLM& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                            int64_t chunk = kLogitChunkRows, TokenLogitStats* stats = nullptr);

// Final hidden states of input_ids (B, T) at the flat positions `index` (N,) int64 on the CPU
// (b * T + t each) -> (N, C). Hidden() runs with output_from = the smallest t, so the last layer
// skips every position before the first one asked for; an empty index gives (0, C) without a
// forward pass. `adapters` as in Hidden(). Errors from Hidden() are returned.
Result<torch::Tensor> HiddenAt(LlamaForCausalLM& model, const torch::Tensor& input_ids, const torch::Tensor& index,
                               const torch::Tensor& positions = {}, const torch::Tensor& allowed = {},
                               const AdapterChoice& adapters = {});

struct ScoredSequence {
  std::vector<int64_t> ids;  // prompt ids followed by completion ids
  int64_t prompt_len = 0;    // >= 1: the first completion token must have context
};

struct SequenceScore {
  double logp = 0.0;       // sum over completion tokens
  int64_t tokens = 0;      // completion tokens
};

// Scores a batch in one forward pass (right-padded; causal attention makes padding inert).
// InvalidArgument for an empty batch, prompt_len < 1, or a sequence longer than
// max_position_embeddings. Runs under no-grad. AdapterChoice::Base() scores with the base alone
// (the reference of an attached adapter: implicit DPO rewards without a second model).
Result<std::vector<SequenceScore>> ScoreSequences(LlamaForCausalLM& model, const std::vector<ScoredSequence>& batch,
                                                  const AdapterChoice& adapters = {});

}  // namespace tenet
