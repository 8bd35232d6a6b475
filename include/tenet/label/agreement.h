// Consolidating several annotators' rankings of one item, and how much they agree.
//
// Rankings are competition ranks per answer (1 = best; tied answers share a rank: 1, 1, 3).
// - Borda count: an answer ranked at (average) rank r of n earns n - r points from that
//   annotator; the consolidated ranking orders answers by total points (ties share a rank).
// - Kendall's W (coefficient of concordance) with the tie correction (Kendall & Babington Smith
//   1939; Siegel & Castellan, Nonparametric Statistics, 2nd ed., §9.4):
//     W = 12 S / (m² (n³ − n) − m Σ_j T_j),  S = Σ_i (R_i − m(n+1)/2)²,  T_j = Σ_groups (t³ − t)
//   over m annotators and n answers, R_i the sum of answer i's average ranks. 1 = full agreement,
//   0 = none. Undefined (nullopt) for fewer than 2 annotators or when every annotator tied all.
// - Pairwise agreement: over all pairs of annotators and all pairs of answers, the fraction where
//   both order the two answers the same way (<, = or >).
#pragma once

#include <optional>
#include <vector>

namespace tenet::label {

using Ranking = std::vector<int>;  // competition ranks per answer

// Competition ranks → average ranks: (1, 1, 3) → (1.5, 1.5, 3).
std::vector<double> AverageRanks(const Ranking& r);

struct Consolidated {
  std::vector<double> points;  // Borda points per answer
  Ranking ranks;               // competition ranks by points (highest = 1)
};
Consolidated BordaConsolidate(const std::vector<Ranking>& rankings);

std::optional<double> KendallW(const std::vector<Ranking>& rankings);

// Fraction of answer pairs two rankings order the same way; nullopt for fewer than 2 answers.
std::optional<double> PairAgreement(const Ranking& a, const Ranking& b);
// Mean of PairAgreement over all pairs of rankings; nullopt for fewer than 2 rankings.
std::optional<double> PairwiseAgreement(const std::vector<Ranking>& rankings);

}  // namespace tenet::label
