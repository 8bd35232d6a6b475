// Pairwise results against hand-computed values: counts, win rate with ties as half (Wilson),
// sign test, majorities, agreement with the majority, position bias, Bradley-Terry order.
#include "tenet/eval/pairwise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tenet/eval/statistics.h"

namespace tenet::eval {
namespace {

// q1: after, after, before; q2: after, tie; q3: before alone. "after" shown as A in 3 of the 6.
std::vector<PairwiseVote> Votes() {
  return {
      {"q1", "ana", "after", "before", "after", false},  {"q1", "bo", "before", "after", "after", false},
      {"q1", "cy", "after", "before", "before", false},  {"q2", "ana", "before", "after", "after", false},
      {"q2", "bo", "after", "before", "", true},         {"q3", "cy", "before", "after", "before", false},
  };
}

TEST(PairwiseSummaryTest, CountsRatesAndMajoritiesMatchHandValues) {
  auto r = SummarizePairwise({"before", "after"}, Votes());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& j = *r;
  EXPECT_EQ(j["votes"], 6);
  EXPECT_EQ(j["wins"]["after"], 3);
  EXPECT_EQ(j["wins"]["before"], 2);
  EXPECT_EQ(j["ties"], 1);
  EXPECT_EQ(j["both_bad"], 1);
  // (3 + 0.5) / 6 with the Wilson interval of that proportion; the sign test of 3 vs 2: p = 1.
  const Proportion w = WinRate(3, 1, 2);
  EXPECT_DOUBLE_EQ(j["win_rate"]["estimate"].get<double>(), 3.5 / 6);
  EXPECT_DOUBLE_EQ(j["win_rate"]["low"].get<double>(), w.low);
  EXPECT_EQ(j["win_rate"]["system"], "after");
  EXPECT_DOUBLE_EQ(j["p_value"].get<double>(), 1.0);
  // Decisive votes won by the answer shown as A: ana q1 (after as A), cy q1 (before as A)... 
  // q1 ana: A=after won A; q1 bo: A=before, after won -> B; q1 cy: A=after, before won -> B;
  // q2 ana: A=before, after won -> B; q3 cy: A=before, before won -> A. 2 of 5.
  EXPECT_EQ(j["position_bias"]["a_wins"], 2);
  EXPECT_EQ(j["position_bias"]["decisive"], 5);
  // Majorities: q1 after (2-1), q2 after (1-0, a tie abstains), q3 before.
  EXPECT_EQ(j["by_question"]["after"], 2);
  EXPECT_EQ(j["by_question"]["before"], 1);
  EXPECT_EQ(j["by_question"]["tie"], 0);
  ASSERT_EQ(j["questions"].size(), 3u);
  EXPECT_EQ(j["questions"][0]["question"], "q1");
  EXPECT_EQ(j["questions"][0]["majority"], "after");
  EXPECT_EQ(j["questions"][0]["votes"].size(), 3u);
  // Agreement over questions with 2+ votes: ana 2/2, bo 1/2 (the tie differs), cy 0/1; q3 counts for nobody.
  std::map<std::string, double> agreement;
  for (const auto& a : j["annotators"]) agreement[a["annotator"]] = a["agreement_with_majority"].get<double>();
  EXPECT_DOUBLE_EQ(agreement["ana"], 1.0);
  EXPECT_DOUBLE_EQ(agreement["bo"], 0.5);
  EXPECT_DOUBLE_EQ(agreement["cy"], 0.0);
}

TEST(PairwiseSummaryTest, BadInputIsAnError) {
  EXPECT_FALSE(SummarizePairwise({"before"}, {}).ok());
  EXPECT_FALSE(SummarizePairwise({"a", "a"}, {}).ok());
  EXPECT_FALSE(SummarizePairwise({"before", "after"}, {{"q", "x", "before", "other", "before", false}}).ok());
  EXPECT_FALSE(SummarizePairwise({"before", "after"}, {{"q", "x", "before", "after", "other", false}}).ok());
  auto empty = SummarizePairwise({"before", "after"}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_DOUBLE_EQ((*empty)["win_rate"]["estimate"].get<double>(), 0.5);
}

TEST(PairwiseScoresTest, BradleyTerryOrdersThreeSystems) {
  // v2 beats v1 3-1, v1 beats base 3-1, v2 beats base 4-0: v2 > v1 > base.
  std::vector<PairwiseVote> votes;
  auto add = [&](const std::string& a, const std::string& b, int a_wins, int b_wins) {
    for (int i = 0; i < a_wins; ++i) votes.push_back({"q", "x", a, b, a, false});
    for (int i = 0; i < b_wins; ++i) votes.push_back({"q", "x", a, b, b, false});
  };
  add("v2", "v1", 3, 1);
  add("v1", "base", 3, 1);
  add("base", "v2", 0, 4);
  auto s = PairwiseScores(votes, 200, 1);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0]["system"], "v2");
  EXPECT_EQ((*s)[1]["system"], "v1");
  EXPECT_EQ((*s)[2]["system"], "base");
  EXPECT_LE((*s)[0]["low"].get<double>(), (*s)[0]["score"].get<double>());
  EXPECT_FALSE(PairwiseScores({{"q", "x", "a", "b", "c", false}}).ok());
}

}  // namespace
}  // namespace tenet::eval
