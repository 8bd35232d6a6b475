// Tests for the sampling chain (include/tenet/generate/sampler.h, src/generate/sampler_units.h).
//
// Expected values are derived by hand in the comments: small vocabularies whose logits are exact
// in binary (or logs of round probabilities, checked away from rounding boundaries), so each
// unit's survivors and each draw's probabilities can be read off. The 128k-row tests compare the
// pruned top-p against a plain full sort; the reference test compares top-p/min-p with
// tests/reference/sampling_reference.py, a line-by-line replica of transformers'
// TopPLogitsWarper and MinPLogitsWarper in PyTorch (skipped when /usr/bin/python3 lacks torch).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "../../src/generate/sampler_units.h"
#include "tenet/generate/sampler.h"
#include "test_util.h"

namespace tenet {
namespace {

namespace su = sampler_units;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Candidates Row(const std::vector<float>& logits) {
  Candidates c;
  c.logits = logits;
  c.ids.resize(logits.size());
  std::iota(c.ids.begin(), c.ids.end(), 0);
  return c;
}

std::vector<float> LogOf(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

std::unique_ptr<Sampler> Make(const SamplingParams& p, int32_t vocab) {
  auto r = Sampler::Create(p, vocab);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

SamplingParams Greedy() {
  SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

std::vector<int32_t> Draw(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(s.Sample(logits.data()));
  return out;
}

// Frequencies of each token over n draws.
std::vector<double> Frequencies(Sampler& s, const std::vector<float>& logits, int n) {
  std::vector<double> f(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) f[s.Sample(logits.data())] += 1.0 / n;
  return f;
}

// ---------------------------------------------------------------- validation

TEST(SamplingParamsTest, AcceptsDefaultsAndRangeEnds) {
  EXPECT_TRUE(ValidateSamplingParams({}).ok());
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.repetition_penalty = 1e-3f;
  EXPECT_TRUE(ValidateSamplingParams(p).ok());
  p.top_p = 1e-6f;
  p.min_p = 0.999f;
  p.presence_penalty = 2.0f;
  p.frequency_penalty = -2.0f;
  EXPECT_TRUE(ValidateSamplingParams(p).ok());
}

TEST(SamplingParamsTest, RejectsEachOutOfRangeValueNamingTheParameter) {
  struct Case {
    const char* name;
    std::function<void(SamplingParams&)> set;
  };
  const std::vector<Case> cases = {
      {"temperature", [](SamplingParams& p) { p.temperature = -0.5f; }},
      {"temperature", [](SamplingParams& p) { p.temperature = kNaN; }},
      {"temperature", [](SamplingParams& p) { p.temperature = kInf; }},
      {"top_k", [](SamplingParams& p) { p.top_k = -1; }},
      {"top_p", [](SamplingParams& p) { p.top_p = 0.0f; }},
      {"top_p", [](SamplingParams& p) { p.top_p = -0.1f; }},
      {"top_p", [](SamplingParams& p) { p.top_p = 1.5f; }},
      {"top_p", [](SamplingParams& p) { p.top_p = kNaN; }},
      {"min_p", [](SamplingParams& p) { p.min_p = -0.1f; }},
      {"min_p", [](SamplingParams& p) { p.min_p = 1.0f; }},
      {"min_p", [](SamplingParams& p) { p.min_p = kNaN; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = 0.0f; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = -1.2f; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = kNaN; }},
      {"repetition_penalty", [](SamplingParams& p) { p.repetition_penalty = kInf; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = 2.5f; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = -2.01f; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = kNaN; }},
      {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = 3.0f; }},
      {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = -kInf; }},
      {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = kNaN; }},
  };
  for (const auto& c : cases) {
    SamplingParams p;
    c.set(p);
    const Status s = ValidateSamplingParams(p);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(s.message().rfind(std::string(c.name) + ": must be", 0), 0u) << s.message();
    auto created = Sampler::Create(p, 8);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().message(), s.message());
  }
  SamplingParams p;
  p.top_p = 1.5f;
  EXPECT_EQ(ValidateSamplingParams(p).message(), "top_p: must be in (0, 1] (1 = off), got 1.5");
}

TEST(SamplerCreateTest, RejectsEmptyVocabulary) {
  for (int32_t v : {0, -5}) {
    auto r = Sampler::Create({}, v);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("vocab_size"), std::string::npos);
  }
}

