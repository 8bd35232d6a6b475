// DPO trainer and evaluation. See tenet/train/dpo_trainer.h for the method and the run folder.
#include "tenet/train/dpo_trainer.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "tenet/model/adapter.h"
#include "tenet/train/lora.h"
#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// The order of the training pairs in `epoch`: a Fisher-Yates shuffle driven by mt19937_64 (whose
// output the standard fixes) with our own bounded draw, so every platform gives the same order.
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

// Metric sums over micro-batches (or eval batches), averaged at the end as if all pairs had been
// one batch: per pair, except the NLL (and so the RPO part of the loss), which is per chosen token.
struct MetricSums {
  double terms = 0, chosen = 0, rejected = 0, accuracy = 0, margin = 0, logps_c = 0, logps_r = 0, nll = 0;
  double logits_c = 0, logits_r = 0, tokens_c = 0, tokens_r = 0;
  int64_t pairs = 0;
  void Add(const DpoLossTerms& t, const BatchLogps& policy) {
    const auto p = t.losses.size(0);
    terms += t.losses.detach().sum().item<double>();
    nll -= policy.chosen_token_logps.detach().sum().item<double>();
    chosen += t.chosen_rewards.sum().item<double>();
    rejected += t.rejected_rewards.sum().item<double>();
    accuracy += (t.chosen_rewards > t.rejected_rewards).to(torch::kFloat64).sum().item<double>();
    margin += (t.chosen_rewards - t.rejected_rewards).sum().item<double>();
    logps_c += policy.logps.chosen.detach().sum().item<double>();
    logps_r += policy.logps.rejected.detach().sum().item<double>();
    const double nc = policy.logps.chosen_tokens.sum().item<double>(), nr = policy.logps.rejected_tokens.sum().item<double>();
    logits_c += policy.chosen_logit_mean * nc;
    logits_r += policy.rejected_logit_mean * nr;
    tokens_c += nc;
    tokens_r += nr;
    pairs += p;
  }
  json ToJson(const std::string& prefix, double rpo_alpha) const {
    const double n = static_cast<double>(std::max<int64_t>(pairs, 1));
    const double nll_mean = nll / std::max(tokens_c, 1.0);
    json j = {{prefix + "loss", terms / n + (rpo_alpha > 0 ? rpo_alpha * nll_mean : 0.0)},
              {prefix + "rewards/chosen", chosen / n},
              {prefix + "rewards/rejected", rejected / n},
              {prefix + "rewards/accuracies", accuracy / n},
              {prefix + "rewards/margins", margin / n},
              {prefix + "logps/chosen", logps_c / n},
              {prefix + "logps/rejected", logps_r / n},
              {prefix + "logits/chosen", logits_c / std::max(tokens_c, 1.0)},
              {prefix + "logits/rejected", logits_r / std::max(tokens_r, 1.0)}};
    if (rpo_alpha > 0) j[prefix + "nll_loss"] = nll_mean;
    return j;
  }
};

// Reference log-probs of a batch: the model with adapters off, no gradients.
Result<PairLogps> ReferenceLogps(LlamaForCausalLM& model, const PairBatch& batch) {
  torch::NoGradGuard no_grad;
  model.SetLoraEnabled(false);
  auto r = ComputeBatchLogps(model, batch);
  model.SetLoraEnabled(true);
  if (!r.ok()) return r.status();
  return r->logps;
}

// Loss of one batch: the mean of the per-pair terms plus rpo_alpha * NLL of the chosen tokens.
struct BatchLoss {
  torch::Tensor loss;  // scalar, with gradients when the policy has them
  DpoLossTerms terms;
};
BatchLoss ComputeLoss(const BatchLogps& policy, const PairLogps& reference, const DpoLossOptions& o) {
  BatchLoss b;
  b.terms = DpoLoss(policy.logps, reference, o);
  b.loss = b.terms.losses.mean();
  if (o.rpo_alpha > 0) {
    b.loss = b.loss + o.rpo_alpha * -policy.chosen_token_logps.mean();
  }
  return b;
}

std::vector<TokenizedPair> Slice(const std::vector<TokenizedPair>& all, const std::vector<size_t>& order, size_t begin, size_t end) {
  std::vector<TokenizedPair> out;
  for (size_t i = begin; i < end; ++i) out.push_back(all[order[i]]);
  return out;
}

}  // namespace

