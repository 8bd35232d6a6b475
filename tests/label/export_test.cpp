// DPO pairs, manifest and raw exports from real submissions in a real store.
#include "tenet/label/export.h"

#include "label_fixture.h"
#include "tenet/label/report.h"

namespace tenet::label::testing {
namespace {

class ExportTest : public LabelStoreTest {
 protected:
  // Every annotator ranks every item with ranking(annotator index, item index).
  void RankAll(const JobSummary& job, int annotators, const std::function<std::vector<int>(int, int64_t)>& ranking) {
    for (int a = 0; a < annotators; ++a) {
      const std::string email = "e" + std::to_string(a) + "@x.org";
      User u = users_.count(email) ? users_[email] : (users_[email] = Annotator(email));
      for (;;) {
        auto t = Tasks(*db_).Next(u, job.id);
        ASSERT_TRUE(t.ok()) << t.status().ToString();
        if (!t->has_value()) break;
        ASSERT_TRUE(Tasks(*db_).Submit(u, (*t)->id, {{ranking(a, (*t)->item_id)}, "", 1000 * (a + 1)}).ok());
      }
    }
  }
  JobAnnotations Load(int64_t id) {
    auto a = LoadJobAnnotations(*db_, id);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return *a;
  }
  std::map<std::string, User> users_;
  static std::vector<nlohmann::json> Lines(const std::string& s) { return tenet::testing::ParseJsonLines(s); }
};

std::string Content(const nlohmann::json& turn) { return turn[0]["content"].get<std::string>(); }

TEST_F(ExportTest, PairStrategiesFollowTheConsolidatedRanking) {
  JobSummary job = MakeJob("j", 1, 4, 3);
  // Borda over (1,2,3,4), (2,1,3,4), (1,2,4,3): points (8, 7, 3, 2) -> order 0, 1, 2, 3.
  const std::vector<std::vector<int>> r = {{1, 2, 3, 4}, {2, 1, 3, 4}, {1, 2, 4, 3}};
  RankAll(job, 3, [&](int a, int64_t) { return r[a]; });
  JobAnnotations ann = Load(job.id);
  ExportOptions o;
  auto bw = Export(ann, o);
  ASSERT_TRUE(bw.ok()) << bw.status().ToString();
  auto lines = Lines(bw->files.at("train.jsonl"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Content(lines[0]["chosen"]), "answer 0.0");
  EXPECT_EQ(Content(lines[0]["rejected"]), "answer 0.3");
  EXPECT_EQ(lines[0]["prompt"], nlohmann::json::parse(R"([{"role":"system","content":"Be the bank."},{"role":"user","content":"Question 0"}])"));
  EXPECT_EQ(lines[0]["chosen"][0]["role"], "assistant");
  o.pairs = "all-pairs";
  auto all = Export(ann, o);
  lines = Lines(all->files.at("train.jsonl"));
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& l : lines) {  // chosen always ranked above rejected
    EXPECT_LT(Content(l["chosen"]).back(), Content(l["rejected"]).back());
  }
  o.pairs = "best-vs-rest";
  lines = Lines(Export(ann, o)->files.at("train.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_EQ(Content(l["chosen"]), "answer 0.0");
}

TEST_F(ExportTest, TiesAndLowAgreementAreSkippedOnRequest) {
  JobSpec spec;
  spec.allow_ties = true;
  JobSummary job = MakeJob("j", 2, 3, 2, spec);
  // Item 1: both annotators agree (1,2,3). Item 2: opposite orders -> W = 0, Borda all tied.
  RankAll(job, 2, [&](int a, int64_t item) -> std::vector<int> {
    if (item == 1) return {1, 2, 3};
    return a == 0 ? std::vector<int>{1, 2, 3} : std::vector<int>{3, 2, 1};
  });
  JobAnnotations ann = Load(job.id);
  ExportOptions o;
  o.pairs = "all-pairs";
  auto plain = Export(ann, o);
  EXPECT_EQ(Lines(plain->files.at("train.jsonl")).size(), 3u);  // item 2 has no strictly ordered pair
  EXPECT_EQ(plain->report["skipped"]["no_strict_pair"], 1);
  o.min_agreement = 0.5;
  auto agreed = Export(ann, o);
  EXPECT_EQ(agreed->report["skipped"]["low_agreement"], 1);
  EXPECT_EQ(Lines(agreed->files.at("train.jsonl")).size(), 3u);
  // A consolidated tie in the middle: (1,2,3) and (1,3,2) -> points (4, 1, 1).
  JobSummary mid = MakeJob("mid", 1, 3, 2, spec);
  RankAll(mid, 2, [&](int a, int64_t) { return a == 0 ? std::vector<int>{1, 2, 3} : std::vector<int>{1, 3, 2}; });
  ExportOptions t;
  t.pairs = "all-pairs";
  EXPECT_EQ(Lines(Export(Load(mid.id), t)->files.at("train.jsonl")).size(), 2u);  // the tied pair is left out
  t.skip_ties = true;
  auto skipped = Export(Load(mid.id), t);
  EXPECT_EQ(skipped->report["skipped"]["ties"], 1);
  EXPECT_TRUE(skipped->files.at("train.jsonl").empty());
}

TEST_F(ExportTest, TrainTestSplitIsByPromptAndDeterministic) {
  JobSummary job = MakeJob("j", 40, 2, 1);
  RankAll(job, 1, [](int, int64_t) { return std::vector<int>{1, 2}; });
  JobAnnotations ann = Load(job.id);
  ExportOptions o;
  o.test_fraction = 0.25;
  o.seed = 3;
  auto a = Export(ann, o), b = Export(ann, o);
  EXPECT_EQ(a->files, b->files);
  auto train = Lines(a->files.at("train.jsonl")), test = Lines(a->files.at("test.jsonl"));
  EXPECT_EQ(test.size(), 10u);
  EXPECT_EQ(train.size(), 30u);
  std::set<std::string> train_prompts;
  for (const auto& l : train) train_prompts.insert(l["prompt"].dump());
  for (const auto& l : test) EXPECT_EQ(train_prompts.count(l["prompt"].dump()), 0u);
  o.seed = 4;
  EXPECT_NE(Export(ann, o)->files.at("test.jsonl"), a->files.at("test.jsonl"));
  o.test_fraction = 1.0;
  EXPECT_EQ(Export(ann, o).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(ExportTest, ManifestRepeatsTheInputLineWithTheLabelAndRawHasEveryAnnotation) {
  JobSummary job = MakeJob("bank-v1", 2, 3, 2);
  RankAll(job, 2, [](int a, int64_t) { return a == 0 ? std::vector<int>{1, 2, 3} : std::vector<int>{2, 1, 3}; });
  User s = Annotator("skipper@x.org");
  JobSummary more = MakeJob("more", 1, 2, 1);
  auto t = Tasks(*db_).Next(s, more.id);
  ASSERT_TRUE(Tasks(*db_).Skip(s, (*t)->id, "off-topic").ok());
  ExportOptions m;
  m.format = "manifest";
  auto man = Export(Load(job.id), m);
  auto lines = Lines(man->files.at("output.manifest"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], "bank-v1-q0");
  EXPECT_EQ(lines[0]["responses"].size(), 3u);
  EXPECT_EQ(lines[0]["bank-v1"]["ranking"], nlohmann::json::parse("[1,1,3]"));
  EXPECT_EQ(lines[0]["bank-v1"]["annotations"].size(), 2u);
  EXPECT_EQ(lines[0]["bank-v1-metadata"]["human-annotated"], "yes");
  EXPECT_EQ(lines[0]["bank-v1-metadata"]["annotators"], 2);
  ExportOptions r;
  r.format = "raw";
  auto raw = Lines(Export(Load(job.id), r)->files.at("annotations.jsonl"));
  ASSERT_EQ(raw.size(), 4u);
  for (const auto& l : raw) {
    EXPECT_EQ(l["event"], "submitted");
    EXPECT_EQ(l["answer_order"].size(), 3u);
    EXPECT_TRUE(l["ranks"].contains("Alignment with our values"));
    EXPECT_TRUE(l.contains("time_spent_ms") && l.contains("leased_at") && l.contains("annotator"));
  }
  auto skips = Lines(Export(Load(more.id), r)->files.at("annotations.jsonl"));
  ASSERT_EQ(skips.size(), 1u);
  EXPECT_EQ(skips[0]["event"], "skipped");
  EXPECT_EQ(skips[0]["skip_reason"], "off-topic");
}

TEST_F(ExportTest, StatusReportsProgressAgreementAndTheDissenter) {
  JobSummary job = MakeJob("j", 3, 3, 3);
  // Annotators 0 and 1 agree everywhere; 2 reverses them.
  RankAll(job, 3, [](int a, int64_t) { return a < 2 ? std::vector<int>{1, 2, 3} : std::vector<int>{3, 2, 1}; });
  nlohmann::json s = JobStatusJson(Load(job.id));
  EXPECT_EQ(s["submissions"], 9);
  EXPECT_EQ(s["complete_items"], 3);
  // R = (5, 6, 7), mean 6, S = 2, W = 24 / (9 * 24) = 1/9.
  EXPECT_NEAR(s["agreement"]["kendall_w_mean"].get<double>(), 1.0 / 9.0, 1e-12);
  ASSERT_EQ(s["annotators"].size(), 3u);
  for (const auto& p : s["annotators"]) {
    const double agree = p["agreement_with_others"].get<double>();
    if (p["email"] == "e2@x.org") EXPECT_DOUBLE_EQ(agree, 0.0);
    else EXPECT_DOUBLE_EQ(agree, 0.5);  // agrees fully with one, not at all with the other
  }
  EXPECT_EQ(s["annotators"][0]["median_time_ms"], 1000);
  EXPECT_EQ(s["item_agreement"].size(), 3u);
}

}  // namespace
}  // namespace tenet::label::testing
