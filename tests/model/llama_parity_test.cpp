// Forward-pass parity with the independent Python reference (tests/reference/llama_reference.py):
// logits for tiny random models in every layout the loader accepts, in both directions (folders
// written by the reference and read by Tenet; folders written by Tenet and read by the reference).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tenet/io/hf_folder.h"
#include "tenet/model/adapter.h"
#include "tenet/model/loader.h"
#include "tenet/model/logprobs.h"
#include "tenet/model/presets.h"
#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;

constexpr double kF32Tolerance = 1e-4;   // relative, the bar at fp32
constexpr double kBf16Tolerance = 3e-2;  // bf16 has 8 mantissa bits; kernels round differently

std::string Reference() { return testing::ReferenceScript(); }

// max |a - b| / max |b|
double RelDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max()).item<double>();
}

class LlamaParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    dir_ = new std::string(testing::ReferenceFixtures(&log));
    ASSERT_FALSE(dir_->empty()) << "reference fixtures failed:\n" << log;
    auto manifest = json::parse(*ReadFile(*dir_ + "/manifest.json"));
    std::vector<torch::Tensor> rows;
    for (const auto& row : manifest["ids"].get<std::vector<std::vector<int64_t>>>()) rows.push_back(torch::tensor(row));
    ids_ = new torch::Tensor(torch::stack(rows));  // (B, T)
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete ids_;
  }
  static torch::Tensor Expected(const std::string& variant, const std::string& key) {
    auto f = SafetensorsFile::Open(*dir_ + "/" + variant + ".expected.safetensors");
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return (*f)->Get(*(*f)->Find(key)).clone();
  }
  static torch::Tensor Logits(LlamaForCausalLM& m, const torch::Tensor& ids, const AdapterChoice& adapters = {}) {
    torch::NoGradGuard g;
    auto h = m.Hidden(ids, {}, {}, nullptr, 0, adapters);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return m.Logits(*h).to(torch::kFloat32);
  }
  static std::string* dir_;
  static torch::Tensor* ids_;
};
std::string* LlamaParity::dir_ = nullptr;
torch::Tensor* LlamaParity::ids_ = nullptr;

TEST_F(LlamaParity, Float32LogitsMatchReferenceForEveryVariant) {
  for (const char* v : {"untied_llama3_f32", "tied_sharded_f32", "bf16_rope_parameters", "linear_rope_headdim",
                        "qwen2_bias_mha"}) {
    LoadOptions lo;
    lo.dtype = torch::kFloat32;  // bf16 checkpoints upcast: the reference does the same
    auto m = LoadModel(*dir_ + "/" + v, lo);
    ASSERT_TRUE(m.ok()) << v << ": " << m.status().ToString();
    torch::Tensor got = Logits(*m->model, *ids_);
    torch::Tensor want = Expected(v, "logits_f32");
    ASSERT_EQ(got.sizes(), want.sizes()) << v;
    double d = RelDiff(got, want);
    EXPECT_LT(d, kF32Tolerance) << v << ": max relative difference " << d;
    std::cout << "[parity] " << v << " fp32 max rel diff " << d << "\n";
  }
}

TEST_F(LlamaParity, Bfloat16ComputeIsCloseToReferenceBfloat16) {
  auto m = LoadModel(*dir_ + "/bf16_rope_parameters");  // default: the checkpoint's dtype
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->model->dtype(), torch::kBFloat16);
  double d = RelDiff(Logits(*m->model, *ids_), Expected("bf16_rope_parameters", "logits_bf16"));
  EXPECT_LT(d, kBf16Tolerance) << "max relative difference " << d;
  std::cout << "[parity] bf16 compute max rel diff " << d << "\n";
}

TEST_F(LlamaParity, PeftAdapterMatchesMergedReference) {
  for (const char* a : {"adapter", "adapter_rslora"}) {
    LoadOptions lo;
    auto m = LoadModel(*dir_ + "/untied_llama3_f32", lo);
    ASSERT_TRUE(m.ok());
    auto adapter = LoadPeftAdapter(*dir_ + "/" + a);
    ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
    ASSERT_TRUE(AttachAdapter(*m->model, *adapter).ok());
    double d = RelDiff(Logits(*m->model, *ids_), Expected(a, "logits_f32"));
    EXPECT_LT(d, kF32Tolerance) << a << ": max relative difference " << d;
    // The base alone, chosen for one call, is the base model (the DPO reference model); the next
    // call without a choice has the adapter again (nothing was switched).
    d = RelDiff(Logits(*m->model, *ids_, AdapterChoice::Base()), Expected("untied_llama3_f32", "logits_f32"));
    EXPECT_LT(d, kF32Tolerance) << a << " base alone: " << d;
    d = RelDiff(Logits(*m->model, *ids_), Expected(a, "logits_f32"));
    EXPECT_LT(d, kF32Tolerance) << a << " after a base pass: " << d;
  }
}

