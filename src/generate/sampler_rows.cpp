// Whole-row sampling kernels (see sampler_rows.h). The loops are written so that GCC vectorizes
// them without -ffast-math (integer selects for NaN, independent lanes for sums) and are built
// twice, for AVX2 and the baseline, picked at load time (function multiversioning). No FMA in
// either clone, so both give the same bits.
//
// Not for: the filtering units (sampler_units.cpp).
#include "sampler_rows.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <vector>

#include "sampler_units.h"  // FastExp
#include "tenet/util/row_kernel.h"

namespace tenet::sampler_units {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kLanes = 8;
constexpr size_t kBlock = 256;  // entries per block of the cumulative sum

// One entry as fp32 with NaN mapped to -inf. bf16 is a float's upper half, so widening is exact.
TENET_INLINE float Clean(uint32_t bits) {
  constexpr uint32_t kMinusInfBits = 0xff800000u;
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  return std::bit_cast<float>(nan ? kMinusInfBits : bits);
}
TENET_INLINE uint32_t Bits(const float* x, size_t i) { return std::bit_cast<uint32_t>(x[i]); }
TENET_INLINE uint32_t Bits(const uint16_t* x, size_t i) { return static_cast<uint32_t>(x[i]) << 16; }
TENET_INLINE float Load(const float* x, size_t i) { return Clean(Bits(x, i)); }
TENET_INLINE float Load(const uint16_t* x, size_t i) { return Clean(Bits(x, i)); }

// The row is processed a block at a time through a small buffer in L1: each step is then one
// simple loop that GCC's loop vectorizer handles (a fused loop with the NaN select and lane sums
// is left scalar).
// out[0, n) = clean(x[i]) / t (no division when t == 1); n <= kBlock.
template <typename T>
TENET_INLINE void LoadBlock(const T* x, size_t n, float t, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = Clean(Bits(x, i));
  if (t != 1.0f) {
    for (size_t i = 0; i < n; ++i) out[i] /= t;
  }
}

TENET_INLINE float MaxOfBlock(const float* x, size_t n) {
  float lane[kLanes];
  std::fill(lane, lane + kLanes, -kInf);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
  }
  float max = -kInf;
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  for (size_t j = 0; j < kLanes; ++j) max = lane[j] > max ? lane[j] : max;
  return max;
}

template <typename T>
TENET_INLINE float RowMaxImpl(const T* x, size_t n) {
  alignas(64) float buf[kBlock];
  float max = -kInf;
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t len = std::min(kBlock, n - begin);
    LoadBlock(x + begin, len, 1.0f, buf);
    const float m = MaxOfBlock(buf, len);
    max = m > max ? m : max;
  }
  return max;
}

// Sums of exp(clean(x_i) / t - m) over each block of kBlock entries into sums; m finite. Returns
// the total (the block sums added in order). Each block sums in kLanes double lanes.
template <typename T>
TENET_INLINE double BlockSumsImpl(const T* x, size_t n, float t, float m, double* sums) {
  alignas(64) float buf[kBlock];
  double total = 0.0;
  for (size_t b = 0, begin = 0; begin < n; ++b, begin += kBlock) {
    const size_t len = std::min(kBlock, n - begin);
    LoadBlock(x + begin, len, t, buf);
    for (size_t i = 0; i < len; ++i) buf[i] = FastExp(buf[i] - m);
    double lane[kLanes] = {};
    size_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) lane[j] += static_cast<double>(buf[i + j]);
    }
    double sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (; i < len; ++i) sum += static_cast<double>(buf[i]);
    sums[b] = sum;
    total += sum;
  }
  return total;
}

TENET_ROW_KERNEL(double, BlockSums, BlockSumsImpl, (const float* x, size_t n, float t, float m, double* sums), (x, n, t, m, sums))
TENET_ROW_KERNEL(double, BlockSums, BlockSumsImpl, (const uint16_t* x, size_t n, float t, float m, double* sums), (x, n, t, m, sums))

template <typename T>
size_t RowArgMaxImpl(const T* x, size_t n) {
  const float max = RowMax(x, n);
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t end = std::min(n, begin + kBlock);
    if (RowMax(x + begin, end - begin) != max) continue;  // skip whole blocks (vectorized)
    for (size_t i = begin; i < end; ++i)
      if (Load(x, i) == max) return i;
  }
  return 0;  // n == 0
}

template <typename T>
size_t RowDrawImpl(const T* x, size_t n, float t, double u) {
  const float raw_max = RowMax(x, n);
  // Division by t > 0 is monotone under rounding, so the scaled row's max is the scaled max.
  const float m = t == 1.0f ? raw_max : raw_max / t;
  if (m == -kInf) return 0;  // no information: the first index
  auto value = [&](size_t i) { return t == 1.0f ? Load(x, i) : Load(x, i) / t; };
  // +inf max: the limit of softmax gives each +inf entry an equal share and the rest nothing.
  auto weight = [&](size_t i) -> double {
    const float v = value(i);
    if (m == kInf) return v == kInf ? 1.0 : 0.0;
    return static_cast<double>(FastExp(v - m));
  };

  const size_t blocks = (n + kBlock - 1) / kBlock;
  thread_local std::vector<double> sums;  // per thread: a batch of rows on one thread reuses it
  sums.resize(blocks);
  double total = 0.0;
  if (m == kInf) {
    for (size_t b = 0; b < blocks; ++b) {
      double s = 0.0;
      for (size_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) s += weight(i);
      sums[b] = s;
      total += s;
    }
  } else {
    total = BlockSums(x, n, t, m, sums.data());
  }

  const double target = u * total;
  double cum = 0.0;
  size_t b = 0, last_positive = blocks;
  for (; b < blocks; ++b) {
    if (sums[b] > 0.0) last_positive = b;
    if (cum + sums[b] > target) break;
    cum += sums[b];
  }
  size_t last = 0;
  if (b == blocks) {  // u * total rounded up to the total: the last token with any mass
    if (last_positive == blocks) return 0;
    for (size_t i = last_positive * kBlock; i < std::min(n, (last_positive + 1) * kBlock); ++i)
      if (weight(i) > 0.0) last = i;
    return last;
  }
  const size_t begin = b * kBlock, end = std::min(n, begin + kBlock);
  last = begin;
  for (size_t i = begin; i < end; ++i) {
    const double w = weight(i);
    if (w <= 0.0) continue;
    last = i;
    cum += w;
    if (cum > target) return i;
  }
  return last;  // rounding left the serial walk short of the target: the block's last token with mass
}

}  // namespace

TENET_ROW_KERNEL(float, RowMax, RowMaxImpl, (const float* x, size_t n), (x, n))
TENET_ROW_KERNEL(float, RowMax, RowMaxImpl, (const uint16_t* x, size_t n), (x, n))

size_t RowArgMax(const float* x, size_t n) { return RowArgMaxImpl(x, n); }
size_t RowArgMax(const uint16_t* x, size_t n) { return RowArgMaxImpl(x, n); }

size_t RowDraw(const float* x, size_t n, float temperature, double u) { return RowDrawImpl(x, n, temperature, u); }
size_t RowDraw(const uint16_t* x, size_t n, float temperature, double u) {
  return RowDrawImpl(x, n, temperature, u);
}

}  // namespace tenet::sampler_units
