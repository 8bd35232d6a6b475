// Statistics for before/after evaluation of two or more systems from blind pairwise human votes:
// how often one system wins, whether that could be chance, and one score per system.
//
// - Win rate with a Wilson score interval (Wilson 1927, "Probable inference, the law of
//   succession, and statistical inference", JASA 22), ties counted as half a win. The interval is
//   that of a binomial proportion on the effective count wins + ties/2 out of n votes; a tie has
//   less variance than a coin flip, so with many ties the interval is slightly conservative.
// - Two-sided exact sign test (binomial test with p = 1/2) over the decisive votes, ties dropped
//   (Dixon & Mood 1946, "The statistical sign test", JASA 41).
// - Bradley–Terry scores (Bradley & Terry 1952; Zermelo 1929) on the Elo-like scale Chatbot Arena
//   reports (Chiang et al. 2024, arXiv 2403.04132: 400 points per factor 10 in strength), with
//   percentile-bootstrap 95% intervals (Efron & Tibshirani 1993, ch. 13).
// - The majority of one question's votes.
//
// Not here: how votes are collected, stored or shown (label/), or which answer was which system
// (the caller unblinds before calling). No torch; plain C++.
//
// Thread-safety: every function is pure (no shared state; the bootstrap's generator is local to
// the call), so any of them may run concurrently on any threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenet/util/status.h"

namespace tenet::eval {

// The z of a two-sided 95% normal interval (Φ⁻¹(0.975)).
inline constexpr double kZ95 = 1.959963984540054;

struct Proportion {
  double estimate;  // the point estimate, in [0, 1]
  double low;       // the interval, low <= estimate <= high, within [0, 1]
  double high;
};

// Win rate of a system over n = wins + ties + losses votes: (wins + ties/2) / n, with the Wilson
// score interval at `z` (default 95%) on that effective proportion p̂:
//   (p̂ + z²/2n ± z sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n), clamped to [0, 1].
// n = 0 gives estimate 0.5 and the interval [0, 1]. Counts may be fractional (weighted votes).
// Preconditions (asserted; counts come from the caller's tally, never raw input): every count
// finite and >= 0, z finite and > 0.
Proportion WinRate(double wins, double ties, double losses, double z = kZ95);

// Two-sided exact sign test: P(X <= min(wins, losses)) + P(X >= max(wins, losses)) for
// X ~ Binomial(wins + losses, 1/2), capped at 1. Ties are the caller's to drop. 1.0 when
// wins + losses = 0 or wins = losses. Exact (integer binomial sums, one rounding) for
// wins + losses <= 60; above, a log-space sum from lgamma, relative error below 1e-9 (3e-10
// measured at 200,000 votes, 1e-10 at a million), with no overflow at any count; p underflows
// to 0 only below the smallest double (about 5e-324).
// Preconditions (asserted): wins >= 0, losses >= 0, wins + losses does not overflow.
// Cost: O(min(wins, losses)) at worst, usually far less (the tail's terms fade fast).
double SignTestP(int64_t wins, int64_t losses);

// One blind pairwise vote between systems a and b (indices into the systems list).
struct PairVote {
  int a;
  int b;
  double a_score;  // 1: a won, 0: b won, 0.5: tie
};

struct BtScore {
  std::string system;
  double score;  // Elo-like: 1000 + 400 log10(strength / geometric mean of the strengths)
  double low;    // bootstrap 2.5% percentile of the score (== score when bootstrap_rounds is 0)
  double high;   // bootstrap 97.5% percentile
};

// Bradley–Terry scores of `systems` from pairwise votes, in the order of `systems`.
//
// Model: P(i beats j) = s_i / (s_i + s_j); a tie counts half a win for each side (the tally is
// fractional). Fit: maximum likelihood in θ = ln s by Newton's method with a backtracking line
// search, the θ kept at mean 0 (the likelihood only sees differences). Scores are
// 1000 + 400 θ / ln 10: the MEAN score is 1000 (no system is the anchor), and two systems' score
// difference D means the first wins with probability 1 / (1 + 10^(-D/400)). Example: A beats B in
// 3 of 4 votes → s_A / s_B = 3 → scores 1000 ± 200 log10(3) (difference 190.85).
//
// The MLE exists, is unique and is used as is exactly when the graph "i scored against j" (a win
// or a tie) is strongly connected (Zermelo 1929; Ford 1957; Hunter 2004, Assumption 1). When it
// is not (a system that never won, or never lost, against the rest, or groups never compared
// with each other) the likelihood has no maximum, and a Gaussian prior θ ~ N(0, 1/λ), λ = 1e-4
// (a standard deviation of 100 nats, negligible elsewhere), keeps the fit finite. Such scores are
// very far apart (two systems at 5-0 land about 1600 points apart: n(1 - σ(d)) = λ d / 2 with
// d = θ_A - θ_B) and mean "at least this much better": read them as unbounded.
//
// Bootstrap (Chatbot Arena's): `bootstrap_rounds` resamples of the votes with replacement, each
// refitted the same way (degenerate resamples through the prior above, so intervals of sparse
// data can be very wide); low/high are the 2.5% and 97.5% percentiles of each system's scores,
// interpolated linearly between order statistics (numpy's default). Deterministic for a seed on
// every platform: std::mt19937_64(seed), and vote i of a resample is index x mod V of the first
// raw 64-bit draw x below 2^64 − (2^64 mod V) (V votes; tests/reference/pairwise_stats_reference.py
// replays it).
//
// Errors (InvalidArgument): fewer than 2 systems, an empty or duplicate system name, no votes, an
// index out of range, a == b, a_score not 0, 0.5 or 1, a system with no votes,
// bootstrap_rounds < 0. Internal if Newton does not converge (not expected: the objective is
// concave). Cost: O(rounds · (V + iterations · K³)) for K systems and V votes, about 5 to 12
// iterations (30 ms for 1000 rounds of 10 systems and 1,800 votes).
Result<std::vector<BtScore>> BradleyTerry(const std::vector<std::string>& systems, const std::vector<PairVote>& votes,
                                          int bootstrap_rounds = 1000, uint64_t seed = 0);

// One annotator's verdict on one blind pair, or a question's consolidated verdict.
enum class Preference { kA, kB, kTie };

// "A", "B" or "tie" (exactly; case-sensitive) → Preference;
// InvalidArgument naming the text otherwise.
Result<Preference> ParsePreference(std::string_view text);
const char* PreferenceName(Preference p);  // "A", "B", "tie"

// The side a PairVote's a_score gives: kA → 1, kB → 0, kTie → 0.5.
double AScore(Preference p);

// The majority verdict of one question's votes. Tie votes abstain: A if more votes say A than B,
// B if more say B, otherwise (equal counts, no votes, only ties) kTie. So A, tie, tie is A, and
// A, B, tie is a tie. Consistent with the sign test, which also drops ties.
Preference Majority(const std::vector<Preference>& votes);

}  // namespace tenet::eval
