// Tenet's DPO and SFT numbers against the independent reference tests/reference/dpo_reference.py (python3-
// torch; its own unmerged LoRA via W + s*B@A leaves, its own per-sequence forward, TRL's formulas):
// per-pair log-probs, TRL metrics of a given adapter, the loss and the LoRA gradients of one step
// for every loss variant, the SFT gradients of every weight (full fine-tuning), and merged weights. fp32, agreement to 1e-4 relative.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "tenet/io/hf_folder.h"
#include "tenet/model/adapter.h"
#include "tenet/model/loader.h"
#include "tenet/train/dpo_objective.h"
#include "tenet/train/merge.h"
#include "tenet/train/sft_objective.h"
#include "tenet/train/trainable.h"
#include "test_util.h"

namespace tenet {
namespace {
using json = nlohmann::json;

constexpr double kTolerance = 1e-4;

double RelDiff(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = std::max(want.abs().max().item<double>(), 1e-6);
  return (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>() / scale;
}

std::string DpoReferenceScript() { return "/usr/bin/python3 " + testing::ShellQuote(testing::SourceDir() + "/tests/reference/dpo_reference.py"); }

class TrainReference : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string log;
    fixtures_ = testing::ReferenceFixtures(&log);
    if (fixtures_.empty()) GTEST_FAIL() << "reference fixtures not built: " << log;
    model_dir_ = fixtures_ + "/untied_llama3_f32";
    adapter_dir_ = fixtures_ + "/adapter";
    scratch_ = testing::ScratchDir();
    // Pairs of different lengths (vocab 320), including a 1-token completion.
    std::mt19937 g(3);
    auto ids = [&](int n) {
      std::vector<int32_t> v;
      for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(g() % 320));
      return v;
    };
    pairs_ = {{ids(6), ids(4), ids(7)}, {ids(3), ids(1), ids(3)}, {ids(9), ids(5), ids(2)}, {ids(5), ids(8), ids(6)}};
    json j = json::array();
    for (const auto& p : pairs_) j.push_back({{"prompt", p.prompt}, {"chosen", p.chosen}, {"rejected", p.rejected}});
    std::ofstream(scratch_ + "/pairs.json") << j.dump();
  }

  std::shared_ptr<LlamaForCausalLM> Model() {
    LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto m = LoadModel(model_dir_, lo);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    auto adapter = LoadPeftAdapter(adapter_dir_);
    EXPECT_TRUE(adapter.ok());
    EXPECT_TRUE(AttachAdapter(*m->model, *adapter).ok());
    m->model->eval();
    return m->model;
  }

  // The pairs' chosen completions as SFT examples (loss on the completion tokens only), also
  // written to scratch/sft.json for the reference script.
  std::vector<SftExample> SftExamples() {
    json data = json::array();
    std::vector<SftExample> examples;
    for (const auto& p : pairs_) {
      data.push_back({{"prompt", p.prompt}, {"completion", p.chosen}});
      SftExample e;
      e.ids = p.prompt;
      e.ids.insert(e.ids.end(), p.chosen.begin(), p.chosen.end());
      e.loss.assign(p.prompt.size(), 0);
      e.loss.resize(e.ids.size(), 1);
      examples.push_back(e);
    }
    std::ofstream(scratch_ + "/sft.json") << data.dump();
    return examples;
  }

  std::string fixtures_, model_dir_, adapter_dir_, scratch_;
  std::vector<TokenizedPair> pairs_;
};

struct Variant {
  const char* name;
  DpoLossOptions options;
  std::string flags;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v;
  DpoLossOptions o;
  o.beta = 0.1;
  v.push_back({"sigmoid", o, "--loss sigmoid --beta 0.1"});
  o.label_smoothing = 0.1;
  o.rpo_alpha = 0.5;
  v.push_back({"sigmoid cDPO + RPO", o, "--loss sigmoid --beta 0.1 --label-smoothing 0.1 --rpo-alpha 0.5"});
  o = {};
  o.type = DpoLossType::kRobust;
  o.beta = 0.3;
  o.label_smoothing = 0.2;
  v.push_back({"robust", o, "--loss robust --beta 0.3 --label-smoothing 0.2"});
  o = {};
  o.type = DpoLossType::kHinge;
  o.beta = 0.05;
  v.push_back({"hinge", o, "--loss hinge --beta 0.05"});
  o = {};
  o.type = DpoLossType::kIpo;
  o.beta = 0.5;
  v.push_back({"ipo", o, "--loss ipo --beta 0.5"});
  o = {};
  o.beta = 0.2;
  o.reference_free = true;
  v.push_back({"reference-free", o, "--loss sigmoid --beta 0.2 --reference-free"});
  return v;
}

