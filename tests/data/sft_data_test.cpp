// SFT data (tenet/data/sft_data.h) on Meta's Llama 3 tokenizer: the loss mask covers exactly the
// assistant turns (content + <|eot_id|>) of a multi-turn conversation and the completion of a
// prompt/completion record; duplicates, truncation and bad records; deterministic split.
#include "tenet/data/sft_data.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {
using json = nlohmann::json;

std::unique_ptr<Tokenizer> Llama3() {
  auto tok = Tokenizer::Load(testing::Llama3TokenizerDir());
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

std::string Write(const std::string& dir, const std::string& text) {
  std::ofstream(dir + "/d.jsonl") << text;
  return dir + "/d.jsonl";
}

// The text of the masked tokens, in order.
std::string Masked(const Tokenizer& tok, const SftExample& e) {
  std::vector<int32_t> ids;
  for (size_t t = 0; t < e.ids.size(); ++t)
    if (e.loss[t]) ids.push_back(e.ids[t]);
  return *tok.Decode(ids, /*skip_special=*/false);
}

TEST(SftData, LossCoversEveryAssistantTurnAndNothingElse) {
  auto tok = Llama3();
  auto enc = CompletionEncoder::Create(*tok);
  ASSERT_TRUE(enc.ok());
  const std::string dir = testing::ScratchDir();
  json conv = {{"messages", json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "PIN?"},
      {"role": "assistant", "content": "Use the app."}])")}};
  json pc = {{"prompt", "Say hi:"}, {"completion", " Hi there."}};
  SftReport report;
  auto ex = LoadSftFile(Write(dir, conv.dump() + "\n" + pc.dump() + "\n"), **enc, 1024, &report);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_EQ(ex->size(), 2u);
  EXPECT_EQ(Masked(*tok, (*ex)[0]), "Hello!<|eot_id|>Use the app.<|eot_id|>");
  // The whole sequence is the template's rendering of the conversation.
  EXPECT_EQ(*tok->Decode((*ex)[0].ids, false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi"
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nPIN?"
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nUse the app.<|eot_id|>");
  EXPECT_EQ(Masked(*tok, (*ex)[1]), " Hi there.<|end_of_text|>");
  EXPECT_EQ((*ex)[1].loss[0], 0);
  EXPECT_EQ(report.kept, 2);
}

TEST(SftData, DuplicatesTruncationAndBadRecords) {
  auto tok = Llama3();
  auto enc = CompletionEncoder::Create(*tok);
  const std::string dir = testing::ScratchDir();
  const std::string ok = R"({"prompt": "Say hi:", "completion": " Hi there, how are you today?"})";
  const std::string long_prompt = R"({"prompt": ")" + std::string(400, 'x') + R"(", "completion": " y"})";
  SftReport report;
  auto ex = LoadSftFile(Write(dir, ok + "\n" + ok + "\n" + long_prompt + "\n"), **enc, 8, &report);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  EXPECT_EQ(report.records, 3);
  EXPECT_EQ(report.duplicates, 1);
  EXPECT_EQ(report.truncated, 2);              // both kept lengths exceed 8 tokens
  EXPECT_EQ(report.empty_after_truncation, 1);  // the long prompt leaves no completion token
  ASSERT_EQ(ex->size(), 1u);
  EXPECT_EQ((*ex)[0].ids.size(), 8u);
  for (const auto& [text, expect] : std::vector<std::pair<std::string, std::string>>{
           {ok + "\n{\"prompt\": \"a\"}\n", "d.jsonl:2: record: missing \"completion\""},
           {R"({"messages": [{"role": "user", "content": "Hi"}]})", "d.jsonl:1: messages: has no assistant turn"},
           {R"({"messages": [{"role": "assistant", "content": "Hi"}]})", "d.jsonl:1: messages: start with an assistant turn"},
           {"[1, 2]", "d.jsonl:1: must be a JSON object"},
           {"{\"prompt\": \"\xc3\x28\", \"completion\": \"x\"}", "d.jsonl:1: not valid JSON"},
       }) {
    SftReport r;
    auto bad = LoadSftFile(Write(dir, text), **enc, 1024, &r);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().ToString().find(expect), std::string::npos) << bad.status().ToString();
  }
}

TEST(SftData, SplitIsDeterministicAndKeepsAPromptOnOneSide) {
  auto tok = Llama3();
  auto enc = CompletionEncoder::Create(*tok);
  const std::string dir = testing::ScratchDir();
  std::string text;
  for (int i = 0; i < 30; ++i) {
    for (int k = 0; k < 2; ++k) {  // two completions per prompt
      text += json{{"prompt", "Question " + std::to_string(i)}, {"completion", " answer " + std::to_string(k)}}.dump() + "\n";
    }
  }
  auto a = LoadSft(Write(dir, text), **enc, 1024, 0.2, 7);
  auto b = LoadSft(dir + "/d.jsonl", **enc, 1024, 0.2, 7);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test.size(), 12u);  // 6 of 30 prompts, 2 examples each
  ASSERT_EQ(a->test.size(), b->test.size());
  for (size_t i = 0; i < a->test.size(); ++i) EXPECT_EQ(a->test[i].ids, b->test[i].ids);
  for (const auto& t : a->test) {
    for (const auto& r : a->train) {
      EXPECT_NE(std::vector<int32_t>(t.ids.begin(), t.ids.begin() + 4), std::vector<int32_t>(r.ids.begin(), r.ids.begin() + 4));
    }
  }
  EXPECT_FALSE(LoadSft(dir + "/d.jsonl", **enc, 1024, 1.0, 7).ok());
}

}  // namespace
}  // namespace tenet