Status ValidateDpoTrainOptions(const DpoTrainOptions& o) {
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(o.loss));
  if (!(std::isfinite(o.learning_rate) && o.learning_rate >= 0)) return Status::InvalidArgument("--lr", "must be >= 0");
  if (o.epochs < 1 && o.max_steps < 1) return Status::InvalidArgument("--epochs", "must be >= 1");
  if (o.batch_pairs < 1) return Status::InvalidArgument("--batch-pairs", "must be >= 1");
  if (o.grad_accum < 1) return Status::InvalidArgument("--grad-accum", "must be >= 1");
  if (o.schedule != "linear" && o.schedule != "cosine" && o.schedule != "constant") {
    return Status::InvalidArgument("--schedule", "must be linear, cosine or constant");
  }
  if (!(o.warmup_ratio >= 0 && o.warmup_ratio < 1)) return Status::InvalidArgument("--warmup-ratio", "must be in [0, 1)");
  if (o.warmup_steps < 0) return Status::InvalidArgument("--warmup-steps", "must be >= 0");
  if (!(o.max_grad_norm >= 0)) return Status::InvalidArgument("--max-grad-norm", "must be >= 0");
  if (!(o.weight_decay >= 0)) return Status::InvalidArgument("--weight-decay", "must be >= 0");
  return Status::OK();
}

double ScheduledLearningRate(const DpoTrainOptions& o, int64_t step, int64_t total) {
  const int64_t warmup = o.warmup_steps > 0 ? o.warmup_steps : static_cast<int64_t>(std::ceil(o.warmup_ratio * static_cast<double>(total)));
  if (step < warmup) return o.learning_rate * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (o.schedule == "constant") return o.learning_rate;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (o.schedule == "cosine") return o.learning_rate * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  return o.learning_rate * std::max(0.0, 1.0 - progress);
}

std::vector<TokenizedPair> ToTokenizedPairs(const std::vector<PreferencePair>& pairs) {
  std::vector<TokenizedPair> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs) out.push_back({p.prompt, p.chosen, p.rejected});
  return out;
}

Result<json> EvaluateDpo(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs, const DpoLossOptions& loss,
                         int64_t batch_pairs) {
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(loss));
  if (pairs.empty()) return Status::InvalidArgument("evaluation set", "is empty");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  MetricSums sums;
  for (size_t s = 0; s < pairs.size(); s += static_cast<size_t>(batch_pairs)) {
    std::vector<TokenizedPair> chunk(pairs.begin() + static_cast<std::ptrdiff_t>(s),
                                     pairs.begin() + static_cast<std::ptrdiff_t>(std::min(pairs.size(), s + static_cast<size_t>(batch_pairs))));
    TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(chunk));
    TENET_ASSIGN_OR_RETURN(BatchLogps policy, ComputeBatchLogps(model, batch));
    PairLogps reference;
    if (!loss.reference_free) {
      TENET_ASSIGN_OR_RETURN(reference, ReferenceLogps(model, batch));
    }
    BatchLoss b = ComputeLoss(policy, reference, loss);
    sums.Add(b.terms, policy);
  }
  model.train(was_training);
  return sums.ToJson("", loss.rpo_alpha);
}

Result<torch::Tensor> DpoBatchLoss(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss) {
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(loss));
  TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(pairs));
  PairLogps reference;
  if (!loss.reference_free) {
    TENET_ASSIGN_OR_RETURN(reference, ReferenceLogps(model, batch));
  }
  TENET_ASSIGN_OR_RETURN(BatchLogps policy, ComputeBatchLogps(model, batch));
  return ComputeLoss(policy, reference, loss).loss;
}

