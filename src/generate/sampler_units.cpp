// The sampling units (see sampler_units.h and include/tenet/generate/sampler.h for the chain,
// its order and the papers). Each unit works in place on one Candidates row and keeps its
// scratch buffers between calls, so a 128k-token row costs no allocation per token once warm.
//
// Not for: choosing the chain (sampler.cpp) or validating parameters.
#include "sampler_units.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "sampler_rows.h"
#include "tenet/util/row_kernel.h"

namespace tenet::sampler_units {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kLanes = 8;  // independent accumulators: lets GCC vectorize without -ffast-math

// Writes entries back into `c` in their current order.
void Store(const std::vector<Entry>& entries, size_t count, Candidates& c) {
  c.ids.resize(count);
  c.logits.resize(count);
  for (size_t i = 0; i < count; ++i) {
    c.ids[i] = entries[i].id;
    c.logits[i] = entries[i].logit;
  }
}

// Keeps the entries of `c` whose weight satisfies keep(w), preserving order (so either canonical
// order survives).
template <typename Keep>
void Compact(Candidates& c, const std::vector<float>& w, Keep keep) {
  size_t out = 0;  // out <= i: writing before testing is safe, and avoids a mispredicted branch
  for (size_t i = 0; i < c.ids.size(); ++i) {
    c.ids[out] = c.ids[i];
    c.logits[out] = c.logits[i];
    out += static_cast<size_t>(keep(w[i]));
  }
  c.ids.resize(out);
  c.logits.resize(out);
}

TENET_INLINE void DivideImpl(float* x, size_t n, float d) {
  for (size_t i = 0; i < n; ++i) x[i] /= d;
}
TENET_ROW_KERNEL(void, Divide, DivideImpl, (float* x, size_t n, float d), (x, n, d))

// Repetition (CTRL, as HF's RepetitionPenaltyLogitsProcessor) then presence/frequency (OpenAI).
// Repetition first: it is a ratio on the raw logit, and HF applies it to the model's logits.
class PenaltiesUnit : public SamplerUnit {
 public:
  PenaltiesUnit(float repetition, float presence, float frequency, int32_t vocab_size)
      : repetition_(repetition),
        presence_(presence),
        frequency_(frequency),
        generated_count_(vocab_size, 0),
        seen_(vocab_size, 0) {}

  const char* name() const override { return "penalties"; }

  void Apply(Candidates& c) override {
    const size_t vocab = seen_.size();
    // The chain runs this first, on the full row in id order: index directly. Any other shape
    // (a unit reordered before us) falls back to a scan.
    const bool by_id = !c.sorted && c.ids.size() == vocab;
    if (by_id) {
      for (int32_t id : seen_ids_) c.logits[id] = Penalize(c.logits[id], id);
    } else {
      for (size_t i = 0; i < c.ids.size(); ++i) {
        const int32_t id = c.ids[i];
        if (id >= 0 && static_cast<size_t>(id) < vocab && seen_[id]) c.logits[i] = Penalize(c.logits[i], id);
      }
      c.sorted = false;  // penalized logits may no longer be in descending order
    }
  }

  // Ids outside [0, V) cannot be penalized (they have no logit) and are ignored.
  void Accept(int32_t token, bool generated) override {
    if (token < 0 || static_cast<size_t>(token) >= seen_.size()) return;
    if (!seen_[token]) {
      seen_[token] = 1;
      seen_ids_.push_back(token);
    }
    if (generated) ++generated_count_[token];
  }

  void Reset() override {
    for (int32_t id : seen_ids_) {
      seen_[id] = 0;
      generated_count_[id] = 0;
    }
    seen_ids_.clear();
  }

 private:
  float Penalize(float logit, int32_t id) const {
    // HF: torch.where(score < 0, score * penalty, score / penalty); once per distinct token.
    if (repetition_ != 1.0f) logit = logit < 0 ? logit * repetition_ : logit / repetition_;
    // OpenAI: mu[j] - c[j] * alpha_frequency - float(c[j] > 0) * alpha_presence, generated only.
    const int32_t count = generated_count_[id];
    if (count > 0) logit -= frequency_ * static_cast<float>(count) + presence_;
    return logit;
  }

  float repetition_;
  float presence_;
  float frequency_;
  std::vector<int32_t> generated_count_;  // (V) times each token was generated
  std::vector<uint8_t> seen_;             // (V) 1 if in prompt or generated
  std::vector<int32_t> seen_ids_;         // the ids with seen_ == 1, so Apply/Reset are O(distinct)
};

class TemperatureUnit : public SamplerUnit {
 public:
  explicit TemperatureUnit(float temperature) : temperature_(temperature) {}
  const char* name() const override { return "temperature"; }
  // Division rather than multiplication by 1/T, as HF's TemperatureLogitsWarper does; T > 0
  // keeps the order, so `sorted` stays true if it was.
  void Apply(Candidates& c) override { Divide(c.logits.data(), c.logits.size(), temperature_); }