TEST_F(LlamaParity, PerRowAdaptersMatchTheReferenceRowByRow) {
  // Two adapters and the base in one batch, each row against the reference logits of its own.
  auto m = LoadModel(*dir_ + "/untied_llama3_f32");
  ASSERT_TRUE(m.ok());
  std::vector<std::shared_ptr<const ServedAdapter>> served;
  for (const char* a : {"adapter", "adapter_rslora"}) {
    auto adapter = LoadPeftAdapter(*dir_ + "/" + a);
    ASSERT_TRUE(adapter.ok());
    auto s = MakeServedAdapter(*m->model, *adapter, a);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    served.push_back(*s);
  }
  const int64_t T = ids_->size(1);
  // Rows: ids row 0 with "adapter", row 1 with the base, row 0 with "adapter_rslora", row 1 with "adapter".
  torch::Tensor ids = torch::stack({(*ids_)[0], (*ids_)[1], (*ids_)[0], (*ids_)[1]});
  RowAdapters rows{{served[0].get(), nullptr, served[1].get(), served[0].get()}};
  torch::NoGradGuard g;
  auto h = m->model->Hidden(ids, {}, {}, nullptr, 0, AdapterChoice::Rows(&rows));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  torch::Tensor got = m->model->Logits(*h).to(torch::kFloat32);
  const torch::Tensor want_a = Expected("adapter", "logits_f32"), want_r = Expected("adapter_rslora", "logits_f32");
  const torch::Tensor want_base = Expected("untied_llama3_f32", "logits_f32");
  EXPECT_LT(RelDiff(got[0], want_a[0]), kF32Tolerance);
  EXPECT_LT(RelDiff(got[1], want_base[1]), kF32Tolerance);
  EXPECT_LT(RelDiff(got[2], want_r[0]), kF32Tolerance);
  EXPECT_LT(RelDiff(got[3], want_a[1]), kF32Tolerance);
  EXPECT_GT(RelDiff(got[0], want_base[0]), 100 * kF32Tolerance) << "the adapter must change the logits";
  EXPECT_EQ(got.size(1), T);
  // A row count that does not match the batch is refused.
  RowAdapters short_rows{{served[0].get()}};
  EXPECT_FALSE(m->model->Hidden(ids, {}, {}, nullptr, 0, AdapterChoice::Rows(&short_rows)).ok());
  // An adapter for a different model is refused by name.
  LoraAdapter wrong = *LoadPeftAdapter(*dir_ + "/adapter");
  wrong.modules["model.layers.99.self_attn.q_proj"] = wrong.modules.begin()->second;
  auto bad = MakeServedAdapter(*m->model, wrong, "wrong");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("layers.99"), std::string::npos);
}

TEST_F(LlamaParity, KvCacheDecodingEqualsFullForward) {
  auto m = LoadModel(*dir_ + "/untied_llama3_f32");
  ASSERT_TRUE(m.ok());
  torch::Tensor full = Logits(*m->model, *ids_);  // (B, T, V)
  const int64_t B = ids_->size(0), T = ids_->size(1), P = 20;
  auto cache = KVCache::Create(m->config, B, T, torch::kFloat32);
  ASSERT_TRUE(cache.ok());
  torch::NoGradGuard g;
  // Prefill P tokens, then one token at a time.
  auto h = m->model->Hidden(ids_->narrow(1, 0, P), {}, {}, &*cache);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<torch::Tensor> parts = {m->model->Logits(*h)};
  for (int64_t t = P; t < T; ++t) {
    auto step = m->model->Hidden(ids_->narrow(1, t, 1), {}, {}, &*cache);
    ASSERT_TRUE(step.ok()) << step.status().ToString();
    parts.push_back(m->model->Logits(*step));
  }
  EXPECT_EQ(cache->length(), T);
  double d = RelDiff(torch::cat(parts, 1), full);
  EXPECT_LT(d, 1e-5) << "incremental decode vs full forward: " << d;
  // A full cache refuses more tokens instead of writing out of bounds.
  auto over = m->model->Hidden(ids_->narrow(1, 0, 1), {}, {}, &*cache);
  EXPECT_FALSE(over.ok());
}

// Hidden(..., output_from): the last layer computes queries, attention and MLP only for the
// positions returned. They equal the full forward's, with and without a KV cache.
TEST_F(LlamaParity, SuffixOfPositionsEqualsTheFullForward) {
  auto m = LoadModel(*dir_ + "/untied_llama3_f32");
  ASSERT_TRUE(m.ok());
  torch::NoGradGuard g;
  auto full = m->model->Hidden(*ids_);
  ASSERT_TRUE(full.ok());
  const int64_t B = ids_->size(0), T = ids_->size(1);
  for (int64_t from : {int64_t{0}, int64_t{1}, T / 2, T - 1}) {
    auto part = m->model->Hidden(*ids_, {}, {}, nullptr, from);
    ASSERT_TRUE(part.ok()) << part.status().ToString();
    ASSERT_EQ(part->sizes().vec(), (std::vector<int64_t>{B, T - from, full->size(2)}));
    const double d = RelDiff(*part, full->narrow(1, from, T - from));
    EXPECT_LT(d, 1e-5) << "from " << from << ": " << d;
  }
  // Prefill with only the last position's output, then decode: the cache holds every position.
  const int64_t P = 20;
  auto cache = KVCache::Create(m->config, B, T, torch::kFloat32);
  ASSERT_TRUE(cache.ok());
  auto last = m->model->Hidden(ids_->narrow(1, 0, P), {}, {}, &*cache, P - 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->size(1), 1);
  EXPECT_LT(RelDiff(*last, full->narrow(1, P - 1, 1)), 1e-5);
  auto next = m->model->Hidden(ids_->narrow(1, P, 1), {}, {}, &*cache);
  ASSERT_TRUE(next.ok());
  EXPECT_LT(RelDiff(*next, full->narrow(1, P, 1)), 1e-5);
  // Out of range: one clear error, no crash.
  EXPECT_FALSE(m->model->Hidden(*ids_, {}, {}, nullptr, T).ok());
  EXPECT_FALSE(m->model->Hidden(*ids_, {}, {}, nullptr, -1).ok());
}