struct DpoTrainer::Impl {
  LlamaForCausalLM* model = nullptr;
  LoraConfig lora;
  std::vector<TokenizedPair> train, test;
  DpoTrainOptions o;
  std::string dir;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<torch::Tensor> params;
  int64_t steps_per_epoch = 0, total_steps = 0, step = 0;
  std::vector<PairLogps> ref_cache;  // per train pair (P = 1 each) when precomputed
  bool has_ref_cache = false;

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
    TENET_RETURN_IF_ERROR(SavePeftAdapter(tmp + "/adapter", ExportLoraAdapter(*model, lora)));
    try {
      torch::save(*optimizer, tmp + "/optimizer.pt");
    } catch (const std::exception& e) {
      return Status::IOError(tmp + "/optimizer.pt", e.what());
    }
    TENET_RETURN_IF_ERROR(WriteFileAtomic(tmp + "/state.json", json{{"step", step}}.dump(2) + "\n"));
    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) return Status::IOError(final_dir, ec.message());
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
    TENET_ASSIGN_OR_RETURN(LoraAdapter adapter, LoadPeftAdapter(latest + "/adapter"));
    {
      torch::NoGradGuard no_grad;
      for (const auto& [path, linear] : model->linears()) {
        auto it = adapter.modules.find(path);
        if (!linear->has_lora()) continue;
        if (it == adapter.modules.end()) return Status::Corruption(latest, "checkpoint lacks module " + path);
        linear->lora_a().copy_(it->second.a);
        linear->lora_b().copy_(it->second.b);
      }
    }
    try {
      torch::load(*optimizer, latest + "/optimizer.pt");
    } catch (const std::exception& e) {
      return Status::Corruption(latest + "/optimizer.pt", e.what());
    }
    step = state["step"].get<int64_t>();
    // Drop metrics lines written after this checkpoint (they will be written again).
    auto text = ReadFile(dir + "/metrics.jsonl");
    if (text.ok()) {
      std::istringstream in(*text);
      std::string line, kept;
      while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) continue;  // a torn last line
        if (j.value("step", int64_t{0}) <= step) kept += line + "\n";
      }
      TENET_RETURN_IF_ERROR(WriteFileAtomic(dir + "/metrics.jsonl", kept));
    }
    return Status::OK();
  }

  Status PrecomputeReference() {
    const std::string path = dir + "/ref_logps.json";
    if (FileExists(path)) {
      TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      json j = json::parse(text, nullptr, false);
      if (!j.is_discarded() && j.is_array() && j.size() == train.size()) {
        for (const auto& e : j) {
          ref_cache.push_back({torch::tensor({e[0].get<float>()}), torch::tensor({e[1].get<float>()}),
                               torch::tensor({e[2].get<float>()}), torch::tensor({e[3].get<float>()})});
        }
        has_ref_cache = true;
        return Status::OK();
      }
    }
    json j = json::array();
    for (size_t s = 0; s < train.size(); s += static_cast<size_t>(o.batch_pairs)) {
      std::vector<TokenizedPair> chunk(train.begin() + static_cast<std::ptrdiff_t>(s),
                                       train.begin() + static_cast<std::ptrdiff_t>(std::min(train.size(), s + static_cast<size_t>(o.batch_pairs))));
      TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(chunk));
      TENET_ASSIGN_OR_RETURN(PairLogps r, ReferenceLogps(*model, batch));
      for (int64_t i = 0; i < batch.pairs; ++i) {
        PairLogps one{r.chosen.narrow(0, i, 1).cpu(), r.rejected.narrow(0, i, 1).cpu(), r.chosen_tokens.narrow(0, i, 1).cpu(),
                      r.rejected_tokens.narrow(0, i, 1).cpu()};
        j.push_back({one.chosen.item<float>(), one.rejected.item<float>(), one.chosen_tokens.item<float>(),
                     one.rejected_tokens.item<float>()});
        ref_cache.push_back(one);
      }
    }
    has_ref_cache = true;
    return WriteFileAtomic(path, j.dump() + "\n");
  }

  // Reference log-probs for the pairs order[begin, end): from the cache or computed now.
  Result<PairLogps> Reference(const PairBatch& batch, const std::vector<size_t>& order, size_t begin, size_t end) {
    if (!has_ref_cache) return ReferenceLogps(*model, batch);
    std::vector<torch::Tensor> c, r, nc, nr;
    for (size_t i = begin; i < end; ++i) {
      const PairLogps& e = ref_cache[order[i]];
      c.push_back(e.chosen), r.push_back(e.rejected), nc.push_back(e.chosen_tokens), nr.push_back(e.rejected_tokens);
    }
    const auto dev = model->device();
    return PairLogps{torch::cat(c).to(dev), torch::cat(r).to(dev), torch::cat(nc).to(dev), torch::cat(nr).to(dev)};
  }

  Status Evaluate(double epoch) {
    if (test.empty()) return Status::OK();
    TENET_ASSIGN_OR_RETURN(json m, EvaluateDpo(*model, test, o.loss, o.batch_pairs));
    json line = {{"step", step}, {"epoch", epoch}};
    for (auto& [k, v] : m.items()) line["eval_" + k] = v;
    return AppendMetrics(line);
  }
};

