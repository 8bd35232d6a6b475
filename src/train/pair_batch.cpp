// Pair layouts and completion log-probs. See tenet/train/pair_batch.h.
#include "tenet/train/pair_batch.h"

#include <algorithm>
#include <string>

#include "tenet/model/logprobs.h"

namespace tenet {
namespace {

Status CheckPairs(const std::vector<TokenizedPair>& pairs) {
  if (pairs.empty()) return Status::InvalidArgument("pair batch", "is empty");
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].prompt.empty() || pairs[i].chosen.empty() || pairs[i].rejected.empty()) {
      return Status::InvalidArgument("pair " + std::to_string(i), "has an empty prompt or completion");
    }
  }
  return Status::OK();
}

// Accumulates the index/target/pair lists of one side.
struct SideBuilder {
  std::vector<int64_t> index, target, pair;
  std::vector<float> count;
  void Add(int64_t flat_index, int32_t token, int64_t p) {
    index.push_back(flat_index);
    target.push_back(token);
    pair.push_back(p);
    count[static_cast<size_t>(p)] += 1.0f;
  }
  CompletionTokens Finish() const {
    CompletionTokens c;
    c.index = torch::tensor(index, torch::kInt64);
    c.target = torch::tensor(target, torch::kInt64);
    c.pair = torch::tensor(pair, torch::kInt64);
    c.count = torch::tensor(count, torch::kFloat32);
    return c;
  }
};

}  // namespace

Result<PairBatch> BuildSharedPairBatch(const std::vector<TokenizedPair>& pairs) {
  TENET_RETURN_IF_ERROR(CheckPairs(pairs));
  const int64_t P = static_cast<int64_t>(pairs.size());
  int64_t T = 0;
  for (const auto& p : pairs) T = std::max<int64_t>(T, static_cast<int64_t>(p.prompt.size() + p.chosen.size() + p.rejected.size()));
  PairBatch b;
  b.pairs = P;
  b.ids = torch::zeros({P, T}, torch::kInt64);
  b.positions = torch::zeros({P, T}, torch::kInt64);
  // Causal everywhere (padding queries too, so no row of the mask is empty), then the rejected
  // queries lose the chosen keys.
  b.allowed = torch::ones({T, T}, torch::kBool).tril().unsqueeze(0).repeat({P, 1, 1});
  auto ids = b.ids.accessor<int64_t, 2>();
  auto pos = b.positions.accessor<int64_t, 2>();
  SideBuilder chosen, rejected;
  chosen.count.assign(static_cast<size_t>(P), 0.0f);
  rejected.count.assign(static_cast<size_t>(P), 0.0f);
  for (int64_t i = 0; i < P; ++i) {
    const auto& p = pairs[static_cast<size_t>(i)];
    const int64_t lp = static_cast<int64_t>(p.prompt.size()), lc = static_cast<int64_t>(p.chosen.size()),
                  lr = static_cast<int64_t>(p.rejected.size());
    for (int64_t t = 0; t < lp; ++t) ids[i][t] = p.prompt[static_cast<size_t>(t)], pos[i][t] = t;
    for (int64_t t = 0; t < lc; ++t) ids[i][lp + t] = p.chosen[static_cast<size_t>(t)], pos[i][lp + t] = lp + t;
    for (int64_t t = 0; t < lr; ++t) ids[i][lp + lc + t] = p.rejected[static_cast<size_t>(t)], pos[i][lp + lc + t] = lp + t;
    for (int64_t t = lp + lc + lr; t < T; ++t) pos[i][t] = t;
    b.allowed[i].narrow(0, lp + lc, lr).narrow(1, lp, lc).fill_(false);
    const int64_t row = i * T;
    for (int64_t t = 0; t < lc; ++t) chosen.Add(row + lp + t - 1, p.chosen[static_cast<size_t>(t)], i);
    // The first rejected token follows the prompt, not the chosen completion.
    for (int64_t t = 0; t < lr; ++t) rejected.Add(row + (t == 0 ? lp - 1 : lp + lc + t - 1), p.rejected[static_cast<size_t>(t)], i);
    b.real_tokens += lp + lc + lr;
  }
  b.chosen = chosen.Finish();
  b.rejected = rejected.Finish();
  return b;
}

