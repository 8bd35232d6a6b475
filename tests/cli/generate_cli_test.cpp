// `tenet generate` end to end: output shape, greedy forks, seeds, stop strings, the manifest,
// resume after a torn write, and hostile question files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ShellQuote;

std::string Tenet(const std::string& args) { return testing::TenetCommand(args); }

// The line for question `id` (lines come in completion order, not input order).
json LineFor(const std::vector<json>& lines, const std::string& id) {
  for (const auto& l : lines)
    if (l["id"] == id) return l;
  return nullptr;
}

std::vector<json> Lines(const std::string& path) { return testing::ParseJsonLines(*ReadFile(path)); }

class GenerateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    model_ = new std::string(testing::CliTinyModel(&log));
    ASSERT_FALSE(model_->empty()) << log;
  }
  static void TearDownTestSuite() { delete model_; }
  void SetUp() override {
    dir_ = testing::ScratchDir();
    std::ofstream(dir_ + "/q.txt") << "# Example Bank questions\nWhat's the APR on my card?\n\nHow do I reset my PIN?\n"
                                   << "Tell me a joke about bankers.\n";
    std::ofstream(dir_ + "/values.md") << "You are Example Bank's assistant: helpful, honest, on-brand.\n";
  }
  std::string Gen(const std::string& extra) {
    return Tenet("generate --model " + *model_ + " --dtype float32 --questions " + dir_ + "/q.txt --system " + dir_ +
                 "/values.md " + extra);
  }
  static std::string* model_;
  std::string dir_;
};
std::string* GenerateCli::model_ = nullptr;

TEST_F(GenerateCli, WritesOneLinePerQuestionWithGreedyForks) {
  auto r = RunCommand(Gen("--samples 3 --max-new-tokens 6 --temperature 0 --out " + dir_ + "/o.jsonl --manifest " + dir_ +
                          "/m.jsonl 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto lines = Lines(dir_ + "/o.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  std::set<std::string> ids;
  for (const auto& l : lines) {
    ids.insert(l["id"].get<std::string>());
    ASSERT_EQ(l["responses"].size(), 3u);
    EXPECT_EQ(l["responses"][0], l["responses"][1]) << "temperature 0: forks are identical";
    EXPECT_EQ(l["messages"][0]["role"], "system");
    EXPECT_EQ(l["messages"][1]["role"], "user");
    for (const auto& d : l["details"]) {
      EXPECT_LE(d["tokens"].get<int>(), 6);
      EXPECT_TRUE(d["finish_reason"] == "stop" || d["finish_reason"] == "length");
    }
    EXPECT_EQ(l["sampling"]["temperature"], 0.0);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"q2", "q4", "q5"}));
  auto manifest = Lines(dir_ + "/m.jsonl");
  ASSERT_EQ(manifest.size(), 3u);
  EXPECT_TRUE(manifest[0].contains("source"));
  EXPECT_EQ(manifest[0]["responses"].size(), 3u);
}

TEST_F(GenerateCli, SeedsReproduceAndDiffer) {
  auto run = [&](const std::string& name, int seed) {
    auto r = RunCommand(Gen("--samples 2 --max-new-tokens 8 --temperature 1 --top-p 0.9 --seed " + std::to_string(seed) +
                            " --out " + dir_ + "/" + name + " 2>&1"));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    json by_id;
    for (const auto& l : Lines(dir_ + "/" + name)) by_id[l["id"].get<std::string>()] = l["responses"];
    return by_id;
  };
  json a = run("a.jsonl", 3), b = run("b.jsonl", 3), c = run("c.jsonl", 4);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a["q2"][0], a["q2"][1]) << "the samples of one question differ";
}