DpoTrainer::DpoTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DpoTrainer::~DpoTrainer() = default;
int64_t DpoTrainer::total_steps() const { return impl_->total_steps; }
int64_t DpoTrainer::steps_done() const { return impl_->step; }

Result<std::unique_ptr<DpoTrainer>> DpoTrainer::Create(LlamaForCausalLM& model, const LoraConfig& lora,
                                                       std::vector<TokenizedPair> train, std::vector<TokenizedPair> test,
                                                       const DpoTrainOptions& options, const std::string& run_dir,
                                                       json given_config, bool resume) {
  TENET_RETURN_IF_ERROR(ValidateDpoTrainOptions(options));
  if (train.empty()) return Status::InvalidArgument("training set", "is empty");
  auto impl = std::make_unique<Impl>();
  impl->model = &model;
  impl->lora = lora;
  impl->train = std::move(train);
  impl->test = std::move(test);
  impl->o = options;
  impl->dir = run_dir;
  impl->params = LoraParameters(model);
  if (impl->params.empty()) return Status::InvalidArgument("model", "carries no LoRA adapter to train");
  for (auto& p : impl->params) p.set_requires_grad(true);
  const int64_t per_step = options.batch_pairs * options.grad_accum;
  impl->steps_per_epoch = (static_cast<int64_t>(impl->train.size()) + per_step - 1) / per_step;
  impl->total_steps = options.max_steps > 0 ? options.max_steps : impl->steps_per_epoch * options.epochs;
  impl->optimizer = std::make_unique<torch::optim::AdamW>(
      impl->params, torch::optim::AdamWOptions(options.learning_rate)
                        .betas({options.adam_beta1, options.adam_beta2})
                        .eps(options.adam_epsilon)
                        .weight_decay(options.weight_decay));
  if (!resume && FileExists(run_dir + "/metrics.jsonl")) {
    return Status::InvalidArgument(run_dir, "already holds a run (use --resume to continue it, or another --out)");
  }
  TENET_RETURN_IF_ERROR(MakeDirs(run_dir + "/checkpoints"));
  if (resume) {
    TENET_RETURN_IF_ERROR(impl->LoadLatestCheckpoint());
  } else {
    json resolved = {{"loss", DpoLossTypeName(options.loss.type)},
                     {"beta", options.loss.beta},
                     {"label_smoothing", options.loss.label_smoothing},
                     {"rpo_alpha", options.loss.rpo_alpha},
                     {"reference_free", options.loss.reference_free},
                     {"learning_rate", options.learning_rate},
                     {"epochs", options.epochs},
                     {"max_steps", options.max_steps},
                     {"total_steps", impl->total_steps},
                     {"batch_pairs", options.batch_pairs},
                     {"grad_accum", options.grad_accum},
                     {"schedule", options.schedule},
                     {"warmup_ratio", options.warmup_ratio},
                     {"warmup_steps", options.warmup_steps},
                     {"max_grad_norm", options.max_grad_norm},
                     {"weight_decay", options.weight_decay},
                     {"adam_betas", {options.adam_beta1, options.adam_beta2}},
                     {"adam_epsilon", options.adam_epsilon},
                     {"seed", options.seed},
                     {"precompute_ref", options.precompute_ref},
                     {"train_pairs", impl->train.size()},
                     {"test_pairs", impl->test.size()},
                     {"lora", LoraConfigToJson(lora)}};
    TENET_RETURN_IF_ERROR(WriteFileAtomic(run_dir + "/config.json", json{{"given", given_config}, {"resolved", resolved}}.dump(2) + "\n"));
    TENET_RETURN_IF_ERROR(WriteFileAtomic(run_dir + "/metrics.jsonl", ""));
  }
  if (options.precompute_ref && !options.loss.reference_free) TENET_RETURN_IF_ERROR(impl->PrecomputeReference());
  return std::unique_ptr<DpoTrainer>(new DpoTrainer(std::move(impl)));
}