TEST(SamplerCreateTest, UnitNamesFollowTheActiveUnitsInChainOrder) {
  using Names = std::vector<std::string>;
  EXPECT_EQ(Make({}, 8)->unit_names(), Names({"dist"}));
  EXPECT_EQ(Make(Greedy(), 8)->unit_names(), Names({"greedy"}));

  SamplingParams all;
  all.temperature = 0.7f;
  all.top_k = 40;
  all.top_p = 0.9f;
  all.min_p = 0.05f;
  all.repetition_penalty = 1.1f;
  EXPECT_EQ(Make(all, 8)->unit_names(), Names({"penalties", "temperature", "top-k", "top-p", "min-p", "dist"}));

  // Greedy leaves out the truncation units (they never remove the argmax) and temperature.
  all.temperature = 0.0f;
  EXPECT_EQ(Make(all, 8)->unit_names(), Names({"penalties", "greedy"}));

  SamplingParams some;
  some.presence_penalty = 0.5f;  // any one penalty turns the unit on
  some.top_p = 0.95f;
  EXPECT_EQ(Make(some, 8)->unit_names(), Names({"penalties", "top-p", "dist"}));
  some = {};
  some.frequency_penalty = -0.5f;
  some.top_k = 1;
  EXPECT_EQ(Make(some, 8)->unit_names(), Names({"penalties", "top-k", "dist"}));
}

// ---------------------------------------------------------------- units by hand

TEST(PenaltiesUnitTest, RepetitionDividesPositiveMultipliesNegativeOncePerDistinctToken) {
  auto unit = su::MakePenalties(/*repetition=*/2.0f, 0.0f, 0.0f, 6);
  for (int32_t t : {0, 1, 1, 5}) unit->Accept(t, /*generated=*/false);  // prompt counts for repetition
  unit->Accept(2, true);
  unit->Accept(2, true);  // twice, still penalized once
  Candidates c = Row({2.0f, -1.0f, 0.5f, -0.5f, 3.0f, 0.0f});
  unit->Apply(c);
  // 0: 2/2 = 1; 1: -1*2 = -2; 2: 0.5/2 = 0.25; 3, 4 unseen; 5: 0 is not < 0, so 0/2 = 0.
  EXPECT_EQ(c.logits, std::vector<float>({1.0f, -2.0f, 0.25f, -0.5f, 3.0f, 0.0f}));
}

TEST(PenaltiesUnitTest, PresenceAndFrequencyCountGeneratedTokensOnly) {
  auto unit = su::MakePenalties(1.0f, /*presence=*/0.5f, /*frequency=*/0.25f, 6);
  for (int32_t t : {0, 0, 3}) unit->Accept(t, false);
  for (int32_t t : {2, 2, 4}) unit->Accept(t, true);
  Candidates c = Row({1, 1, 1, 1, 1, 1});
  unit->Apply(c);
  // 0 and 3 were only in the prompt: untouched. 2: 1 - (0.25*2 + 0.5) = 0. 4: 1 - (0.25 + 0.5) = 0.25.
  EXPECT_EQ(c.logits, std::vector<float>({1, 1, 0, 1, 0.25f, 1}));
}

TEST(PenaltiesUnitTest, RepetitionThenPresenceAndFrequency) {
  auto unit = su::MakePenalties(2.0f, /*presence=*/1.0f, /*frequency=*/0.5f, 4);
  for (int i = 0; i < 3; ++i) unit->Accept(1, true);
  unit->Accept(2, true);
  Candidates c = Row({0.0f, 3.0f, -1.0f, 4.0f});
  unit->Apply(c);
  // 1: 3/2 = 1.5, then - (0.5*3 + 1) = -1.  2: -1*2 = -2, then - (0.5 + 1) = -3.5.
  EXPECT_EQ(c.logits, std::vector<float>({0.0f, -1.0f, -3.5f, 4.0f}));
}

TEST(PenaltiesUnitTest, ResetForgetsAndOutOfRangeIdsAreIgnored) {
  auto unit = su::MakePenalties(2.0f, 1.0f, 1.0f, 3);
  unit->Accept(-1, true);
  unit->Accept(3, true);
  unit->Accept(1, true);
  Candidates c = Row({1, 1, 1});
  unit->Apply(c);
  EXPECT_EQ(c.logits, std::vector<float>({1, 0.5f - 2.0f, 1}));
  unit->Reset();
  c = Row({1, 1, 1});
  unit->Apply(c);
  EXPECT_EQ(c.logits, std::vector<float>({1, 1, 1}));
}

