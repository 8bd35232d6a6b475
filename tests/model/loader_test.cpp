// Model folders that disagree with their config.json, and adapters that disagree with their model:
// each is one clear error naming the file and the tensor, never a crash or a silent wrong answer.
#include "tenet/model/loader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tenet/io/hf_folder.h"
#include "tenet/model/adapter.h"
#include "tenet/model/presets.h"
#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;

// Writes a tiny random model (vocab 50) into a fresh folder; `edit` may change the tensors.
std::string WriteTinyModel(const std::function<void(NamedTensors&, json&)>& edit = nullptr) {
  auto config = PresetConfig("tiny", 50);
  EXPECT_TRUE(config.ok());
  config->dtype = torch::kFloat32;
  auto model = LlamaForCausalLM::Create(*config, RandomWeights(3), ModelOptions{});
  EXPECT_TRUE(model.ok());
  NamedTensors tensors;
  for (const auto& p : (*model)->named_parameters()) tensors.emplace_back(p.key(), p.value());
  json cfg = ModelConfigToJson(*config);
  if (edit) edit(tensors, cfg);
  std::string dir = testing::ScratchDir();
  EXPECT_TRUE(SaveWeights(dir, tensors).ok());
  EXPECT_TRUE(WriteFileAtomic(JoinPath(dir, "config.json"), cfg.dump()).ok());
  return dir;
}

void ExpectLoadFails(const std::string& dir, const std::string& needle) {
  auto m = LoadModel(dir);
  ASSERT_FALSE(m.ok()) << "expected an error containing: " << needle;
  EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status().ToString();
}

TEST(Loader, LoadsAndConvertsDtype) {
  std::string dir = WriteTinyModel();
  auto m = LoadModel(dir);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->model->dtype(), torch::kFloat32);
  LoadOptions bf16;
  bf16.dtype = torch::kBFloat16;
  auto b = LoadModel(dir, bf16);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->model->dtype(), torch::kBFloat16);
  for (const auto& p : b->model->named_parameters()) EXPECT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
}

TEST(Loader, MissingFolderAndConfig) {
  EXPECT_EQ(LoadModel("/nonexistent/model").status().code(), Status::Code::kNotFound);
  std::string dir = WriteTinyModel();
  std::filesystem::remove(JoinPath(dir, "config.json"));
  ExpectLoadFails(dir, "config.json");
}

TEST(Loader, MissingTensor) {
  std::string dir = WriteTinyModel([](NamedTensors& t, json&) {
    std::erase_if(t, [](const auto& nt) { return nt.first == "model.layers.1.mlp.up_proj.weight"; });
  });
  ExpectLoadFails(dir, "missing tensor 'model.layers.1.mlp.up_proj.weight'");
}

TEST(Loader, ShapeThatDisagreesWithConfig) {
  std::string dir = WriteTinyModel([](NamedTensors&, json& cfg) { cfg["intermediate_size"] = 128; });
  ExpectLoadFails(dir, "config.json implies [128, 64]");
}

TEST(Loader, TensorsTheConfigDoesNotExplain) {
  std::string dir = WriteTinyModel([](NamedTensors&, json& cfg) { cfg["num_hidden_layers"] = 1; });
  ExpectLoadFails(dir, "unexpected tensor 'model.layers.1.");
  // Tied config with an lm_head present is fine (HF ignores it).
  dir = WriteTinyModel([](NamedTensors&, json& cfg) { cfg["tie_word_embeddings"] = true; });
  EXPECT_TRUE(LoadModel(dir).ok());
}

TEST(Loader, NonFloatWeights) {
  std::string dir = WriteTinyModel([](NamedTensors& t, json&) {
    for (auto& nt : t)
      if (nt.first == "model.norm.weight") nt.second = nt.second.to(torch::kInt32);
  });
  ExpectLoadFails(dir, "non-float");
}

TEST(Loader, UnknownArchitectureAndRope) {
  std::string dir = WriteTinyModel([](NamedTensors&, json& cfg) { cfg["architectures"] = {"FalconForCausalLM"}; });
  ExpectLoadFails(dir, "FalconForCausalLM");
  dir = WriteTinyModel([](NamedTensors&, json& cfg) { cfg["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2}}; });
  ExpectLoadFails(dir, "longrope");
}

TEST(Loader, BadGenerationConfig) {
  std::string dir = WriteTinyModel();
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "generation_config.json"), R"({"eos_token_id": [1, 999]})").ok());
  ExpectLoadFails(dir, "outside the vocabulary");
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "generation_config.json"), R"({"eos_token_id": [1, 2]})").ok());
  auto m = LoadModel(dir);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->eos_token_ids, (std::vector<int64_t>{1, 2}));
}

TEST(Loader, InputIdsOutsideVocabularyAreRejected) {
  auto m = LoadModel(WriteTinyModel());
  ASSERT_TRUE(m.ok());
  torch::NoGradGuard g;
  EXPECT_FALSE(m->model->Hidden(torch::tensor({{1, 50}})).ok());
  EXPECT_FALSE(m->model->Hidden(torch::tensor({{-1}})).ok());
  EXPECT_FALSE(m->model->Hidden(torch::zeros({1, 0}, torch::kInt64)).ok());
}

