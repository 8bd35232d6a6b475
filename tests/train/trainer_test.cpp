// The shared trainer (trainer.h): the pieces that need no model: HF's learning-rate schedules and option validation; and
// on a tiny random model: --precompute-ref trains like the per-step reference, and a run started
// from an existing adapter continues from it.
#include <gtest/gtest.h>

#include <filesystem>

#include "tenet/model/adapter.h"
#include "tenet/model/presets.h"
#include "tenet/train/dpo_objective.h"
#include "tenet/train/trainer.h"
#include "tenet/train/lora.h"
#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {
using json = nlohmann::json;

TEST(ScheduleTest, LinearAndCosineWithWarmupAsHuggingFace) {
  TrainOptions o;
  o.learning_rate = 1.0;
  o.warmup_steps = 2;
  // HF get_linear_schedule_with_warmup, 10 steps, 2 warmup: 0, 0.5, then (10 - s) / 8.
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 0, 10), 0.0);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 1, 10), 0.5);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 2, 10), 1.0);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 6, 10), 0.5);
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 9, 10), 0.125);
  // Cosine: 0.5 (1 + cos(pi * (s - 2) / 8)); half way (s = 6) is 0.5.
  o.schedule = "cosine";
  EXPECT_NEAR(ScheduledLearningRate(o, 6, 10), 0.5, 1e-12);
  EXPECT_NEAR(ScheduledLearningRate(o, 4, 10), 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  o.schedule = "constant";
  o.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(ScheduledLearningRate(o, 7, 10), 1.0);
  // Warmup as a ratio: ceil(0.25 * 10) = 3 steps.
  o.schedule = "linear";
  o.warmup_ratio = 0.25;
  EXPECT_NEAR(ScheduledLearningRate(o, 1, 10), 1.0 / 3, 1e-12);
}

TEST(TrainOptionsTest, RejectsBadValuesByName) {
  TrainOptions o;
  EXPECT_TRUE(ValidateTrainOptions(o).ok());
  auto bad = [&](auto change, const char* name) {
    TrainOptions x;
    change(x);
    Status s = ValidateTrainOptions(x);
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_NE(s.ToString().find(name), std::string::npos) << s.ToString();
  };
  bad([](TrainOptions& x) { x.batch_size = 0; }, "--batch-pairs");
  bad([](TrainOptions& x) { x.grad_accum = 0; }, "--grad-accum");
  bad([](TrainOptions& x) { x.schedule = "wavy"; }, "--schedule");
  bad([](TrainOptions& x) { x.learning_rate = -1; }, "--lr");
  bad([](TrainOptions& x) { x.warmup_ratio = 1; }, "--warmup-ratio");
}

std::shared_ptr<LlamaForCausalLM> TinyModel(const LoraConfig& lc) {
  auto config = PresetConfig("tiny", 300);
  auto model = LlamaForCausalLM::Create(*config, RandomWeights(4, 0.2), ModelOptions{});
  EXPECT_TRUE(model.ok());
  auto adapter = NewLoraAdapter(**model, lc, 9);
  EXPECT_TRUE(adapter.ok());
  EXPECT_TRUE(AttachAdapter(**model, *adapter).ok());
  return *model;
}

std::vector<TokenizedPair> Pairs(int n) {
  std::vector<TokenizedPair> out;
  for (int i = 0; i < n; ++i) {
    const int32_t a = 3 + i % 50;
    out.push_back({{a, a + 1, a + 2}, {100, 101, static_cast<int32_t>(102 + i % 7)}, {200, static_cast<int32_t>(201 + i % 5)}});
  }
  return out;
}

LoraConfig Lora() {
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.target_modules = {"q_proj", "v_proj", "down_proj"};
  return lc;
}

std::unique_ptr<Trainable> LoraOf(LlamaForCausalLM& model, const LoraConfig& config) {
  auto t = MakeLoraTrainable(model, config);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(*t) : nullptr;
}

json LastStep(const std::string& run) {
  auto lines = testing::ParseJsonLines(*ReadFile(run + "/metrics.jsonl"));
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (!it->contains("eval_loss")) return *it;
  return nullptr;
}