TEST_F(LlamaParity, LogitsAtChosenPositionsEqualFullRows) {
  auto m = LoadModel(*dir_ + "/tied_sharded_f32");
  ASSERT_TRUE(m.ok());
  torch::Tensor full = Logits(*m->model, *ids_);
  torch::NoGradGuard g;
  auto h = m->model->Hidden(*ids_);
  ASSERT_TRUE(h.ok());
  torch::Tensor rows = torch::tensor({3, 40, 73});  // flat (b*T + t)
  const int64_t T = ids_->size(1);
  torch::Tensor some = m->model->Logits(h->reshape({-1, h->size(2)}).index_select(0, rows));
  torch::Tensor want = full.reshape({-1, full.size(2)}).index_select(0, rows);
  EXPECT_LT(RelDiff(some, want), 1e-6);
  EXPECT_EQ(T, 37);
}

TEST_F(LlamaParity, CompletionLogProbsMatchReference) {
  auto m = LoadModel(*dir_ + "/untied_llama3_f32");
  ASSERT_TRUE(m.ok());
  auto adapter = LoadPeftAdapter(*dir_ + "/adapter");
  ASSERT_TRUE(adapter.ok());
  ASSERT_TRUE(AttachAdapter(*m->model, *adapter).ok());
  std::vector<ScoredSequence> batch = {{{5, 9, 200, 31, 7, 7, 100}, 3}, {{1, 2}, 1}, {{300, 12, 12, 12, 4, 88, 19, 250, 3}, 6}};
  auto got = ScoreSequences(*m->model, batch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  json data = json::array();
  for (const auto& s : batch) data.push_back({{"ids", s.ids}, {"prompt_len", s.prompt_len}});
  std::string scratch = testing::ScratchDir();
  ASSERT_TRUE(WriteFileAtomic(scratch + "/in.json", data.dump()).ok());
  auto r = testing::RunCommand(Reference() + " logprobs --model " + *dir_ + "/untied_llama3_f32 --adapter " + *dir_ +
                                   "/adapter --data " + scratch + "/in.json --out " + scratch + "/out.json",
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json want = json::parse(*ReadFile(scratch + "/out.json"));
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*got)[i].tokens, want[i]["tokens"].get<int64_t>());
    double w = want[i]["logp"].get<double>();
    EXPECT_NEAR((*got)[i].logp, w, std::abs(w) * kF32Tolerance) << "sequence " << i;
  }
}

TEST_F(LlamaParity, FoldersWrittenByTenetLoadInTheReference) {
  // Tenet writes (preset config + random weights, sharded); the reference reads and computes.
  auto config = PresetConfig("tiny", 320);
  ASSERT_TRUE(config.ok());
  config->dtype = torch::kFloat32;
  auto model = LlamaForCausalLM::Create(*config, RandomWeights(7, 0.2), ModelOptions{});
  ASSERT_TRUE(model.ok());
  std::string dir = testing::ScratchDir();
  NamedTensors tensors;
  for (const auto& p : (*model)->named_parameters()) tensors.emplace_back(p.key(), p.value());
  ASSERT_TRUE(SaveWeights(dir, tensors, 40000).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", ModelConfigToJson(*config).dump(2)).ok());
  auto ids = ids_->narrow(1, 0, 16);
  json ids_json = json::array();
  for (int64_t b = 0; b < ids.size(0); ++b) {
    json row = json::array();
    for (int64_t t = 0; t < ids.size(1); ++t) row.push_back(ids[b][t].item<int64_t>());
    ids_json.push_back(row);
  }
  auto r = testing::RunCommand(Reference() + " logits --model " + dir + " --ids '" + ids_json.dump() + "' --out " + dir +
                                   "/ref.safetensors",
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto f = SafetensorsFile::Open(dir + "/ref.safetensors");
  ASSERT_TRUE(f.ok());
  auto loaded = LoadModel(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  double d = RelDiff(Logits(*loaded->model, ids), (*f)->Get(*(*f)->Find("logits")));
  EXPECT_LT(d, kF32Tolerance) << d;
}

}  // namespace
}  // namespace tenet