 private:
  float temperature_;
};

// Top-k (Fan et al. 2018, "Hierarchical Neural Story Generation", arXiv 1805.04833). Exactly k
// survive even when logits tie at the boundary (the lower ids win), unlike HF's TopKLogitsWarper,
// which keeps every token tied with the k-th. A size-k heap over the row: O(V) compares for the
// usual small k, instead of a sort.
class TopKUnit : public SamplerUnit {
 public:
  explicit TopKUnit(int32_t k) : k_(static_cast<size_t>(k)) {}
  const char* name() const override { return "top-k"; }

  void Apply(Candidates& c) override {
    const size_t n = c.ids.size();
    if (n <= k_) return;
    if (c.sorted) {
      c.ids.resize(k_);
      c.logits.resize(k_);
      return;
    }
    heap_.clear();
    for (size_t i = 0; i < k_; ++i) heap_.push_back({c.logits[i], c.ids[i]});
    std::make_heap(heap_.begin(), heap_.end(), Before);  // front = the worst of the k kept
    // In id order every later entry has a higher id than all kept ones, so it gets in only with a
    // strictly higher logit than the worst kept: whole blocks below that are skipped after a
    // (vectorized) block max, which is most of a row once the heap holds good entries.
    constexpr size_t kBlock = 32;
    size_t i = k_;
    while (i < n) {
      const size_t end = std::min(n, i + kBlock);
      if (end - i == kBlock && MaxOf(&c.logits[i], kBlock) <= heap_.front().logit) {
        i = end;
        continue;
      }
      for (; i < end; ++i) {
        const Entry e{c.logits[i], c.ids[i]};
        if (!Before(e, heap_.front())) continue;
        std::pop_heap(heap_.begin(), heap_.end(), Before);
        heap_.back() = e;
        std::push_heap(heap_.begin(), heap_.end(), Before);
      }
    }
    std::sort(heap_.begin(), heap_.end(), Before);
    Store(heap_, k_, c);
    c.sorted = true;
  }

 private:
  size_t k_;
  std::vector<Entry> heap_;
};

// Top-p / nucleus (Holtzman et al. 2019, arXiv 1904.09751) with HF's TopPLogitsWarper boundary:
// HF sorts ascending and removes tokens whose cumulative probability is <= 1 - top_p. In
// descending order that removes token j exactly when the mass strictly before it is >= top_p, so
// we keep j iff mass_before(j) < top_p: tokens are added until the kept mass reaches top_p, and
// a token that would start after the mass lands exactly on top_p is dropped. The first token
// always stays (mass_before = 0 < top_p). Probabilities here are float weights summed in double;
// HF sums float32 in ascending order, so the two can disagree only when the mass is within
// rounding (~1e-7) of top_p.
//
// Without a preceding top-k the row is not sorted. A full sort of 128k entries costs several ms,
// so we first drop tokens that provably cannot survive: if p_j <= (1 - top_p) / n then every token
// at or after j in descending order has p <= p_j, so their mass is <= n * p_j <= 1 - top_p and
// mass_before(j) >= top_p. We prune at half that bound, which leaves a margin far above the
// double rounding of the sums. The survivors are then ordered best-first in growing chunks
// (nth_element + sort) until the mass reaches top_p, so a peaked distribution sorts a few dozen
// entries and a flat one degrades to a sort.
class TopPUnit : public SamplerUnit {
 public:
  explicit TopPUnit(float p) : p_(p) {}
  const char* name() const override { return "top-p"; }

  void Apply(Candidates& c) override {
    const size_t n = c.ids.size();
    if (n <= 1) return;
    const float max = c.sorted ? c.logits[0] : MaxOf(c.logits.data(), n);
    if (max == -kInf) return;  // no information: nothing to rank
    w_.resize(n);
    const double total = Weights(c.logits.data(), n, max, w_.data());
    const double target = static_cast<double>(p_) * total;  // keep j iff mass_before(j) < target

    if (c.sorted) {
      double before = 0.0;
      size_t keep = 0;
      while (keep < n && before < target) before += w_[keep++];
      c.ids.resize(keep);
      c.logits.resize(keep);
      return;
    }

    const double cut = 0.5 * (1.0 - static_cast<double>(p_)) * total / static_cast<double>(n);
    // Branch-free compaction: a typical row keeps a scattered ~10%, which a branch mispredicts.
    entries_.resize(n);
    size_t m = 0;
    for (size_t i = 0; i < n; ++i) {
      entries_[m] = {c.logits[i], c.ids[i]};
      m += static_cast<size_t>(w_[i] > cut);
    }
    entries_.resize(m);
    size_t sorted_end = 0;  // entries_[0, sorted_end) are the best survivors, in canonical order
    size_t chunk = 64;
    double before = 0.0;
    size_t keep = 0;
    while (keep < m && before < target) {
      if (keep == sorted_end) {
        const size_t end = std::min(m, sorted_end + chunk);
        auto first = entries_.begin() + static_cast<std::ptrdiff_t>(sorted_end);
        auto last = entries_.begin() + static_cast<std::ptrdiff_t>(end);
        if (end < m) std::nth_element(first, last, entries_.end(), Before);
        std::sort(first, last, Before);
        sorted_end = end;
        chunk *= 4;
      }
      before += EntryWeight(entries_[keep], max);
      ++keep;
    }
    // keep >= 1: the best token has weight > cut (it is at least the mean) and before == 0 < target.
    Store(entries_, keep, c);
    c.sorted = true;
  }