TEST(DpoTrainerTest, PrecomputedReferenceTrainsLikeThePerStepReference) {
  const std::string dir = testing::ScratchDir();
  TrainOptions o;
  o.batch_size = 3;
  o.learning_rate = 1e-2;
  o.epochs = 2;
  json metrics[2];
  for (int precompute = 0; precompute < 2; ++precompute) {
    auto model = TinyModel(Lora());
    DpoObjectiveOptions dpo;
    dpo.precompute_ref = precompute == 1;
    const std::string run = dir + "/run" + std::to_string(precompute);
    auto t = Trainer::Create(*model, LoraOf(*model, Lora()), MakeDpoObjective(Pairs(12), Pairs(4), dpo), o, run, json::object(), false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE((*t)->Train().ok());
    metrics[precompute] = LastStep(run);
    EXPECT_EQ(FileExists(run + "/ref_logps.json"), precompute == 1);
  }
  EXPECT_GT(metrics[0]["rewards/margins"].get<double>(), 0.0);  // it learned something
  for (const char* k : {"loss", "rewards/chosen", "rewards/rejected", "rewards/margins"}) {
    EXPECT_NEAR(metrics[0][k].get<double>(), metrics[1][k].get<double>(), 1e-4 * std::max(1.0, std::abs(metrics[0][k].get<double>()))) << k;
  }
}

TEST(DpoTrainerTest, StartingFromAnAdapterContinuesFromItsWeights) {
  const std::string dir = testing::ScratchDir();
  TrainOptions o;
  o.batch_size = 4;
  o.learning_rate = 1e-2;
  o.max_steps = 6;
  auto model = TinyModel(Lora());
  auto t = Trainer::Create(*model, LoraOf(*model, Lora()), MakeDpoObjective(Pairs(12), {}, {}), o, dir + "/first", json::object(), false);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Train().ok());
  auto trained = LoadPeftAdapter(dir + "/first/adapter");
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  EXPECT_EQ(trained->config.r, 4);
  EXPECT_EQ(trained->modules.size(), 2u * 3u);

  // A fresh model with the trained adapter attached: the first step starts where the run ended
  // (its metrics are not those of a zero adapter: loss below log 2).
  auto config = PresetConfig("tiny", 300);
  auto fresh = LlamaForCausalLM::Create(*config, RandomWeights(4, 0.2), ModelOptions{});
  ASSERT_TRUE(AttachAdapter(**fresh, *trained).ok());
  o.max_steps = 1;
  o.learning_rate = 0;
  auto t2 = Trainer::Create(**fresh, LoraOf(**fresh, trained->config), MakeDpoObjective(Pairs(12), {}, {}), o, dir + "/second", json::object(), false);
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  ASSERT_TRUE((*t2)->Train().ok());
  EXPECT_LT(LastStep(dir + "/second")["loss"].get<double>(), std::log(2.0) - 1e-3);
  // With lr 0 the adapter comes out unchanged.
  auto again = LoadPeftAdapter(dir + "/second/adapter");
  ASSERT_TRUE(again.ok());
  for (const auto& [path, m] : trained->modules) {
    EXPECT_TRUE(torch::equal(m.a, again->modules.at(path).a)) << path;
    EXPECT_TRUE(torch::equal(m.b, again->modules.at(path).b)) << path;
  }
}

TEST(DpoTrainerTest, SimpoAndOrpoTrainWithoutAReferenceModel) {
  const std::string dir = testing::ScratchDir();
  for (DpoLossType type : {DpoLossType::kSimpo, DpoLossType::kOrpo}) {
    auto model = TinyModel(Lora());
    TrainOptions o;
    o.batch_size = 4;
    o.learning_rate = 1e-2;
    o.epochs = 4;
    DpoObjectiveOptions dpo;
    dpo.loss.type = type;
    dpo.loss.beta = type == DpoLossType::kSimpo ? 2.0 : 0.1;
    const std::string run = dir + "/" + DpoLossTypeName(type);
    auto t = Trainer::Create(*model, LoraOf(*model, Lora()), MakeDpoObjective(Pairs(12), {}, dpo), o, run, json::object(), false);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE((*t)->Train().ok());
    auto lines = testing::ParseJsonLines(*ReadFile(run + "/metrics.jsonl"));
    ASSERT_EQ(lines.size(), 12u);
    EXPECT_GT(lines.back()["rewards/margins"].get<double>(), lines.front()["rewards/margins"].get<double>()) << DpoLossTypeName(type);
    EXPECT_LT(lines.back()["loss"].get<double>(), lines.front()["loss"].get<double>()) << DpoLossTypeName(type);
    EXPECT_EQ(lines.back().contains("nll_loss"), type == DpoLossType::kOrpo);
  }
}

}  // namespace
}  // namespace tenet
