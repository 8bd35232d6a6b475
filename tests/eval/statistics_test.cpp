// Win rates, the sign test, Bradley–Terry and majorities, checked against values derived by hand
// and against the independent Python reference. The hard-coded reference values were printed by
//   /usr/bin/python3 tests/reference/pairwise_stats_reference.py
// (standard library only: Wilson by the quadratic formula, the sign test in exact rationals,
// Bradley–Terry by Hunter's MM algorithm, the bootstrap replayed with its own mt19937_64).
#include "tenet/eval/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace tenet::eval {
namespace {

TEST(WinRateTest, WilsonSevenOfTenMatchesKnownValues) {
  Proportion p = WinRate(7, 0, 3);
  EXPECT_DOUBLE_EQ(p.estimate, 0.7);
  EXPECT_NEAR(p.low, 0.3968, 5e-5);  // textbook values to 4 decimals
  EXPECT_NEAR(p.high, 0.8922, 5e-5);
  EXPECT_NEAR(p.low, 0.39677814746114537, 1e-12);  // reference
  EXPECT_NEAR(p.high, 0.8922087325936988, 1e-12);
}

TEST(WinRateTest, TiesCountAsHalfAWin) {
  // 6 wins, 2 ties, 2 losses: effective 7 of 10, the same interval as 7 of 10.
  Proportion p = WinRate(6, 2, 2);
  EXPECT_DOUBLE_EQ(p.estimate, 0.7);
  EXPECT_NEAR(p.low, 0.39677814746114537, 1e-12);
  EXPECT_NEAR(p.high, 0.8922087325936988, 1e-12);
  // All ties: 0.5 with the interval of 5 of 10.
  Proportion t = WinRate(0, 10, 0);
  EXPECT_DOUBLE_EQ(t.estimate, 0.5);
  EXPECT_NEAR(t.low, 0.236593090512564, 1e-12);
  EXPECT_NEAR(t.high, 0.763406909487436, 1e-12);
  EXPECT_NEAR(t.low + t.high, 1.0, 1e-15);  // symmetric about 1/2
  Proportion m = WinRate(37, 11, 52);
  EXPECT_DOUBLE_EQ(m.estimate, 0.425);
  EXPECT_NEAR(m.low, 0.3326536206371631, 1e-12);
  EXPECT_NEAR(m.high, 0.5228954040938847, 1e-12);
}

TEST(WinRateTest, AllWinsAndAllLossesStayInsideZeroOne) {
  // 10 of 10: low = n / (n + z²) by hand, high exactly 1.
  const double z2 = kZ95 * kZ95;
  Proportion all = WinRate(10, 0, 0);
  EXPECT_EQ(all.estimate, 1.0);
  EXPECT_NEAR(all.low, 10 / (10 + z2), 1e-12);
  EXPECT_NEAR(all.low, 0.7224672001371114, 1e-12);
  EXPECT_EQ(all.high, 1.0);
  Proportion none = WinRate(0, 0, 10);
  EXPECT_EQ(none.estimate, 0.0);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, z2 / (10 + z2), 1e-12);
}

TEST(WinRateTest, NoVotesIsHalfWithTheWholeInterval) {
  Proportion p = WinRate(0, 0, 0);
  EXPECT_EQ(p.estimate, 0.5);
  EXPECT_EQ(p.low, 0.0);
  EXPECT_EQ(p.high, 1.0);
}

TEST(WinRateTest, WiderZWidensAndMoreVotesNarrow) {
  Proportion z95 = WinRate(7, 0, 3);
  Proportion z99 = WinRate(7, 0, 3, 2.5758293035489004);
  EXPECT_LT(z99.low, z95.low);
  EXPECT_GT(z99.high, z95.high);
  Proportion big = WinRate(700, 0, 300);
  EXPECT_GT(big.low, z95.low);
  EXPECT_LT(big.high, z95.high);
  EXPECT_LT(big.low, 0.7);
  EXPECT_GT(big.high, 0.7);
}

TEST(SignTestTest, NineOfTenDecisiveIsExact) {
  // 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024.
  EXPECT_EQ(SignTestP(9, 1), 0.021484375);
  EXPECT_EQ(SignTestP(1, 9), 0.021484375);
  EXPECT_EQ(SignTestP(7, 3), 0.34375);  // 2 * (1 + 10 + 45 + 120) / 1024
  EXPECT_EQ(SignTestP(10, 0), 2.0 / 1024);
  EXPECT_EQ(SignTestP(1, 0), 1.0);  // 2 * 1/2
}