TEST(PenaltiesUnitTest, WorksOnAReorderedSubset) {
  auto unit = su::MakePenalties(2.0f, 0.0f, 0.0f, 10);
  unit->Accept(7, false);
  Candidates c;
  c.ids = {7, 2};
  c.logits = {4.0f, 3.0f};
  c.sorted = true;
  unit->Apply(c);
  EXPECT_EQ(c.logits, std::vector<float>({2.0f, 3.0f}));
  EXPECT_FALSE(c.sorted);  // 2 < 3 now
}

TEST(TemperatureUnitTest, DividesLogits) {
  auto unit = su::MakeTemperature(0.5f);
  Candidates c = Row({1.0f, 2.0f, -3.0f, -kInf});
  unit->Apply(c);
  EXPECT_EQ(c.logits, std::vector<float>({2.0f, 4.0f, -6.0f, -kInf}));
}

TEST(TopKUnitTest, KeepsExactlyKLargestWithTiesToLowerIds) {
  {
    auto unit = su::MakeTopK(2);
    Candidates c = Row({1, 3, 3, 2, 3});
    unit->Apply(c);  // three tokens tie at 3: ids 1 and 2 win
    EXPECT_EQ(c.ids, std::vector<int32_t>({1, 2}));
    EXPECT_EQ(c.logits, std::vector<float>({3, 3}));
    EXPECT_TRUE(c.sorted);
  }
  {
    auto unit = su::MakeTopK(4);
    Candidates c = Row({1, 3, 3, 2, 3});
    unit->Apply(c);
    EXPECT_EQ(c.ids, std::vector<int32_t>({1, 2, 4, 3}));  // descending, ties by id
  }
  {
    auto unit = su::MakeTopK(5);  // k >= n: untouched, still in id order
    Candidates c = Row({1, 3, 3, 2, 3});
    unit->Apply(c);
    EXPECT_EQ(c.ids, std::vector<int32_t>({0, 1, 2, 3, 4}));
    EXPECT_FALSE(c.sorted);
  }
  {
    auto unit = su::MakeTopK(1);
    Candidates c = Row({-kInf, -kInf, -kInf});
    unit->Apply(c);
    EXPECT_EQ(c.ids, std::vector<int32_t>({0}));
  }
}

TEST(TopPUnitTest, MassLandingExactlyOnTopPStopsThere) {
  // Four equal logits: each p = 1/4 exactly (weights exp(0) = 1, total 4).
  auto kept = [](float top_p) {
    Candidates c = Row({0, 0, 0, 0});
    su::MakeTopP(top_p)->Apply(c);
    EXPECT_TRUE(c.sorted);
    return c.ids;
  };
  using Ids = std::vector<int32_t>;
  // HF removes cumulative (ascending) <= 1 - top_p = 0.5: 0.25 and 0.5, i.e. two of four tokens.
  EXPECT_EQ(kept(0.5f), Ids({0, 1}));
  EXPECT_EQ(kept(0.5000001f), Ids({0, 1, 2}));  // 0.5 < top_p: one more token needed
  EXPECT_EQ(kept(0.4999999f), Ids({0, 1}));
  EXPECT_EQ(kept(0.75f), Ids({0, 1, 2}));
  EXPECT_EQ(kept(0.25f), Ids({0}));
  EXPECT_EQ(kept(0.2f), Ids({0}));  // always at least one
  EXPECT_EQ(kept(0.26f), Ids({0, 1}));
  EXPECT_EQ(kept(1.0f), Ids({0, 1, 2, 3}));
}

TEST(TopPUnitTest, KeepsSmallestPrefixReachingTopP) {
  // p = {0.1, 0.5, 0.15, 0.25}; descending: id1 .5, id3 .25, id2 .15, id0 .1 with mass before each
  // 0, .5, .75, .9. Keep iff mass before < top_p.
  auto kept = [](float top_p) {
    Candidates c = Row(LogOf({0.1, 0.5, 0.15, 0.25}));
    su::MakeTopP(top_p)->Apply(c);
    return c.ids;
  };
  using Ids = std::vector<int32_t>;
  EXPECT_EQ(kept(0.45f), Ids({1}));
  EXPECT_EQ(kept(0.7f), Ids({1, 3}));
  EXPECT_EQ(kept(0.8f), Ids({1, 3, 2}));
  EXPECT_EQ(kept(0.95f), Ids({1, 3, 2, 0}));
}

