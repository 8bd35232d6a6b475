// `tenet compare` end to end: base vs base + adapter and model folders, answers equal to
// `tenet generate` at temperature 0, implicit rewards equal to beta x the difference of
// `tenet score` log-probs, byte-identical files for the same seed, the report written, bad flags
// and bad question files refused.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ShellQuote;

std::string Tenet(const std::string& args) { return testing::TenetCommand(args); }
std::vector<json> Lines(const std::string& path) { return testing::ParseJsonLines(*ReadFile(path)); }

const json& AnswersOf(const json& line, const std::string& system) {
  for (const auto& a : line["answers"])
    if (a["system"] == system) return a["samples"];
  static const json kNone = json::array();
  ADD_FAILURE() << "no system " << system << " in " << line.dump();
  return kNone;
}

class CompareCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    model_ = new std::string(testing::CliTinyModel(&log));
    ASSERT_FALSE(model_->empty()) << log;
    adapter_dir_ = new std::string(testing::ScratchDir());
    auto mk = RunCommand("/usr/bin/python3 " + ShellQuote(testing::SourceDir() + "/tests/reference/llama_reference.py") +
                             " make-adapter --model " + *model_ + " --out " + *adapter_dir_ + "/adapter",
                         true);
    ASSERT_EQ(mk.exit_code, 0) << mk.out;
  }
  static void TearDownTestSuite() {
    delete model_;
    delete adapter_dir_;
  }
  void SetUp() override {
    dir_ = testing::ScratchDir();
    std::ofstream(dir_ + "/q.txt") << "What's the APR on my card?\nHow do I reset my PIN?\nTell me a joke about bankers.\n";
    std::ofstream(dir_ + "/values.md") << "You are Example Bank's assistant: helpful, honest, on-brand.\n";
  }
  std::string adapter() const { return *adapter_dir_ + "/adapter"; }
  std::string Compare(const std::string& extra) {
    return Tenet("compare --model " + *model_ + " --dtype float32 --questions " + dir_ + "/q.txt --system " + dir_ +
                 "/values.md " + extra);
  }
  static std::string* model_;
  static std::string* adapter_dir_;
  std::string dir_;
};
std::string* CompareCli::model_ = nullptr;
std::string* CompareCli::adapter_dir_ = nullptr;

