// `tenet tokenize` / `tenet detokenize` end to end: output format, stdin JSONL, exit codes and the
// one-line error naming the bad input line. Uses Meta's Llama 3 tokenizer from the npm fixture.
//
// Not for: tokenizer correctness (tokenizer_test.cpp, tokenizer_parity_test.cpp).
#include <gtest/gtest.h>

#include <string>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using testing::RunCommand;
using testing::ShellQuote;

class TokenizeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(JoinPath(testing::Llama3TokenizerDir(), "tokenizer.json"))) {
      GTEST_FAIL() << "npm fixtures missing: run `npm ci` in tests/node";
    }
    if (!FileExists(testing::TenetBin())) GTEST_FAIL() << "tenet binary not built: " << testing::TenetBin();
  }
  // Runs `tenet <args>` with `stdin_text` piped in.
  testing::CommandResult Tenet(const std::string& args, const std::string& stdin_text = "", bool merge_stderr = false) {
    return RunCommand("printf '%s' " + ShellQuote(stdin_text) + " | " + ShellQuote(testing::TenetBin()) + " " + args,
                      merge_stderr);
  }
  std::string dir_ = ShellQuote(testing::Llama3TokenizerDir());
};

TEST_F(TokenizeCliTest, TextFlagPrintsOneArray) {
  auto r = Tenet("tokenize --tokenizer " + dir_ + " --text \"What's the APR on my card?\"");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "[3923,596,279,53526,389,856,3786,30]\n");
}

TEST_F(TokenizeCliTest, StdinJsonlWithFlags) {
  auto r = Tenet("tokenize --tokenizer " + dir_ + " --add-bos --tokens", "\"Hello<|eot_id|>\"\n\"\"\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "{\"ids\":[128000,9906,128009],\"tokens\":[\"<|begin_of_text|>\",\"Hello\",\"<|eot_id|>\"]}\n"
            "{\"ids\":[128000],\"tokens\":[\"<|begin_of_text|>\"]}\n");
  auto plain = Tenet("tokenize --tokenizer " + dir_ + " --no-special", "\"<|eot_id|>\"\n");
  EXPECT_EQ(plain.out, "[27,91,68,354,851,91,29]\n");
}

TEST_F(TokenizeCliTest, BadLineIsOneErrorAndExitOne) {
  auto r = Tenet("tokenize --tokenizer " + dir_, "\"ok\"\n[1]\n\"never\"\n", /*merge_stderr=*/true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "[564]\ntenet: error: line 2: expected a JSON string\n");
  auto d = Tenet("detokenize --tokenizer " + dir_, "[9906]\n[1, 128256]\n", true);
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.out.find("tenet: error: line 2: id 128256"), std::string::npos) << d.out;
  auto missing = Tenet("tokenize --tokenizer /nonexistent/dir --text x", "", true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("tenet: error: /nonexistent/dir"), std::string::npos) << missing.out;
}

TEST_F(TokenizeCliTest, DetokenizeRoundTripAndSkipSpecial) {
  auto ids = Tenet("tokenize --tokenizer " + dir_, "\"caf\\u00e9 \\ud83d\\ude00 line\\nbreak\"\n");
  ASSERT_EQ(ids.exit_code, 0);
  auto text = Tenet("detokenize --tokenizer " + dir_, ids.out);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_EQ(text.out, "\"café 😀 line\\nbreak\"\n");
  auto skip = Tenet("detokenize --tokenizer " + dir_ + " --skip-special --ids '[128000, 9906, 128009]'");
  EXPECT_EQ(skip.out, "\"Hello\"\n");
}

TEST_F(TokenizeCliTest, HelpHasExamples) {
  auto r = Tenet("tokenize --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  auto d = Tenet("detokenize --help");
  EXPECT_NE(d.out.find("Examples:"), std::string::npos);
}

}  // namespace
}  // namespace tenet