TEST_F(GenerateCli, ResumesAfterATornWrite) {
  const std::string out = dir_ + "/o.jsonl";
  auto r = RunCommand(Gen("--samples 2 --max-new-tokens 5 --temperature 0 --out " + out + " 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto full = Lines(out);
  // Simulate a run killed mid-write: one whole line, then half of the next.
  std::string text = *ReadFile(out);
  size_t first = text.find('\n');
  ASSERT_TRUE(WriteFileAtomic(out, text.substr(0, first + 1 + (text.find('\n', first + 1) - first) / 2)).ok());
  // Without --resume an existing file is refused.
  auto refused = RunCommand(Gen("--samples 2 --max-new-tokens 5 --temperature 0 --out " + out + " 2>&1"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.out.find("--resume"), std::string::npos) << refused.out;
  auto resumed = RunCommand(Gen("--samples 2 --max-new-tokens 5 --temperature 0 --resume --out " + out + " 2>&1"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("2 questions to answer (1 already done)"), std::string::npos) << resumed.out;
  auto after = Lines(out);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0], full[0]) << "finished lines are kept as they were";
  std::map<std::string, json> want, got;
  for (const auto& l : full) want[l["id"]] = l["responses"];
  for (const auto& l : after) got[l["id"]] = l["responses"];
  EXPECT_EQ(got, want) << "resumed questions give the same answers (per-question seeds)";
}

TEST_F(GenerateCli, ResumesAfterKillDashNine) {
  {
    std::ofstream q(dir_ + "/many.txt");
    for (int i = 0; i < 16; ++i) q << "Question number " << i << ": how do I open an account?\n";
  }
  const std::string args = "generate --model " + *model_ + " --dtype float32 --questions " + dir_ +
                           "/many.txt --samples 2 --slots 2 --max-new-tokens 150 --temperature 0.8 --seed 11 --out ";
  const std::string out = dir_ + "/killed.jsonl";
  // Start a run, wait for its first finished question, then kill -9 it mid-file.
  auto started = RunCommand(Tenet(args + out) + " >/dev/null 2>&1 & echo $!");
  const std::string pid = started.out.substr(0, started.out.find('\n'));
  for (int i = 0; i < 600 && (!FileExists(out) || ReadFile(out)->find('\n') == std::string::npos); ++i) {
    RunCommand("sleep 0.05");
  }
  RunCommand("kill -9 " + pid + "; sleep 0.2");
  const size_t before = Lines(out).size();
  ASSERT_GE(before, 1u);
  ASSERT_LT(before, 16u) << "the run finished before it could be killed; make it longer";
  auto resumed = RunCommand(Tenet(args + out + " --resume 2>&1"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  auto full = RunCommand(Tenet(args + dir_ + "/full.jsonl 2>&1"));
  ASSERT_EQ(full.exit_code, 0) << full.out;
  std::map<std::string, json> got, want;
  for (const auto& l : Lines(out)) {
    EXPECT_TRUE(got.emplace(l["id"], l["responses"]).second) << "question " << l["id"] << " written twice";
  }
  for (const auto& l : Lines(dir_ + "/full.jsonl")) want[l["id"]] = l["responses"];
  EXPECT_EQ(got.size(), 16u);
  EXPECT_EQ(got, want) << "killed + resumed equals one uninterrupted run";
}

TEST_F(GenerateCli, StopStringsCutTheText) {
  auto r = RunCommand(Gen("--samples 1 --max-new-tokens 12 --temperature 0 --out " + dir_ + "/free.jsonl 2>&1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string text = LineFor(Lines(dir_ + "/free.jsonl"), "q2")["responses"][0];
  ASSERT_GE(text.size(), 4u);
  // One whole character from the middle of the answer.
  size_t p = text.size() / 2, e = p + 1;
  while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  e = p + 1;
  while (e < text.size() && (static_cast<unsigned char>(text[e]) & 0xC0) == 0x80) ++e;
  std::string stop = text.substr(p, e - p);
  auto s = RunCommand(Gen("--samples 1 --max-new-tokens 12 --temperature 0 --stop " + ShellQuote(stop) + " --out " + dir_ +
                          "/stop.jsonl 2>&1"));
  ASSERT_EQ(s.exit_code, 0) << s.out;
  auto line = LineFor(Lines(dir_ + "/stop.jsonl"), "q2");
  EXPECT_EQ(line["responses"][0], text.substr(0, text.find(stop)));
  EXPECT_EQ(line["details"][0]["finish_reason"], "stop");
}

TEST_F(GenerateCli, ChatStreamsTheSameAnswerAsGenerate) {
  auto gen = RunCommand(Gen("--samples 1 --max-new-tokens 6 --temperature 0 --out " + dir_ + "/g.jsonl 2>&1"));
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  std::string want = LineFor(Lines(dir_ + "/g.jsonl"), "q2")["responses"][0];
  // Same question twice around a /reset: both answers equal generate's (greedy, same prompt).
  std::ofstream(dir_ + "/chat.txt") << "What's the APR on my card?\n/reset\nWhat's the APR on my card?\n/exit\nignored\n";
  auto chat = RunCommand(Tenet("chat --model " + *model_ + " --dtype float32 --system " + dir_ +
                               "/values.md --temperature 0 --max-new-tokens 6 < " + dir_ + "/chat.txt"));
  ASSERT_EQ(chat.exit_code, 0) << chat.out;
  EXPECT_EQ(chat.out, want + "\n" + want + "\n");
  auto bad = RunCommand(Tenet("chat --model /nonexistent < /dev/null 2>&1"));
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
}

TEST_F(GenerateCli, HostileQuestionFiles) {
  auto expect_error = [&](const std::string& questions, const std::string& needle, const std::string& extra = "") {
    std::ofstream(dir_ + "/bad.txt") << questions;
    auto r = RunCommand(Tenet("generate --model " + *model_ + " --questions " + dir_ + "/bad.txt --out " + dir_ +
                              "/bad.jsonl " + extra + " 2>&1 >/dev/null"));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.out;
    std::filesystem::remove(dir_ + "/bad.jsonl");
  };
  expect_error("", "holds no questions");
  expect_error("# only comments\n\n", "holds no questions");
  expect_error("{\"id\": 1, \"question\": \"a\"}\n{\"id\": 1, \"question\": \"b\"}\n", "duplicate id");
  expect_error("{\"id\": 1}\n", "needs a non-empty \"question\"");
  expect_error("{\"id\": 1, \"question\": \"a\"}\nnot json\n", "bad.txt:2");
  // A question far beyond the context: a model with a 2048-token context and a 100k-character question.
  std::string small = dir_ + "/small-ctx";
  std::filesystem::copy(*model_, small);
  auto cfg = json::parse(*ReadFile(small + "/config.json"));
  cfg["max_position_embeddings"] = 2048;
  ASSERT_TRUE(WriteFileAtomic(small + "/config.json", cfg.dump()).ok());
  std::ofstream(dir_ + "/long.txt") << std::string(100000, 'a') << " b\n";
  auto r = RunCommand(Tenet("generate --model " + small + " --questions " + dir_ + "/long.txt --out " + dir_ +
                            "/long.jsonl 2>&1 >/dev/null"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("exceed the model's context of 2048"), std::string::npos) << r.out;
  auto flags = RunCommand(Gen("--samples 0 --out " + dir_ + "/x.jsonl 2>&1"));
  EXPECT_EQ(flags.exit_code, 2) << flags.out;
  auto temp = RunCommand(Gen("--temperature -1 --out " + dir_ + "/y.jsonl 2>&1"));
  EXPECT_EQ(temp.exit_code, 1) << temp.out;
  EXPECT_NE(temp.out.find("temperature"), std::string::npos) << temp.out;
}

}  // namespace
}  // namespace tenet
