// Win rates, the sign test, Bradley–Terry and majorities. See tenet/eval/statistics.h.
#include "tenet/eval/statistics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <random>
#include <set>

namespace tenet::eval {

Proportion WinRate(double wins, double ties, double losses, double z) {
  assert(std::isfinite(wins) && std::isfinite(ties) && std::isfinite(losses) && std::isfinite(z));
  assert(wins >= 0 && ties >= 0 && losses >= 0 && z > 0);
  const double n = wins + ties + losses;
  if (n <= 0) return {0.5, 0.0, 1.0};
  const double p = (wins + 0.5 * ties) / n;
  const double z2n = z * z / n;
  const double denom = 1 + z2n;
  const double center = (p + z2n / 2) / denom;
  const double half = z * std::sqrt(p * (1 - p) / n + z2n / (4 * n)) / denom;
  // The interval always holds p̂ and lies in [0, 1]; the clamps only absorb rounding at p̂ = 0 or 1.
  return {p, std::clamp(center - half, 0.0, p), std::clamp(center + half, p, 1.0)};
}

double SignTestP(int64_t wins, int64_t losses) {
  assert(wins >= 0 && losses >= 0 && wins <= std::numeric_limits<int64_t>::max() - losses);
  const int64_t n = wins + losses;
  const int64_t k = std::min(wins, losses);
  if (n == 0 || 2 * k == n) return 1.0;
  // p = 2 Σ_{i<=k} C(n, i) / 2^n with k < n/2 (the two tails are mirror images).
  if (n <= 60) {
    // Exact: C(n, i) for i <= 30 and their sum stay below 2^60, and c * (n - i + 1) below 2^64.
    uint64_t c = 1, sum = 1;
    for (int64_t i = 1; i <= k; ++i) {
      c = c * static_cast<uint64_t>(n - i + 1) / static_cast<uint64_t>(i);
      sum += c;
    }
    return std::min(1.0, std::ldexp(static_cast<double>(sum), static_cast<int>(1 - n)));
  }
  // Log space: the largest term, C(n, k) / 2^n, from lgamma; the others relative to it, going down
  // from i = k by the ratio C(n, i-1) / C(n, i) = i / (n - i + 1) < 1, so the relative sum stays in
  // [1, k + 1] and the loop ends once a term no longer changes it.
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  const double log_top = std::lgamma(dn + 1) - std::lgamma(dk + 1) - std::lgamma(dn - dk + 1) - dn * std::log(2.0);
  double term = 1, rel_sum = 1;
  for (int64_t i = k; i >= 1; --i) {
    term *= static_cast<double>(i) / static_cast<double>(n - i + 1);
    if (term < rel_sum * 1e-17) break;
    rel_sum += term;
  }
  return std::min(1.0, std::exp(std::log(2.0) + log_top + std::log(rel_sum)));
}

namespace {

// λ of the N(0, 1/λ) prior on θ = ln(strength) used only when the MLE does not exist.
constexpr double kDegeneratePrecision = 1e-4;
constexpr double kEloScale = 400.0;
constexpr double kEloMean = 1000.0;
constexpr int kMaxNewtonIterations = 200;

// points[i * k + j]: what system i scored against system j (wins + ties / 2).
struct Tally {
  int k = 0;
  std::vector<double> points;
  double& at(int i, int j) { return points[static_cast<size_t>(i) * k + j]; }
  double at(int i, int j) const { return points[static_cast<size_t>(i) * k + j]; }
};

void AddVote(Tally& t, const PairVote& v) {
  t.at(v.a, v.b) += v.a_score;
  t.at(v.b, v.a) += 1 - v.a_score;
}

// Whether every system reaches every other along "scored against" edges (i -> j when i has points
// against j): the condition for the Bradley–Terry MLE to exist (Hunter 2004, Assumption 1).
bool StronglyConnected(const Tally& t) {
  for (bool forward : {true, false}) {
    std::vector<char> seen(t.k, 0);
    std::vector<int> stack = {0};
    seen[0] = 1;
    int reached = 1;
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      for (int j = 0; j < t.k; ++j) {
        const double p = forward ? t.at(i, j) : t.at(j, i);
        if (p > 0 && !seen[j]) {
          seen[j] = 1;
          ++reached;
          stack.push_back(j);
        }
      }
    }
    if (reached != t.k) return false;
  }
  return true;
}

// ln σ(x) without overflow.
double LogSigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double Sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

// Penalized log-likelihood Σ_{i≠j} points_ij ln σ(θ_i − θ_j) − λ/2 |θ|².
double Objective(const Tally& t, const std::vector<double>& theta, double lambda) {
  double f = 0;
  for (int i = 0; i < t.k; ++i) {
    f -= 0.5 * lambda * theta[i] * theta[i];
    for (int j = 0; j < t.k; ++j) {
      if (i != j && t.at(i, j) > 0) f += t.at(i, j) * LogSigmoid(theta[i] - theta[j]);
    }
  }
  return f;
}

// Solves a x = b in place (b becomes x) for symmetric positive definite a (k x k, row-major) by
// Cholesky. False if a is not positive definite to working precision.
bool SolveSpd(std::vector<double>& a, std::vector<double>& b, int k) {
  for (int j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (int m = 0; m < j; ++m) d -= a[j * k + m] * a[j * k + m];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (int i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      for (int m = 0; m < j; ++m) s -= a[i * k + m] * a[j * k + m];
      a[i * k + j] = s / d;
    }
  }
  for (int i = 0; i < k; ++i) {  // L y = b
    double s = b[i];
    for (int m = 0; m < i; ++m) s -= a[i * k + m] * b[m];
    b[i] = s / a[i * k + i];
  }
  for (int i = k - 1; i >= 0; --i) {  // Lᵀ x = y
    double s = b[i];
    for (int m = i + 1; m < k; ++m) s -= a[m * k + i] * b[m];
    b[i] = s / a[i * k + i];
  }
  return true;
}

// θ (mean 0) maximizing the log-likelihood of the tally; with the prior when the MLE does not exist.
Result<std::vector<double>> FitTheta(const Tally& t) {
  const int k = t.k;
  const double lambda = StronglyConnected(t) ? 0.0 : kDegeneratePrecision;
  std::vector<double> theta(k, 0.0), grad(k), hess(static_cast<size_t>(k) * k), step(k), trial(k);
  double f = Objective(t, theta, lambda);
  for (int iter = 0; iter < kMaxNewtonIterations; ++iter) {
    // Gradient and the negated Hessian: a weighted graph Laplacian (+ λI). Its null space, the
    // all-ones vector, is the shift the likelihood ignores; adding 11ᵀ/k makes it definite without
    // changing the step, since the gradient sums to 0 while θ has mean 0.
    for (int i = 0; i < k; ++i) grad[i] = -lambda * theta[i];
    for (size_t m = 0; m < hess.size(); ++m) hess[m] = 1.0 / k;
    for (int i = 0; i < k; ++i) hess[static_cast<size_t>(i) * k + i] += lambda;
    for (int i = 0; i < k; ++i) {
      for (int j = i + 1; j < k; ++j) {
        const double n = t.at(i, j) + t.at(j, i);
        if (n == 0) continue;
        const double p = Sigmoid(theta[i] - theta[j]);
        const double g = t.at(i, j) - n * p;
        grad[i] += g;
        grad[j] -= g;
        const double h = n * p * (1 - p);
        hess[static_cast<size_t>(i) * k + i] += h;
        hess[static_cast<size_t>(j) * k + j] += h;
        hess[static_cast<size_t>(i) * k + j] -= h;
        hess[static_cast<size_t>(j) * k + i] -= h;
      }
    }
    step = grad;
    if (!SolveSpd(hess, step, k)) return Status::Internal("Bradley-Terry", "singular Hessian");
    double decrement = 0, step_max = 0;
    for (int i = 0; i < k; ++i) {
      decrement += grad[i] * step[i];
      step_max = std::max(step_max, std::abs(step[i]));
    }
    // Armijo backtracking far from the optimum. Close to it (a predicted gain near the rounding of
    // f) pure Newton steps converge quadratically, and f can no longer tell better from worse.
    double scale = 1;
    const bool near = decrement <= 1e-9 * (1 + std::abs(f));
    for (int halvings = 0;; ++halvings) {
      for (int i = 0; i < k; ++i) trial[i] = theta[i] + scale * step[i];
      const double f_trial = Objective(t, trial, lambda);
      if (near || f_trial >= f + 1e-4 * scale * decrement || halvings == 60) {
        theta.swap(trial);
        f = f_trial;
        break;
      }
      scale /= 2;
    }
    // Done when the step is tiny, or when the predicted gain is below what f can resolve: with
    // the prior, the flattest direction has curvature about λ, so rounding in the gradient
    // moves θ by about 1e-16 · votes / λ per step, and a step bound alone would never be met.
    if (scale * step_max <= 1e-10 || decrement <= 1e-20 * (1 + std::abs(f))) {
      double mean = 0;
      for (double v : theta) mean += v / k;
      for (double& v : theta) v -= mean;  // removes drift from rounding
      return theta;
    }
  }
  return Status::Internal("Bradley-Terry", "Newton's method did not converge");
}

Result<std::vector<double>> FitScores(const Tally& t) {
  TENET_ASSIGN_OR_RETURN(std::vector<double> theta, FitTheta(t));
  for (double& v : theta) v = kEloMean + kEloScale * v / std::log(10.0);
  return theta;
}

// Uniform index in [0, n) from raw 64-bit draws by rejection (no std::uniform_int_distribution:
// its algorithm differs between standard libraries, and the bootstrap must not).
uint64_t DrawIndex(std::mt19937_64& gen, uint64_t n) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t rejected = (kMax % n + 1) % n;  // 2^64 mod n: the top values that would bias
  uint64_t x;
  do {
    x = gen();
  } while (rejected != 0 && x > kMax - rejected);
  return x % n;
}