TEST(SignTestTest, NoDecisiveVotesOrABalanceGiveOne) {
  EXPECT_EQ(SignTestP(0, 0), 1.0);
  EXPECT_EQ(SignTestP(5, 5), 1.0);
  EXPECT_EQ(SignTestP(30, 31), 1.0);  // 2 * P(X <= 30) of n = 61 exceeds 1: capped
  EXPECT_EQ(SignTestP(3000000, 3000000), 1.0);
}

TEST(SignTestTest, MatchesExactRationalsBelowAndAboveTheIntegerPath) {
  EXPECT_NEAR(SignTestP(60, 40), 0.05688793364098079, 1e-12 * 0.0569);  // n = 100: log-space path
  EXPECT_NEAR(SignTestP(100, 80), 0.1565314695781511, 1e-12 * 0.157);
  EXPECT_NEAR(SignTestP(40, 60), SignTestP(60, 40), 0.0);
  // n = 60, the largest exact integer case: 2 * P(X <= 20) against the log-space value of n = 61.
  const double p60 = SignTestP(40, 20);
  EXPECT_GT(p60, 0.0);
  EXPECT_LT(p60, 0.02);
}

TEST(SignTestTest, LargeCountsNeitherOverflowNorLoseAccuracy) {
  // 200,000 votes: the exact rational value.
  EXPECT_NEAR(SignTestP(100500, 99500), 0.025493890666946916, 1e-8 * 0.0255);
  // A million votes: the reference's lgamma-free log sum (the normal approximation says 0.0501128).
  EXPECT_NEAR(SignTestP(500980, 499020), 0.05011273253361438, 1e-8 * 0.0501);
  // 2^-999999 underflows to 0 without NaN or a crash; a near-balance of 6 million is 1.
  const double tiny = SignTestP(1000000, 0);
  EXPECT_GE(tiny, 0.0);
  EXPECT_LT(tiny, 1e-300);
  EXPECT_TRUE(std::isfinite(SignTestP(3000001, 2999999)));
  EXPECT_GT(SignTestP(3000001, 2999999), 0.99);
}

std::vector<PairVote>& Repeat(std::vector<PairVote>& votes, int a, int b, double a_score, int count) {
  for (int i = 0; i < count; ++i) votes.push_back({a, b, a_score});
  return votes;
}

// The reference's three-system data, in its order (the bootstrap draws indices into it).
std::vector<PairVote> ThreeSystemVotes() {
  std::vector<PairVote> v;
  Repeat(v, 0, 1, 1.0, 5);
  Repeat(v, 0, 1, 0.0, 14);
  Repeat(v, 0, 1, 0.5, 3);
  Repeat(v, 0, 2, 1.0, 4);
  Repeat(v, 0, 2, 0.0, 16);
  Repeat(v, 0, 2, 0.5, 2);
  Repeat(v, 1, 2, 1.0, 8);
  Repeat(v, 1, 2, 0.0, 11);
  Repeat(v, 1, 2, 0.5, 4);
  return v;
}
const std::vector<std::string> kThree = {"base", "dpo", "dpo+sft"};

TEST(BradleyTerryTest, ThreeWinsOfFourIsAStrengthRatioOfThree) {
  // MLE: s_A / (s_A + s_B) = 3/4, so s_A / s_B = 3; mean 1000 → 1000 ± 200 log10(3).
  std::vector<PairVote> votes;
  Repeat(votes, 0, 1, 1.0, 3);
  Repeat(votes, 0, 1, 0.0, 1);
  auto r = BradleyTerry({"A", "B"}, votes, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].system, "A");
  EXPECT_EQ((*r)[1].system, "B");
  EXPECT_NEAR((*r)[0].score - (*r)[1].score, 400 * std::log10(3.0), 1e-9);
  EXPECT_NEAR((*r)[0].score - (*r)[1].score, 190.8485, 1e-4);
  EXPECT_NEAR((*r)[0].score, 1095.4242509439325, 1e-9);
  EXPECT_NEAR((*r)[1].score, 904.5757490560675, 1e-9);
  // No bootstrap: the interval collapses onto the score.
  EXPECT_EQ((*r)[0].low, (*r)[0].score);
  EXPECT_EQ((*r)[0].high, (*r)[0].score);
}

