// exp on 16 fp32 lanes with AVX-512F and on 8 with AVX2+FMA, for kernels that pick a vector path at
// run time by KernelIsa() (tenet/util/isa.h): ExpSubSum (tenet/util/exp_sum.h) and SwiGLU's bf16
// rows. FastExp's Cephes expf steps (tenet/util/fast_exp.h) with FMA:
// t = round(x log2 e), r = x - t ln 2 (ln 2 in two parts), e = 1 + r + r^2 p(r), exp = e * 2^t.
// For x <= 0: relative error below 1e-7 on [-87, 0]; lanes below -87 (and NaN) give exactly 0.
// Both widths run the same operations, so they give the same bits (2^t is exact either way).
#pragma once

// GCC 12 warns about the intrinsics headers' own _mm512_undefined_ps (a known false positive) where
// they are inlined, so the warning stays off for the rest of a file that includes this header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "tenet/util/isa.h"

namespace tenet {

__attribute__((target("avx512f"))) inline __m512 Exp16(__m512 x) {
  const __mmask16 in_range = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 t = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(t, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(t, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 e = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_maskz_mov_ps(in_range, _mm512_scalef_ps(e, t));
}

// The same on 8 lanes; t is at least -126 here, so 2^t is a normal float built from its exponent.
__attribute__((target("avx2,fma"))) inline __m256 Exp8(__m256 x) {
  const __m256 in_range = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GE_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 t = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(t, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(t, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 e = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(in_range, _mm256_mul_ps(e, _mm256_castsi256_ps(bits)));
}

}  // namespace tenet