Result<PairBatch> BuildConcatenatedPairBatch(const std::vector<TokenizedPair>& pairs) {
  TENET_RETURN_IF_ERROR(CheckPairs(pairs));
  const int64_t P = static_cast<int64_t>(pairs.size());
  int64_t T = 0;
  for (const auto& p : pairs) {
    T = std::max<int64_t>(T, static_cast<int64_t>(p.prompt.size() + std::max(p.chosen.size(), p.rejected.size())));
  }
  PairBatch b;
  b.pairs = P;
  b.ids = torch::zeros({2 * P, T}, torch::kInt64);
  b.positions = torch::arange(T, torch::kInt64).unsqueeze(0).repeat({2 * P, 1});
  b.allowed = torch::ones({T, T}, torch::kBool).tril().unsqueeze(0).repeat({2 * P, 1, 1});
  auto ids = b.ids.accessor<int64_t, 2>();
  SideBuilder sides[2];
  for (auto& s : sides) s.count.assign(static_cast<size_t>(P), 0.0f);
  for (int64_t i = 0; i < P; ++i) {
    const auto& p = pairs[static_cast<size_t>(i)];
    const int64_t lp = static_cast<int64_t>(p.prompt.size());
    for (int side = 0; side < 2; ++side) {
      const auto& completion = side == 0 ? p.chosen : p.rejected;
      const int64_t r = side * P + i;
      for (int64_t t = 0; t < lp; ++t) ids[r][t] = p.prompt[static_cast<size_t>(t)];
      for (size_t t = 0; t < completion.size(); ++t) {
        ids[r][lp + static_cast<int64_t>(t)] = completion[t];
        sides[side].Add(r * T + lp + static_cast<int64_t>(t) - 1, completion[t], i);
      }
      b.real_tokens += lp + static_cast<int64_t>(completion.size());
    }
  }
  b.chosen = sides[0].Finish();
  b.rejected = sides[1].Finish();
  return b;
}

Result<BatchLogps> ComputeBatchLogps(LlamaForCausalLM& model, const PairBatch& batch, const AdapterChoice& adapters,
                                     int64_t chunk) {
  const auto dev = model.device();
  // One forward for both sides' predicting positions (the last layer skips most of the prompt).
  const int64_t nc = batch.chosen.index.size(0), nr = batch.rejected.index.size(0);
  TENET_ASSIGN_OR_RETURN(torch::Tensor rows, HiddenAt(model, batch.ids, torch::cat({batch.chosen.index, batch.rejected.index}),
                                                      batch.positions.to(dev), batch.allowed.to(dev), adapters));  // (Nc + Nr, C)
  BatchLogps out;
  auto side = [&](const CompletionTokens& c, const torch::Tensor& hidden, torch::Tensor* sums, double* logit_mean) {
    const int64_t n = c.index.size(0);
    TokenLogitStats stats;
    torch::Tensor token_logps = TokenLogProbs(model, hidden, c.target.to(dev), chunk, &stats);  // (N,)
    *sums = torch::zeros({batch.pairs}, token_logps.options()).index_add(0, c.pair.to(dev), token_logps);
    *logit_mean = n > 0 ? stats.logit_mean_sum / static_cast<double>(n) : 0.0;
    return token_logps;
  };
  out.chosen_token_logps = side(batch.chosen, rows.narrow(0, 0, nc), &out.logps.chosen, &out.chosen_logit_mean);
  side(batch.rejected, rows.narrow(0, nc, nr), &out.logps.rejected, &out.rejected_logit_mean);
  out.logps.chosen_tokens = batch.chosen.count.to(dev);
  out.logps.rejected_tokens = batch.rejected.count.to(dev);
  return out;
}

}  // namespace tenet
