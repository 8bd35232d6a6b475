// The SFT objective for the shared trainer (trainer.h): next-token cross-entropy on completion
// tokens only (sft_data.h's loss mask), averaged over the completion tokens of the micro-batch, as
// TRL's SFTTrainer with completion-only loss. Sequences are right-padded in one batch; logits exist
// only at the positions that predict a completion token. Metrics use TRL's names: loss,
// mean_token_accuracy (argmax == target over completion tokens), num_tokens (completion tokens).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tenet/data/sft_data.h"
#include "tenet/model/llama.h"
#include "tenet/train/trainer.h"
#include "tenet/util/status.h"

namespace tenet {

std::unique_ptr<Objective> MakeSftObjective(std::vector<SftExample> train, std::vector<SftExample> test);

// The loss of one batch (differentiable w.r.t. the adapter) and, when `metrics` is given, its
// token counts: {"loss_sum", "tokens", "hits"}.
Result<torch::Tensor> SftBatchLoss(LlamaForCausalLM& model, const std::vector<const SftExample*>& batch,
                                   nlohmann::json* metrics = nullptr);

// loss, mean_token_accuracy and num_tokens over `examples` in batches, no gradients.
Result<nlohmann::json> EvaluateSft(LlamaForCausalLM& model, const std::vector<SftExample>& examples, int64_t batch_size);

}  // namespace tenet
