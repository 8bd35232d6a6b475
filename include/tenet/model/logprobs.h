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

// hidden (N, C), targets (N,) int64 -> log p(target) (N,) fp32. Logits exist for at most
// `chunk` rows at a time (chunk x V fp32), which bounds memory on a 128k vocabulary.
torch::Tensor TokenLogProbs(LlamaForCausalLM& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                            int64_t chunk = 256);

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
// max_position_embeddings. Runs under no-grad.
Result<std::vector<SequenceScore>> ScoreSequences(LlamaForCausalLM& model, const std::vector<ScoredSequence>& batch);

}  // namespace tenet
