// The training loop shared by DPO and SFT: LoRA weights or the whole model (trainable.h), AdamW
// (Loshchilov & Hutter 2019) in fp32, HF's learning-rate schedules, gradient accumulation and clipping, metrics, atomic
// checkpoints and exact resume. What is optimized comes from an Objective (dpo_objective.h,
// sft_objective.h).
//
// One optimizer step = grad_accum micro-batches of batch_size examples; each micro-batch's loss
// is divided by the number of micro-batches in the step and back-propagated. Then the gradients
// are clipped (global L2 norm), the step's learning rate is set (HF: linear warmup from 0, then
// linear or cosine decay, or constant), and AdamW steps.
//
// Run folder:
//   config.json           the options as given (argv) and as resolved
//   metrics.jsonl         one line per optimizer step (the objective's TRL-named metrics plus
//                         learning_rate, grad_norm, epoch, step) and eval_* lines per evaluation
//   checkpoints/step-N/   adapter/ (PEFT) or weights.safetensors (full, fp32) + optimizer.pt +
//                         state.json, written to a temp folder and renamed, so a kill -9 leaves
//                         either the old or the new checkpoint
//   adapter/ | model/     the final adapter (PEFT format) or model (HF folder)
//   summary.json          steps, examples, time, throughput, peak memory, final eval metrics
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

#include "tenet/model/llama.h"
#include "tenet/train/trainable.h"
#include "tenet/util/status.h"

namespace tenet {

struct TrainOptions {
  double learning_rate = 5e-6;
  int64_t epochs = 1;
  int64_t max_steps = 0;             // > 0 overrides epochs
  int64_t batch_size = 8;            // examples (DPO: pairs) per micro-batch
  int64_t grad_accum = 1;
  std::string schedule = "linear";   // linear | cosine | constant
  double warmup_ratio = 0.0;         // of the total steps; warmup_steps wins when > 0
  int64_t warmup_steps = 0;
  double max_grad_norm = 1.0;        // 0 = no clipping
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  uint64_t seed = 42;
  int64_t save_every = 0;            // optimizer steps between checkpoints; 0 = at the end of each epoch
  int64_t eval_every = 0;            // optimizer steps between evaluations; 0 = at the end of each epoch
  int64_t save_total_limit = 0;      // keep only the newest N checkpoints; 0 = keep all
};

// InvalidArgument naming the flag.
Status ValidateTrainOptions(const TrainOptions& o);

// The learning rate at optimizer step `step` (0-based) of `total`, HF's schedules.
double ScheduledLearningRate(const TrainOptions& o, int64_t step, int64_t total);

// What is being trained for: the examples, the loss of a micro-batch and its metrics.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual size_t train_size() const = 0;
  virtual size_t test_size() const = 0;
  // The objective's own resolved options, for config.json.
  virtual nlohmann::json Describe() const = 0;
  // Once before the first step (and again on resume), e.g. to precompute reference log-probs.
  virtual Status Prepare(LlamaForCausalLM& /*model*/, const std::string& /*run_dir*/, int64_t /*batch_size*/) {
    return Status::OK();
  }
  virtual void ResetMetrics() = 0;
  // The loss of the training examples `indices` (differentiable w.r.t. the adapter), added to the
  // metric sums.
  virtual Result<torch::Tensor> Loss(LlamaForCausalLM& model, const std::vector<size_t>& indices) = 0;
  // The metric sums so far as TRL-named means ("loss" always present).
  virtual nlohmann::json Metrics() const = 0;
  // Metrics over the test examples, no gradients, TRL names without the eval_ prefix.
  virtual Result<nlohmann::json> Evaluate(LlamaForCausalLM& model, int64_t batch_size) = 0;
  // True when the loss needs the model with its adapter switched off (DPO's reference pass).
  virtual bool NeedsAdapterOffReference() const { return false; }
};

struct TrainProgress {
  int64_t step = 0, total_steps = 0;
  double epoch = 0;
  nlohmann::json metrics;  // the step's metrics line
  double examples_per_second = 0, eta_seconds = 0;
};

class Trainer {
 public:
  // `trainable` says what is updated: the LoRA adapter `model` carries, or all its weights
  // (tenet/train/trainable.h). Creates run_dir; it must not hold another run unless `resume`: then
  // the latest checkpoint in it is loaded into the model and optimizer. InvalidArgument for an
  // objective whose reference needs an adapter (DPO) with full fine-tuning.
  static Result<std::unique_ptr<Trainer>> Create(LlamaForCausalLM& model, std::unique_ptr<Trainable> trainable,
                                                 std::unique_ptr<Objective> objective, const TrainOptions& options,
                                                 const std::string& run_dir, nlohmann::json given_config, bool resume);
  ~Trainer();

  // Trains to the end, writing the run folder. `progress` (optional) after every optimizer step.
  // A non-finite loss or gradient stops the run with an error naming the step; checkpoints stay.
  Status Train(const std::function<void(const TrainProgress&)>& progress = {});

  int64_t total_steps() const;
  int64_t steps_done() const;

 private:
  struct Impl;
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenet
