// The shared training loop. See tenet/train/trainer.h for the method and the run folder.
#include "tenet/train/trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tenet/model/packed_gemm.h"
#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// The order of the training examples in `epoch`: a Fisher-Yates shuffle driven by mt19937_64
// (whose output the standard fixes) with our own bounded draw, so every platform gives the same
// order.
std::vector<size_t> EpochOrder(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) + 1);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

Status ValidateTrainOptions(const TrainOptions& o) {
  if (!(std::isfinite(o.learning_rate) && o.learning_rate >= 0)) return Status::InvalidArgument("--lr", "must be >= 0");
  if (o.epochs < 1 && o.max_steps < 1) return Status::InvalidArgument("--epochs", "must be >= 1");
  if (o.batch_size < 1) return Status::InvalidArgument("--batch-pairs", "must be >= 1");
  if (o.grad_accum < 1) return Status::InvalidArgument("--grad-accum", "must be >= 1");
  if (o.schedule != "linear" && o.schedule != "cosine" && o.schedule != "constant") {
    return Status::InvalidArgument("--schedule", "must be linear, cosine or constant");
  }
  if (!(o.warmup_ratio >= 0 && o.warmup_ratio < 1)) return Status::InvalidArgument("--warmup-ratio", "must be in [0, 1)");
  if (o.warmup_steps < 0) return Status::InvalidArgument("--warmup-steps", "must be >= 0");
  if (o.save_total_limit < 0) return Status::InvalidArgument("--save-total-limit", "must be >= 0");
  if (!(o.max_grad_norm >= 0)) return Status::InvalidArgument("--max-grad-norm", "must be >= 0");
  if (!(o.weight_decay >= 0)) return Status::InvalidArgument("--weight-decay", "must be >= 0");
  return Status::OK();
}

double ScheduledLearningRate(const TrainOptions& o, int64_t step, int64_t total) {
  const int64_t warmup =
      o.warmup_steps > 0 ? o.warmup_steps : static_cast<int64_t>(std::ceil(o.warmup_ratio * static_cast<double>(total)));
  if (step < warmup) return o.learning_rate * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (o.schedule == "constant") return o.learning_rate;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (o.schedule == "cosine") return o.learning_rate * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  return o.learning_rate * std::max(0.0, 1.0 - progress);
}

struct Trainer::Impl {
  LlamaForCausalLM* model = nullptr;
  std::unique_ptr<Trainable> trainable;
  std::unique_ptr<Objective> objective;
  TrainOptions o;
  std::string dir;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<torch::Tensor> params;
  int64_t steps_per_epoch = 0, total_steps = 0, step = 0;

  std::string CheckpointDir(int64_t s) const {
    char name[32];
    std::snprintf(name, sizeof(name), "step-%08lld", static_cast<long long>(s));
    return dir + "/checkpoints/" + name;
  }

  Status AppendMetrics(const json& line) {
    std::ofstream f(dir + "/metrics.jsonl", std::ios::app);
    f << line.dump() << "\n";
    f.flush();
    if (!f) return Status::IOError(dir + "/metrics.jsonl", "cannot append");
    return Status::OK();
  }

  Status SaveCheckpoint() {
    const std::string final_dir = CheckpointDir(step);
    const std::string tmp = final_dir + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    TENET_RETURN_IF_ERROR(MakeDirs(tmp));
    TENET_RETURN_IF_ERROR(trainable->SaveCheckpoint(tmp));
    try {
      torch::save(*optimizer, tmp + "/optimizer.pt");
    } catch (const std::exception& e) {
      return Status::IOError(tmp + "/optimizer.pt", e.what());
    }
    TENET_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/state.json", json{{"step", step}}.dump(2) + "\n"));
    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) return Status::IOError(final_dir, ec.message());
    if (o.save_total_limit > 0) {  // only after the new one is in place
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos) names.push_back(name);
      }
      std::sort(names.begin(), names.end());  // zero-padded step numbers: oldest first
      for (size_t i = 0; i + static_cast<size_t>(o.save_total_limit) < names.size(); ++i) {
        fs::remove_all(dir + "/checkpoints/" + names[i], ec);
      }
    }
    return Status::OK();
  }

  Status LoadLatestCheckpoint() {
    std::string latest;
    std::error_code ec;
    if (fs::is_directory(dir + "/checkpoints")) {
      for (const auto& e : fs::directory_iterator(dir + "/checkpoints", ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos && name > fs::path(latest).filename().string()) {
          latest = e.path().string();
        }
      }
    }
    if (latest.empty()) return Status::NotFound(dir, "has no checkpoint to resume from");
    TENET_ASSIGN_OR_RETURN(std::string state_text, ReadFile(latest + "/state.json"));
    json state = json::parse(state_text, nullptr, false);
    if (state.is_discarded() || !state.contains("step")) return Status::Corruption(latest + "/state.json", "not a checkpoint state");
    TENET_RETURN_IF_ERROR(trainable->LoadCheckpoint(latest));
    try {
      torch::load(*optimizer, latest + "/optimizer.pt");
    } catch (const std::exception& e) {
      return Status::Corruption(latest + "/optimizer.pt", e.what());
    }
    step = state["step"].get<int64_t>();
    // Drop metrics lines written after this checkpoint (they will be written again) and a torn line.
    auto text = ReadFile(dir + "/metrics.jsonl");
    if (text.ok()) {
      std::istringstream in(*text);
      std::string line, kept;
      while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) continue;
        if (j.value("step", int64_t{0}) <= step) kept += line + "\n";
      }
      TENET_RETURN_IF_ERROR(WriteFileAtomic(dir + "/metrics.jsonl", kept));
    }
    return Status::OK();
  }

  Status Evaluate(double epoch) {
    if (objective->test_size() == 0) return Status::OK();
    TENET_ASSIGN_OR_RETURN(json m, objective->Evaluate(*model, o.batch_size));  // restores the training mode
    json line = {{"step", step}, {"epoch", epoch}};
    for (auto& [k, v] : m.items()) line["eval_" + k] = v;
    return AppendMetrics(line);
  }
};

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;
int64_t Trainer::total_steps() const { return impl_->total_steps; }
int64_t Trainer::steps_done() const { return impl_->step; }

Result<std::unique_ptr<Trainer>> Trainer::Create(LlamaForCausalLM& model, std::unique_ptr<Trainable> trainable,
                                                 std::unique_ptr<Objective> objective, const TrainOptions& options,
                                                 const std::string& run_dir, json given_config, bool resume) {
  TENET_RETURN_IF_ERROR(ValidateTrainOptions(options));
  if (objective->train_size() == 0) return Status::InvalidArgument("training set", "is empty");
  auto impl = std::make_unique<Impl>();
  if (trainable == nullptr) return Status::InvalidArgument("trainer", "has nothing to train");
  if (objective->NeedsAdapterOffReference() && trainable->artifact() != "adapter") {
    return Status::InvalidArgument("training", "this objective's reference model is the base with the adapter off, so it trains a LoRA adapter");
  }
  impl->model = &model;
  impl->objective = std::move(objective);
  impl->o = options;
  impl->dir = run_dir;
  impl->params = trainable->decayed();
  const std::vector<torch::Tensor> no_decay = trainable->not_decayed();
  impl->params.insert(impl->params.end(), no_decay.begin(), no_decay.end());
  const int64_t per_step = options.batch_size * options.grad_accum;
  impl->steps_per_epoch = (static_cast<int64_t>(impl->objective->train_size()) + per_step - 1) / per_step;
  impl->total_steps = options.max_steps > 0 ? options.max_steps : impl->steps_per_epoch * options.epochs;
  const auto adamw = torch::optim::AdamWOptions(options.learning_rate)
                         .betas({options.adam_beta1, options.adam_beta2})
                         .eps(options.adam_epsilon)
                         .weight_decay(options.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(trainable->decayed(), std::make_unique<torch::optim::AdamWOptions>(adamw));
  if (!no_decay.empty()) {
    auto none = std::make_unique<torch::optim::AdamWOptions>(adamw);
    none->weight_decay(0.0);
    groups.emplace_back(no_decay, std::move(none));
  }
  impl->optimizer = std::make_unique<torch::optim::AdamW>(std::move(groups), adamw);
  impl->trainable = std::move(trainable);
  if (!resume && FileExists(run_dir + "/metrics.jsonl")) {
    return Status::InvalidArgument(run_dir, "already holds a run (use --resume to continue it, or another --out)");
  }
  TENET_RETURN_IF_ERROR(MakeDirs(run_dir + "/checkpoints"));
  if (resume) {
    TENET_RETURN_IF_ERROR(impl->LoadLatestCheckpoint());
  } else {
    json resolved = impl->objective->Describe();
    resolved.update(json{{"learning_rate", options.learning_rate},
                         {"epochs", options.epochs},
                         {"max_steps", options.max_steps},
                         {"total_steps", impl->total_steps},
                         {"batch_size", options.batch_size},
                         {"grad_accum", options.grad_accum},
                         {"schedule", options.schedule},
                         {"warmup_ratio", options.warmup_ratio},
                         {"warmup_steps", options.warmup_steps},
                         {"max_grad_norm", options.max_grad_norm},
                         {"weight_decay", options.weight_decay},
                         {"adam_betas", {options.adam_beta1, options.adam_beta2}},
                         {"adam_epsilon", options.adam_epsilon},
                         {"seed", options.seed},
                         {"save_total_limit", options.save_total_limit},
                         {"train_examples", impl->objective->train_size()},
                         {"test_examples", impl->objective->test_size()},
                         {"packed_weights", packed_gemm::Enabled()}});
    resolved.update(impl->trainable->Describe());
    TENET_RETURN_IF_ERROR(
        WriteFileAtomic(run_dir + "/config.json", json{{"given", given_config}, {"resolved", resolved}}.dump(2) + "\n"));
    TENET_RETURN_IF_ERROR(WriteFileAtomic(run_dir + "/metrics.jsonl", ""));
  }
  TENET_RETURN_IF_ERROR(impl->objective->Prepare(model, run_dir, options.batch_size));
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

Status Trainer::Train(const std::function<void(const TrainProgress&)>& progress) {
  Impl& s = *impl_;
  const TrainOptions& o = s.o;
  Objective& objective = *s.objective;
  s.model->train();
  const auto start = Clock::now();
  const int64_t first_step = s.step;
  int64_t examples_seen = 0;
  const size_t n = objective.train_size();
  const size_t per_step = static_cast<size_t>(o.batch_size * o.grad_accum);
  int64_t order_epoch = -1;
  std::vector<size_t> order;  // the current epoch's data order, drawn once per epoch
  while (s.step < s.total_steps) {
    const int64_t epoch = s.step / s.steps_per_epoch;
    if (epoch != order_epoch) {
      order = EpochOrder(n, o.seed, epoch);
      order_epoch = epoch;
    }
    const size_t step_begin = static_cast<size_t>(s.step % s.steps_per_epoch) * per_step;
    const size_t step_end = std::min(n, step_begin + per_step);
    const double lr = ScheduledLearningRate(o, s.step, s.total_steps);
    for (auto& group : s.optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    s.optimizer->zero_grad();
    objective.ResetMetrics();
    const size_t batch = static_cast<size_t>(o.batch_size);
    const size_t micro_batches = (step_end - step_begin + batch - 1) / batch;
    for (size_t m = 0; m < micro_batches; ++m) {
      const size_t b0 = step_begin + m * batch, b1 = std::min(step_end, b0 + batch);
      torch::manual_seed(o.seed * 1000003ull + static_cast<uint64_t>(s.step) * 131ull + m);  // dropout
      const std::vector<size_t> indices(order.begin() + static_cast<std::ptrdiff_t>(b0), order.begin() + static_cast<std::ptrdiff_t>(b1));
      TENET_ASSIGN_OR_RETURN(torch::Tensor loss, objective.Loss(*s.model, indices));
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        return Status::Internal("training", "the loss became " + std::to_string(value) + " at step " + std::to_string(s.step + 1) +
                                                " (epoch " + std::to_string(epoch + 1) +
                                                "); the run stopped and its checkpoints are intact: lower --lr or check the data, then --resume");
      }
      (loss / static_cast<double>(micro_batches)).backward();
      s.trainable->AccumulateGradients();
      examples_seen += static_cast<int64_t>(b1 - b0);
    }
    double grad_norm = 0;
    if (o.max_grad_norm > 0) {
      grad_norm = torch::nn::utils::clip_grad_norm_(s.params, o.max_grad_norm);
    } else {
      double sq = 0;
      for (auto& p : s.params)
        if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
      grad_norm = std::sqrt(sq);
    }
    if (!std::isfinite(grad_norm)) {
      return Status::Internal("training", "the gradient norm became non-finite at step " + std::to_string(s.step + 1) +
                                              "; the run stopped and its checkpoints are intact");
    }
    s.optimizer->step();
    s.trainable->SyncModel();
    ++s.step;
    const double epoch_f = static_cast<double>(s.step) / static_cast<double>(s.steps_per_epoch);
    json line = objective.Metrics();
    line["step"] = s.step;
    line["epoch"] = epoch_f;
    line["learning_rate"] = lr;
    line["grad_norm"] = grad_norm;
    TENET_RETURN_IF_ERROR(s.AppendMetrics(line));
    const bool epoch_end = s.step % s.steps_per_epoch == 0 || s.step == s.total_steps;
    if (o.eval_every > 0 ? s.step % o.eval_every == 0 || s.step == s.total_steps : epoch_end) {
      TENET_RETURN_IF_ERROR(s.Evaluate(epoch_f));
    }
    if (o.save_every > 0 ? s.step % o.save_every == 0 || s.step == s.total_steps : epoch_end) {
      TENET_RETURN_IF_ERROR(s.SaveCheckpoint());
    }
    if (progress) {
      TrainProgress p;
      p.step = s.step;
      p.total_steps = s.total_steps;
      p.epoch = epoch_f;
      p.metrics = line;
      const double secs = Seconds(start);
      p.examples_per_second = static_cast<double>(examples_seen) / std::max(secs, 1e-9);
      p.eta_seconds = secs / static_cast<double>(s.step - first_step) * static_cast<double>(s.total_steps - s.step);
      progress(p);
    }
  }
  const std::string artifact = s.dir + "/" + s.trainable->artifact();
  TENET_RETURN_IF_ERROR(s.trainable->Export(artifact));
  json summary = {{"steps", s.step},
                  {"total_steps", s.total_steps},
                  {"train_examples", objective.train_size()},
                  {"test_examples", objective.test_size()},
                  {"seconds_this_session", Seconds(start)},
                  {"examples_per_second", static_cast<double>(examples_seen) / std::max(Seconds(start), 1e-9)},
                  {"peak_rss_mib", PeakRssMiB()},
                  {s.trainable->artifact(), artifact}};
  if (objective.test_size() > 0) {
    TENET_ASSIGN_OR_RETURN(json eval, objective.Evaluate(*s.model, o.batch_size));
    summary["eval"] = eval;
  }
  return WriteFileAtomic(s.dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace tenet
