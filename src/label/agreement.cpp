// Borda consolidation, Kendall's W and pairwise agreement. See tenet/label/agreement.h.
#include "tenet/label/agreement.h"

#include <algorithm>
#include <map>

namespace tenet::label {

std::vector<double> AverageRanks(const Ranking& r) {
  // Answers sharing competition rank c occupy positions c .. c+t-1; each gets their mean.
  std::map<int, int> count;
  for (int v : r) ++count[v];
  std::vector<double> out(r.size());
  for (size_t i = 0; i < r.size(); ++i) out[i] = r[i] + (count[r[i]] - 1) / 2.0;
  return out;
}

Consolidated BordaConsolidate(const std::vector<Ranking>& rankings) {
  Consolidated c;
  if (rankings.empty()) return c;
  const size_t n = rankings[0].size();
  c.points.assign(n, 0.0);
  for (const Ranking& r : rankings) {
    const std::vector<double> avg = AverageRanks(r);
    for (size_t i = 0; i < n; ++i) c.points[i] += static_cast<double>(n) - avg[i];
  }
  c.ranks.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int better = 0;
    for (size_t k = 0; k < n; ++k) better += c.points[k] > c.points[i] + 1e-9;
    c.ranks[i] = better + 1;
  }
  return c;
}

std::optional<double> KendallW(const std::vector<Ranking>& rankings) {
  const size_t m = rankings.size();
  if (m < 2) return std::nullopt;
  const size_t n = rankings[0].size();
  if (n < 2) return std::nullopt;
  std::vector<double> sums(n, 0.0);
  double ties = 0.0;
  for (const Ranking& r : rankings) {
    const std::vector<double> avg = AverageRanks(r);
    for (size_t i = 0; i < n; ++i) sums[i] += avg[i];
    std::map<int, int> groups;
    for (int v : r) ++groups[v];
    for (auto [rank, t] : groups) ties += static_cast<double>(t) * t * t - t;
  }
  const double mean = m * (n + 1) / 2.0;
  double s = 0.0;
  for (double v : sums) s += (v - mean) * (v - mean);
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  const double denom = md * md * (nd * nd * nd - nd) - md * ties;
  if (denom <= 0.0) return std::nullopt;
  return 12.0 * s / denom;
}

std::optional<double> PairAgreement(const Ranking& a, const Ranking& b) {
  const size_t n = a.size();
  if (n < 2 || b.size() != n) return std::nullopt;
  auto sign = [](int x, int y) { return (x > y) - (x < y); };
  int agree = 0, total = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = i + 1; k < n; ++k) {
      agree += sign(a[i], a[k]) == sign(b[i], b[k]);
      ++total;
    }
  }
  return static_cast<double>(agree) / total;
}

std::optional<double> PairwiseAgreement(const std::vector<Ranking>& rankings) {
  double sum = 0.0;
  int count = 0;
  for (size_t i = 0; i < rankings.size(); ++i) {
    for (size_t k = i + 1; k < rankings.size(); ++k) {
      if (auto v = PairAgreement(rankings[i], rankings[k])) {
        sum += *v;
        ++count;
      }
    }
  }
  if (count == 0) return std::nullopt;
  return sum / count;
}

}  // namespace tenet::label
