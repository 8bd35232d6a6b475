// config.json parsing: real-world variants and every rejected shape of input.
#include "tenet/io/model_config.h"

#include <gtest/gtest.h>

namespace tenet {
namespace {

using json = nlohmann::json;

json Llama31_8B() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "hidden_act": "silu",
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009], "attention_bias": false, "mlp_bias": false})");
}

Result<ModelConfig> Parse(const json& j) { return ParseModelConfig(j.dump(), "config.json"); }

void ExpectError(const json& j, Status::Code code, const std::string& needle) {
  auto r = Parse(j);
  ASSERT_FALSE(r.ok()) << "expected error containing " << needle;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind("config.json", 0), 0u) << "error must start with the file: " << r.status().ToString();
}

TEST(ModelConfig, ParsesLlama31) {
  auto c = Parse(Llama31_8B());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_EQ(c->kv_groups(), 4);
  EXPECT_EQ(c->rope_scaling.type, "llama3");
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c->dtype, torch::kBFloat16);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_FALSE(c->qkv_bias);
}

TEST(ModelConfig, RopeParametersFormAndDefaults) {
  json j = Llama31_8B();
  j.erase("rope_scaling");
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 250000.0}, {"factor", 32.0},
                          {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  auto c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rope_theta, 250000.0);
  EXPECT_EQ(c->rope_scaling.factor, 32.0);
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
  c = Parse(j);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rope_scaling.type, "default");
  j.erase("num_key_value_heads");
  j.erase("torch_dtype");
  c = Parse(j);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->num_key_value_heads, 32);
  EXPECT_EQ(c->dtype, torch::kFloat32);
}

TEST(ModelConfig, MistralAndQwen2) {
  json j = Llama31_8B();
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = nullptr;
  EXPECT_TRUE(Parse(j).ok());
  j["architectures"] = {"Qwen2ForCausalLM"};
  auto c = Parse(j);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_FALSE(c->o_bias);
}

TEST(ModelConfig, RoundTripsThroughJson) {
  auto c = Parse(Llama31_8B());
  ASSERT_TRUE(c.ok());
  auto c2 = Parse(ModelConfigToJson(*c));
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  EXPECT_EQ(c2->rope_scaling.factor, 8.0);
  EXPECT_EQ(c2->eos_token_ids, c->eos_token_ids);
  EXPECT_EQ(c2->head_dim, 128);
}

TEST(ModelConfig, RejectsBadInput) {
  using C = Status::Code;
  ExpectError(json::parse("[1]"), C::kInvalidArgument, "JSON object");
  EXPECT_EQ(ParseModelConfig("{oops", "config.json").status().code(), C::kInvalidArgument);
  json j = Llama31_8B();
  j["architectures"] = {"GPT2LMHeadModel"};
  ExpectError(j, C::kUnimplemented, "GPT2LMHeadModel");
  j = Llama31_8B();
  j["rope_scaling"]["rope_type"] = "yarn";
  ExpectError(j, C::kUnimplemented, "yarn");
  j = Llama31_8B();
  j["rope_scaling"].erase("low_freq_factor");
  ExpectError(j, C::kInvalidArgument, "low_freq_factor");
  j = Llama31_8B();
  j.erase("hidden_size");
  ExpectError(j, C::kInvalidArgument, "hidden_size");
  j = Llama31_8B();
  j["num_hidden_layers"] = -2;
  ExpectError(j, C::kInvalidArgument, "num_hidden_layers");
  j = Llama31_8B();
  j["num_key_value_heads"] = 5;
  ExpectError(j, C::kInvalidArgument, "multiple of num_key_value_heads");
  j = Llama31_8B();
  j["hidden_act"] = "gelu";
  ExpectError(j, C::kUnimplemented, "gelu");
  j = Llama31_8B();
  j["torch_dtype"] = "int4";
  ExpectError(j, C::kInvalidArgument, "int4");
  j = Llama31_8B();
  j["eos_token_id"] = "x";
  ExpectError(j, C::kInvalidArgument, "eos_token_id");
  j = Llama31_8B();
  j["vocab_size"] = 1.5;
  ExpectError(j, C::kInvalidArgument, "vocab_size");
}

}  // namespace
}  // namespace tenet
