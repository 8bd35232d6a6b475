// The fused per-layer kernels of training (RMSNorm, SwiGLU, RoPE to heads, the LoRA linear node)
// and the scratch buffer of the output head: outputs and every gradient against fp64 autograd of
// the plain formulas, bf16 against the eager bf16 chains HF runs (within one bf16 rounding), row
// lengths that are not a multiple of the kernels' blocks, LoRA dropout by finite differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "../../src/model/scratch.h"
#include "../../src/model/swiglu.h"
#include "tenet/model/linear.h"
#include "tenet/model/rms_norm.h"
#include "tenet/model/rope.h"

namespace tenet {
namespace {

double RelErr(const torch::Tensor& got, const torch::Tensor& want) {
  const torch::Tensor w = want.to(torch::kFloat64);
  return (got.to(torch::kFloat64) - w).abs().max().item<double>() / std::max(w.abs().max().item<double>(), 1e-12);
}

// Largest difference in units of bf16 rounding of the values' magnitude (2^-8 relative).
double Bf16Ulps(const torch::Tensor& got, const torch::Tensor& want) {
  const torch::Tensor g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  return ((g - w).abs() / (w.abs() * std::pow(2.0, -8) + 1e-30)).max().item<double>();
}

torch::Tensor RmsNormReference(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return w * (x * torch::rsqrt(x.pow(2).mean(-1, true) + eps));
}

TEST(FusedOpsTest, RmsNormMatchesFp64AutogradIncludingTheWeightGradient) {
  torch::manual_seed(1);
  // 300 columns: one full block of 256 and a tail; 37 rows over the threads' ranges.
  auto x64 = torch::randn({37, 300}, torch::kFloat64), w64 = 1 + 0.1 * torch::randn({300}, torch::kFloat64);
  auto dy = torch::randn({37, 300}, torch::kFloat64);
  auto x = x64.to(torch::kFloat32).requires_grad_(), w = w64.to(torch::kFloat32).requires_grad_();
  auto y = RmsNorm(x, w, 1e-5);
  y.backward(dy.to(torch::kFloat32));
  auto rx = x.detach().to(torch::kFloat64).requires_grad_(), rw = w.detach().to(torch::kFloat64).requires_grad_();
  auto want = RmsNormReference(rx, rw, 1e-5);
  want.backward(dy);
  EXPECT_LT(RelErr(y.detach(), want.detach()), 1e-6);
  EXPECT_LT(RelErr(x.grad(), rx.grad()), 1e-5);
  EXPECT_LT(RelErr(w.grad(), rw.grad()), 1e-5);
}

TEST(FusedOpsTest, RmsNormInBf16GivesHfsRoundingAndCloseGradients) {
  torch::manual_seed(2);
  auto x = torch::randn({2, 9, 512}).to(torch::kBFloat16).requires_grad_();
  auto w = (1 + 0.1 * torch::randn({512})).to(torch::kBFloat16);
  auto dy = torch::randn({2, 9, 512}).to(torch::kBFloat16);
  auto y = RmsNorm(x, w, 1e-5);
  y.backward(dy);
  // HF: normalize in fp32, cast back, multiply by the weight in bf16.
  auto xe = x.detach().clone().requires_grad_();
  auto h = xe.to(torch::kFloat32);
  auto eager = w * (h * torch::rsqrt(h.pow(2).mean(-1, true) + 1e-5)).to(torch::kBFloat16);
  eager.backward(dy);
  ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_LE(Bf16Ulps(y.detach(), eager.detach()), 1.01);
  EXPECT_LT(RelErr(x.grad(), xe.grad()), 2e-2);
}

TEST(FusedOpsTest, SwiGluMatchesFp64AutogradAndTheEagerBf16Chain) {
  torch::manual_seed(3);
  auto g64 = 3 * torch::randn({5, 1100}, torch::kFloat64), u64 = torch::randn({5, 1100}, torch::kFloat64);
  g64[0][0] = 120.0;  // saturated sigmoid both ways
  g64[0][1] = -120.0;
  auto dy = torch::randn({5, 1100}, torch::kFloat64);
  auto g = g64.to(torch::kFloat32).requires_grad_(), u = u64.to(torch::kFloat32).requires_grad_();
  auto y = SwiGlu(g, u);
  y.backward(dy.to(torch::kFloat32));
  auto rg = g.detach().to(torch::kFloat64).requires_grad_(), ru = u.detach().to(torch::kFloat64).requires_grad_();
  auto want = torch::silu(rg) * ru;
  want.backward(dy);
  EXPECT_LT(RelErr(y.detach(), want.detach()), 1e-6);
  EXPECT_LT(RelErr(g.grad(), rg.grad()), 1e-5);
  EXPECT_LT(RelErr(u.grad(), ru.grad()), 1e-5);

  // bf16: silu computed in fp32 and rounded once, then the product rounded. LibTorch 1.13's bf16
  // silu rounds after each of its steps (exp, 1 +, division), so it is the less exact of the two:
  // against the exact value from the same bf16 inputs, ours is within two roundings and no worse.
  auto gb = g.detach().to(torch::kBFloat16), ub = u.detach().to(torch::kBFloat16);
  auto exact = torch::silu(gb.to(torch::kFloat64)) * ub.to(torch::kFloat64);
  auto fused = SwiGlu(gb, ub), eager = torch::silu(gb) * ub;
  EXPECT_LE(Bf16Ulps(fused, exact), 2.0);
  EXPECT_LE((fused.to(torch::kFloat64) - exact).abs().max().item<double>(),
            (eager.to(torch::kFloat64) - exact).abs().max().item<double>());

  // bf16 gradients (the AVX-512 rows where the CPU has them, 5500 values: whole 16-lane groups and
  // a tail) against fp64 autograd from the same bf16 inputs, and the eager bf16 chain's gradients.
  auto gq = gb.clone().requires_grad_(), uq = ub.clone().requires_grad_();
  auto dyb = dy.to(torch::kBFloat16);
  SwiGlu(gq, uq).backward(dyb);
  auto g64b = gb.to(torch::kFloat64).requires_grad_(), u64b = ub.to(torch::kFloat64).requires_grad_();
  (torch::silu(g64b) * u64b).backward(dyb.to(torch::kFloat64));
  auto ge = gb.clone().requires_grad_(), ue = ub.clone().requires_grad_();
  (torch::silu(ge) * ue).backward(dyb);
  EXPECT_LT(RelErr(gq.grad(), g64b.grad()), 1e-2);
  EXPECT_LT(RelErr(uq.grad(), u64b.grad()), 1e-2);
  EXPECT_LE(RelErr(gq.grad(), g64b.grad()), RelErr(ge.grad(), g64b.grad()) * 1.01);
  EXPECT_LE(RelErr(uq.grad(), u64b.grad()), RelErr(ue.grad(), u64b.grad()) * 1.01);
}

TEST(FusedOpsTest, RopeToHeadsMatchesApplyRopeOnTheTransposedViewWithGradients) {
  torch::manual_seed(4);
  const int64_t B = 2, T = 5, H = 3, D = 8;
  auto inv_freq = torch::rand({D / 2});
  auto positions = torch::tensor({0, 1, 2, 3, 4, 7, 8, 9, 10, 11}, torch::kInt64).view({B, T});
  auto [cos, sin] = RopeCosSin(inv_freq, positions, torch::kFloat32);
  auto x = torch::randn({B, T, H * D}).requires_grad_();
  auto dy = torch::randn({B, H, T, D});
  auto y = RopeToHeads(x, cos, sin, H);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{B, H, T, D}));
  ASSERT_TRUE(y.is_contiguous());
  y.backward(dy);
  auto xe = x.detach().to(torch::kFloat64).requires_grad_();
  auto want = ApplyRope(xe.view({B, T, H, D}).transpose(1, 2), cos.to(torch::kFloat64), sin.to(torch::kFloat64));
  want.backward(dy.to(torch::kFloat64));
  EXPECT_LT(RelErr(y.detach(), want.detach()), 1e-6);
  EXPECT_LT(RelErr(x.grad(), xe.grad()), 1e-6);

  // bf16: the eager ops' rounding (each product, then the sum), with cos/sin of batch 1 broadcast.
  auto [cb, sb] = RopeCosSin(inv_freq, positions.narrow(0, 0, 1), torch::kBFloat16);
  auto xb = x.detach().to(torch::kBFloat16);
  EXPECT_EQ(RelErr(RopeToHeads(xb, cb, sb, H), ApplyRope(xb.view({B, T, H, D}).transpose(1, 2), cb, sb)), 0.0);
}

// PEFT's chain: base + scale * B(A(x)) with fp32 adapters.
torch::Tensor LoraReference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& a, const torch::Tensor& b,
                            double scale) {
  return torch::linear(x, w) + torch::linear(torch::linear(x, a), b) * scale;
}

TEST(FusedOpsTest, LoraLinearMatchesPeftsChainInFp32AndStaysCloseInBf16) {
  torch::manual_seed(5);
  const int64_t I = 40, O = 24, R = 4;
  auto w = 0.2 * torch::randn({O, I});
  auto a0 = 0.2 * torch::randn({R, I}), b0 = 0.2 * torch::randn({O, R});
  auto x64 = torch::randn({3, 7, I}, torch::kFloat64), dy = torch::randn({3, 7, O}, torch::kFloat64);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    Linear lin(w.to(dtype), torch::Tensor());
    lin.SetLora(a0.clone().requires_grad_(), b0.clone().requires_grad_(), 1.5, 0.0);
    auto x = x64.to(dtype).requires_grad_();
    auto y = lin.forward(x);
    ASSERT_EQ(y.scalar_type(), dtype);
    y.backward(dy.to(dtype));
    auto rx = x.detach().to(torch::kFloat64).requires_grad_();
    auto ra = a0.to(torch::kFloat64).requires_grad_(), rb = b0.to(torch::kFloat64).requires_grad_();
    auto want = LoraReference(rx, lin.weight().to(torch::kFloat64), ra, rb, 1.5);
    want.backward(dy.to(dtype).to(torch::kFloat64));
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 3e-2;
    EXPECT_LT(RelErr(y.detach(), want.detach()), tol);
    EXPECT_LT(RelErr(x.grad(), rx.grad()), tol);
    ASSERT_EQ(lin.lora_a().grad().scalar_type(), torch::kFloat32);  // adapter gradients stay fp32
    EXPECT_LT(RelErr(lin.lora_a().grad(), ra.grad()), tol);
    EXPECT_LT(RelErr(lin.lora_b().grad(), rb.grad()), tol);
    // Without the attached adapter, the layer is the base alone (the DPO reference model).
    EXPECT_EQ(RelErr(lin.forward(x.detach(), AdapterChoice::Base()), torch::linear(x.detach(), lin.weight())), 0.0);
  }
}

TEST(FusedOpsTest, LoraDropoutGradientsMatchFiniteDifferencesUnderTheSameMask) {
  const int64_t I = 6, O = 5, R = 2;
  torch::manual_seed(6);
  auto w = torch::randn({O, I}, torch::kFloat64);
  auto a = torch::randn({R, I}, torch::kFloat64), b = torch::randn({O, R}, torch::kFloat64);
  auto x = torch::randn({4, I}, torch::kFloat64), dy = torch::randn({4, O}, torch::kFloat64);
  Linear lin(w, torch::Tensor());
  lin.train();
  // f(A, B, x) = sum(dy * y) with the dropout mask fixed by seeding before each forward.
  auto f = [&](const torch::Tensor& aa, const torch::Tensor& bb, const torch::Tensor& xx) {
    lin.SetLora(aa, bb, 0.5, 0.5);
    torch::manual_seed(42);
    return (lin.forward(xx) * dy).sum();
  };
  auto ag = a.clone().requires_grad_(), bg = b.clone().requires_grad_(), xg = x.clone().requires_grad_();
  f(ag, bg, xg).backward();
  const double h = 1e-6;
  auto numeric = [&](const torch::Tensor& t, int which, int64_t i) {
    auto plus = t.clone(), minus = t.clone();
    plus.view(-1)[i] += h;
    minus.view(-1)[i] -= h;
    auto at = [&](const torch::Tensor& v) {
      torch::NoGradGuard no_grad;
      return f(which == 0 ? v : a, which == 1 ? v : b, which == 2 ? v : x).item<double>();
    };
    return (at(plus) - at(minus)) / (2 * h);
  };
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(ag.grad().view(-1)[i].item<double>(), numeric(a, 0, i), 1e-6);
  for (int64_t i = 0; i < b.numel(); ++i) EXPECT_NEAR(bg.grad().view(-1)[i].item<double>(), numeric(b, 1, i), 1e-6);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(xg.grad().view(-1)[i].item<double>(), numeric(x, 2, i), 1e-6);
  // The mask is drawn: some of the adapter's input is dropped (x's gradient is not the no-dropout one).
  Linear plain(w, torch::Tensor());
  plain.SetLora(a.clone(), b.clone(), 0.5, 0.0);
  auto xp = x.clone().requires_grad_();
  (plain.forward(xp) * dy).sum().backward();
  EXPECT_GT((xp.grad() - xg.grad()).abs().max().item<double>(), 1e-6);
}

TEST(FusedOpsTest, ScratchBufferReusesItsMemoryOnlyWhenNothingHoldsIt) {
  ScratchBuffer scratch;
  void* first = nullptr;
  {
    auto t = scratch.Get({100, 50}, torch::kBFloat16);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{100, 50}));
    ASSERT_EQ(t.scalar_type(), torch::kBFloat16);
    first = t.data_ptr();
    auto held = scratch.Get({10}, torch::kFloat32);  // the first is alive: new memory
    EXPECT_NE(held.data_ptr(), first);
    t.fill_(1.0);
    EXPECT_EQ(held.numel(), 10);
  }
  auto again = scratch.Get({50, 100}, torch::kBFloat16);  // freed and large enough: the same memory
  EXPECT_EQ(again.data_ptr(), first);
  auto view = again.narrow(0, 0, 2);
  again = torch::Tensor();
  EXPECT_NE(scratch.Get({4}, torch::kFloat32).data_ptr(), first);  // a view still holds it
  view = torch::Tensor();
  auto bigger = scratch.Get({1000, 100}, torch::kFloat32);  // too small: replaced
  bigger.fill_(2.0);
  EXPECT_EQ(bigger.sum().item<double>(), 2.0 * 1000 * 100);
}

TEST(FusedOpsTest, ScratchBufferKeepsUpToItsLimitOfBlocksHeldAtOnce) {
  ScratchBuffer scratch;
  std::vector<torch::Tensor> held;
  std::vector<void*> first;
  for (size_t i = 0; i < ScratchBuffer::kMaxBlocks + 2; ++i) {
    held.push_back(scratch.Get({64, 64}, torch::kFloat32));
    first.push_back(held.back().data_ptr());
  }
  EXPECT_EQ(scratch.kept_blocks(), ScratchBuffer::kMaxBlocks);  // the ones past the limit are not kept
  held.clear();
  // Two at a time (the chosen and rejected logits of a DPO step): both come from kept blocks.
  for (int step = 0; step < 3; ++step) {
    auto a = scratch.Get({64, 64}, torch::kBFloat16);
    auto b = scratch.Get({32, 64}, torch::kFloat32);
    EXPECT_NE(a.data_ptr(), b.data_ptr());
    EXPECT_NE(std::find(first.begin(), first.begin() + ScratchBuffer::kMaxBlocks, a.data_ptr()),
              first.begin() + ScratchBuffer::kMaxBlocks);
    EXPECT_NE(std::find(first.begin(), first.begin() + ScratchBuffer::kMaxBlocks, b.data_ptr()),
              first.begin() + ScratchBuffer::kMaxBlocks);
    a.fill_(1.0);
    b.fill_(2.0);
    EXPECT_EQ(a.sum().item<double>(), 64.0 * 64);
  }
  EXPECT_EQ(scratch.kept_blocks(), ScratchBuffer::kMaxBlocks);
}

}  // namespace
}  // namespace tenet