TEST_F(CompareCli, AdapterAnswersEqualGenerateAndRewardsEqualScoreDifferences) {
  auto r = RunCommand(Compare("--adapter " + adapter() + " --max-new-tokens 8 --temperature 0 --beta 0.5 --out " + dir_ +
                              "/rep 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto lines = Lines(dir_ + "/rep/comparison.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["id"], "q1");
  EXPECT_EQ(lines[2]["question"], "Tell me a joke about bankers.");
  auto summary = json::parse(*ReadFile(dir_ + "/rep/summary.json"));
  EXPECT_EQ(summary["reference"], "before");
  ASSERT_EQ(summary["systems"].size(), 2u);
  EXPECT_EQ(summary["systems"][1]["name"], "after");
  EXPECT_EQ(summary["systems"][1]["adapter"], adapter());
  EXPECT_EQ(summary["beta"], 0.5);
  EXPECT_EQ(summary["stats"]["after"]["answers"], 3);
  const std::string html = *ReadFile(dir_ + "/rep/report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);

  // The same answers through `tenet generate` (base, and with the adapter attached).
  for (const std::string system : {"before", "after"}) {
    const std::string flag = system == "after" ? " --adapter " + adapter() : "";
    auto g = RunCommand(Tenet("generate --model " + *model_ + flag + " --dtype float32 --questions " + dir_ + "/q.txt --system " +
                              dir_ + "/values.md --samples 1 --max-new-tokens 8 --temperature 0 --out " + dir_ + "/" + system +
                              ".jsonl 2>&1"));
    ASSERT_EQ(g.exit_code, 0) << g.out;
    std::map<std::string, std::string> want;
    for (const auto& l : Lines(dir_ + "/" + system + ".jsonl")) want[l["id"]] = l["responses"][0];
    for (const auto& l : lines) EXPECT_EQ(AnswersOf(l, system)[0]["text"], want[l["id"]]) << system << " " << l["id"];
  }

  // reward = beta (log pi_after(y|x) - log pi_before(y|x)), each log-prob as `tenet score` gives it.
  std::string records;
  std::vector<json> answers;
  for (const auto& l : lines) {
    for (const std::string system : {"before", "after"}) {
      const json& a = AnswersOf(l, system)[0];
      records += json{{"messages", l["messages"]}, {"completion", a["text"]}}.dump() + "\n";
      answers.push_back(a);
    }
  }
  std::ofstream(dir_ + "/records.jsonl") << records;
  auto base = RunCommand(Tenet("score --model " + *model_ + " --dtype float32 --data " + dir_ + "/records.jsonl 2>/dev/null"));
  auto tuned = RunCommand(Tenet("score --model " + *model_ + " --adapter " + adapter() + " --dtype float32 --data " + dir_ +
                                "/records.jsonl 2>/dev/null"));
  ASSERT_EQ(base.exit_code, 0) << base.out;
  ASSERT_EQ(tuned.exit_code, 0) << tuned.out;
  auto b = testing::ParseJsonLines(base.out), t = testing::ParseJsonLines(tuned.out);
  ASSERT_EQ(b.size(), answers.size());
  ASSERT_EQ(t.size(), answers.size());
  double spread = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    const double want = 0.5 * (t[i]["logp"].get<double>() - b[i]["logp"].get<double>());
    const double got = answers[i]["reward"]["after"].get<double>();
    EXPECT_NEAR(got, want, 1e-3 * (1 + std::abs(want))) << i;
    spread += std::abs(want);
    EXPECT_NEAR(answers[i]["logp_per_token"].get<double>() * static_cast<double>(t[i]["tokens"].get<int64_t>()),
                (i % 2 ? t[i] : b[i])["logp"].get<double>(), 1e-3)
        << "logp under the answer's own system, per scored token";
  }
  EXPECT_GT(spread, 1e-3) << "the adapter changes the log-probs, so rewards are not all 0";
}

TEST_F(CompareCli, SameSeedSameFilesAndTwoModelFolders) {
  const std::string common = "--adapter " + adapter() + " --samples 2 --max-new-tokens 6 --temperature 1 ";
  ASSERT_EQ(RunCommand(Compare(common + "--seed 3 --out " + dir_ + "/a 2>&1")).exit_code, 0);
  ASSERT_EQ(RunCommand(Compare(common + "--seed 3 --out " + dir_ + "/b 2>&1")).exit_code, 0);
  ASSERT_EQ(RunCommand(Compare(common + "--seed 4 --out " + dir_ + "/c 2>&1")).exit_code, 0);
  EXPECT_EQ(*ReadFile(dir_ + "/a/comparison.jsonl"), *ReadFile(dir_ + "/b/comparison.jsonl"));
  EXPECT_NE(*ReadFile(dir_ + "/a/comparison.jsonl"), *ReadFile(dir_ + "/c/comparison.jsonl"));
  EXPECT_EQ(AnswersOf(Lines(dir_ + "/a/comparison.jsonl")[0], "after").size(), 2u);

  // --before/--after over folders: a merged adapter is a model of its own; several --after.
  auto m = RunCommand(Tenet("merge --model " + *model_ + " --adapter " + adapter() + " --out " + dir_ + "/merged 2>&1"));
  ASSERT_EQ(m.exit_code, 0) << m.out;
  auto r = RunCommand(Tenet("compare --before " + *model_ + " --after v1=" + dir_ + "/merged --after " + *model_ +
                            " --dtype float32 --questions " + dir_ + "/q.txt --max-new-tokens 4 --temperature 0 --out " + dir_ +
                            "/folders 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto summary = json::parse(*ReadFile(dir_ + "/folders/summary.json"));
  ASSERT_EQ(summary["systems"].size(), 3u);
  EXPECT_EQ(summary["systems"][1]["name"], "v1");
  EXPECT_EQ(summary["systems"][2]["name"], "after2");
  for (const auto& l : Lines(dir_ + "/folders/comparison.jsonl")) {
    // The base compared with itself: the same greedy answers, reward 0.
    EXPECT_EQ(AnswersOf(l, "after2")[0]["text"], AnswersOf(l, "before")[0]["text"]);
    EXPECT_NEAR(AnswersOf(l, "before")[0]["reward"]["after2"].get<double>(), 0.0, 1e-6);
    EXPECT_TRUE(AnswersOf(l, "v1")[0]["reward"].contains("v1"));
  }
}

TEST_F(CompareCli, BadFlagsAndQuestionsAreOneClearError) {
  auto expect_error = [&](const std::string& cmd, const std::string& needle) {
    auto r = RunCommand(cmd + " 2>&1");
    EXPECT_NE(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find(needle), std::string::npos) << cmd << "\n" << r.out;
    EXPECT_EQ(r.out.find("terminate"), std::string::npos) << r.out;
  };
  expect_error(Compare("--out " + dir_ + "/x"), "needs --adapter or --run");
  expect_error(Compare("--before " + *model_ + " --adapter " + adapter() + " --out " + dir_ + "/x"), "give --model");
  expect_error(Compare("--after " + *model_ + " --out " + dir_ + "/x"), "--after");
  expect_error(Compare("--adapter " + dir_ + "/nothing --out " + dir_ + "/x"), "nothing");
  expect_error(Compare("--run " + dir_ + "/no-run --out " + dir_ + "/x"), "no such run folder");
  expect_error(Compare("--adapter " + adapter() + " --beta -1 --out " + dir_ + "/x"), "beta");
  std::ofstream(dir_ + "/dup.jsonl") << R"({"id": "a", "question": "x"})" << "\n" << R"({"id": "a", "question": "y"})" << "\n";
  expect_error(Tenet("compare --model " + *model_ + " --adapter " + adapter() + " --questions " + dir_ + "/dup.jsonl --out " +
                     dir_ + "/x"),
               "dup.jsonl");
  expect_error(Compare("--adapter " + adapter() + " --max-new-tokens 200000 --out " + dir_ + "/x"), "question q1");
  EXPECT_FALSE(FileExists(dir_ + "/x/comparison.jsonl"));
}

}  // namespace
}  // namespace tenet