TEST(TopPUnitTest, AfterTopKUsesTheRenormalizedMass) {
  // top-k 2 keeps ids 1 (.5) and 3 (.25): renormalized 2/3 and 1/3.
  auto kept = [](float top_p) {
    Candidates c = Row(LogOf({0.1, 0.5, 0.15, 0.25}));
    su::MakeTopK(2)->Apply(c);
    su::MakeTopP(top_p)->Apply(c);
    return c.ids;
  };
  EXPECT_EQ(kept(0.6f), std::vector<int32_t>({1}));     // 2/3 >= 0.6
  EXPECT_EQ(kept(0.7f), std::vector<int32_t>({1, 3}));  // 2/3 < 0.7
}

TEST(TopPUnitTest, InfinitiesAndEmptyInformation) {
  {
    Candidates c = Row({1.0f, kInf, 2.0f, kInf});  // all mass on the two +inf tokens, 1/2 each
    su::MakeTopP(0.5f)->Apply(c);
    EXPECT_EQ(c.ids, std::vector<int32_t>({1}));
  }
  {
    Candidates c = Row({-kInf, -kInf, -kInf});  // nothing to rank: left alone
    su::MakeTopP(0.5f)->Apply(c);
    EXPECT_EQ(c.ids.size(), 3u);
  }
}

// Reference: sort everything, then the same keep rule.
std::vector<int32_t> FullSortTopP(const std::vector<float>& logits, float top_p) {
  std::vector<su::Entry> e;
  for (size_t i = 0; i < logits.size(); ++i) e.push_back({logits[i], static_cast<int32_t>(i)});
  std::sort(e.begin(), e.end(), su::Before);
  double total = 0.0;
  for (const auto& x : e) total += su::FastExp(x.logit - e[0].logit);
  std::vector<int32_t> ids;
  double before = 0.0;
  for (const auto& x : e) {
    if (before >= static_cast<double>(top_p) * total) break;
    ids.push_back(x.id);
    before += su::FastExp(x.logit - e[0].logit);
  }
  return ids;
}

TEST(TopPUnitTest, PrunedSearchMatchesFullSortOn128kRows) {
  const int32_t kV = 128256;
  std::mt19937_64 g(3);
  for (float scale : {0.5f, 2.0f, 4.0f}) {
    std::normal_distribution<float> n(0.0f, scale);
    std::vector<float> logits(kV);
    for (float& l : logits) l = n(g);
    for (float top_p : {0.3f, 0.9f, 0.99f}) {
      Candidates c = Row(logits);
      su::MakeTopP(top_p)->Apply(c);
      EXPECT_EQ(c.ids, FullSortTopP(logits, top_p)) << "scale " << scale << " top_p " << top_p;
    }
  }
  // A flat row prunes nothing: keep while j < 0.9 * V = 115430.4, i.e. ids 0..115430.
  Candidates c = Row(std::vector<float>(kV, 1.0f));
  su::MakeTopP(0.9f)->Apply(c);
  ASSERT_EQ(c.ids.size(), 115431u);
  EXPECT_EQ(c.ids.back(), 115430);
}

TEST(MinPUnitTest, KeepsTokensAtLeastMinPTimesTheBest) {
  // p = {0.1, 0.5, 0.15, 0.25}: ratios to the best 0.2, 1, 0.3, 0.5. Order (ids) is preserved.
  auto kept = [](float min_p) {
    Candidates c = Row(LogOf({0.1, 0.5, 0.15, 0.25}));
    su::MakeMinP(min_p)->Apply(c);
    EXPECT_FALSE(c.sorted);
    return c.ids;
  };
  using Ids = std::vector<int32_t>;
  EXPECT_EQ(kept(0.1f), Ids({0, 1, 2, 3}));
  EXPECT_EQ(kept(0.25f), Ids({1, 2, 3}));
  EXPECT_EQ(kept(0.35f), Ids({1, 3}));
  EXPECT_EQ(kept(0.9f), Ids({1}));
  // Just either side of the 0.5 ratio of token 3.
  EXPECT_EQ(kept(0.5001f), Ids({1}));
  EXPECT_EQ(kept(0.4999f), Ids({1, 3}));
  // Ties with the best have ratio exactly 1 and always stay; -inf always goes.
  Candidates c = Row({2.0f, 2.0f, 1.0f, -kInf});
  su::MakeMinP(0.99f)->Apply(c);
  EXPECT_EQ(c.ids, Ids({0, 1}));
}