Status DpoTrainer::Train(const std::function<void(const DpoProgress&)>& progress) {
  Impl& s = *impl_;
  const DpoTrainOptions& o = s.o;
  s.model->train();
  const auto start = Clock::now();
  const int64_t first_step = s.step;
  int64_t pairs_seen = 0;
  const size_t n = s.train.size();
  const size_t per_step = static_cast<size_t>(o.batch_pairs * o.grad_accum);
  while (s.step < s.total_steps) {
    const int64_t epoch = s.step / s.steps_per_epoch;
    const int64_t in_epoch = s.step % s.steps_per_epoch;
    const std::vector<size_t> order = EpochOrder(n, o.seed, epoch);
    const size_t step_begin = static_cast<size_t>(in_epoch) * per_step;
    const size_t step_end = std::min(n, step_begin + per_step);
    const double lr = ScheduledLearningRate(o, s.step, s.total_steps);
    for (auto& group : s.optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    s.optimizer->zero_grad();
    MetricSums sums;
    const int64_t micro_batches = static_cast<int64_t>((step_end - step_begin + static_cast<size_t>(o.batch_pairs) - 1) / static_cast<size_t>(o.batch_pairs));
    for (int64_t m = 0; m < micro_batches; ++m) {
      const size_t b0 = step_begin + static_cast<size_t>(m * o.batch_pairs);
      const size_t b1 = std::min(step_end, b0 + static_cast<size_t>(o.batch_pairs));
      torch::manual_seed(o.seed * 1000003ull + static_cast<uint64_t>(s.step) * 131ull + static_cast<uint64_t>(m));  // dropout
      TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(Slice(s.train, order, b0, b1)));
      PairLogps reference;
      if (!o.loss.reference_free) {
        TENET_ASSIGN_OR_RETURN(reference, s.Reference(batch, order, b0, b1));
      }
      TENET_ASSIGN_OR_RETURN(BatchLogps policy, ComputeBatchLogps(*s.model, batch));
      BatchLoss b = ComputeLoss(policy, reference, o.loss);
      const double value = b.loss.item<double>();
      if (!std::isfinite(value)) {
        return Status::Internal("training", "the loss became " + std::to_string(value) + " at step " + std::to_string(s.step + 1) + " (epoch " +
                                                std::to_string(epoch + 1) +
                                                "); the run stopped and its checkpoints are intact: lower --lr or check the data, then --resume");
      }
      (b.loss / static_cast<double>(micro_batches)).backward();
      sums.Add(b.terms, policy);
      pairs_seen += batch.pairs;
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
                                              "; the run stopped, and its checkpoints are intact");
    }
    s.optimizer->step();
    ++s.step;
    const double epoch_f = static_cast<double>(s.step) / static_cast<double>(s.steps_per_epoch);
    json line = sums.ToJson("", o.loss.rpo_alpha);
    line["step"] = s.step;
    line["epoch"] = epoch_f;
    line["learning_rate"] = lr;
    line["grad_norm"] = grad_norm;
    TENET_RETURN_IF_ERROR(s.AppendMetrics(line));
    const bool epoch_end = s.step % s.steps_per_epoch == 0 || s.step == s.total_steps;
    if (o.eval_every > 0 ? s.step % o.eval_every == 0 || s.step == s.total_steps : epoch_end) {
      TENET_RETURN_IF_ERROR(s.Evaluate(epoch_f));
      s.model->train();
    }
    if (o.save_every > 0 ? s.step % o.save_every == 0 || s.step == s.total_steps : epoch_end) {
      TENET_RETURN_IF_ERROR(s.SaveCheckpoint());
    }
    if (progress) {
      DpoProgress p;
      p.step = s.step;
      p.total_steps = s.total_steps;
      p.epoch = epoch_f;
      p.metrics = line;
      const double secs = Seconds(start);
      p.pairs_per_second = static_cast<double>(pairs_seen) / std::max(secs, 1e-9);
      p.eta_seconds = secs / static_cast<double>(s.step - first_step) * static_cast<double>(s.total_steps - s.step);
      progress(p);
    }
  }
  TENET_RETURN_IF_ERROR(SavePeftAdapter(s.dir + "/adapter", ExportLoraAdapter(*s.model, s.lora)));
  json summary = {{"steps", s.step},
                  {"total_steps", s.total_steps},
                  {"train_pairs", s.train.size()},
                  {"test_pairs", s.test.size()},
                  {"seconds_this_session", Seconds(start)},
                  {"pairs_per_second", static_cast<double>(pairs_seen) / std::max(Seconds(start), 1e-9)},
                  {"peak_rss_mib", PeakRssMiB()},
                  {"adapter", s.dir + "/adapter"}};
  if (!s.test.empty()) {
    TENET_ASSIGN_OR_RETURN(json eval, EvaluateDpo(*s.model, s.test, o.loss, o.batch_pairs));
    summary["eval"] = eval;
  }
  return WriteFileAtomic(s.dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace tenet
