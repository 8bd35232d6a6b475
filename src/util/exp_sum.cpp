// See tenet/util/exp_sum.h.
#include "tenet/util/exp_sum.h"

#include "tenet/util/exp_simd.h"
#include "tenet/util/fast_exp.h"

namespace tenet {
namespace detail {

float ExpSubSumPortable(const float* x, size_t n, float max, float* out) {
  constexpr size_t kLanes = 16;
  float lane[kLanes] = {}, tail = 0;
  size_t i = 0;
  if (out != nullptr) {
    for (; i + kLanes <= n; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) lane[j] += (out[i + j] = FastExp(x[i + j] - max));
    }
    for (; i < n; ++i) tail += (out[i] = FastExp(x[i] - max));
  } else {
    for (; i + kLanes <= n; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) lane[j] += FastExp(x[i + j] - max);
    }
    for (; i < n; ++i) tail += FastExp(x[i] - max);
  }
  for (float l : lane) tail += l;
  return tail;
}

}  // namespace detail

namespace {

__attribute__((target("avx512f"))) float ExpSubSumAvx512(const float* x, size_t n, float max, float* out) {
  const __m512 m = _mm512_set1_ps(max);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {  // two independent chains
    const __m512 e0 = Exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), m));
    const __m512 e1 = Exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), m));
    if (out != nullptr) _mm512_storeu_ps(out + i, e0), _mm512_storeu_ps(out + i + 16, e1);
    acc0 = _mm512_add_ps(acc0, e0);
    acc1 = _mm512_add_ps(acc1, e1);
  }
  if (i < n) {  // the rest, up to 31 lanes, under masks
    for (; i < n; i += 16) {
      const __mmask16 k = n - i >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1u);
      const __m512 e = _mm512_maskz_mov_ps(k, Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m)));
      if (out != nullptr) _mm512_mask_storeu_ps(out + i, k, e);
      acc0 = _mm512_add_ps(acc0, e);
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// The same on 8 lanes; the last n % 8 go through the portable loop.
__attribute__((target("avx2,fma"))) float ExpSubSumAvx2(const float* x, size_t n, float max, float* out) {
  const __m256 m = _mm256_set1_ps(max);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
    const __m256 e1 = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m));
    if (out != nullptr) _mm256_storeu_ps(out + i, e0), _mm256_storeu_ps(out + i + 8, e1);
    acc0 = _mm256_add_ps(acc0, e0);
    acc1 = _mm256_add_ps(acc1, e1);
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
    if (out != nullptr) _mm256_storeu_ps(out + i, e);
    acc0 = _mm256_add_ps(acc0, e);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
  float total = _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
  if (i < n) total += detail::ExpSubSumPortable(x + i, n - i, max, out != nullptr ? out + i : nullptr);
  return total;
}

}  // namespace

float ExpSubSum(const float* x, size_t n, float max, float* out) {
  switch (KernelIsa()) {
    case Isa::kAvx512:
    case Isa::kAvx512Bf16: return ExpSubSumAvx512(x, n, max, out);
    case Isa::kAvx2: return ExpSubSumAvx2(x, n, max, out);
    default: return detail::ExpSubSumPortable(x, n, max, out);
  }
}

}  // namespace tenet
