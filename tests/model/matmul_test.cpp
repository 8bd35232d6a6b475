// Products with weights stored narrower than the activations (tenet/model/matmul.h, the few-row
// kernels of src/model/gemv.*) against fp64 products of the same values, and the compute-dtype
// policy (tenet/model/compute_dtype.h): a model keeping bf16 weights under fp32 compute gives what
// an fp32 model of the bf16-rounded weights gives. Run natively and under TENET_ISA=avx2 (ctest's
// *.avx2 tests), so each ISA's kernels are checked.
//
// Shapes: N rows, I in features, O out features; W (O, I).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tenet/io/hf_folder.h"
#include "tenet/io/model_config.h"
#include "tenet/model/compute_dtype.h"
#include "tenet/model/loader.h"
#include "tenet/model/llama.h"
#include "tenet/model/logprobs.h"
#include "tenet/model/matmul.h"
#include "tenet/model/presets.h"
#include "tenet/util/file.h"
#include "tenet/util/isa.h"

namespace tenet {
namespace {

double RelErr(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max()).item<double>();
}

TEST(MatmulTest, FewAndManyRowsOverBf16AndFp32WeightsMatchFp64) {
  torch::manual_seed(1);
  // 77: a tail after the vector steps; 2100: wide enough that 3-8 x rows go in blocks of the inner
  // dimension (partial sums added into y), with a tail in the last block.
  for (int64_t I : {77, 256, 2100}) {
    const torch::Tensor w_bf16 = torch::randn({37, I}).to(torch::kBFloat16);  // 37 rows: blocks of 4, 2 and 1 with rests
    const torch::Tensor w_fp32 = torch::randn({37, I});
    for (int64_t N : {1, 2, 3, 4, 5, 7, 8, 9, 17, 32, 40}) {  // 9-32 over bf16: groups of 8 x rows
      const torch::Tensor x = torch::randn({N, I});
      for (const torch::Tensor& w : {w_bf16, w_fp32}) {
        const torch::Tensor want = torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t());
        const torch::Tensor got = ProductWt(x, w);
        ASSERT_EQ(got.scalar_type(), torch::kFloat32);
        EXPECT_LT(RelErr(got, want), 1e-5) << "N " << N << " I " << I << " " << w.scalar_type();
        // A strided view of x (rows of a wider matrix) reads the same values.
        const torch::Tensor wide = torch::zeros({N, I + 5});
        wide.narrow(1, 0, I).copy_(x);
        EXPECT_LT(RelErr(ProductWt(wide.narrow(1, 0, I), w), want), 1e-5) << "strided x, N " << N;
      }
      if (N <= 8) {
        const torch::Tensor g = torch::randn({N, 37});
        EXPECT_LT(RelErr(ProductW(g, w_bf16), torch::mm(g.to(torch::kFloat64), w_bf16.to(torch::kFloat64))), 1e-5);
      }
    }
  }
}

TEST(MatmulTest, WideWeightsGoInSeveralWidenedBlocks) {
  // 3000 x 1024 = 3M elements: more than one 8 MiB block of widened rows.
  torch::manual_seed(2);
  const torch::Tensor w = torch::randn({3000, 1024}).to(torch::kBFloat16);
  const torch::Tensor x = torch::randn({33, 1024}), g = torch::randn({33, 3000});
  EXPECT_LT(RelErr(ProductWt(x, w), torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t())), 1e-5);
  EXPECT_LT(RelErr(ProductW(g, w), torch::mm(g.to(torch::kFloat64), w.to(torch::kFloat64))), 1e-5);
  torch::Tensor out = torch::empty({33, 3000});
  ProductWtOut(out, x, w);
  EXPECT_LT(RelErr(out, torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t())), 1e-5);
  const torch::Tensor b = torch::randn({3000});
  EXPECT_LT(RelErr(Affine(x.view({3, 11, 1024}), w, b).view({33, 3000}),
                   torch::addmm(b.to(torch::kFloat64), x.to(torch::kFloat64), w.to(torch::kFloat64).t())),
            1e-5);
}

TEST(MatmulTest, Bf16ProductsOfLongSumsStayWithinOneRounding) {
  // Sums of 8192 products: a product accumulated at low precision drifts well past bf16's rounding.
  torch::manual_seed(3);
  const torch::Tensor a = torch::randn({16, 8192}).to(torch::kBFloat16), b = torch::randn({8192, 24}).to(torch::kBFloat16);
  const torch::Tensor want = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
  const torch::Tensor got = Mm(a, b);
  ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
  EXPECT_LT(((got.to(torch::kFloat64) - want).abs() / want.abs().max()).max().item<double>(), 8e-3);
  torch::Tensor out = torch::empty({24, 16}, torch::kBFloat16);
  MmOut(out, b.t(), a.t());
  EXPECT_LT(RelErr(out, want.t()), 8e-3);
}

