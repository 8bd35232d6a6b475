// Preference pairs laid out for one forward pass, and their completion log-probs.
//
// Prefix sharing (Wang & Hegde 2024, "Accelerating Direct Preference Optimization with Prefix
// Sharing", arXiv 2410.20305): each pair is ONE row [prompt | chosen | rejected]; the rejected
// tokens may not attend to the chosen ones, and positions restart after the prompt, so every
// completion token sees exactly what it sees in its own [prompt | completion] sequence, and the
// prompt is computed once instead of twice. The first rejected token is predicted from the last
// prompt token's hidden state, like the first chosen token. Exact; tests/train checks loss and
// gradients against the plain layout.
// The plain layout (TRL's concatenated batch: 2P rows, [prompt | chosen] then [prompt | rejected])
// is built too, for that test and as a fallback.
//
// Shape legend: P pairs, T padded row length, C hidden, N completion tokens in the batch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "tenet/model/llama.h"
#include "tenet/model/logprobs.h"
#include "tenet/train/dpo_loss.h"
#include "tenet/util/status.h"

namespace tenet {

struct TokenizedPair {
  std::vector<int32_t> prompt;    // >= 1 token
  std::vector<int32_t> chosen;    // >= 1 token
  std::vector<int32_t> rejected;  // >= 1 token
};

// One side's completion tokens: where their predictions come from and what they are.
struct CompletionTokens {
  torch::Tensor index;   // (N,) int64 rows of the flattened (rows * T, C) hidden states that predict each token
  torch::Tensor target;  // (N,) int64 token ids
  torch::Tensor pair;    // (N,) int64 pair of each token
  torch::Tensor count;   // (P,) fp32 tokens per pair
};

struct PairBatch {
  torch::Tensor ids;        // (rows, T) int64, right-padded with 0
  torch::Tensor positions;  // (rows, T) int64 rotary positions
  torch::Tensor allowed;    // (rows, T, T) bool attention mask
  CompletionTokens chosen, rejected;
  int64_t pairs = 0;
  int64_t real_tokens = 0;  // non-padding tokens in ids
};

// InvalidArgument if `pairs` is empty or any prompt/completion is empty.
Result<PairBatch> BuildSharedPairBatch(const std::vector<TokenizedPair>& pairs);
Result<PairBatch> BuildConcatenatedPairBatch(const std::vector<TokenizedPair>& pairs);

// Per-pair summed log-probs of one model over a batch (gradients flow unless under no-grad), plus
// what the metrics and RPO need.
struct BatchLogps {
  PairLogps logps;             // (P,) sums and counts, fp32
  torch::Tensor chosen_token_logps;    // (Nc,) per-token log-probs of the chosen completions
  double chosen_logit_mean = 0.0;      // mean over chosen positions of the mean logit over V (TRL's logits/chosen)
  double rejected_logit_mean = 0.0;
};

// Runs the model over `batch` and gathers completion log-probs. Logits exist only for completion
// positions, `chunk` rows at a time (TokenLogProbs). `adapters`: the policy (default, the attached
// adapter) or AdapterChoice::Base() (the reference). Errors from the model are returned.
Result<BatchLogps> ComputeBatchLogps(LlamaForCausalLM& model, const PairBatch& batch, const AdapterChoice& adapters = {},
                                     int64_t chunk = kLogitChunkRows);

}  // namespace tenet