TEST(FastExpTest, MatchesExpWithinFloatPrecision) {
  double worst = 0.0;
  for (float x = -87.0f; x <= 0.0f; x += 0.0137f) {
    worst = std::max(worst, std::abs(su::FastExp(x) / std::exp(static_cast<double>(x)) - 1.0));
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(su::FastExp(0.0f), 1.0f);
  EXPECT_EQ(su::FastExp(-kInf), 0.0f);
  EXPECT_EQ(su::FastExp(-100.0f), 0.0f);
}

// ---------------------------------------------------------------- the Sampler

TEST(SamplerTest, GreedyIsArgmaxWithTiesToLowestId) {
  auto s = Make(Greedy(), 4);
  std::vector<float> logits = {1, 3, 3, 2};
  EXPECT_EQ(Draw(*s, logits, 3), std::vector<int32_t>({1, 1, 1}));
  // Truncation settings and the seed do not matter.
  SamplingParams p = Greedy();
  p.top_k = 1;
  p.top_p = 0.1f;
  p.min_p = 0.5f;
  p.seed = 99;
  EXPECT_EQ(Make(p, 4)->Sample(logits.data()), 1);
}

TEST(SamplerTest, GreedyWithRepetitionPenaltySeesPromptAndGenerated) {
  SamplingParams p = Greedy();
  p.repetition_penalty = 2.0f;
  auto s = Make(p, 4);
  s->AcceptPrompt({1});
  std::vector<float> logits = {1, 3, 3, 2};
  // step 1: seen {1}: {1, 1.5, 3, 2} -> 2.  step 2: seen {1,2}: {1, 1.5, 1.5, 2} -> 3.
  // step 3: seen {1,2,3}: {1, 1.5, 1.5, 1} -> 1 (tie with 2, lower id).  step 4: same -> 1.
  const std::vector<int32_t> expected = {2, 3, 1, 1};
  EXPECT_EQ(Draw(*s, logits, 4), expected);
  s->Reset();
  s->AcceptPrompt({1});
  EXPECT_EQ(Draw(*s, logits, 4), expected);
  s->Reset();  // without the prompt: token 1 wins first
  EXPECT_EQ(s->Sample(logits.data()), 1);
}

TEST(SamplerTest, PresenceAndFrequencyIgnoreThePrompt) {
  std::vector<float> logits = {2, 1, 0};
  {
    SamplingParams p = Greedy();
    p.presence_penalty = 1.5f;
    auto s = Make(p, 3);
    s->AcceptPrompt({0, 0, 0});
    // 0 (prompt ignored); then 0 -> 0.5 so 1; then 1 -> -0.5, 0 stays 0.5 (presence does not grow).
    EXPECT_EQ(Draw(*s, logits, 4), std::vector<int32_t>({0, 1, 0, 0}));
  }
  {
    SamplingParams p = Greedy();
    p.frequency_penalty = 1.5f;
    auto s = Make(p, 3);
    s->AcceptPrompt({0, 0, 0});
    // 0; {0.5, 1, 0} -> 1; {0.5, -0.5, 0} -> 0; {-1, -0.5, 0} -> 2.
    EXPECT_EQ(Draw(*s, logits, 4), std::vector<int32_t>({0, 1, 0, 2}));
  }
}

TEST(SamplerTest, DrawFrequenciesMatchTheAnalyticSoftmax) {
  const int kDraws = 20000;
  // sd of a frequency near 0.5 over 20000 draws: sqrt(0.25 / 20000) = 0.0035; 0.015 is ~4 sd.
  const double kTol = 0.015;
  auto check = [&](const SamplingParams& p, const std::vector<float>& logits, const std::vector<double>& want) {
    auto s = Make(p, static_cast<int32_t>(logits.size()));
    const auto got = Frequencies(*s, logits, kDraws);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], kTol) << "token " << i;
  };
  const std::vector<float> four = LogOf({0.1, 0.2, 0.3, 0.4});
  SamplingParams p;
  p.seed = 7;
  check(p, four, {0.1, 0.2, 0.3, 0.4});
  // T = 0.5 squares the odds: {0, ln 3} -> weights {1, 9}.
  SamplingParams t = p;
  t.temperature = 0.5f;
  check(t, {0.0f, static_cast<float>(std::log(3.0))}, {0.1, 0.9});
  // top-k 2 keeps .3 and .4: 3/7, 4/7.
  SamplingParams k = p;
  k.top_k = 2;
  check(k, four, {0, 0, 3.0 / 7, 4.0 / 7});
  // top-p 0.6: .4 (before 0), .3 (before .4 < .6), not .2 (before .7): 3/7, 4/7.
  SamplingParams tp = p;
  tp.top_p = 0.6f;
  check(tp, four, {0, 0, 3.0 / 7, 4.0 / 7});
  // min-p 0.6: ratios .25, .5, .75, 1: keeps .3 and .4.
  SamplingParams mp = p;
  mp.min_p = 0.6f;
  check(mp, four, {0, 0, 3.0 / 7, 4.0 / 7});
}

