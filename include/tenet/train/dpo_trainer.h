// DPO training of a LoRA adapter (TRL's DPOTrainer with a PEFT model, same numbers), and DPO
// evaluation of a given adapter.
//
// One optimizer step = grad_accum micro-batches of batch_pairs pairs. Per micro-batch: the pairs
// in the prefix-shared layout (pair_batch.h), policy log-probs with gradients, reference log-probs
// from the same model with adapters off under no-grad (or read from the --precompute-ref cache),
// loss = mean of the per-pair terms (+ rpo_alpha * NLL of the chosen tokens), divided by grad_accum
// and back-propagated into the LoRA weights only. Then gradient clipping (global L2 norm), the
// learning rate of the schedule (HF's: linear or cosine decay after linear warmup, lr 0 at step 0
// when warming up), and an AdamW step (Loshchilov & Hutter 2019) on fp32 adapter weights.
//
// Run folder:
//   config.json           the options as given (argv) and as resolved
//   metrics.jsonl         one line per optimizer step (TRL key names: loss, rewards/chosen, ...,
//                         learning_rate, grad_norm, epoch, step) and eval_* lines per evaluation
//   checkpoints/step-N/   adapter (PEFT) + optimizer.pt + state.json, written to a temp folder and
//                         renamed, so a kill -9 leaves either the old or the new checkpoint
//   ref_logps.json        the precomputed reference log-probs (--precompute-ref)
//   adapter/              the final adapter (PEFT format)
//   summary.json          steps, pairs, time, throughput, final and eval metrics
// Data order is a function of (seed, epoch) and dropout is reseeded per micro-batch, so a resumed
// run continues to the same final adapter as an uninterrupted one.
//
// Thread-safety: one trainer per model; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tenet/data/preferences.h"
#include "tenet/io/peft_adapter.h"
#include "tenet/model/llama.h"
#include "tenet/train/dpo_loss.h"
#include "tenet/train/pair_batch.h"
#include "tenet/util/status.h"

namespace tenet {

struct DpoTrainOptions {
  DpoLossOptions loss;
  double learning_rate = 5e-6;
  int64_t epochs = 1;
  int64_t max_steps = 0;             // > 0 overrides epochs
  int64_t batch_pairs = 8;
  int64_t grad_accum = 1;
  std::string schedule = "linear";   // linear | cosine | constant
  double warmup_ratio = 0.0;         // of the total steps; warmup_steps wins when > 0
  int64_t warmup_steps = 0;
  double max_grad_norm = 1.0;        // 0 = no clipping
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  uint64_t seed = 42;
  bool precompute_ref = false;
  int64_t save_every = 0;            // optimizer steps between checkpoints; 0 = at the end of each epoch
  int64_t eval_every = 0;            // optimizer steps between evaluations; 0 = at the end of each epoch
};

// InvalidArgument naming the option.
Status ValidateDpoTrainOptions(const DpoTrainOptions& o);

// The learning rate at optimizer step `step` (0-based) of `total`, HF's schedules.
double ScheduledLearningRate(const DpoTrainOptions& o, int64_t step, int64_t total);

// Plain pairs (tokens only) from loaded preference data.
std::vector<TokenizedPair> ToTokenizedPairs(const std::vector<PreferencePair>& pairs);

// DPO metrics of the model's current adapter (policy) against the model with adapters off
// (reference) over `pairs`, TRL key names without prefix: loss, rewards/chosen, rewards/rejected,
// rewards/accuracies, rewards/margins, logps/chosen, logps/rejected, logits/chosen,
// logits/rejected (+ nll_loss with rpo). Means over pairs (logits: over tokens). No gradients.
Result<nlohmann::json> EvaluateDpo(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss, int64_t batch_pairs);

// The training loss of one batch of pairs (prefix-shared layout, reference = adapters off under
// no-grad unless reference_free), differentiable with respect to the LoRA weights: what one
// micro-batch of the trainer back-propagates (before the division by grad_accum).
Result<torch::Tensor> DpoBatchLoss(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss);

struct DpoProgress {
  int64_t step = 0, total_steps = 0;
  double epoch = 0;
  nlohmann::json metrics;  // the step's metrics line
  double pairs_per_second = 0, eta_seconds = 0;
};

class DpoTrainer {
 public:
  // `model` must already carry the trainable adapter described by `lora` (fresh or loaded).
  // Creates run_dir (it must not hold another run unless resume is set: then the latest
  // checkpoint in it is loaded into the model and optimizer).
  static Result<std::unique_ptr<DpoTrainer>> Create(LlamaForCausalLM& model, const LoraConfig& lora,
                                                    std::vector<TokenizedPair> train, std::vector<TokenizedPair> test,
                                                    const DpoTrainOptions& options, const std::string& run_dir,
                                                    nlohmann::json given_config, bool resume);
  ~DpoTrainer();

  // Trains to the end, writing the run folder. `progress` (optional) after every optimizer step.
  // A non-finite loss stops the run with an error naming the step; checkpoints stay intact.
  Status Train(const std::function<void(const DpoProgress&)>& progress = {});

  int64_t total_steps() const;
  int64_t steps_done() const;

 private:
  struct Impl;
  explicit DpoTrainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet
