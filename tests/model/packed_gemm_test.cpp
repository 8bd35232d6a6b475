// Frozen-weight products through oneDNN with packed weights (src/model/packed_gemm.*): bf16 and
// fp32 against fp64 products, the cache's repacking of an edited weight and dropping of freed ones, the cases that
// must fall back to mm, and the two users (the LoRA linear, the head's log-probs) with the path on
// and off. The path needs a build with oneDNN and, to be taken, an AVX-512 BF16 CPU: elsewhere the
// tests that need it are skipped and the fallback tests still run.
//
// Shapes: M rows, I in features, O out features; W (O, I).
#include <gtest/gtest.h>

#include "tenet/model/linear.h"
#include "tenet/model/llama.h"
#include "tenet/model/logprobs.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/model/presets.h"
#include "tenet/util/isa.h"
#include "tenet/util/runtime.h"

namespace tenet {
namespace {

double RelErr(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max()).item<double>();
}

// Turns the path on for one test and back to what it was after.
class PackedGemmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    was_ = packed_gemm::Enabled();
    packed_gemm::SetEnabled(true);
    packed_gemm::Clear();
    if (!packed_gemm::Built()) GTEST_SKIP() << "built without oneDNN (TENET_ONEDNN)";
    if (KernelIsa() < Isa::kAvx512Bf16) {
      GTEST_SKIP() << "needs AVX512_BF16 (kernels run " << IsaName(KernelIsa()) << "): oneDNN offers no brgemm bf16 kernel to pack for";
    }
  }
  void TearDown() override {
    packed_gemm::Clear();
    packed_gemm::SetEnabled(was_);
  }
  bool was_ = true;
};

TEST_F(PackedGemmTest, ProductsMatchFp64InBothOrientationsAndAccumulate) {
  torch::manual_seed(1);
  const int64_t M = 70, I = 96, O = 80;
  const torch::Tensor w = torch::randn({O, I}).to(torch::kBFloat16), x = torch::randn({M, I}).to(torch::kBFloat16);
  const torch::Tensor g = torch::randn({M, O}).to(torch::kBFloat16);
  const torch::Tensor w64 = w.to(torch::kFloat64);
  for (auto out_dtype : {torch::kBFloat16, torch::kFloat32}) {
    SCOPED_TRACE(c10::toString(out_dtype));
    const double tol = out_dtype == torch::kFloat32 ? 1e-5 : 1e-2;  // fp32 accumulation; bf16 rounds the result
    torch::Tensor y = torch::empty({M, O}, out_dtype);
    ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
    EXPECT_LT(RelErr(y, torch::mm(x.to(torch::kFloat64), w64.t())), tol);
    torch::Tensor gx = torch::empty({M, I}, out_dtype);
    ASSERT_TRUE(packed_gemm::MatmulW(g, w, gx));
    EXPECT_LT(RelErr(gx, torch::mm(g.to(torch::kFloat64), w64)), tol);
    // accumulate: out += x W^T
    torch::Tensor acc = torch::randn({M, O}).to(out_dtype), before = acc.clone();
    ASSERT_TRUE(packed_gemm::MatmulWt(x, w, acc, /*accumulate=*/true));
    EXPECT_LT(RelErr(acc, before.to(torch::kFloat64) + torch::mm(x.to(torch::kFloat64), w64.t())), 2 * tol);
  }
}

TEST_F(PackedGemmTest, Fp32ProductsMatchFp64) {
  torch::manual_seed(5);
  const int64_t M = 50, I = 72, O = 40;
  const torch::Tensor w = torch::randn({O, I}), x = torch::randn({M, I}), g = torch::randn({M, O});
  torch::Tensor y = torch::empty({M, O}), gx = torch::empty({M, I});
  ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
  ASSERT_TRUE(packed_gemm::MatmulW(g, w, gx));
  EXPECT_LT(RelErr(y, torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t())), 1e-6);
  EXPECT_LT(RelErr(gx, torch::mm(g.to(torch::kFloat64), w.to(torch::kFloat64))), 1e-6);
}

TEST_F(PackedGemmTest, AWeightEditedInPlaceIsPackedAgain) {
  torch::manual_seed(2);
  const int64_t M = 40, I = 64, O = 48;
  torch::Tensor w = torch::randn({O, I}).to(torch::kBFloat16);
  const torch::Tensor x = torch::randn({M, I}).to(torch::kBFloat16);
  torch::Tensor y = torch::empty({M, O}, torch::kFloat32);
  ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
  {
    torch::NoGradGuard no_grad;
    w.mul_(-2);  // same memory, new version
  }
  ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
  EXPECT_LT(RelErr(y, torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t())), 1e-5);
  w.copy_(torch::zeros_like(w));
  ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
  EXPECT_EQ(y.abs().max().item<float>(), 0.0f);
}

TEST_F(PackedGemmTest, CopiesOfFreedWeightsAreNotKept) {
  const torch::Tensor x = torch::randn({64, 128}).to(torch::kBFloat16);
  torch::Tensor y = torch::empty({64, 256}, torch::kBFloat16);
  {
    const torch::Tensor w = torch::randn({256, 128}).to(torch::kBFloat16);
    ASSERT_TRUE(packed_gemm::MatmulWt(x, w, y));
    EXPECT_GE(packed_gemm::PackedBytes(), 256 * 128 * 2);
  }
  EXPECT_EQ(packed_gemm::PackedBytes(), 0);  // its storage is gone
  const torch::Tensor w2 = torch::randn({256, 128}).to(torch::kBFloat16);
  ASSERT_TRUE(packed_gemm::MatmulWt(x, w2, y));
  EXPECT_GE(packed_gemm::PackedBytes(), 256 * 128 * 2);
  EXPECT_LT(packed_gemm::PackedBytes(), 2 * 256 * 128 * 2 + 4096);  // the first copy went with the miss
}

TEST_F(PackedGemmTest, CasesOutsideThePathAreLeftToMm) {
  const torch::Tensor w = torch::randn({48, 64}).to(torch::kBFloat16), x = torch::randn({40, 64}).to(torch::kBFloat16);
  torch::Tensor y = torch::empty({40, 48}, torch::kBFloat16);
  torch::Tensor few = torch::empty({8, 48}, torch::kBFloat16);
  EXPECT_FALSE(packed_gemm::MatmulWt(x.narrow(0, 0, 8), w, few)) << "few rows (decoding)";
  EXPECT_FALSE(packed_gemm::MatmulWt(x.to(torch::kFloat32), w.to(torch::kFloat32), y)) << "fp32 in, bf16 out";
  EXPECT_FALSE(packed_gemm::MatmulWt(x.to(torch::kFloat32), w, y)) << "mixed inputs";
  torch::Tensor y64 = torch::empty({40, 48}, torch::kFloat64);
  EXPECT_FALSE(packed_gemm::MatmulWt(x.to(torch::kFloat64), w.to(torch::kFloat64), y64)) << "fp64";
  EXPECT_FALSE(packed_gemm::MatmulWt(x, w.t().contiguous().t(), y)) << "a non-contiguous weight";
  EXPECT_FALSE(packed_gemm::MatmulWt(x, w.clone().requires_grad_(true), y)) << "a trainable weight";
  torch::Tensor wide = torch::empty({40, 96}, torch::kBFloat16);
  torch::Tensor strided = wide.narrow(1, 0, 48);
  EXPECT_FALSE(packed_gemm::MatmulWt(x, w, strided)) << "output rows with a gap";
  packed_gemm::SetEnabled(false);
  EXPECT_FALSE(packed_gemm::MatmulWt(x, w, y)) << "disabled";
  EXPECT_EQ(packed_gemm::PackedBytes(), 0);
}

// The LoRA layer (policy: forward and input gradient) and its reference (adapter off) take the
// packed path for 70 rows; the results stay within bf16 rounding of fp64 and of the mm path.
TEST_F(PackedGemmTest, LoraLinearGivesTheSameResultsOnAndOff) {
  torch::manual_seed(3);
  const int64_t I = 96, O = 80, R = 4;
  const torch::Tensor w = (0.2 * torch::randn({O, I})).to(torch::kBFloat16);
  const torch::Tensor a0 = 0.2 * torch::randn({R, I}), b0 = 0.2 * torch::randn({O, R});
  const torch::Tensor x0 = torch::randn({2, 35, I}).to(torch::kBFloat16), dy = torch::randn({2, 35, O}).to(torch::kBFloat16);
  struct Out {
    torch::Tensor y, gx, ga, gb, ref;
  };
  auto run = [&](bool packed) {
    packed_gemm::SetEnabled(packed);
    Linear lin(w, torch::Tensor());
    lin.SetLora(a0.clone().requires_grad_(), b0.clone().requires_grad_(), 1.5, 0.0);
    torch::Tensor x = x0.clone().requires_grad_();
    Out o;
    o.y = lin.forward(x);
    o.y.backward(dy);
    o.gx = x.grad(), o.ga = lin.lora_a().grad(), o.gb = lin.lora_b().grad();
    {
      // The base alone with x's gradient wanted: autograd must see the product (the packed path
      // serves only passes without gradients).
      torch::Tensor xg = x0.clone().requires_grad_();
      lin.forward(xg, AdapterChoice::Base()).backward(dy);
      EXPECT_TRUE(xg.grad().defined()) << "packed " << packed;
      if (xg.grad().defined()) {
        EXPECT_LT(RelErr(xg.grad().reshape({-1, I}), torch::mm(dy.to(torch::kFloat64).reshape({-1, O}), w.to(torch::kFloat64))), 2e-2);
      }
    }
    torch::NoGradGuard no_grad;
    o.ref = lin.forward(x0, AdapterChoice::Base());
    return o;
  };
  const Out on = run(true);
  EXPECT_GT(packed_gemm::PackedBytes(), 0) << "the packed path was not taken";
  const Out off = run(false);
  const torch::Tensor x64 = x0.to(torch::kFloat64).reshape({-1, I}), w64 = w.to(torch::kFloat64);
  EXPECT_LT(RelErr(on.ref.reshape({-1, O}), torch::mm(x64, w64.t())), 1e-2);
  for (auto [a, b, what] : {std::tuple{on.y, off.y, "y"}, {on.gx, off.gx, "d x"}, {on.ga, off.ga, "d A"}, {on.gb, off.gb, "d B"},
                            {on.ref, off.ref, "reference"}}) {
    EXPECT_LT(RelErr(a, b), 2e-2) << what;
  }
}

// The head's log-probs and d hidden with the packed path (forward chunks of 64 rows, backward on
// all 100) against fp64 autograd, as the bf16 case of head_logprobs_test.
TEST_F(PackedGemmTest, HeadLogProbsStayWithinBf16OfFp64) {
  auto config = PresetConfig("tiny", 5000);
  ASSERT_TRUE(config.ok());
  ModelOptions mo;
  mo.dtype = torch::kBFloat16;
  auto model = LlamaForCausalLM::Create(*config, RandomWeights(3, 0.5), mo);
  ASSERT_TRUE(model.ok());
  const torch::Tensor head = (*model)->lm_head_weight();
  torch::manual_seed(4);
  const int64_t N = 100;
  const torch::Tensor hidden0 = (torch::randn({N, head.size(1)}) * 2).to(torch::kBFloat16);
  const torch::Tensor targets = torch::randint(0, 5000, {N}, torch::kInt64), g = torch::randn({N});
  torch::Tensor hidden = hidden0.clone().requires_grad_(true);
  torch::Tensor logp = TokenLogProbs(**model, hidden, targets, 64);
  (logp * g).sum().backward();
  EXPECT_GE(packed_gemm::PackedBytes(), 2 * head.numel() * 2) << "both orientations of the head packed";
  torch::Tensor h64 = hidden0.to(torch::kFloat64).requires_grad_(true);
  torch::Tensor want = torch::log_softmax(torch::mm(h64, head.to(torch::kFloat64).t()), -1).gather(1, targets.unsqueeze(1)).squeeze(1);
  (want * g.to(torch::kFloat64)).sum().backward();
  EXPECT_LT(RelErr(logp, want.detach()), 2e-2);
  EXPECT_LT(RelErr(hidden.grad(), h64.grad()), 3e-2);
}

// The --packed-weights rule (no oneDNN needed).
TEST(PackedGemmMode, AutoIsOnUnlessCheckpointingOrTheCopiesCrowdMemory) {
  std::string why;
  EXPECT_TRUE(*packed_gemm::WantPacked("auto", false, 1 << 20, int64_t{8} << 30, &why));
  EXPECT_TRUE(why.empty()) << why;
  EXPECT_TRUE(*packed_gemm::WantPacked("auto", false, int64_t{1} << 30, -1, &why)) << "memory unknown: not checked";
  EXPECT_FALSE(*packed_gemm::WantPacked("auto", true, 1 << 20, int64_t{8} << 30, &why));
  EXPECT_NE(why.find("checkpointing"), std::string::npos) << why;
  EXPECT_TRUE(*packed_gemm::WantPacked("auto", false, int64_t{2} << 30, int64_t{8} << 30, &why)) << "exactly a quarter";
  EXPECT_FALSE(*packed_gemm::WantPacked("auto", false, (int64_t{2} << 30) + 1, int64_t{8} << 30, &why));
  EXPECT_NE(why.find("quarter of the 8.00 GiB available"), std::string::npos) << why;
  EXPECT_TRUE(*packed_gemm::WantPacked("on", true, int64_t{64} << 30, 0, &why));
  EXPECT_FALSE(*packed_gemm::WantPacked("off", false, 0, int64_t{8} << 30, &why));
  auto bad = packed_gemm::WantPacked("sometimes", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("auto, on or off"), std::string::npos);
}

}  // namespace
}  // namespace tenet