TEST(SamplerTest, DrawIsTheDocumentedInverseCdfOverMt19937_64) {
  // The C++ standard fixes mt19937_64's output: the 10000th value of a default-seeded engine.
  std::mt19937_64 check;
  check.discard(9999);
  EXPECT_EQ(check(), 9981545732273789042ull);
  // Four equal logits: u = (rng() >> 11) * 2^-53 picks token floor(4u). Derived from the engine
  // directly, so this pins the draw method on every platform.
  SamplingParams p;
  p.seed = 1234;
  auto s = Make(p, 4);
  std::mt19937_64 rng(1234);
  std::vector<float> flat = {0, 0, 0, 0};
  for (int i = 0; i < 200; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    ASSERT_EQ(s->Sample(flat.data()), static_cast<int32_t>(std::floor(4 * u))) << "draw " << i;
  }
}

TEST(SamplerTest, SeedsReproduceAndResetRestarts) {
  std::mt19937_64 g(11);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> logits(64);
  for (float& l : logits) l = n(g);
  SamplingParams p;
  p.seed = 42;
  p.top_p = 0.95f;
  p.repetition_penalty = 1.3f;
  auto a = Make(p, 64);
  auto b = Make(p, 64);
  a->AcceptPrompt({1, 2, 3});
  b->AcceptPrompt({1, 2, 3});
  const auto first = Draw(*a, logits, 200);
  EXPECT_EQ(Draw(*b, logits, 200), first);
  p.seed = 43;
  auto c = Make(p, 64);
  c->AcceptPrompt({1, 2, 3});
  EXPECT_NE(Draw(*c, logits, 200), first);
  a->Reset();
  a->AcceptPrompt({1, 2, 3});
  EXPECT_EQ(Draw(*a, logits, 200), first);
}

TEST(SamplerTest, NaNAndInfinitiesHaveDefinedResults) {
  // NaN is treated as -inf: never chosen while any other token has mass.
  const std::vector<float> with_nan = {kNaN, 1.0f, kNaN, 0.5f};
  EXPECT_EQ(Make(Greedy(), 4)->Sample(with_nan.data()), 1);
  SamplingParams all;
  all.top_k = 3;
  all.top_p = 0.9f;
  all.min_p = 0.01f;
  for (const SamplingParams& p : {SamplingParams{}, all}) {
    auto s = Make(p, 4);
    for (int i = 0; i < 500; ++i) {
      const int32_t t = s->Sample(with_nan.data());
      ASSERT_TRUE(t == 1 || t == 3) << t;
    }
  }
  // No information at all (every logit NaN or -inf): the lowest id, in every mode.
  for (const auto& row : {std::vector<float>(5, kNaN), std::vector<float>(5, -kInf)}) {
    EXPECT_EQ(Make(Greedy(), 5)->Sample(row.data()), 0);
    EXPECT_EQ(Make({}, 5)->Sample(row.data()), 0);
    EXPECT_EQ(Make(all, 5)->Sample(row.data()), 0);
  }
  // +inf tokens take all the mass, shared equally; greedy takes the first.
  const std::vector<float> with_inf = {1.0f, kInf, 2.0f, kInf};
  EXPECT_EQ(Make(Greedy(), 4)->Sample(with_inf.data()), 1);
  auto s = Make({}, 4);
  const auto f = Frequencies(*s, with_inf, 4000);
  EXPECT_NEAR(f[1], 0.5, 0.04);
  EXPECT_NEAR(f[3], 0.5, 0.04);
  EXPECT_EQ(f[0], 0.0);
  EXPECT_EQ(f[2], 0.0);
  // Temperature overflowing finite logits to +-inf behaves the same way.
  SamplingParams cold;
  cold.temperature = 0.01f;
  const std::vector<float> huge = {3e38f, -3e38f};
  EXPECT_EQ(Draw(*Make(cold, 2), huge, 20), std::vector<int32_t>(20, 0));
  // Prompt ids outside the vocabulary are ignored.
  SamplingParams rep = Greedy();
  rep.repetition_penalty = 2.0f;
  auto r = Make(rep, 4);
  r->AcceptPrompt({-3, 4, 1000});
  EXPECT_EQ(r->Sample(with_nan.data()), 1);
}

