// Private to src/generate: the sampling units behind tenet::Sampler and the row math they share
// (max, a vectorizable exp, lane sums). Tests include it to check each unit on a hand-built
// Candidates; nothing outside src/generate and tests/generate should.
//
// Not for: the public API (include/tenet/generate/sampler.h), tensors, batching.
//
// Shapes: V vocab, n = number of candidates (n <= V). Every unit leaves its Candidates in one of
// two canonical orders, so the final draw walks candidates in an order that depends only on the
// logits (never on how std::nth_element happens to partition on a given standard library):
//   - ascending id (sorted == false), or
//   - descending logit, ties by ascending id (sorted == true; see Before()).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>

#include "tenet/generate/sampler.h"
#include "tenet/util/fast_exp.h"

namespace tenet::sampler_units {

using tenet::FastExp;

// Largest value of x[0, n) (-inf when n == 0). No NaNs expected (Sampler maps them to -inf).
float MaxOf(const float* x, size_t n);
// Unnormalized probabilities w[i] = exp(x[i] - x_max) for a row whose max is x_max. When x_max is
// +inf the +inf entries get weight 1 and all others 0 (the limit of softmax); when x_max is -inf
// every weight is 0. Returns the sum in double.
double Weights(const float* x, size_t n, float x_max, float* w);

// A candidate as the sorting units see it.
struct Entry {
  float logit;
  int32_t id;
};
// The canonical order: higher logit first, ties broken by the lower id. A strict total order
// (ids are distinct), so "the k best" is one well-defined set.
// A function object rather than a function so that std::sort and friends inline the compare.
struct BeforeFn {
  bool operator()(const Entry& a, const Entry& b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};
inline constexpr BeforeFn Before{};

// The units, in chain order. Parameters are assumed valid (ValidateSamplingParams).
std::unique_ptr<SamplerUnit> MakePenalties(float repetition, float presence, float frequency, int32_t vocab_size);
std::unique_ptr<SamplerUnit> MakeTemperature(float temperature);
std::unique_ptr<SamplerUnit> MakeTopK(int32_t k);
std::unique_ptr<SamplerUnit> MakeTopP(float p);
std::unique_ptr<SamplerUnit> MakeMinP(float min_p);
// Terminal units: leave exactly one candidate, the chosen token.
std::unique_ptr<SamplerUnit> MakeGreedy();
// `rng` is borrowed (the Sampler's) and must outlive the unit.
std::unique_ptr<SamplerUnit> MakeDist(std::mt19937_64* rng);

}  // namespace tenet::sampler_units
