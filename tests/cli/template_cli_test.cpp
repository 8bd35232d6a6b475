// `tenet template` end to end: the Llama 3 tokenizer fixture's chat template over stdin messages,
// the flags, and one-line errors. Skipped when the tenet binary has not been built.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace tenet {
namespace {

using testing::RunCommand;
using testing::ShellQuote;

class TemplateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::TenetBin())) GTEST_FAIL() << "tenet binary not built: " << testing::TenetBin();
    dir_ = testing::ScratchDir();
  }

  // Runs `tenet template ARGS` with `stdin_text` on stdin.
  testing::CommandResult Tenet(const std::string& args, const std::string& stdin_text, bool merge_stderr = false) {
    std::string in = dir_ + "/stdin.json";
    std::ofstream(in) << stdin_text;
    return RunCommand(ShellQuote(testing::TenetBin()) + " template " + args + " < " + ShellQuote(in), merge_stderr);
  }

  std::string Tok() const { return "--tokenizer " + ShellQuote(testing::Llama3TokenizerDir()); }

  std::string dir_;
};

const char* kChat = R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi {{ there }}"}])";

TEST_F(TemplateCli, RendersTheTokenizersTemplate) {
  auto r = Tenet(Tok(), kChat);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi {{ there }}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST_F(TemplateCli, TemplateOverrideGenerationPromptAndExtraContext) {
  std::string tpl = dir_ + "/t.jinja";
  std::ofstream(tpl) << "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
                        "{% if add_generation_prompt %}[gen]{% endif %}{{ extra }}";
  auto r = Tenet(Tok() + " --template " + ShellQuote(tpl), kChat);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "<|begin_of_text|>[system]Be brief.[user]Hi {{ there }}[gen]");
  r = Tenet("--template " + ShellQuote(tpl) + " --no-generation-prompt",
            R"({"messages":[{"role":"user","content":"x"}],"extra":"!","bos_token":"B"})");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "B[user]x!");
}

TEST_F(TemplateCli, JsonHasTextAndIds) {
  auto r = Tenet(Tok() + " --json", R"([{"role":"user","content":"Hello"}])");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["text"], "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n");
  ASSERT_TRUE(j["ids"].is_array());
  ASSERT_GE(j["ids"].size(), 5u);
  EXPECT_EQ(j["ids"][0], 128000);  // <|begin_of_text|>, once: the template adds it, Encode does not
  EXPECT_NE(j["ids"][1], 128000);
}

TEST_F(TemplateCli, ErrorsAreOneLine) {
  for (const auto& [args, input, needle] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {Tok(), "not json", "stdin: not valid JSON"},
           {Tok(), R"({"no_messages": 1})", "\"messages\" array"},
           {"", kChat, "--tokenizer"},
           {"--template /nonexistent.jinja", kChat, "nonexistent.jinja"},
       }) {
    auto r = Tenet(args, input, /*merge_stderr=*/true);
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("tenet: error: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  }
  std::string tpl = dir_ + "/raise.jinja";
  std::ofstream(tpl) << "{{ raise_exception('roles must alternate') }}";
  auto r = Tenet("--template " + ShellQuote(tpl), kChat, true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("tenet: error: chat template line 1: roles must alternate"), std::string::npos) << r.out;
}

TEST_F(TemplateCli, HelpHasExamples) {
  auto r = RunCommand(ShellQuote(testing::TenetBin()) + " template --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--no-generation-prompt"), std::string::npos);
}

}  // namespace
}  // namespace tenet