TEST(BradleyTerryTest, TiesCountHalfForEachSide) {
  // 2 wins, 2 ties, 0 losses = 3 of 4: the same fit as 3 wins and 1 loss.
  std::vector<PairVote> votes;
  Repeat(votes, 0, 1, 1.0, 2);
  Repeat(votes, 1, 0, 0.5, 2);  // ties with the sides swapped
  auto r = BradleyTerry({"A", "B"}, votes, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR((*r)[0].score - (*r)[1].score, 400 * std::log10(3.0), 1e-9);
}

TEST(BradleyTerryTest, ThreeSystemsMatchTheMmReference) {
  auto r = BradleyTerry(kThree, ThreeSystemVotes(), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double expected[] = {879.1127667327407, 1035.478360253887, 1085.4088730133722};
  double mean = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*r)[i].system, kThree[i]);
    EXPECT_NEAR((*r)[i].score, expected[i], 1e-8) << kThree[i];
    mean += (*r)[i].score / 3;
  }
  EXPECT_NEAR(mean, 1000.0, 1e-9);
}

TEST(BradleyTerryTest, BootstrapMatchesTheReplayedReference) {
  // The reference replays std::mt19937_64 and the documented index rule, then refits by MM.
  const struct {
    uint64_t seed;
    double low[3], high[3];
  } cases[] = {
      {0,
       {792.3399287577067, 969.116773263983, 1020.6600143803445},
       {944.4175208308629, 1107.9302938878645, 1169.419077034508}},
      {42,
       {790.5452160421612, 970.5450782475334, 1019.9989481894827},
       {949.3358178013331, 1111.4586948331735, 1167.7746365550508}},
  };
  for (const auto& c : cases) {
    auto r = BradleyTerry(kThree, ThreeSystemVotes(), 1000, c.seed);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR((*r)[i].low, c.low[i], 1e-7) << kThree[i] << " seed " << c.seed;
      EXPECT_NEAR((*r)[i].high, c.high[i], 1e-7) << kThree[i] << " seed " << c.seed;
      EXPECT_LT((*r)[i].low, (*r)[i].score);
      EXPECT_GT((*r)[i].high, (*r)[i].score);
    }
  }
}

TEST(BradleyTerryTest, BootstrapIsDeterministicPerSeed) {
  auto a = BradleyTerry(kThree, ThreeSystemVotes(), 200, 7);
  auto b = BradleyTerry(kThree, ThreeSystemVotes(), 200, 7);
  auto c = BradleyTerry(kThree, ThreeSystemVotes(), 200, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  bool any_differs = false;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*a)[i].low, (*b)[i].low);
    EXPECT_EQ((*a)[i].high, (*b)[i].high);
    EXPECT_EQ((*a)[i].score, (*c)[i].score);  // the point estimate does not depend on the seed
    any_differs |= (*a)[i].low != (*c)[i].low || (*a)[i].high != (*c)[i].high;
  }
  EXPECT_TRUE(any_differs);
}