// Greedy and temperature-only sampling skip the candidate list (sampler_rows.h). They must pick
// exactly what the unit chain picks: the temperature unit then the dist unit on the full row, or
// the greedy unit, with the same RNG, including NaN, +-inf and block-boundary rows.
TEST(SamplerTest, WholeRowPathPicksWhatTheUnitChainPicks) {
  std::mt19937_64 g(5);
  std::normal_distribution<float> n(0.0f, 3.0f);
  std::vector<std::vector<float>> rows;
  for (size_t size : {1u, 7u, 255u, 256u, 257u, 1000u, 128256u}) {
    std::vector<float> row(size);
    for (float& l : row) l = n(g);
    rows.push_back(row);
  }
  std::vector<float> special = rows[5];
  special[3] = kNaN;
  special[400] = -kInf;
  special[999] = 40.0f;  // one dominant token in the last block
  rows.push_back(special);
  std::vector<float> infs = rows[5];
  infs[10] = kInf;
  infs[700] = kInf;
  rows.push_back(infs);
  rows.push_back(std::vector<float>(300, -kInf));

  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const auto vocab = static_cast<int32_t>(row.size());
    for (float t : {0.0f, 0.6f, 1.0f, 1.7f}) {
      SamplingParams p;
      p.temperature = t;
      p.seed = 100 + r;
      auto s = Make(p, vocab);
      std::mt19937_64 rng(p.seed);
      for (int i = 0; i < 30; ++i) {
        Candidates c = Row(row);
        for (float& l : c.logits) l = std::isnan(l) ? -kInf : l;
        if (t == 0.0f) {
          su::MakeGreedy()->Apply(c);
        } else {
          if (t != 1.0f) su::MakeTemperature(t)->Apply(c);
          su::MakeDist(&rng)->Apply(c);
        }
        ASSERT_EQ(s->Sample(row.data()), c.ids[0]) << "row " << r << " T " << t << " draw " << i;
      }
    }
  }
}

// bf16 logits (raw bits) sample exactly like their fp32 widening, on both paths.
TEST(SamplerTest, Bf16RowsSampleLikeTheirFp32Widening) {
  std::mt19937_64 g(9);
  std::normal_distribution<float> n(0.0f, 3.0f);
  const int32_t kV = 5000;
  std::vector<uint16_t> bits(kV);
  std::vector<float> wide(kV);
  for (int32_t i = 0; i < kV; ++i) {
    bits[i] = static_cast<uint16_t>(std::bit_cast<uint32_t>(n(g)) >> 16);
    wide[i] = std::bit_cast<float>(static_cast<uint32_t>(bits[i]) << 16);
  }
  bits[17] = 0x7fc0;  // NaN
  wide[17] = kNaN;
  SamplingParams filtered;
  filtered.temperature = 0.8f;
  filtered.top_p = 0.9f;
  for (const SamplingParams& p : {Greedy(), SamplingParams{}, filtered}) {
    auto a = Make(p, kV);
    auto b = Make(p, kV);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(a->SampleBf16(bits.data()), b->Sample(wide.data())) << "draw " << i;
  }
}

// ---------------------------------------------------------------- reference and timing

