// The output head's log-probs (TokenLogProbs on the CPU: src/model/head_logprobs.*) against fp64
// autograd through linear -> log_softmax -> gather: the log-probs, d hidden, the mean-logit and argmax statistics, at fp32 and bf16, with a vocabulary that spans
// several of the kernel's 2048-logit blocks and a short last block.
//
// Shapes: N rows, C hidden, V vocab.
#include <gtest/gtest.h>

#include "tenet/model/llama.h"
#include "tenet/model/logprobs.h"
#include "tenet/model/presets.h"

namespace tenet {
namespace {

constexpr int64_t kVocab = 5000;  // 2 full blocks of 2048 and one of 904

std::shared_ptr<LlamaForCausalLM> Model(torch::ScalarType dtype) {
  auto config = PresetConfig("tiny", kVocab);
  EXPECT_TRUE(config.ok());
  ModelOptions o;
  o.dtype = dtype;
  auto m = LlamaForCausalLM::Create(*config, RandomWeights(3, 0.5), o);
  EXPECT_TRUE(m.ok());
  return *m;
}

double MaxRelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max()).item<double>();
}

struct Case {
  torch::ScalarType dtype;
  double logp_tol, grad_tol;
};

class HeadLogProbsTest : public ::testing::TestWithParam<Case> {};

TEST_P(HeadLogProbsTest, MatchesFp64AutogradInValuesAndGradients) {
  const Case c = GetParam();
  auto model = Model(c.dtype);
  const torch::Tensor head = model->lm_head_weight();
  const int64_t N = 37, C = head.size(1);
  torch::manual_seed(7);
  torch::Tensor hidden0 = (torch::randn({N, C}) * 2).to(c.dtype);
  torch::Tensor targets = torch::randint(0, kVocab, {N}, torch::kInt64);
  targets[0] = kVocab - 1;  // in the short last block
  targets[1] = 2047;        // last logit of a block
  // Row 2 predicts its own argmax (a hit).
  {
    torch::NoGradGuard g;
    torch::Tensor logits = torch::mm(hidden0, head.t()).to(torch::kFloat32);
    targets[2] = logits[2].argmax().item<int64_t>();
  }
  const torch::Tensor g = torch::randn({N});  // upstream gradient

  torch::Tensor hidden = hidden0.clone().requires_grad_(true);
  TokenLogitStats stats;
  stats.count_argmax_hits = true;
  torch::Tensor logp = TokenLogProbs(*model, hidden, targets, 16, &stats);  // 16-row chunks: 3 chunks, a short one
  (logp * g).sum().backward();

  // fp64 autograd on the same (rounded) inputs.
  torch::Tensor h64 = hidden0.to(torch::kFloat64).requires_grad_(true);
  torch::Tensor logits64 = torch::mm(h64, head.to(torch::kFloat64).t());
  torch::Tensor want = torch::log_softmax(logits64, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
  (want * g.to(torch::kFloat64)).sum().backward();

  EXPECT_LT(MaxRelDiff(logp, want.detach()), c.logp_tol) << "log p";
  EXPECT_LT(MaxRelDiff(hidden.grad(), h64.grad()), c.grad_tol) << "d hidden";
  EXPECT_EQ(stats.argmax_hits, logits64.argmax(-1).eq(targets).sum().item<int64_t>());
  EXPECT_GE(stats.argmax_hits, 1);
  EXPECT_NEAR(stats.logit_mean_sum, logits64.mean(-1).sum().item<double>(), 1e-3 * N);
  // d head (full fine-tuning) is checked against python3-torch by the full-SFT reference test.
}

INSTANTIATE_TEST_SUITE_P(Dtypes, HeadLogProbsTest,
                         ::testing::Values(Case{torch::kFloat32, 1e-5, 1e-5}, Case{torch::kBFloat16, 2e-2, 3e-2}),
                         [](const auto& info) { return info.param.dtype == torch::kFloat32 ? "fp32" : "bf16"; });

// A row whose target ties an earlier maximum is not an argmax hit (torch.argmax takes the first).
TEST(HeadLogProbsStats, ATieWithAnEarlierMaxIsNotAHit) {
  auto model = Model(torch::kFloat32);
  const torch::Tensor head = model->lm_head_weight();
  // Make vocab rows 10 and 3000 identical so their logits tie exactly.
  {
    torch::NoGradGuard g;
    const_cast<torch::Tensor&>(head)[3000].copy_(head[10]);
  }
  torch::Tensor hidden = (head[10] * 50).unsqueeze(0).clone().requires_grad_(true);  // makes 10 (and 3000) the max
  for (int64_t target : {int64_t{10}, int64_t{3000}}) {
    TokenLogitStats stats;
    stats.count_argmax_hits = true;
    torch::Tensor logp = TokenLogProbs(*model, hidden, torch::tensor({target}), 256, &stats);
    EXPECT_EQ(stats.argmax_hits, target == 10 ? 1 : 0) << target;
  }
}

}  // namespace
}  // namespace tenet
