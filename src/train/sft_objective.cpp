// The SFT objective. See tenet/train/sft_objective.h.
//
// Shape legend: B sequences, T padded length, C hidden, N completion tokens in the batch.
#include "tenet/train/sft_objective.h"

#include <algorithm>

#include "tenet/model/logprobs.h"

namespace tenet {
namespace {
using json = nlohmann::json;

struct Sums {
  double loss_sum = 0;
  int64_t tokens = 0, hits = 0;
  void Add(const json& m) {
    loss_sum += m["loss_sum"].get<double>();
    tokens += m["tokens"].get<int64_t>();
    hits += m["hits"].get<int64_t>();
  }
  json ToJson() const {
    const double n = static_cast<double>(std::max<int64_t>(tokens, 1));
    return {{"loss", loss_sum / n}, {"mean_token_accuracy", static_cast<double>(hits) / n}, {"num_tokens", tokens}};
  }
};

class SftObjective : public Objective {
 public:
  SftObjective(std::vector<SftExample> train, std::vector<SftExample> test) : train_(std::move(train)), test_(std::move(test)) {}
  size_t train_size() const override { return train_.size(); }
  size_t test_size() const override { return test_.size(); }
  json Describe() const override { return {{"objective", "sft"}, {"loss", "completion-only cross-entropy, mean over tokens"}}; }
  void ResetMetrics() override { sums_ = Sums{}; }
  Result<torch::Tensor> Loss(LlamaForCausalLM& model, const std::vector<size_t>& indices) override {
    std::vector<const SftExample*> batch;
    for (size_t i : indices) batch.push_back(&train_[i]);
    json m;
    TENET_ASSIGN_OR_RETURN(torch::Tensor loss, SftBatchLoss(model, batch, &m));
    sums_.Add(m);
    return loss;
  }
  json Metrics() const override { return sums_.ToJson(); }
  Result<json> Evaluate(LlamaForCausalLM& model, int64_t batch_size) override { return EvaluateSft(model, test_, batch_size); }

 private:
  std::vector<SftExample> train_, test_;
  Sums sums_;
};

}  // namespace

Result<torch::Tensor> SftBatchLoss(LlamaForCausalLM& model, const std::vector<const SftExample*>& batch, json* metrics) {
  if (batch.empty()) return Status::InvalidArgument("sft batch", "is empty");
  int64_t T = 0;
  for (const auto* e : batch) T = std::max<int64_t>(T, static_cast<int64_t>(e->ids.size()));
  const int64_t B = static_cast<int64_t>(batch.size());
  torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);  // right-padded: causal attention keeps padding inert
  auto acc = ids.accessor<int64_t, 2>();
  std::vector<int64_t> index, target;
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = *batch[static_cast<size_t>(b)];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      acc[b][static_cast<int64_t>(t)] = e.ids[t];
      if (t > 0 && e.loss[t]) {
        index.push_back(b * T + static_cast<int64_t>(t) - 1);
        target.push_back(e.ids[t]);
      }
    }
  }
  if (index.empty()) return Status::InvalidArgument("sft batch", "has no completion tokens");
  const auto dev = model.device();
  TENET_ASSIGN_OR_RETURN(torch::Tensor rows, HiddenAt(model, ids, torch::tensor(index)));  // (N, C)
  TokenLogitStats stats;
  stats.count_argmax_hits = metrics != nullptr;
  torch::Tensor logps = TokenLogProbs(model, rows, torch::tensor(target).to(dev), kLogitChunkRows, &stats);  // (N,)
  torch::Tensor loss = -logps.mean();
  if (metrics != nullptr) {
    *metrics = {{"loss_sum", -logps.detach().sum().item<double>()},
                {"tokens", static_cast<int64_t>(index.size())},
                {"hits", stats.argmax_hits}};
  }
  return loss;
}

Result<json> EvaluateSft(LlamaForCausalLM& model, const std::vector<SftExample>& examples, int64_t batch_size) {
  if (examples.empty()) return Status::InvalidArgument("evaluation set", "is empty");
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Sums sums;
  for (size_t s = 0; s < examples.size(); s += static_cast<size_t>(batch_size)) {
    std::vector<const SftExample*> batch;
    for (size_t i = s; i < std::min(examples.size(), s + static_cast<size_t>(batch_size)); ++i) batch.push_back(&examples[i]);
    json m;
    TENET_RETURN_IF_ERROR(SftBatchLoss(model, batch, &m).status());
    sums.Add(m);
  }
  model.train(was_training);
  return sums.ToJson();
}

std::unique_ptr<Objective> MakeSftObjective(std::vector<SftExample> train, std::vector<SftExample> test) {
  return std::make_unique<SftObjective>(std::move(train), std::move(test));
}

}  // namespace tenet
