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

namespace tenet::sampler_units {

// exp(x) for x <= 0 (logit minus the row max), Cephes expf's range reduction and polynomial
// (S. L. Moshier, Cephes Math Library, expf.c): relative error below 1e-7 on [-87, 0], exactly 1
// at 0 and exactly 0 below -87 (so -inf gives 0). Written with integer selects instead of float
// compares so that GCC vectorizes the loops that call it without -ffast-math: libm's expf is
// ~3x slower on a 128k row, and having our own exp also keeps draws identical across libms.
inline float FastExp(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const uint32_t magnitude = bits & 0x7fffffffu;
  constexpr uint32_t kLimitBits = 0x42ae0000u;        // 87.0f
  constexpr uint32_t kMinusLimitBits = 0xc2ae0000u;   // -87.0f
  const uint32_t in_range = 0u - static_cast<uint32_t>(magnitude <= kLimitBits);  // all ones or 0
  const float xc = std::bit_cast<float>((bits & in_range) | (kMinusLimitBits & ~in_range));
  // Round-to-nearest by the 1.5 * 2^23 trick (valid for |t| < 2^22): roundps needs SSE4.1.
  const float t = xc * 1.44269504088896341f;
  const float fi = (t + 12582912.0f) - 12582912.0f;
  const float r = (xc - fi * 0.693359375f) - fi * -2.12194440e-4f;  // ln 2 split in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(fi) + 127) << 23);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(e * scale) & in_range);
}

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
