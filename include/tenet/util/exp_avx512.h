// exp on 16 fp32 lanes with AVX-512F, for kernels that pick an AVX-512 path at run time (callers
// check HaveAvx512F()): ExpSubSum (tenet/util/exp_sum.h) and SwiGLU's bf16
// rows. FastExp's Cephes expf steps (tenet/util/fast_exp.h) with FMA, vroundscaleps and vscalefps:
// t = round(x log2 e), r = x - t ln 2 (ln 2 in two parts), e = 1 + r + r^2 p(r), exp = e * 2^t.
// For x <= 0: relative error below 1e-7 on [-87, 0]; lanes below -87 (and NaN) give exactly 0.
#pragma once

// GCC 12 warns about the intrinsics headers' own _mm512_undefined_ps (a known false positive) where
// they are inlined, so the warning stays off for the rest of a file that includes this header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace tenet {

// Whether this CPU runs AVX-512F code (checked once).
inline bool HaveAvx512F() {
  static const bool have = __builtin_cpu_supports("avx512f");
  return have;
}

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

}  // namespace tenet
