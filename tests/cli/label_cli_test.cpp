// `tenet label ...` end to end through the binary: a job from a responses file, an invitation,
// status and exports, and the CLI contract for bad input (exit 2 for usage errors, exit 1 with one
// "tenet: error: ..." line naming the problem, no database made by a typo).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ShellQuote;

struct LabelRun {
  int code;
  std::string err;
};
LabelRun Label(const std::string& args) {
  auto r = RunCommand(testing::TenetCommand("label " + args) + " 2>&1 >/dev/null");
  return {r.exit_code, r.out};
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class LabelCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchDir();
    db_ = ShellQuote(dir_ + "/labels.db");
    Write(dir_ + "/resp.jsonl",
          R"({"id": "q1", "messages": [{"role": "system", "content": "Be the bank."}, {"role": "user", "content": "APR?"}], "responses": ["a", "b", "c"]})"
          "\n"
          R"({"source": "Hello?", "responses": ["x", "y"]})"
          "\n");
    Write(dir_ + "/instr.md", "# Rank them\n");
  }
  std::string Create(const std::string& name, const std::string& extra = "") {
    return "job create --db " + db_ + " --name " + name + " --responses " + ShellQuote(dir_ + "/resp.jsonl") +
           " --instructions " + ShellQuote(dir_ + "/instr.md") + " " + extra;
  }
  std::string dir_, db_;
};

void ExpectError(const LabelRun& r, int code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_EQ(r.err.rfind("tenet: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
}

TEST_F(LabelCli, JobInviteStatusAndExports) {
  auto made = RunCommand(testing::TenetCommand("label " + Create("bank-v1", "--annotators-per-item 2 --team reviewers --task-time-limit 10m")));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  EXPECT_NE(made.out.find("bank-v1  (id 1, active)  2 items x 2 annotators"), std::string::npos) << made.out;
  auto link = RunCommand(testing::TenetCommand("label invite --db " + db_ + " --email ana@example.com --team reviewers --base-url http://labels.example"));
  ASSERT_EQ(link.exit_code, 0);
  EXPECT_EQ(link.out.rfind("http://labels.example/invite/", 0), 0u) << link.out;
  auto status = RunCommand(testing::TenetCommand("label status --db " + db_ + " --job bank-v1 --json"));
  ASSERT_EQ(status.exit_code, 0);
  const json s = json::parse(status.out);
  EXPECT_EQ(s["items"], 2);
  EXPECT_EQ(s["needed"], 4);
  EXPECT_EQ(s["teams"], json({"reviewers"}));
  EXPECT_EQ(s["task_time_limit_s"], 600);
  ASSERT_EQ(RunCommand(testing::TenetCommand("label job pause --db " + db_ + " --job bank-v1")).exit_code, 0);
  auto list = RunCommand(testing::TenetCommand("label job list --db " + db_));
  EXPECT_NE(list.out.find("paused"), std::string::npos) << list.out;
  // Nothing ranked yet: the DPO export is empty but well-formed, and says why.
  LabelRun dpo = Label("export --db " + db_ + " --job bank-v1 --format dpo --out " + ShellQuote(dir_ + "/prefs"));
  EXPECT_EQ(dpo.code, 0) << dpo.err;
  EXPECT_NE(dpo.err.find("\"unlabeled\":2"), std::string::npos) << dpo.err;
  EXPECT_TRUE(FileExists(dir_ + "/prefs/train.jsonl") && FileExists(dir_ + "/prefs/test.jsonl"));
  EXPECT_EQ(Label("export --db " + db_ + " --job bank-v1 --format manifest --out " + ShellQuote(dir_ + "/out.manifest")).code, 0);
  EXPECT_TRUE(FileExists(dir_ + "/out.manifest"));
}

TEST_F(LabelCli, BadInputGetsOneClearError) {
  ExpectError(Label("status --db " + ShellQuote(dir_ + "/typo.db") + " --job x"), 1, "no labeling database");
  EXPECT_FALSE(FileExists(dir_ + "/typo.db"));
  Write(dir_ + "/bad.jsonl", "{\"source\": \"q\", \"responses\": [\"a\", \"b\"]}\n{\"source\": \"q\", \"responses\": [\"only one\"]}\n");
  ExpectError(Label("job create --db " + db_ + " --name j --responses " + ShellQuote(dir_ + "/bad.jsonl") + " --instructions " +
                    ShellQuote(dir_ + "/instr.md")),
              1, "bad.jsonl:2: needs at least 2 responses");
  ExpectError(Label(Create("j", "--annotators-per-item 0")), 2, "--annotators-per-item");
  ExpectError(Label(Create("j", "--task-time-limit soon")), 2, "--task-time-limit");
  ExpectError(Label(Create("j", "--task-time-limit 5s")), 2, "10 s to 7 days");
  ExpectError(Label("job create --db " + db_ + " --name j --responses " + ShellQuote(dir_ + "/missing.jsonl") + " --instructions " +
                    ShellQuote(dir_ + "/instr.md")),
              1, "missing.jsonl");
  ASSERT_EQ(Label(Create("j")).code, 0);
  ExpectError(Label(Create("j")), 1, "already exists");
  ExpectError(Label("export --db " + db_ + " --job j --format csv --out x"), 2, "--format");
  ExpectError(Label("export --db " + db_ + " --job j --test-fraction 1.5 --out x"), 2, "test fraction");
  ExpectError(Label("export --db " + db_ + " --job nope --out x"), 1, "no job named 'nope'");
  ExpectError(Label("invite --db " + db_ + " --email not-an-email"), 1, "not an email address");
  ExpectError(Label("invite --db " + db_ + " --email a@b.c --expires never"), 2, "--expires");
  // Text that is not UTF-8 never enters the store (it broke every later request that showed it).
  Write(dir_ + "/bad-instr.md", "# Rank \xff them\n");
  ExpectError(Label("job create --db " + db_ + " --name k --responses " + ShellQuote(dir_ + "/resp.jsonl") + " --instructions " +
                    ShellQuote(dir_ + "/bad-instr.md")),
              1, "not valid UTF-8");
  ExpectError(Label("invite --db " + db_ + " --email \"$(printf 'a\\377@b.c')\""), 1, "not an email address");
  ExpectError(Label("job create --db " + db_ + " --name \"$(printf 'k\\303')\" --responses " + ShellQuote(dir_ + "/resp.jsonl") +
                    " --instructions " + ShellQuote(dir_ + "/instr.md")),
              2, "UTF-8");
  Write(dir_ + "/other.db", "this is not sqlite at all, just text that is long enough to look like a file header....");
  ExpectError(Label("job list --db " + ShellQuote(dir_ + "/other.db")), 1, "other.db");
}

}  // namespace
}  // namespace tenet