TEST(BradleyTerryTest, UnbeatenSystemStaysFiniteThroughThePrior) {
  // A wins 5 of 5: no MLE. With the prior λ = 1e-4 on θ, d = θ_A − θ_B solves
  // 5 (1 − σ(d)) = λ d / 2; the reference's bisection gives the gap below.
  std::vector<PairVote> votes;
  Repeat(votes, 0, 1, 1.0, 5);
  auto r = BradleyTerry({"A", "B"}, votes, 100, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double gap = (*r)[0].score - (*r)[1].score;
  EXPECT_NEAR(gap, 1612.8806940910445, 1e-6);
  const double d = gap * std::log(10.0) / 400;
  EXPECT_NEAR(5 / (1 + std::exp(d)), 1e-4 * d / 2, 1e-12);
  EXPECT_NEAR((*r)[0].score + (*r)[1].score, 2000.0, 1e-9);
  // Every resample is 5-0 as well: the interval is the point.
  EXPECT_NEAR((*r)[0].low, (*r)[0].score, 1e-9);
  EXPECT_NEAR((*r)[0].high, (*r)[0].score, 1e-9);
}

TEST(BradleyTerryTest, SystemsNeverComparedAreKeptFinite) {
  // A beats B once and loses once; C and D likewise; no vote links the two pairs.
  std::vector<PairVote> votes = {{0, 1, 1.0}, {0, 1, 0.0}, {2, 3, 1.0}, {2, 3, 0.0}};
  auto r = BradleyTerry({"A", "B", "C", "D"}, votes, 50, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const BtScore& s : *r) {
    EXPECT_NEAR(s.score, 1000.0, 1e-9) << s.system;
    EXPECT_TRUE(std::isfinite(s.low) && std::isfinite(s.high)) << s.system;
  }
}

TEST(BradleyTerryTest, StrongerSystemsScoreHigherWhateverTheVoteOrder) {
  // A > B > C, each by 7-3; reversing the a/b order of every vote must not change the scores.
  std::vector<PairVote> forward, reversed;
  for (auto [a, b] : {std::pair{0, 1}, std::pair{1, 2}, std::pair{0, 2}}) {
    Repeat(forward, a, b, 1.0, 7);
    Repeat(forward, a, b, 0.0, 3);
    Repeat(reversed, b, a, 0.0, 7);
    Repeat(reversed, b, a, 1.0, 3);
  }
  auto f = BradleyTerry({"A", "B", "C"}, forward, 0);
  auto r = BradleyTerry({"A", "B", "C"}, reversed, 0);
  ASSERT_TRUE(f.ok() && r.ok());
  EXPECT_GT((*f)[0].score, (*f)[1].score);
  EXPECT_GT((*f)[1].score, (*f)[2].score);
  // By symmetry B sits at the mean, and A and C equally far on either side.
  EXPECT_NEAR((*f)[1].score, 1000.0, 1e-9);
  EXPECT_NEAR((*f)[0].score - 1000.0, 1000.0 - (*f)[2].score, 1e-9);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR((*f)[i].score, (*r)[i].score, 1e-9);
}

TEST(BradleyTerryTest, InvalidInputIsAnError) {
  const std::vector<PairVote> ok = {{0, 1, 1.0}, {0, 1, 0.0}};
  auto expect_invalid = [](const Result<std::vector<BtScore>>& r, const std::string& needle) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_invalid(BradleyTerry({"A"}, {}), "at least 2 systems");
  expect_invalid(BradleyTerry({}, {}), "at least 2 systems");
  expect_invalid(BradleyTerry({"A", "A"}, ok), "duplicate system 'A'");
  expect_invalid(BradleyTerry({"A", ""}, ok), "empty system name");
  expect_invalid(BradleyTerry({"A", "B"}, {}), "no votes");
  expect_invalid(BradleyTerry({"A", "B"}, {{0, 2, 1.0}}), "vote 0: system index out of range");
  expect_invalid(BradleyTerry({"A", "B"}, {{0, 1, 1.0}, {-1, 1, 1.0}}), "vote 1: system index out of range");
  expect_invalid(BradleyTerry({"A", "B"}, {{1, 1, 1.0}}), "'B' against itself");
  expect_invalid(BradleyTerry({"A", "B"}, {{0, 1, 0.7}}), "a_score must be 0, 0.5 or 1");
  expect_invalid(BradleyTerry({"A", "B"}, {{0, 1, std::nan("")}}), "a_score");
  expect_invalid(BradleyTerry({"A", "B", "C"}, ok), "no votes for system 'C'");
  expect_invalid(BradleyTerry({"A", "B"}, ok, -1), "bootstrap_rounds");
  EXPECT_TRUE(BradleyTerry({"A", "B"}, ok, 0).ok());
}

TEST(MajorityTest, TiesAbstain) {
  using P = Preference;
  EXPECT_EQ(Majority({P::kA, P::kA, P::kB}), P::kA);
  EXPECT_EQ(Majority({P::kB, P::kTie, P::kTie}), P::kB);
  EXPECT_EQ(Majority({P::kA, P::kTie, P::kTie}), P::kA);
  EXPECT_EQ(Majority({P::kA, P::kB, P::kTie}), P::kTie);
  EXPECT_EQ(Majority({P::kA, P::kB}), P::kTie);
  EXPECT_EQ(Majority({P::kTie}), P::kTie);
  EXPECT_EQ(Majority({}), P::kTie);
}

TEST(MajorityTest, ParseNameAndScoreRoundTrip) {
  for (Preference p : {Preference::kA, Preference::kB, Preference::kTie}) {
    auto parsed = ParsePreference(PreferenceName(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(AScore(Preference::kA), 1.0);
  EXPECT_EQ(AScore(Preference::kB), 0.0);
  EXPECT_EQ(AScore(Preference::kTie), 0.5);
  for (const char* bad : {"a", "Tie", "", "AB", "draw"}) {
    auto r = ParsePreference(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace tenet::eval
