// The DPO objective and evaluation. See tenet/train/dpo_objective.h.
#include "tenet/train/dpo_objective.h"

#include <array>
#include <cmath>

#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;

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

// Reference log-probs of a batch: the base alone (the model is not switched), no gradients.
Result<PairLogps> ReferenceLogps(LlamaForCausalLM& model, const PairBatch& batch) {
  torch::NoGradGuard no_grad;
  TENET_ASSIGN_OR_RETURN(BatchLogps r, ComputeBatchLogps(model, batch, AdapterChoice::Base()));
  return r.logps;
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
  if (NllWeight(o) > 0) {
    b.loss = b.loss + NllWeight(o) * -policy.chosen_token_logps.mean();
  }
  return b;
}

}  // namespace

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
    if (NeedsReference(loss)) {
      TENET_ASSIGN_OR_RETURN(reference, ReferenceLogps(model, batch));
    }
    BatchLoss b = ComputeLoss(policy, reference, loss);
    sums.Add(b.terms, policy);
  }
  model.train(was_training);
  return sums.ToJson("", NllWeight(loss));
}

Result<torch::Tensor> DpoBatchLoss(LlamaForCausalLM& model, const std::vector<TokenizedPair>& pairs,
                                   const DpoLossOptions& loss) {
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(loss));
  TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(pairs));
  PairLogps reference;
  if (NeedsReference(loss)) {
    TENET_ASSIGN_OR_RETURN(reference, ReferenceLogps(model, batch));
  }
  TENET_ASSIGN_OR_RETURN(BatchLogps policy, ComputeBatchLogps(model, batch));
  return ComputeLoss(policy, reference, loss).loss;
}

namespace {

class DpoObjective : public Objective {
 public:
  DpoObjective(std::vector<TokenizedPair> train, std::vector<TokenizedPair> test, const DpoObjectiveOptions& o)
      : train_(std::move(train)), test_(std::move(test)), o_(o) {}

  size_t train_size() const override { return train_.size(); }
  size_t test_size() const override { return test_.size(); }
  // Evaluation always runs the reference (adapters off) unless the loss has none.
  bool NeedsAdapterOffReference() const override { return NeedsReference(o_.loss); }
  json Describe() const override {
    return {{"objective", "dpo"},
            {"loss", DpoLossTypeName(o_.loss.type)},
            {"beta", o_.loss.beta},
            {"label_smoothing", o_.loss.label_smoothing},
            {"rpo_alpha", o_.loss.rpo_alpha},
            {"reference_free", o_.loss.reference_free},
            {"simpo_gamma", o_.loss.simpo_gamma},
            {"precompute_ref", o_.precompute_ref}};
  }

  Status Prepare(LlamaForCausalLM& model, const std::string& run_dir, int64_t batch_pairs) override {
    if (!o_.precompute_ref || !NeedsReference(o_.loss)) return Status::OK();
    const std::string path = run_dir + "/ref_logps.json";
    ref_cache_.clear();
    if (FileExists(path)) {  // a resumed run reuses its cache
      TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
      json j = json::parse(text, nullptr, false);
      if (!j.is_discarded() && j.is_array() && j.size() == train_.size()) {
        for (const auto& e : j) ref_cache_.push_back({e[0].get<float>(), e[1].get<float>(), e[2].get<float>(), e[3].get<float>()});
        return Status::OK();
      }
    }
    json j = json::array();
    for (size_t s = 0; s < train_.size(); s += static_cast<size_t>(batch_pairs)) {
      std::vector<TokenizedPair> chunk(train_.begin() + static_cast<std::ptrdiff_t>(s),
                                       train_.begin() + static_cast<std::ptrdiff_t>(std::min(train_.size(), s + static_cast<size_t>(batch_pairs))));
      TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(chunk));
      TENET_ASSIGN_OR_RETURN(PairLogps r, ReferenceLogps(model, batch));
      for (int64_t i = 0; i < batch.pairs; ++i) {
        std::array<float, 4> e = {r.chosen[i].item<float>(), r.rejected[i].item<float>(), r.chosen_tokens[i].item<float>(),
                                  r.rejected_tokens[i].item<float>()};
        j.push_back(e);
        ref_cache_.push_back(e);
      }
    }
    return WriteFileAtomic(path, j.dump() + "\n");
  }

  void ResetMetrics() override { sums_ = MetricSums{}; }

  Result<torch::Tensor> Loss(LlamaForCausalLM& model, const std::vector<size_t>& indices) override {
    std::vector<TokenizedPair> pairs;
    for (size_t i : indices) pairs.push_back(train_[i]);
    TENET_ASSIGN_OR_RETURN(PairBatch batch, BuildSharedPairBatch(pairs));
    PairLogps reference;
    if (NeedsReference(o_.loss)) {
      if (ref_cache_.empty()) {
        TENET_ASSIGN_OR_RETURN(reference, ReferenceLogps(model, batch));
      } else {
        std::vector<float> c, r, nc, nr;
        for (size_t i : indices) {
          c.push_back(ref_cache_[i][0]), r.push_back(ref_cache_[i][1]), nc.push_back(ref_cache_[i][2]), nr.push_back(ref_cache_[i][3]);
        }
        const auto dev = model.device();
        reference = {torch::tensor(c).to(dev), torch::tensor(r).to(dev), torch::tensor(nc).to(dev), torch::tensor(nr).to(dev)};
      }
    }
    TENET_ASSIGN_OR_RETURN(BatchLogps policy, ComputeBatchLogps(model, batch));
    BatchLoss b = ComputeLoss(policy, reference, o_.loss);
    sums_.Add(b.terms, policy);
    return b.loss;
  }

  json Metrics() const override { return sums_.ToJson("", NllWeight(o_.loss)); }

  Result<json> Evaluate(LlamaForCausalLM& model, int64_t batch_pairs) override {
    return EvaluateDpo(model, test_, o_.loss, batch_pairs);
  }

 private:
  std::vector<TokenizedPair> train_, test_;
  DpoObjectiveOptions o_;
  std::vector<std::array<float, 4>> ref_cache_;  // per train pair: chosen, rejected, their token counts
  MetricSums sums_;
};

}  // namespace

std::unique_ptr<Objective> MakeDpoObjective(std::vector<TokenizedPair> train, std::vector<TokenizedPair> test,
                                            const DpoObjectiveOptions& options) {
  return std::make_unique<DpoObjective>(std::move(train), std::move(test), options);
}
}  // namespace tenet