// ---------------------------------------------------------------- PEFT adapters
LoraAdapter SomeAdapter(int64_t in = 64, int64_t out = 64) {
  LoraAdapter a;
  a.config.r = 2;
  a.config.lora_alpha = 4;
  a.config.target_modules = {"q_proj"};
  a.modules["model.layers.0.self_attn.q_proj"] = {torch::randn({2, in}), torch::randn({out, 2})};
  return a;
}

TEST(Adapter, SaveLoadRoundTripInPeftLayout) {
  std::string dir = testing::ScratchDir();
  ASSERT_TRUE(SavePeftAdapter(dir, SomeAdapter()).ok());
  auto f = SafetensorsFile::Open(JoinPath(dir, "adapter_model.safetensors"));
  ASSERT_TRUE(f.ok());
  EXPECT_NE((*f)->Find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), nullptr);
  auto cfg = json::parse(*ReadFile(JoinPath(dir, "adapter_config.json")));
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["task_type"], "CAUSAL_LM");
  auto back = LoadPeftAdapter(dir);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->config.r, 2);
  EXPECT_DOUBLE_EQ(LoraScale(back->config, "model.layers.0.self_attn.q_proj", 2), 2.0);
}

TEST(Adapter, AlphaPatternAndRsLoraScales) {
  LoraConfig c;
  c.r = 16;
  c.lora_alpha = 32;
  c.alpha_pattern = {{"v_proj", 8.0}};
  EXPECT_DOUBLE_EQ(LoraScale(c, "model.layers.3.self_attn.q_proj", 16), 2.0);
  EXPECT_DOUBLE_EQ(LoraScale(c, "model.layers.3.self_attn.v_proj", 16), 0.5);
  c.use_rslora = true;
  EXPECT_DOUBLE_EQ(LoraScale(c, "model.layers.3.self_attn.q_proj", 16), 8.0);
}

TEST(Adapter, RejectsAdaptersThatDoNotFit) {
  auto m = LoadModel(WriteTinyModel());
  ASSERT_TRUE(m.ok());
  LoraAdapter wrong_shape = SomeAdapter(32, 64);
  Status s = AttachAdapter(*m->model, wrong_shape);
  EXPECT_NE(s.message().find("expects a layer of 32"), std::string::npos) << s.ToString();
  LoraAdapter wrong_module = SomeAdapter();
  wrong_module.modules["model.layers.9.self_attn.q_proj"] = wrong_module.modules.begin()->second;
  s = AttachAdapter(*m->model, wrong_module);
  EXPECT_NE(s.message().find("model.layers.9"), std::string::npos) << s.ToString();
  for (const auto& [_, l] : m->model->linears()) EXPECT_FALSE(l->has_lora()) << "nothing attached on error";
}

TEST(Adapter, RejectsBadFolders) {
  std::string dir = testing::ScratchDir();
  EXPECT_FALSE(LoadPeftAdapter(JoinPath(dir, "missing")).ok());
  ASSERT_TRUE(SavePeftAdapter(dir, SomeAdapter()).ok());
  auto with_config = [&](const std::string& cfg) {
    EXPECT_TRUE(WriteFileAtomic(JoinPath(dir, "adapter_config.json"), cfg).ok());
    return LoadPeftAdapter(dir).status();
  };
  EXPECT_EQ(with_config(R"({"peft_type": "LORA", "r": 2, "use_dora": true})").code(), Status::Code::kUnimplemented);
  EXPECT_EQ(with_config(R"({"peft_type": "IA3", "r": 2})").code(), Status::Code::kUnimplemented);
  EXPECT_EQ(with_config(R"({"peft_type": "LORA", "r": 0})").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(with_config(R"({"peft_type": "LORA", "r": 2, "bias": "all"})").code(), Status::Code::kUnimplemented);
  EXPECT_EQ(with_config("not json").code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "adapter_config.json"), R"({"peft_type": "LORA", "r": 2})").ok());
  // lora_A without lora_B
  ASSERT_TRUE(SaveSafetensors(JoinPath(dir, "adapter_model.safetensors"),
                              {{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", torch::ones({2, 64})}})
                  .ok());
  Status s = LoadPeftAdapter(dir).status();
  EXPECT_NE(s.message().find("only one of lora_A and lora_B"), std::string::npos) << s.ToString();
  // rank mismatch
  ASSERT_TRUE(SaveSafetensors(JoinPath(dir, "adapter_model.safetensors"),
                              {{"base_model.model.m.lora_A.weight", torch::ones({2, 64})},
                               {"base_model.model.m.lora_B.weight", torch::ones({64, 3})}})
                  .ok());
  s = LoadPeftAdapter(dir).status();
  EXPECT_NE(s.message().find("rank"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace tenet