TEST_F(TrainReference, MetricsLossAndLoraGradientsMatchForEveryLoss) {
  for (const Variant& v : Variants()) {
    SCOPED_TRACE(v.name);
    const std::string out = scratch_ + "/ref.json", grads = scratch_ + "/grads.safetensors";
    auto r = testing::RunCommand(DpoReferenceScript() + " dpo --model " + testing::ShellQuote(model_dir_) + " --adapter " +
                                     testing::ShellQuote(adapter_dir_) + " --pairs " + testing::ShellQuote(scratch_ + "/pairs.json") +
                                     " " + v.flags + " --out " + out + " --grads " + grads,
                                 true);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::ifstream f(out);
    json want = json::parse(f);

    auto model = Model();
    // Metrics of the adapter (no gradients), TRL names.
    auto metrics = EvaluateDpo(*model, pairs_, v.options, /*batch_pairs=*/3);  // 2 batches: exercises the averaging
    ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
    for (auto& [k, w] : want["metrics"].items()) {
      ASSERT_TRUE(metrics->contains(k)) << k;
      const double got = (*metrics)[k].get<double>(), expect = w.get<double>();
      EXPECT_NEAR(got, expect, kTolerance * std::max(1.0, std::abs(expect))) << k;
    }
    EXPECT_NEAR((*metrics)["loss"].get<double>(), want["loss"].get<double>(), kTolerance * std::max(1.0, want["loss"].get<double>()));

    // One step's loss and gradients.
    auto loss = DpoBatchLoss(*model, pairs_, v.options);
    ASSERT_TRUE(loss.ok()) << loss.status().ToString();
    EXPECT_NEAR(loss->item<double>(), want["loss"].get<double>(), kTolerance * std::max(1.0, want["loss"].get<double>()));
    loss->backward();
    auto ref_grads = TensorStore::OpenFile(grads);
    ASSERT_TRUE(ref_grads.ok());
    int compared = 0;
    for (const auto& [path, linear] : model->linears()) {
      if (!linear->has_lora()) continue;
      for (const char* which : {"lora_A", "lora_B"}) {
        auto expect = (*ref_grads)->Get("base_model.model." + path + "." + which + ".weight");
        ASSERT_TRUE(expect.ok()) << path;
        const torch::Tensor& got = std::string(which) == "lora_A" ? linear->lora_a().grad() : linear->lora_b().grad();
        ASSERT_TRUE(got.defined()) << path << " " << which;
        EXPECT_LT(RelDiff(got, *expect), kTolerance) << path << " " << which;
        ++compared;
      }
    }
    EXPECT_EQ(compared, 2 * 2 * 3);  // 2 layers x q/v/down x (A, B)
  }
}