TEST(MatmulTest, Bf16RowsUnderNativeBf16DotProducts) {
  if (KernelIsa() < Isa::kAvx512Bf16) GTEST_SKIP() << "needs AVX512_BF16 (kernels run " << IsaName(KernelIsa()) << ")";
  torch::manual_seed(4);
  // vdpbf16ps: exact products of the bf16 values summed in fp32, so an fp32 output matches fp64 to
  // fp32 rounding. I = 77 and 100: masked tails only / after a step; 37 weight rows: blocks of 4
  // and 3 with rests; every row count of the kernels (1-8), groups of 8 beyond, and oneDNN from 17.
  for (int64_t I : {77, 100, 512, 2100}) {
    const torch::Tensor w = torch::randn({37, I}).to(torch::kBFloat16);
    for (int64_t N : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17}) {  // 9-16: groups of 8; 17: oneDNN
      const torch::Tensor x = torch::randn({N, I}).to(torch::kBFloat16);
      const torch::Tensor want = torch::mm(x.to(torch::kFloat64), w.to(torch::kFloat64).t());
      if (N <= 16) {  // the few-row kernels also write fp32 sums (oneDNN's matmul only bf16)
        torch::Tensor fp32 = torch::empty({N, 37});
        ProductWtOut(fp32, x, w);
        EXPECT_LT(RelErr(fp32, want), 1e-5) << "N " << N << " I " << I;
        const torch::Tensor wide = torch::zeros({N, I + 3}, torch::kBFloat16);  // strided rows of x
        wide.narrow(1, 0, I).copy_(x);
        ProductWtOut(fp32, wide.narrow(1, 0, I), w);
        EXPECT_LT(RelErr(fp32, want), 1e-5) << "strided x, N " << N << " I " << I;
      }
      const torch::Tensor bf16 = ProductWt(x, w);  // rounded once, as oneDNN's bf16 matmul rounds
      ASSERT_EQ(bf16.scalar_type(), torch::kBFloat16);
      EXPECT_LT(RelErr(bf16, want), 8e-3) << N;
    }
  }
}

std::shared_ptr<LlamaForCausalLM> TinyModel(torch::ScalarType dtype, std::optional<torch::ScalarType> weights, bool round_to_bf16) {
  auto config = PresetConfig("tiny", 600);
  EXPECT_TRUE(config.ok());
  config->tie_word_embeddings = false;
  ModelOptions o;
  o.dtype = dtype;
  o.weight_dtype = weights;
  WeightSource random = RandomWeights(5, 0.2);
  WeightSource source = [random, round_to_bf16](const TensorSpec& s) -> Result<torch::Tensor> {
    TENET_ASSIGN_OR_RETURN(torch::Tensor t, random(s));
    return round_to_bf16 ? t.to(torch::kBFloat16).to(torch::kFloat32) : t;
  };
  auto m = LlamaForCausalLM::Create(*config, source, o);
  EXPECT_TRUE(m.ok());
  return *m;
}

TEST(MatmulTest, Bf16WeightsUnderFp32ComputeGiveTheFp32ModelOfTheRoundedWeights) {
  // Norm weights are ones, so rounding them changes nothing; every matrix is rounded to bf16.
  auto mixed = TinyModel(torch::kFloat32, torch::kBFloat16, /*round_to_bf16=*/false);
  auto ref = TinyModel(torch::kFloat32, std::nullopt, /*round_to_bf16=*/true);
  ASSERT_EQ(mixed->weight_dtype(), torch::kBFloat16);
  ASSERT_EQ(mixed->dtype(), torch::kFloat32);
  torch::NoGradGuard no_grad;
  const torch::Tensor ids = torch::randint(0, 600, {2, 12}, torch::kInt64);
  auto h_mixed = mixed->Hidden(ids, {}, {}, nullptr, 0);
  auto h_ref = ref->Hidden(ids, {}, {}, nullptr, 0);
  ASSERT_TRUE(h_mixed.ok() && h_ref.ok());
  EXPECT_LT(RelErr(mixed->Logits(*h_mixed), ref->Logits(*h_ref)), 1e-5);
  // Decoding one token at a time with a cache: the few-row kernels.
  auto cache_a = KVCache::Create(mixed->config(), 2, 16, torch::kFloat32, torch::kCPU);
  auto cache_b = KVCache::Create(ref->config(), 2, 16, torch::kFloat32, torch::kCPU);
  ASSERT_TRUE(cache_a.ok() && cache_b.ok());
  for (int64_t t = 0; t < 4; ++t) {
    const torch::Tensor step = ids.narrow(1, t, 1);
    auto a = mixed->Hidden(step, {}, {}, &*cache_a, 0);
    auto b = ref->Hidden(step, {}, {}, &*cache_b, 0);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_LT(RelErr(mixed->Logits(*a), ref->Logits(*b)), 1e-5) << "step " << t;
  }
}