// Linear interpolation between order statistics at q·(size − 1) (numpy's default); sorted input.
double Percentile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

}  // namespace

Result<std::vector<BtScore>> BradleyTerry(const std::vector<std::string>& systems, const std::vector<PairVote>& votes,
                                          int bootstrap_rounds, uint64_t seed) {
  const int k = static_cast<int>(systems.size());
  if (k < 2) return Status::InvalidArgument("systems", "need at least 2 systems to compare");
  std::set<std::string> names;
  for (const std::string& s : systems) {
    if (s.empty()) return Status::InvalidArgument("systems", "empty system name");
    if (!names.insert(s).second) return Status::InvalidArgument("systems", "duplicate system '" + s + "'");
  }
  if (votes.empty()) return Status::InvalidArgument("votes", "no votes");
  if (bootstrap_rounds < 0) return Status::InvalidArgument("bootstrap_rounds", "must be >= 0");
  Tally tally{k, std::vector<double>(static_cast<size_t>(k) * k, 0.0)};
  std::vector<char> voted(k, 0);
  for (size_t i = 0; i < votes.size(); ++i) {
    const PairVote& v = votes[i];
    const std::string where = "vote " + std::to_string(i);
    if (v.a < 0 || v.a >= k || v.b < 0 || v.b >= k) {
      return Status::InvalidArgument("votes", where + ": system index out of range (" + std::to_string(v.a) + " vs " +
                                                  std::to_string(v.b) + ", " + std::to_string(k) + " systems)");
    }
    if (v.a == v.b) return Status::InvalidArgument("votes", where + ": '" + systems[v.a] + "' against itself");
    if (!(v.a_score == 0 || v.a_score == 0.5 || v.a_score == 1)) {
      return Status::InvalidArgument("votes", where + ": a_score must be 0, 0.5 or 1");
    }
    AddVote(tally, v);
    voted[v.a] = voted[v.b] = 1;
  }
  for (int i = 0; i < k; ++i) {
    if (!voted[i]) return Status::InvalidArgument("votes", "no votes for system '" + systems[i] + "'");
  }

  TENET_ASSIGN_OR_RETURN(std::vector<double> scores, FitScores(tally));
  std::vector<BtScore> out(k);
  for (int i = 0; i < k; ++i) out[i] = {systems[i], scores[i], scores[i], scores[i]};
  if (bootstrap_rounds == 0) return out;

  std::mt19937_64 gen(seed);
  std::vector<std::vector<double>> samples(k, std::vector<double>(bootstrap_rounds));
  const uint64_t n_votes = votes.size();
  for (int r = 0; r < bootstrap_rounds; ++r) {
    std::fill(tally.points.begin(), tally.points.end(), 0.0);
    for (uint64_t m = 0; m < n_votes; ++m) AddVote(tally, votes[DrawIndex(gen, n_votes)]);
    TENET_ASSIGN_OR_RETURN(std::vector<double> round_scores, FitScores(tally));
    for (int i = 0; i < k; ++i) samples[i][r] = round_scores[i];
  }
  for (int i = 0; i < k; ++i) {
    std::sort(samples[i].begin(), samples[i].end());
    out[i].low = Percentile(samples[i], 0.025);
    out[i].high = Percentile(samples[i], 0.975);
  }
  return out;
}

Result<Preference> ParsePreference(std::string_view text) {
  if (text == "A") return Preference::kA;
  if (text == "B") return Preference::kB;
  if (text == "tie") return Preference::kTie;
  return Status::InvalidArgument("vote", "'" + std::string(text) + "' is not A, B or tie");
}

const char* PreferenceName(Preference p) {
  switch (p) {
    case Preference::kA: return "A";
    case Preference::kB: return "B";
    case Preference::kTie: return "tie";
  }
  return "tie";
}

double AScore(Preference p) {
  switch (p) {
    case Preference::kA: return 1.0;
    case Preference::kB: return 0.0;
    case Preference::kTie: return 0.5;
  }
  return 0.5;
}

Preference Majority(const std::vector<Preference>& votes) {
  int64_t a = 0, b = 0;
  for (Preference p : votes) {
    a += p == Preference::kA;
    b += p == Preference::kB;
  }
  return a > b ? Preference::kA : b > a ? Preference::kB : Preference::kTie;
}

}  // namespace tenet::eval
