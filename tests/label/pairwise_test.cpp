// Blind pairwise jobs: items from a comparison file or two responses files, verdicts stored as
// ranks of the answers as the annotator saw them, unblinded votes, and a labels.db written by the
// previous release (schema 2, kept in tests/label/data) upgraded in place without losing anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "label_fixture.h"
#include "tenet/label/annotations.h"
#include "tenet/label/export.h"
#include "tenet/label/pairwise.h"
#include "tenet/label/report.h"
#include "tenet/label/tasks.h"
#include "tenet/util/file.h"

namespace tenet::label::testing {
namespace {

using nlohmann::json;

std::string ComparisonLine(const std::string& id, const std::string& a, const std::string& b, const std::string& sa = "sysAlpha",
                           const std::string& sb = "sysBeta") {
  return json{{"id", id},
              {"question", "Q " + id},
              {"messages", {{{"role", "user"}, {"content", "Q " + id}}}},
              {"answers", {{{"system", sa}, {"samples", {{{"text", a}}}}}, {{"system", sb}, {"samples", {{{"text", b}}}}}}}}
             .dump() +
         "\n";
}

class PairwiseTest : public LabelStoreTest {
 protected:
  JobSummary MakePairwiseJob(const std::string& name, const std::string& text, bool both_bad, int per_item = 2) {
    auto items = ParseComparisonPairs(text, "comparison.jsonl");
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    JobSpec spec;
    spec.kind = "pairwise";
    spec.name = name;
    spec.instructions_md = "Which answer is better?";
    spec.dimensions = {"Which answer is better?"};
    spec.allow_ties = true;
    spec.offer_both_bad = both_bad;
    spec.annotators_per_item = per_item;
    auto j = Jobs(*db_).Create(spec, *items);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return *j;
  }
};

TEST_F(PairwiseTest, VerdictsAreStoredAsTheAnnotatorSawThemAndUnblinded) {
  const std::string text = ComparisonLine("q1", "alpha one", "beta one") + ComparisonLine("q2", "alpha two", "beta two") +
                           ComparisonLine("q3", "alpha three", "beta three");
  JobSummary job = MakePairwiseJob("ab", text, /*both_bad=*/true);
  EXPECT_EQ(job.kind, "pairwise");
  EXPECT_TRUE(job.offer_both_bad);
  User ana = Annotator("ana@x.org");
  Tasks tasks(*db_);
  // Per task: the verdict given, and the system that must come out as the winner.
  std::map<std::string, std::string> winners;
  const std::vector<std::string> verdicts = {"A", "B", "both_bad"};
  for (const std::string& verdict : verdicts) {
    auto t = tasks.Next(ana, job.id);
    ASSERT_TRUE(t.ok() && t->has_value()) << t.status().ToString();
    const Task& task = **t;
    // The browser's copy of the task names no system.
    const std::string sent = ToJson(task).dump();
    EXPECT_EQ(sent.find("sysAlpha"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("sysBeta"), std::string::npos) << sent;
    EXPECT_EQ(ToJson(task)["job"]["kind"], "pairwise");
    ASSERT_EQ(task.order.size(), 2u);
    const std::string shown_a = task.responses[static_cast<size_t>(task.order[0])];
    const std::string shown_b = task.responses[static_cast<size_t>(task.order[1])];
    const std::string question = ToJson(task)["messages"][0]["content"];
    auto system_of = [](const std::string& text) { return text.rfind("alpha", 0) == 0 ? "sysAlpha" : "sysBeta"; };
    winners[question.substr(2)] = verdict == "A" ? system_of(shown_a) : verdict == "B" ? system_of(shown_b) : "";
    // Ranks are refused for a pairwise task; a verdict for it is taken.
    Submission ranks{{{1, 2}}, "", 10};
    EXPECT_EQ(tasks.Submit(ana, task.id, ranks).status().reason(), "bad_verdict");
    EXPECT_EQ(tasks.SubmitVerdict(ana, task.id, "C", {{}, "", 10}).status().reason(), "bad_verdict");
    auto r = tasks.SubmitVerdict(ana, task.id, verdict, {{}, "because " + verdict, 10});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto votes = LoadPairwiseVotes(*db_, "ab");
  ASSERT_TRUE(votes.ok()) << votes.status().ToString();
  EXPECT_EQ(votes->systems, (std::vector<std::string>{"sysAlpha", "sysBeta"}));
  ASSERT_EQ(votes->votes.size(), 3u);
  int both_bad = 0;
  for (const PairwiseVoteRow& v : votes->votes) {
    EXPECT_EQ(v.winner, winners[v.question]) << v.question;
    EXPECT_EQ(v.annotator, "ana@x.org");
    EXPECT_NE(v.shown_a, v.shown_b);
    both_bad += v.both_bad;
    EXPECT_EQ(v.comment.rfind("because ", 0), 0u);
  }
  EXPECT_EQ(both_bad, 1);
  // As DPO pairs: the two decided items, the winner's answer chosen; the "both bad" tie left out.
  auto ann = LoadJobAnnotations(*db_, job.id);
  ASSERT_TRUE(ann.ok()) << ann.status().ToString();
  auto exported = Export(*ann, ExportOptions{});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  const auto pairs = tenet::testing::ParseJsonLines(exported->files.at("train.jsonl"));
  ASSERT_EQ(pairs.size(), 2u);
  for (const json& p : pairs) {
    const std::string q = p["prompt"].back()["content"].get<std::string>().substr(2);
    const std::string chosen = p["chosen"][0]["content"];
    EXPECT_EQ(chosen.rfind(winners[q] == "sysAlpha" ? "alpha" : "beta", 0), 0u) << p.dump();
  }
  // A ranking job takes no verdict, and reports no pairwise votes.
  MakeJob("ranked", 1, 2, 1);
  EXPECT_EQ(LoadPairwiseVotes(*db_, "ranked").status().reason(), "not_pairwise");
}

TEST_F(PairwiseTest, BothBadOnlyWhereOffered) {
  JobSummary job = MakePairwiseJob("plain", ComparisonLine("q1", "alpha", "beta"), /*both_bad=*/false, 1);
  User ana = Annotator("ana@x.org");
  Tasks tasks(*db_);
  auto t = tasks.Next(ana, job.id);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ(tasks.SubmitVerdict(ana, (**t).id, "both_bad", {{}, "", 1}).status().reason(), "bad_verdict");
  EXPECT_TRUE(tasks.SubmitVerdict(ana, (**t).id, "tie", {{}, "", 1}).ok());
  auto votes = LoadPairwiseVotes(*db_, "plain");
  ASSERT_TRUE(votes.ok());
  ASSERT_EQ(votes->votes.size(), 1u);
  EXPECT_EQ(votes->votes[0].winner, "");
}

TEST_F(PairwiseTest, HostileComparisonFilesAreOneClearError) {
  auto error = [](const std::string& text) {
    auto r = ParseComparisonPairs(text, "c.jsonl");
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(error(ComparisonLine("q1", "a", "b") + ComparisonLine("q2", "a", "b", "sysAlpha", "sysGamma")).find("c.jsonl:2"),
            std::string::npos);
  EXPECT_NE(error(ComparisonLine("q1", "a", "")).find("empty"), std::string::npos);
  EXPECT_NE(error(ComparisonLine("q1", "a", "b") + ComparisonLine("q1", "c", "d")).find("duplicate id 'q1'"), std::string::npos);
  json uneven = json::parse(ComparisonLine("q1", "a", "b"));
  uneven["answers"][1]["samples"].push_back({{"text", "b2"}});
  EXPECT_NE(error(uneven.dump()).find("1 and 2 answers"), std::string::npos);
  json three = json::parse(ComparisonLine("q1", "a", "b"));
  three["answers"].push_back(three["answers"][0]);
  EXPECT_NE(error(three.dump()).find("exactly two systems"), std::string::npos);
  EXPECT_NE(error("{not json\n").find("c.jsonl:1"), std::string::npos);
  EXPECT_NE(error("\n\n").find("no questions"), std::string::npos);
  // A 1 MB answer is an answer like any other.
  auto big = ParseComparisonPairs(ComparisonLine("q1", std::string(1 << 20, 'x'), "b"), "c.jsonl");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ((*big)[0].responses[0].size(), size_t{1} << 20);

  // Two responses files: the same ids on both sides, or an error naming the odd one.
  auto a = ParseResponses(R"({"id": "q1", "messages": [{"role": "user", "content": "x"}], "responses": ["a1", "a2"]})"
                          "\n",
                          "a.jsonl");
  auto b = ParseResponses(R"({"id": "q2", "messages": [{"role": "user", "content": "x"}], "responses": ["b1", "b2"]})"
                          "\n",
                          "b.jsonl");
  ASSERT_TRUE(a.ok() && b.ok());
  auto mismatched = PairResponses(*a, "A", *b, "B");
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("'q1' is answered by A only"), std::string::npos);
  // One answer per question on each side (`tenet generate --samples 1` for each system) pairs too;
  // a ranking job needs two.
  const std::string one = R"({"id": "q1", "messages": [{"role": "user", "content": "x"}], "responses": ["only"]})" "\n";
  EXPECT_FALSE(ParseResponses(one, "one.jsonl").ok());
  auto single = ParseResponses(one, "one.jsonl", /*min_answers=*/1);
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  auto one_pair = PairResponses(*single, "A", *single, "B");
  ASSERT_TRUE(one_pair.ok());
  ASSERT_EQ(one_pair->size(), 1u);
  EXPECT_EQ((*one_pair)[0].source_id, "q1");
  EXPECT_EQ((*one_pair)[0].responses, (std::vector<std::string>{"only", "only"}));
  auto paired = PairResponses(*a, "A", *a, "B");
  ASSERT_TRUE(paired.ok());
  ASSERT_EQ(paired->size(), 2u);
  EXPECT_EQ((*paired)[1].source_id, "q1#2");
  EXPECT_EQ((*paired)[1].systems, (std::vector<std::string>{"A", "B"}));
}

// The CLI over a judged job: `tenet label results` and the report of `tenet compare --labels`.
TEST_F(PairwiseTest, TheVerdictReachesResultsAndTheComparisonReport) {
  const std::string text = ComparisonLine("q1", "alpha one", "beta one") + ComparisonLine("q2", "alpha two", "beta two");
  JobSummary job = MakePairwiseJob("ab", text, /*both_bad=*/false, 1);
  User ana = Annotator("ana@x.org");
  Tasks tasks(*db_);
  for (int k = 0; k < 2; ++k) {
    auto t = tasks.Next(ana, job.id);
    ASSERT_TRUE(t.ok() && t->has_value());
    // sysBeta wins both, whichever side it was shown on.
    const bool beta_is_a = (**t).responses[static_cast<size_t>((**t).order[0])].rfind("beta", 0) == 0;
    ASSERT_TRUE(tasks.SubmitVerdict(ana, (**t).id, beta_is_a ? "A" : "B", {{}, "", 5}).ok());
  }
  db_.reset();  // the CLI opens the store itself
  auto r = tenet::testing::RunCommand(tenet::testing::TenetCommand("label results --db " + dir_ + "/labels.db --job ab --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json results = json::parse(r.out)["jobs"][0];
  EXPECT_EQ(results["wins"]["sysBeta"], 2);
  EXPECT_EQ(results["wins"]["sysAlpha"], 0);
  EXPECT_DOUBLE_EQ(results["p_value"].get<double>(), 0.5);  // 2 of 2 decisive: 2 x 0.5^2
  auto text_out = tenet::testing::RunCommand(tenet::testing::TenetCommand("label results --db " + dir_ + "/labels.db --job ab"));
  EXPECT_NE(text_out.out.find("sysBeta vs sysAlpha: 2 wins, 0 ties, 0 losses"), std::string::npos) << text_out.out;

  // A comparison of those two systems gains the verdict in its summary and report.
  const std::string out = dir_ + "/report";
  ASSERT_TRUE(MakeDirs(out).ok());
  ASSERT_TRUE(WriteFileAtomic(out + "/comparison.jsonl", text).ok());
  const json summary = {{"tool", "tenet compare"}, {"questions", 2}, {"reference", "sysAlpha"},
                        {"systems", {{{"name", "sysAlpha"}}, {{"name", "sysBeta"}}}}, {"human", nullptr}};
  ASSERT_TRUE(WriteFileAtomic(out + "/summary.json", summary.dump()).ok());
  auto c = tenet::testing::RunCommand(tenet::testing::TenetCommand("compare --out " + out + " --labels " + dir_ + "/labels.db --job ab"));
  ASSERT_EQ(c.exit_code, 0) << c.out;
  const json updated = json::parse(*ReadFile(out + "/summary.json"));
  EXPECT_EQ(updated["human"]["job"], "ab");
  EXPECT_EQ(updated["human"]["wins"]["sysBeta"], 2);
  EXPECT_DOUBLE_EQ(updated["human"]["win_rate"].get<double>(), 1.0);
  const std::string html = *ReadFile(out + "/report.html");
  EXPECT_NE(html.find("ab"), std::string::npos);
  EXPECT_EQ(html.find("Not evaluated"), std::string::npos) << "the human verdict is shown";
  // A job over other systems is refused by name.
  const json other = {{"systems", {{{"name", "before"}}, {{"name", "after"}}}}};
  ASSERT_TRUE(WriteFileAtomic(out + "/summary.json", other.dump()).ok());
  auto bad = tenet::testing::RunCommand(tenet::testing::TenetCommand("compare --out " + out + " --labels " + dir_ + "/labels.db --job ab 2>&1"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("sysAlpha"), std::string::npos) << bad.out;
}

// A store written by the previous release: three submissions of a ranking job by two annotators.
TEST_F(PairwiseTest, AStoreOfThePreviousReleaseIsUpgradedInPlaceAndLosesNothing) {
  const std::string path = dir_ + "/old.db";
  std::filesystem::copy_file(tenet::testing::SourceDir() + "/tests/label/data/labels-v2.db", path);
  {
    auto db = LabelDb::Open(path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto version = (*db)->Read([](Sql& s) -> Result<std::string> {
      SQLite::Statement& q = s.Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
      q.executeStep();
      return q.getColumn(0).getString();
    });
    EXPECT_EQ(*version, "3");
    auto job = Jobs(**db).GetByName("bank-v1");
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ(job->kind, "rank");
    EXPECT_EQ(job->items, 2);
    EXPECT_EQ(job->submissions, 3);
    auto ann = LoadJobAnnotations(**db, job->id);
    ASSERT_TRUE(ann.ok()) << ann.status().ToString();
    const json status = JobStatusJson(*ann);
    EXPECT_EQ(status["submissions"], 3);
    EXPECT_EQ(status["annotators"].size(), 2u);
    // The old annotators still sign in, and the store takes new work of both kinds.
    Accounts accounts(**db);
    EXPECT_TRUE(accounts.Login("ana@example.com", "correct horse battery staple").ok());
    auto items = ParseComparisonPairs(ComparisonLine("q1", "a", "b"), "c.jsonl");
    ASSERT_TRUE(items.ok());
    JobSpec spec;
    spec.kind = "pairwise";
    spec.name = "ab";
    spec.allow_ties = true;
    spec.dimensions = {"Which answer is better?"};
    EXPECT_TRUE(Jobs(**db).Create(spec, *items).ok());
  }
  // Opening it again changes nothing.
  auto again = LabelDb::Open(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto jobs = Jobs(**again).List();
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), 2u);
}

}  // namespace
}  // namespace tenet::label::testing
