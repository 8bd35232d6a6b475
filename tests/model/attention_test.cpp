// The training/scoring attention kernel (src/model/attention.h) against plain fp64 autograd:
// outputs and the gradients of q, k and v, with grouped-query heads, masks (including a row that
// sees no key), more keys than queries, the multi-block path of long sequences, bf16, and both
// backward paths (probabilities kept by the forward, or recomputed).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "../../src/model/attention.h"

namespace tenet {
namespace {

constexpr double kLowest = std::numeric_limits<float>::lowest();  // the model's masked bias (fp32)

// softmax(q k^T * scale + bias) v with kv head h / G, in fp64 autograd.
torch::Tensor Reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias,
                        double scale) {
  const int64_t G = q.size(1) / k.size(1);
  torch::Tensor kr = k.repeat_interleave(G, 1), vr = v.repeat_interleave(G, 1);
  torch::Tensor scores = torch::matmul(q, kr.transpose(-1, -2)) * scale + bias.unsqueeze(1);
  return torch::matmul(torch::softmax(scores, -1), vr);
}

double RelErr(const torch::Tensor& got, const torch::Tensor& want) {
  return (got.to(torch::kFloat64) - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-12);
}

struct Case {
  int64_t B, H, K, T, S, D;
};

// Random q, k, v and an upstream gradient; a causal mask with the keys' extra prefix visible.
void Check(const Case& c, torch::ScalarType dtype, double tolerance, bool masked_row,
           attention::Probs keep = attention::Probs::kAuto) {
  torch::manual_seed(static_cast<uint64_t>(c.T * 131 + c.S));
  auto q64 = torch::randn({c.B, c.H, c.T, c.D}, torch::kFloat64);
  auto k64 = torch::randn({c.B, c.K, c.S, c.D}, torch::kFloat64);
  auto v64 = torch::randn({c.B, c.K, c.S, c.D}, torch::kFloat64);
  auto dout = torch::randn({c.B, c.H, c.T, c.D}, torch::kFloat64);
  // Query t sits at position S - T + t and sees keys up to it.
  auto allowed = torch::arange(c.S).view({1, 1, c.S}) <= (torch::arange(c.T) + (c.S - c.T)).view({1, c.T, 1});
  auto bias = torch::zeros({c.B, c.T, c.S}, torch::kFloat64).masked_fill(allowed.logical_not().expand({c.B, c.T, c.S}), kLowest);
  if (masked_row) bias[0][0].fill_(kLowest);  // sees nothing: a uniform average, as HF's eager attention gives
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));

  // Inputs rounded to the tested dtype, so both sides see the same values.
  auto q = q64.to(dtype).requires_grad_(), k = k64.to(dtype).requires_grad_(), v = v64.to(dtype).requires_grad_();
  auto out = attention::Attend(q, k, v, bias.to(torch::kFloat32).contiguous(), scale, keep);
  ASSERT_EQ(out.sizes(), q.sizes());
  ASSERT_EQ(out.scalar_type(), dtype);
  out.backward(dout.to(dtype));

  auto rq = q.detach().to(torch::kFloat64).requires_grad_(), rk = k.detach().to(torch::kFloat64).requires_grad_(),
       rv = v.detach().to(torch::kFloat64).requires_grad_();
  auto want = Reference(rq, rk, rv, bias, scale);
  want.backward(dout.to(dtype).to(torch::kFloat64));
  EXPECT_LT(RelErr(out.detach(), want.detach()), tolerance);
  EXPECT_LT(RelErr(q.grad(), rq.grad()), tolerance);
  EXPECT_LT(RelErr(k.grad(), rk.grad()), tolerance);
  EXPECT_LT(RelErr(v.grad(), rv.grad()), tolerance);
}

TEST(AttentionTest, MatchesFp64AutogradWithGroupedHeadsAndMasks) {
  Check({2, 4, 2, 5, 7, 8}, torch::kFloat32, 1e-5, /*masked_row=*/true);
  Check({3, 6, 3, 9, 9, 16}, torch::kFloat32, 1e-5, /*masked_row=*/false);
  Check({1, 2, 2, 1, 12, 4}, torch::kFloat32, 1e-5, /*masked_row=*/false);  // one query, many keys
}

TEST(AttentionTest, LongSequencesGoInBlocksWithTheSameResult) {
  // 2 x 1101 rows of 1101 keys: 5 query blocks of 221 positions per (batch, kv head), the last short.
  Check({1, 2, 1, 1101, 1101, 16}, torch::kFloat32, 1e-4, /*masked_row=*/false);
  // 4 query heads per kv head: blocks of up to 128 positions x 4 heads, gathered and scattered back;
  // a masked row in the first block and a short last block (301 = 101 + 101 + 99).
  Check({2, 8, 2, 301, 311, 16}, torch::kFloat32, 1e-5, /*masked_row=*/true);
  Check({1, 8, 2, 300, 300, 32}, torch::kBFloat16, 3e-2, /*masked_row=*/false);
}

TEST(AttentionTest, KeptAndRecomputedProbabilitiesGiveTheSameGradients) {
  for (auto keep : {attention::Probs::kKeep, attention::Probs::kRecompute}) {
    Check({2, 4, 2, 5, 7, 8}, torch::kFloat32, 1e-5, /*masked_row=*/true, keep);
    Check({2, 8, 2, 300, 310, 16}, torch::kFloat32, 1e-5, /*masked_row=*/true, keep);  // 3 query blocks
    Check({2, 4, 2, 16, 16, 32}, torch::kFloat32, 1e-5, /*masked_row=*/false, keep);
    Check({1, 8, 2, 300, 300, 32}, torch::kBFloat16, 3e-2, /*masked_row=*/false, keep);
  }
  // At fp32 the two paths differ only in the order of a few float sums.
  torch::manual_seed(7);
  auto q = torch::randn({2, 8, 130, 16}), k = torch::randn({2, 2, 140, 16}), v = torch::randn({2, 2, 140, 16});
  auto dout = torch::randn({2, 8, 130, 16});
  auto allowed = torch::arange(140).view({1, 1, 140}) <= (torch::arange(130) + 10).view({1, 130, 1});
  auto bias = torch::zeros({2, 130, 140}).masked_fill(allowed.logical_not().expand({2, 130, 140}), kLowest);
  std::vector<torch::Tensor> grads[2];
  int i = 0;
  for (auto keep : {attention::Probs::kKeep, attention::Probs::kRecompute}) {
    auto qi = q.clone().requires_grad_(), ki = k.clone().requires_grad_(), vi = v.clone().requires_grad_();
    attention::Attend(qi, ki, vi, bias, 0.25, keep).backward(dout);
    grads[i++] = {qi.grad(), ki.grad(), vi.grad()};
  }
  for (size_t j = 0; j < 3; ++j) EXPECT_TRUE(torch::allclose(grads[0][j], grads[1][j], 1e-5, 1e-6)) << j;
}

// The layers of a forward share one mask and the kernel reuses what it read from it; a mask edited
// in place, or a new mask in the same memory, must be read again.
TEST(AttentionTest, ReusedMaskMemoryIsReadAgainWhenItChanges) {
  // 4 query heads per kv head: two query blocks of 100 positions, so the mask decides which keys
  // the first block reads.
  torch::manual_seed(11);
  const int64_t T = 200;
  auto q = torch::randn({2, 8, T, 16}), k = torch::randn({2, 2, T, 16}), v = torch::randn({2, 2, T, 16});
  auto causal = (torch::arange(T).view({1, 1, T}) <= torch::arange(T).view({1, T, 1})).expand({2, T, T});
  auto bias = torch::zeros({2, T, T}).masked_fill(causal.logical_not(), kLowest);
  auto want = [&] { return Reference(q.to(torch::kFloat64), k.to(torch::kFloat64), v.to(torch::kFloat64), bias.to(torch::kFloat64), 0.25); };
  EXPECT_LT(RelErr(attention::Attend(q, k, v, bias, 0.25), want()), 1e-5);
  // Every query now sees all keys: the causal extents read before would drop most of them.
  bias.zero_();
  EXPECT_LT(RelErr(attention::Attend(q, k, v, bias, 0.25), want()), 1e-5);
  // Back to causal through a copy into the same memory (same storage, new version).
  bias.copy_(torch::zeros({2, T, T}).masked_fill(causal.logical_not(), kLowest));
  EXPECT_LT(RelErr(attention::Attend(q, k, v, bias, 0.25), want()), 1e-5);
}

// Under InferenceMode (generation) the worker threads write into inference tensors too.
TEST(AttentionTest, RunsUnderInferenceMode) {
  torch::manual_seed(12);
  at::set_num_threads(2);
  auto q = torch::randn({3, 8, 1, 16}), k = torch::randn({3, 2, 40, 16}), v = torch::randn({3, 2, 40, 16});
  auto bias = torch::zeros({3, 1, 40});
  bias.narrow(2, 30, 10).fill_(kLowest);  // keys past a shorter sequence's length
  const torch::Tensor want = Reference(q.to(torch::kFloat64), k.to(torch::kFloat64), v.to(torch::kFloat64), bias.to(torch::kFloat64), 0.25);
  c10::InferenceMode guard;
  EXPECT_LT(RelErr(attention::Attend(q, k, v, bias, 0.25), want), 1e-5);
}

TEST(AttentionTest, Bf16StaysWithinRoundingOfTheExactResult) {
  // bf16 rounds q k^T, the probabilities and dS to 8 bits of mantissa, as the eager bf16 chain does.
  Check({2, 4, 2, 16, 16, 32}, torch::kBFloat16, 3e-2, /*masked_row=*/false);
}

}  // namespace
}  // namespace tenet
