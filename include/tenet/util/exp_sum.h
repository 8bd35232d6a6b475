// exp(x - max) over a row block, summed (and optionally stored), for the training kernels' softmax
// loops (output-head log-probs, attention). One AVX-512 routine with FMA, vroundscaleps and
// vscalefps (about half the instructions of the portable FastExp loop, which GCC builds without FMA
// because the tree compiles with -ffp-contract=off), picked at run time; elsewhere the FastExp loop.
// Same polynomial and range as FastExp (tenet/util/fast_exp.h): relative error below 1e-7 on
// [-87, 0], exactly 0 below -87; results may differ from FastExp in the last bit (FMA rounding).
// Not for the samplers, whose draws must not depend on the CPU.
#pragma once

#include <cstddef>

namespace tenet {

// out[i] = exp(x[i] - max) for i < n (out may be x, or nullptr to only sum); returns the sum.
// x[i] - max must be <= 0 or NaN (NaN gives 0).
float ExpSubSum(const float* x, size_t n, float max, float* out);

namespace detail {
// The portable loop ExpSubSum uses without AVX-512 (exposed for its tests).
float ExpSubSumPortable(const float* x, size_t n, float max, float* out);
}  // namespace detail

}  // namespace tenet
