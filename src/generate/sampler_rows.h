// Private to src/generate: whole-row kernels for the two chains that need no candidate list,
// greedy (argmax) and a plain draw from softmax(logits / T), run directly on the model's output
// row (fp32, or bf16 as raw bits). Also the inverse-CDF walk the dist unit uses on a filtered
// candidate list, so both paths draw the same token for the same weights and uniform.
//
// Why: a 128k-token row copied into a candidate list, given ids, divided by T, exponentiated into a
// weight array and summed costs ~6 passes over 0.5 MB per token; these kernels read the row twice
// (max, then block sums) and re-read one 256-entry block, with no writes. At 32 sequences per step
// that is most of the sampling time of a decode step (docs/benchmarks.md).
//
// Not for: filtering (top-k/top-p/min-p, penalties: sampler_units.h), tensors, batching.
//
// Shapes: x (n) one row of logits; NaN reads as -inf everywhere ("no information").
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace tenet::sampler_units {

// The draw's one uniform per token: 53 random bits of mt19937_64 (whose output the C++ standard
// fixes) scaled to [0, 1). Ours rather than std::uniform_real_distribution's, whose algorithm is
// implementation-defined.
inline double Uniform53(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Largest value of the row (-inf when n == 0 or every entry is NaN or -inf).
float RowMax(const float* x, size_t n);
float RowMax(const uint16_t* x, size_t n);

// The first index holding the row's largest value (0 for an all -inf/NaN row).
size_t RowArgMax(const float* x, size_t n);
size_t RowArgMax(const uint16_t* x, size_t n);

// Inverse-CDF draw from softmax(x / temperature) with uniform u in [0, 1): the first index whose
// cumulative weight exceeds u * total, weights exp(x_i / T - max) walked in index order. Division
// rather than multiplication by 1/T, as Hugging Face's TemperatureLogitsWarper does; T == 1 skips
// it (x / 1 == x). +inf entries share all the mass equally; an all -inf/NaN row gives index 0.
// The cumulative sum runs over blocks of 256 (each summed in 8 double lanes), then serially inside
// the block where it crosses; if rounding leaves the walk short of the target, the last index with
// any weight in that block (or in the row, when u * total rounds up to the total) is taken.
// Requires n > 0 and temperature > 0.
size_t RowDraw(const float* x, size_t n, float temperature, double u);
size_t RowDraw(const uint16_t* x, size_t n, float temperature, double u);

}  // namespace tenet::sampler_units