TEST_F(TrainReference, PerPairLogProbsMatch) {
  const std::string out = scratch_ + "/ref.json";
  auto r = testing::RunCommand(DpoReferenceScript() + " dpo --model " + testing::ShellQuote(model_dir_) + " --adapter " +
                                   testing::ShellQuote(adapter_dir_) + " --pairs " + testing::ShellQuote(scratch_ + "/pairs.json") +
                                   " --loss sigmoid --beta 0.1 --out " + out,
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(out);
  json want = json::parse(f);
  auto model = Model();
  torch::NoGradGuard no_grad;
  auto batch = BuildSharedPairBatch(pairs_);
  ASSERT_TRUE(batch.ok());
  auto policy = ComputeBatchLogps(*model, *batch);
  ASSERT_TRUE(policy.ok());
  auto ref = ComputeBatchLogps(*model, *batch, AdapterChoice::Base());
  ASSERT_TRUE(ref.ok());
  for (size_t i = 0; i < pairs_.size(); ++i) {
    const json& w = want["pairs"][i];
    const auto k = static_cast<int64_t>(i);
    EXPECT_NEAR(policy->logps.chosen[k].item<double>(), w["policy_chosen"].get<double>(), 1e-4 * std::abs(w["policy_chosen"].get<double>()));
    EXPECT_NEAR(policy->logps.rejected[k].item<double>(), w["policy_rejected"].get<double>(), 1e-4 * std::abs(w["policy_rejected"].get<double>()));
    EXPECT_NEAR(ref->logps.chosen[k].item<double>(), w["ref_chosen"].get<double>(), 1e-4 * std::abs(w["ref_chosen"].get<double>()));
    EXPECT_NEAR(ref->logps.rejected[k].item<double>(), w["ref_rejected"].get<double>(), 1e-4 * std::abs(w["ref_rejected"].get<double>()));
    EXPECT_EQ(policy->logps.chosen_tokens[k].item<double>(), w["chosen_tokens"].get<double>());
  }
}

TEST_F(TrainReference, SftLossAndLoraGradientsMatch) {
  const std::vector<SftExample> examples = SftExamples();
  const std::string out = scratch_ + "/sft_ref.json", grads = scratch_ + "/sft_grads.safetensors";
  auto r = testing::RunCommand(DpoReferenceScript() + " sft --model " + testing::ShellQuote(model_dir_) + " --adapter " +
                                   testing::ShellQuote(adapter_dir_) + " --data " + scratch_ + "/sft.json --out " + out +
                                   " --grads " + grads,
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream f(out);
  json want = json::parse(f);
  auto model = Model();
  std::vector<const SftExample*> batch;
  for (const auto& e : examples) batch.push_back(&e);
  json m;
  auto loss = SftBatchLoss(*model, batch, &m);
  ASSERT_TRUE(loss.ok()) << loss.status().ToString();
  EXPECT_NEAR(loss->item<double>(), want["loss"].get<double>(), kTolerance * want["loss"].get<double>());
  EXPECT_EQ(m["tokens"].get<int64_t>(), want["tokens"].get<int64_t>());
  loss->backward();
  auto ref_grads = TensorStore::OpenFile(grads);
  ASSERT_TRUE(ref_grads.ok());
  for (const auto& [path, linear] : model->linears()) {
    if (!linear->has_lora()) continue;
    auto a = (*ref_grads)->Get("base_model.model." + path + ".lora_A.weight");
    auto b = (*ref_grads)->Get("base_model.model." + path + ".lora_B.weight");
    ASSERT_TRUE(a.ok() && b.ok()) << path;
    EXPECT_LT(RelDiff(linear->lora_a().grad(), *a), kTolerance) << path;
    EXPECT_LT(RelDiff(linear->lora_b().grad(), *b), kTolerance) << path;
  }
  // Evaluation in two batches gives the same token-mean loss.
  auto eval = EvaluateSft(*model, examples, 3);
  ASSERT_TRUE(eval.ok());
  EXPECT_NEAR((*eval)["loss"].get<double>(), want["loss"].get<double>(), kTolerance * want["loss"].get<double>());
}

// Full fine-tuning: the SFT loss's gradient for every weight of the model, on an untied model and
// on one whose head is the embedding (both uses add into one gradient).
TEST_F(TrainReference, FullSftGradientsMatchForEveryWeight) {
  const std::vector<SftExample> examples = SftExamples();
  for (const std::string name : {"untied_llama3_f32", "tied_sharded_f32"}) {
    SCOPED_TRACE(name);
    const std::string dir = fixtures_ + "/" + name;
    const std::string out = scratch_ + "/" + name + ".json", grads = scratch_ + "/" + name + ".safetensors";
    auto r = testing::RunCommand(DpoReferenceScript() + " sft --full --model " + testing::ShellQuote(dir) + " --data " + scratch_ +
                                     "/sft.json --out " + out + " --grads " + grads,
                                 true);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::ifstream f(out);
    json want = json::parse(f);
    LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto m = LoadModel(dir, lo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto trainable = MakeFullTrainable(*m->model, dir);
    ASSERT_TRUE(trainable.ok()) << trainable.status().ToString();
    std::vector<const SftExample*> batch;
    for (const auto& e : examples) batch.push_back(&e);
    json metrics;
    auto loss = SftBatchLoss(*m->model, batch, &metrics);
    ASSERT_TRUE(loss.ok()) << loss.status().ToString();
    EXPECT_NEAR(loss->item<double>(), want["loss"].get<double>(), kTolerance * want["loss"].get<double>());
    loss->backward();
    (*trainable)->AccumulateGradients();
    auto ref_grads = TensorStore::OpenFile(grads);
    ASSERT_TRUE(ref_grads.ok());
    std::vector<std::string> names;
    for (const auto& p : m->model->named_parameters()) {
      names.push_back(p.key());
      auto g = (*ref_grads)->Get(p.key());
      ASSERT_TRUE(g.ok()) << p.key();
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_LT(RelDiff(p.value().grad(), *g), kTolerance) << p.key();
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (*ref_grads)->names());  // every weight has a gradient, none is missing
  }
}

TEST_F(TrainReference, MergedWeightsMatch) {
  const std::string want_path = scratch_ + "/merged_ref.safetensors";
  auto r = testing::RunCommand(DpoReferenceScript() + " merge --model " + testing::ShellQuote(model_dir_) + " --adapter " +
                                   testing::ShellQuote(adapter_dir_) + " --out " + want_path,
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(MergeToFolder(model_dir_, adapter_dir_, scratch_ + "/merged").ok());
  auto got = TensorStore::OpenDir(scratch_ + "/merged");
  auto want = TensorStore::OpenFile(want_path);
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ((*got)->names(), (*want)->names());
  int changed = 0;
  auto base = TensorStore::OpenDir(model_dir_);
  for (const auto& name : (*want)->names()) {
    auto g = (*got)->Get(name);
    auto w = (*want)->Get(name);
    ASSERT_TRUE(g.ok() && w.ok()) << name;
    EXPECT_EQ(g->scalar_type(), w->scalar_type()) << name;
    EXPECT_LT(RelDiff(*g, *w), 1e-6) << name;
    if (!torch::equal(*g, *(*base)->Get(name))) ++changed;
  }
  EXPECT_EQ(changed, 2 * 3);  // the adapted modules only
  // The inputs are never overwritten: a second merge into the same folder, or into an input, fails.
  EXPECT_FALSE(MergeToFolder(model_dir_, adapter_dir_, scratch_ + "/merged").ok());
  EXPECT_FALSE(MergeToFolder(model_dir_, adapter_dir_, model_dir_).ok());
}

}  // namespace
}  // namespace tenet