 private:
  static double EntryWeight(const Entry& e, float max) {
    if (max == kInf) return e.logit == kInf ? 1.0 : 0.0;
    return FastExp(e.logit - max);
  }

  float p_;
  std::vector<float> w_;
  std::vector<Entry> entries_;
};

// Min-p (Nguyen et al. 2024, arXiv 2407.01082) as HF's MinPLogitsWarper: keep p >= min_p * p_max.
// The softmax normalizer cancels, so this is exp(l - l_max) >= min_p; the best token (weight 1)
// always stays because min_p < 1.
class MinPUnit : public SamplerUnit {
 public:
  explicit MinPUnit(float min_p) : min_p_(min_p) {}
  const char* name() const override { return "min-p"; }

  void Apply(Candidates& c) override {
    const size_t n = c.ids.size();
    if (n <= 1) return;
    const float max = c.sorted ? c.logits[0] : MaxOf(c.logits.data(), n);
    if (max == -kInf) return;
    w_.resize(n);
    Weights(c.logits.data(), n, max, w_.data());
    Compact(c, w_, [&](float w) { return w >= min_p_; });
  }

 private:
  float min_p_;
  std::vector<float> w_;
};

class GreedyUnit : public SamplerUnit {
 public:
  const char* name() const override { return "greedy"; }
  // Argmax; the first of equal maxima wins, which is the lowest id in either canonical order.
  // An all -inf row yields the first candidate.
  void Apply(Candidates& c) override {
    assert(!c.ids.empty());
    size_t best = 0;
    if (!c.sorted) {
      for (size_t i = 1; i < c.ids.size(); ++i) {
        if (c.logits[i] > c.logits[best]) best = i;
      }
    }
    c.ids[0] = c.ids[best];
    c.logits[0] = c.logits[best];
    c.ids.resize(1);
    c.logits.resize(1);
    c.sorted = true;
  }
};

// The draw: one uniform per token (Uniform53), then the inverse CDF of softmax(logits) walked in
// the candidates' canonical order (RowDraw, shared with the sampler's whole-row path). Exactly one
// RNG call per token, whatever the logits, so the k-th draw depends only on the seed and k.
class DistUnit : public SamplerUnit {
 public:
  explicit DistUnit(std::mt19937_64* rng) : rng_(rng) {}
  const char* name() const override { return "dist"; }

  void Apply(Candidates& c) override {
    assert(!c.ids.empty());
    const size_t pick = RowDraw(c.logits.data(), c.ids.size(), 1.0f, Uniform53(*rng_));
    c.ids[0] = c.ids[pick];
    c.logits[0] = c.logits[pick];
    c.ids.resize(1);
    c.logits.resize(1);
    c.sorted = true;
  }

 private:
  std::mt19937_64* rng_;
};

}  // namespace

float MaxOf(const float* x, size_t n) { return RowMax(x, n); }  // NaN-free here, so RowMax's NaN rule is moot

// The one loop that touches every token with real arithmetic: built per ISA (row_kernel.h), no FMA
// in any version, so all give the same bits.
TENET_INLINE double WeightsImpl(const float* x, size_t n, float x_max, float* w) {
  if (x_max == kInf) {
    for (size_t i = 0; i < n; ++i) w[i] = x[i] == kInf ? 1.0f : 0.0f;
  } else if (x_max == -kInf) {
    std::fill(w, w + n, 0.0f);
  } else {
    for (size_t i = 0; i < n; ++i) w[i] = FastExp(x[i] - x_max);
  }
  double lane[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lane[j] += w[i + j];
  }
  double total = 0.0;
  for (; i < n; ++i) total += w[i];
  for (size_t j = 0; j < kLanes; ++j) total += lane[j];
  return total;
}
TENET_ROW_KERNEL(double, Weights, WeightsImpl, (const float* x, size_t n, float x_max, float* w), (x, n, x_max, w))

std::unique_ptr<SamplerUnit> MakePenalties(float repetition, float presence, float frequency, int32_t vocab_size) {
  return std::make_unique<PenaltiesUnit>(repetition, presence, frequency, vocab_size);
}
std::unique_ptr<SamplerUnit> MakeTemperature(float temperature) { return std::make_unique<TemperatureUnit>(temperature); }
std::unique_ptr<SamplerUnit> MakeTopK(int32_t k) { return std::make_unique<TopKUnit>(k); }
std::unique_ptr<SamplerUnit> MakeTopP(float p) { return std::make_unique<TopPUnit>(p); }
std::unique_ptr<SamplerUnit> MakeMinP(float min_p) { return std::make_unique<MinPUnit>(min_p); }
std::unique_ptr<SamplerUnit> MakeGreedy() { return std::make_unique<GreedyUnit>(); }
std::unique_ptr<SamplerUnit> MakeDist(std::mt19937_64* rng) { return std::make_unique<DistUnit>(rng); }

}  // namespace tenet::sampler_units