TEST(MatmulTest, HeadLogProbsAndGradientsOverBf16HeadUnderFp32) {
  auto mixed = TinyModel(torch::kFloat32, torch::kBFloat16, false);
  auto ref = TinyModel(torch::kFloat32, std::nullopt, true);
  torch::manual_seed(6);
  const torch::Tensor h0 = torch::randn({21, mixed->config().hidden_size});
  const torch::Tensor targets = torch::randint(0, 600, {21}, torch::kInt64);
  torch::Tensor ha = h0.clone().requires_grad_(true), hb = h0.clone().requires_grad_(true);
  torch::Tensor la = TokenLogProbs(*mixed, ha, targets, 8), lb = TokenLogProbs(*ref, hb, targets, 8);
  la.sum().backward();
  lb.sum().backward();
  EXPECT_LT(RelErr(la.detach(), lb.detach()), 1e-5);
  EXPECT_LT(RelErr(ha.grad(), hb.grad()), 1e-4);
}

TEST(ComputeDtypeTest, NativeBf16KeepsTheCheckpointElsewhereFp32OverBf16Weights) {
  const DtypeChoice forced = ChooseDtypes(torch::kBFloat16, torch::kCPU, torch::kFloat32);
  EXPECT_EQ(forced.compute, torch::kFloat32);
  EXPECT_EQ(forced.weights, torch::kFloat32);
  const DtypeChoice fp32 = ChooseDtypes(torch::kFloat32, torch::kCPU, std::nullopt);
  const DtypeChoice bf16 = ChooseDtypes(torch::kBFloat16, torch::kCPU, std::nullopt);
  const DtypeChoice gen = ChooseDtypes(torch::kFloat32, torch::kCPU, std::nullopt, /*prefer_bf16=*/true);
  EXPECT_FALSE(bf16.reason.empty());
  if (KernelIsa() >= Isa::kAvx512Bf16) {
    EXPECT_EQ(bf16.compute, torch::kBFloat16);
    EXPECT_EQ(bf16.weights, torch::kBFloat16);
    EXPECT_EQ(gen.compute, torch::kBFloat16);
  } else {
    EXPECT_EQ(bf16.compute, torch::kFloat32);
    EXPECT_EQ(bf16.weights, torch::kBFloat16);
    EXPECT_EQ(gen.compute, torch::kFloat32);
  }
  EXPECT_EQ(fp32.compute, torch::kFloat32);
  EXPECT_EQ(fp32.weights, torch::kFloat32);
  const DtypeChoice cuda = ChooseDtypes(torch::kBFloat16, torch::Device(torch::kCUDA, 0), std::nullopt);
  EXPECT_EQ(cuda.compute, torch::kBFloat16);
}

// Where the loader keeps a bf16 checkpoint's weights under the policy: narrow for generation and
// scoring, widened once for training where that fits, and the reason says which.
TEST(ComputeDtypeTest, LoaderKeepsBf16WeightsOrWidensThemWhereTheyFit) {
  const std::string dir = std::filesystem::temp_directory_path() / ("tenet-storage-test-" + std::to_string(::getpid()));
  auto config = PresetConfig("tiny", 512);
  ASSERT_TRUE(config.ok());
  config->dtype = torch::kBFloat16;
  ModelOptions mo;
  mo.dtype = torch::kBFloat16;
  auto m = LlamaForCausalLM::Create(*config, RandomWeights(1), mo);
  ASSERT_TRUE(m.ok());
  NamedTensors tensors;
  for (const auto& p : (*m)->named_parameters()) tensors.emplace_back(p.key(), p.value());
  ASSERT_TRUE(SaveWeights(dir, tensors).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", ModelConfigToJson(*config).dump(2)).ok());
  const bool native = KernelIsa() >= Isa::kAvx512Bf16;
  for (WeightStorage storage : {WeightStorage::kNarrow, WeightStorage::kComputeIfFits, WeightStorage::kCompute}) {
    LoadOptions lo;
    lo.hardware_policy = true;
    lo.storage = storage;
    auto loaded = LoadModel(dir, lo);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    const auto& model = *loaded->model;
    if (native) {
      EXPECT_EQ(model.dtype(), torch::kBFloat16);
      EXPECT_EQ(model.weight_dtype(), torch::kBFloat16);
      continue;
    }
    EXPECT_EQ(model.dtype(), torch::kFloat32);
    const bool narrow = storage == WeightStorage::kNarrow;
    EXPECT_EQ(model.weight_dtype(), narrow ? torch::kBFloat16 : torch::kFloat32) << loaded->dtype_reason;
    EXPECT_NE(loaded->dtype_reason.find(narrow ? "weights kept in bfloat16" : "weights widened to float32"), std::string::npos)
        << loaded->dtype_reason;
    if (storage == WeightStorage::kComputeIfFits) {
      EXPECT_NE(loaded->dtype_reason.find("fits"), std::string::npos) << loaded->dtype_reason;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tenet