// top-p and min-p kept sets against tests/reference/sampling_reference.py (transformers' code).
TEST(SamplerReferenceTest, TopPAndMinPMatchTransformersWarpers) {
  const std::string python = "/usr/bin/python3";
  if (testing::RunCommand(python + " -c 'import torch'").exit_code != 0) {
    GTEST_FAIL() << python << " with torch not available";
  }
  const std::string dir = testing::ScratchDir();
  const std::string in = dir + "/rows.txt";
  struct Case {
    float top_p, min_p;
    std::vector<float> logits;
  };
  std::vector<Case> cases;
  std::mt19937_64 g(5);
  const float top_ps[] = {0.3f, 0.8f, 0.9f, 0.95f, 0.999f};
  const float min_ps[] = {0.01f, 0.05f, 0.1f, 0.3f, 0.7f};
  for (int i = 0; i < 40; ++i) {
    std::normal_distribution<float> n(0.0f, 0.5f + 0.25f * static_cast<float>(i % 8));
    Case c{top_ps[i % 5], min_ps[(i / 5) % 5], std::vector<float>(1000 + 37 * i)};
    for (float& l : c.logits) l = n(g);
    cases.push_back(std::move(c));
  }
  {
    std::ofstream o(in);
    o.precision(9);  // round-trips float
    for (const auto& c : cases) {
      o << c.top_p << ' ' << c.min_p;
      for (float l : c.logits) o << ' ' << l;
      o << '\n';
    }
  }
  auto run = testing::RunCommand(python + " " + testing::ShellQuote(testing::SourceDir() + "/tests/reference/sampling_reference.py") +
                                 " " + testing::ShellQuote(in));
  ASSERT_EQ(run.exit_code, 0) << run.out;
  std::istringstream lines(run.out);
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "reference output ends at case " << i;
    const auto bar = line.find('|');
    ASSERT_NE(bar, std::string::npos);
    auto parse = [](const std::string& s) {
      std::istringstream is(s);
      std::vector<int32_t> v;
      for (int32_t x; is >> x;) v.push_back(x);
      return v;
    };
    const auto want_top_p = parse(line.substr(0, bar));
    const auto want_min_p = parse(line.substr(bar + 1));
    Candidates c = Row(cases[i].logits);
    su::MakeTopP(cases[i].top_p)->Apply(c);
    std::sort(c.ids.begin(), c.ids.end());
    EXPECT_EQ(c.ids, want_top_p) << "case " << i << " top_p " << cases[i].top_p;
    c = Row(cases[i].logits);
    su::MakeMinP(cases[i].min_p)->Apply(c);
    EXPECT_EQ(c.ids, want_min_p) << "case " << i << " min_p " << cases[i].min_p;
  }
}

// Not a pass/fail benchmark (the machine is shared): prints the median time of one Sample() on a
// Llama 3-sized row, so regressions are visible in the test log.
TEST(SamplerTimingTest, OneSampleOnA128kRow) {
  const int32_t kV = 128256;
  std::mt19937_64 g(1);
  std::normal_distribution<float> n(0.0f, 2.0f);
  std::vector<float> logits(kV);
  for (float& l : logits) l = n(g);
  // A model-like row: a handful of strong candidates above a broad tail.
  for (int i = 0; i < 8; ++i) logits[(i * 7919) % kV] = 14.0f - static_cast<float>(i);
  struct Config {
    const char* name;
    SamplingParams p;
  };
  std::vector<Config> configs;
  configs.push_back({"greedy", Greedy()});
  SamplingParams p;
  p.temperature = 0.8f;
  configs.push_back({"temperature 0.8", p});
  p.top_p = 0.9f;
  configs.push_back({"temperature 0.8 + top-p 0.9", p});
  p.top_p = 1.0f;
  p.top_k = 50;
  configs.push_back({"temperature 0.8 + top-k 50", p});
  p.top_k = 0;
  p.min_p = 0.05f;
  configs.push_back({"temperature 0.8 + min-p 0.05", p});
  SamplingParams full;
  full.temperature = 0.7f;
  full.top_k = 50;
  full.top_p = 0.9f;
  full.min_p = 0.05f;
  full.repetition_penalty = 1.1f;
  configs.push_back({"penalties + temp + top-k + top-p + min-p", full});
  for (const auto& cfg : configs) {
    auto s = Make(cfg.p, kV);
    s->AcceptPrompt(std::vector<int32_t>{1, 2, 3, 4, 5});
    std::vector<double> us;
    for (int i = 0; i < 200; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const int32_t t = s->Sample(logits.data());
      const auto t1 = std::chrono::steady_clock::now();
      ASSERT_TRUE(t >= 0 && t < kV);
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("[ timing ] Sample() V=%d %-42s median %7.1f us  p90 %7.1f us\n", kV, cfg.name, us[us.size() / 2],
                us[us.size() * 9 / 10]);
  }
}

}  // namespace
}  // namespace tenet
