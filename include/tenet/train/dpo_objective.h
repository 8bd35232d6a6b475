// The DPO objective for the shared trainer (trainer.h): TRL's DPOTrainer with a PEFT model, same
// numbers. Per micro-batch: the pairs in the prefix-shared layout (pair_batch.h), policy log-probs
// with gradients, reference log-probs from the same model with adapters off under no-grad (or
// from the --precompute-ref cache), loss = mean of the per-pair terms (dpo_loss.h) + rpo_alpha *
// NLL of the chosen tokens. Metrics use TRL's names: loss, rewards/chosen, rewards/rejected,
// rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, logits/chosen,
// logits/rejected (+ nll_loss with RPO), averaged as if the pairs of a step were one batch.
//
// --precompute-ref writes <run>/ref_logps.json once (one no-grad pass over the training pairs) and
// reuses it across epochs and resumes.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tenet/data/preferences.h"
#include "tenet/model/llama.h"
#include "tenet/train/dpo_loss.h"
#include "tenet/train/pair_batch.h"
#include "tenet/train/trainer.h"
#include "tenet/util/status.h"

namespace tenet {

struct DpoObjectiveOptions {
  DpoLossOptions loss;
  bool precompute_ref = false;
};

// Plain pairs (tokens only) from loaded preference data.
std::vector<TokenizedPair> ToTokenizedPairs(const std::vector<PreferencePair>& pairs);

std::unique_ptr<Objective> MakeDpoObjective(std::vector<TokenizedPair> train, std::vector<TokenizedPair> test,
                                            const DpoObjectiveOptions& options);

// DPO metrics of the model's current adapter (policy) against the model with adapters off
// (reference) over `pairs`, TRL names without prefix, in batches of `batch_pairs`. No gradients.
Result<nlohmann::json> EvaluateDpo(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss, int64_t batch_pairs);

// The training loss of one batch of pairs, differentiable with respect to the LoRA weights: what
// one micro-batch back-propagates (before the division by the number of micro-batches).
Result<torch::Tensor> DpoBatchLoss(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss);

}  // namespace tenet
