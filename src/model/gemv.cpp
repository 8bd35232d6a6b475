// Few-row products with a weight matrix. See gemv.h.
//
// Each call of a block kernel takes R weight rows and all N rows of x and keeps R x N vector
// accumulators: for each lane-wide step of the inner dimension it loads R weight vectors (widening
// bf16) and N x vectors and does R x N FMAs. R shrinks as N grows so the accumulators fit the
// registers (16 on AVX2, 32 on AVX-512). The x rows (at most 8 x I fp32) stay in L1/L2; the weights
// stream from memory once.
#include "gemv.h"

#include <ATen/Parallel.h>
// GCC 12's false positives on the intrinsics headers' own undefined vectors (see exp_simd.h).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <bit>
#include <type_traits>
#include <vector>

#include "tenet/util/isa.h"

namespace tenet::gemv {
namespace {

#define TENET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))
#define TENET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TENET_ALWAYS __attribute__((always_inline)) inline

// Block kernels look ahead: each step prefetches, into L2, the same column of the weight rows this
// many blocks later. A block's R rows are R short streams (1-16 KiB) that the hardware prefetchers
// pick up late, and with 8 x rows the dot products between two weight loads leave few misses in
// flight: the step stalled on the weights at half the memory's speed. On Zen 4 (2 threads, 8 x rows,
// generate_bench --slots 8 on the bench preset): no prefetch 12 GB/s of weights, one block ahead
// into L1 16, four blocks ahead into L2 30 (gemv_bench: 128256 x 512 weights 42 -> 17 ms). Past
// the last row the prefetches touch nothing (they never fault).
constexpr int kPrefetchBlocks = 4;

// Prefetches, into L2, the cache line of weight row r's column i kPrefetchBlocks blocks of R rows
// later, once per cache line of the row.
template <int R, typename W>
TENET_ALWAYS void PrefetchAhead(const W* w, int64_t ldw, int64_t i) {
  constexpr int64_t kLine = 64 / sizeof(W);
  if (i % kLine != 0) return;
  // As an address, not a pointer: past the last row it points at nothing.
  const uintptr_t next = reinterpret_cast<uintptr_t>(w) + (kPrefetchBlocks * R * ldw + i) * sizeof(W);
  for (int r = 0; r < R; ++r) _mm_prefetch(reinterpret_cast<const char*>(next + r * ldw * sizeof(W)), _MM_HINT_T1);
}

// Up to 8 rows of x against a range of weight rows, as part(i0, n, add) over columns [i0, i0 + n)
// of the inner dimension. When those x rows do not fit L1 (8 fp32 rows of 2048, or 8 bf16 rows of a
// down projection's 8192, are 64-128 KiB), the inner dimension goes in blocks whose x rows do
// (16 KiB, a multiple of `lanes`), each over all the weight rows, partial sums added into y:
// otherwise every weight row re-reads every x row from L2, which bounded the 8-row kernel at
// 8-9 GB/s of weights for I = 2048.
template <typename X, typename Part>
void InInnerBlocks(int64_t N, int64_t I, int64_t lanes, const Part& part) {
  constexpr int64_t kL1Bytes = 16 << 10;
  const int64_t row_bytes = N * static_cast<int64_t>(sizeof(X));
  if (N == 1 || I * row_bytes <= 2 * kL1Bytes) return part(0, I, false);
  const int64_t block = std::max<int64_t>(64, (kL1Bytes / row_bytes) / lanes * lanes);
  for (int64_t i0 = 0; i0 < I; i0 += block) part(i0, std::min(block, I - i0), i0 > 0);
}

inline float ToFloat(float v) { return v; }
inline float ToFloat(uint16_t v) { return std::bit_cast<float>(static_cast<uint32_t>(v) << 16); }

// Rows [o, o + R) of y for all N rows of x, scalar tail [i0, I) added to the vector sums.
template <int N, int R, typename W>
TENET_ALWAYS void Tail(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t i0, int64_t I, float (&sum)[R][N]) {
  for (int64_t i = i0; i < I; ++i) {
    for (int r = 0; r < R; ++r) {
      const float wv = ToFloat(w[r * ldw + i]);
      for (int n = 0; n < N; ++n) sum[r][n] += wv * x[n * ldx + i];
    }
  }
}

// ---- AVX2 + FMA: 8 lanes ----
TENET_AVX2 TENET_ALWAYS __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
TENET_AVX2 TENET_ALWAYS __m256 Load8(const uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}
TENET_AVX2 TENET_ALWAYS float Sum8(__m256 v) {
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps(q, q, 1)));
}

template <int N, int R, typename W>
TENET_AVX2 void BlockAvx2(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy, bool add) {
  __m256 acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) acc[r][n] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= I; i += 8) {
    PrefetchAhead<R>(w, ldw, i);
    __m256 xv[N];
#pragma GCC unroll 8
    for (int n = 0; n < N; ++n) xv[n] = _mm256_loadu_ps(x + n * ldx + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 wv = Load8(w + r * ldw + i);
#pragma GCC unroll 8
      for (int n = 0; n < N; ++n) acc[r][n] = _mm256_fmadd_ps(wv, xv[n], acc[r][n]);
    }
  }
  float sum[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) sum[r][n] = Sum8(acc[r][n]);
  Tail<N, R>(x, ldx, w, ldw, i, I, sum);
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) y[n * ldy + r] = add ? y[n * ldy + r] + sum[r][n] : sum[r][n];
}

// One weight row with one x row: the thread's rows are then one sequential stream, which the
// hardware prefetchers follow across rows (4 rows at once are 4 short streams: 24-26 GB/s instead
// of 30-35 on Zen 4 with 2 threads, bench/gemv_bench); four accumulators cover the FMA latency.
template <typename W>
TENET_AVX2 void Row1Avx2(const float* x, const W* w, int64_t I, float* y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= I; i += 32) {
    a0 = _mm256_fmadd_ps(Load8(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(Load8(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(Load8(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(Load8(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= I; i += 8) a0 = _mm256_fmadd_ps(Load8(w + i), _mm256_loadu_ps(x + i), a0);
  float sum[1][1] = {{Sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)))}};
  Tail<1, 1>(x, 0, w, 0, i, I, sum);
  *y = sum[0][0];
}

// ---- AVX-512: 16 lanes ----
TENET_AVX512 TENET_ALWAYS __m512 Load16(const float* p) { return _mm512_loadu_ps(p); }
TENET_AVX512 TENET_ALWAYS __m512 Load16(const uint16_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

template <int N, int R, typename W>
TENET_AVX512 void BlockAvx512(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy, bool add) {
  __m512 acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) acc[r][n] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= I; i += 16) {
    PrefetchAhead<R>(w, ldw, i);
    __m512 xv[N];
#pragma GCC unroll 8
    for (int n = 0; n < N; ++n) xv[n] = _mm512_loadu_ps(x + n * ldx + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 wv = Load16(w + r * ldw + i);
#pragma GCC unroll 8
      for (int n = 0; n < N; ++n) acc[r][n] = _mm512_fmadd_ps(wv, xv[n], acc[r][n]);
    }
  }
  float sum[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) sum[r][n] = _mm512_reduce_add_ps(acc[r][n]);
  Tail<N, R>(x, ldx, w, ldw, i, I, sum);
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) y[n * ldy + r] = add ? y[n * ldy + r] + sum[r][n] : sum[r][n];
}

template <typename W>
TENET_AVX512 void Row1Avx512(const float* x, const W* w, int64_t I, float* y) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= I; i += 64) {
    a0 = _mm512_fmadd_ps(Load16(w + i), _mm512_loadu_ps(x + i), a0);
    a1 = _mm512_fmadd_ps(Load16(w + i + 16), _mm512_loadu_ps(x + i + 16), a1);
    a2 = _mm512_fmadd_ps(Load16(w + i + 32), _mm512_loadu_ps(x + i + 32), a2);
    a3 = _mm512_fmadd_ps(Load16(w + i + 48), _mm512_loadu_ps(x + i + 48), a3);
  }
  for (; i + 16 <= I; i += 16) a0 = _mm512_fmadd_ps(Load16(w + i), _mm512_loadu_ps(x + i), a0);
  float sum[1][1] = {{_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)))}};
  Tail<1, 1>(x, 0, w, 0, i, I, sum);
  *y = sum[0][0];
}

// ---- AVX512_BF16: bf16 x rows, native bf16 dot products ----
// vdpbf16ps multiplies 32 bf16 pairs and adds them into 16 fp32 lanes: exactly the fp32 products of
// the widened values (bf16 x bf16 fits fp32's mantissa), summed in fp32, with half the instructions
// per weight byte of widen-then-FMA and no widening uops. The tail of the inner dimension goes
// through masked loads (zeros beyond I add nothing).
#define TENET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c")))

TENET_AVX512_BF16 TENET_ALWAYS __m512bh LoadBh(const uint16_t* p) { return (__m512bh)_mm512_loadu_si512(p); }
TENET_AVX512_BF16 TENET_ALWAYS __m512bh LoadBh(const uint16_t* p, __mmask32 m) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); }

template <int N, int R, bool kMasked>
TENET_AVX512_BF16 TENET_ALWAYS void StepDp(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t i, __mmask32 m,
                                          __m512 (&acc)[R][N]) {
  // R weight vectors stay in registers; each x vector is loaded once and used R times.
  __m512bh wv[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) wv[r] = kMasked ? LoadBh(w + r * ldw + i, m) : LoadBh(w + r * ldw + i);
#pragma GCC unroll 8
  for (int n = 0; n < N; ++n) {
    const __m512bh xv = kMasked ? LoadBh(x + n * ldx + i, m) : LoadBh(x + n * ldx + i);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][n] = _mm512_dpbf16_ps(acc[r][n], wv[r], xv);
  }
}

// Two vectors -> their 128-bit blocks added in pairs: [u0+u2, u1+u3, v0+v2, v1+v3].
TENET_AVX512_BF16 TENET_ALWAYS __m512 PairBlocks(__m512 u, __m512 v) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(u, v, 0x44), _mm512_shuffle_f32x4(u, v, 0xEE));
}

// The lane sums of 16 vectors a[0..15] (those from `count` on taken as zero) in one pass of
// shuffles and adds: about 45 instructions instead of 16 separate reductions' 128. The sum of
// a[q] lands in lane 4 * (q % 4) + q / 4.
TENET_AVX512_BF16 TENET_ALWAYS __m512 Sum16(const __m512* a, int count) {
  __m512 v[16];
  for (int q = 0; q < 16; ++q) v[q] = q < count ? a[q] : _mm512_setzero_ps();
  __m512 g[4];
  for (int k = 0; k < 4; ++k) {
    const __m512 c = PairBlocks(v[4 * k], v[4 * k + 1]), d = PairBlocks(v[4 * k + 2], v[4 * k + 3]);
    // Block j of g[k]: four partial sums of a[4k + j].
    g[k] = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x88), _mm512_shuffle_f32x4(c, d, 0xDD));
  }
  const __m512 h0 = _mm512_add_ps(_mm512_unpacklo_ps(g[0], g[1]), _mm512_unpackhi_ps(g[0], g[1]));
  const __m512 h1 = _mm512_add_ps(_mm512_unpacklo_ps(g[2], g[3]), _mm512_unpackhi_ps(g[2], g[3]));
  return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(h0), _mm512_castps_pd(h1))),
                       _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(h0), _mm512_castps_pd(h1))));
}


template <int N, int R>
TENET_AVX512_BF16 void BlockDp(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t I, float* y, int64_t ldy,
                               bool add) {
  __m512 acc[R][N];
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) acc[r][n] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= I; i += 32) {
    PrefetchAhead<R>(w, ldw, i);
    StepDp<N, R, false>(x, ldx, w, ldw, i, 0, acc);
  }
  if (i < I) StepDp<N, R, true>(x, ldx, w, ldw, i, static_cast<__mmask32>((uint64_t{1} << (I - i)) - 1), acc);
  const __m512* flat = &acc[0][0];  // q = r * N + n
  constexpr int kCount = R * N;
  for (int q0 = 0; q0 < kCount; q0 += 16) {
    alignas(64) float sums[16];
    _mm512_store_ps(sums, Sum16(flat + q0, kCount - q0));
    for (int q = q0; q < std::min(kCount, q0 + 16); ++q) {
      const int k = q - q0;
      float& out = y[(q % N) * ldy + q / N];
      out = add ? out + sums[4 * (k % 4) + k / 4] : sums[4 * (k % 4) + k / 4];
    }
  }
}

// One weight row, one x row, four independent sums (vdpbf16ps's latency is several cycles).
TENET_AVX512_BF16 void Row1Dp(const uint16_t* x, const uint16_t* w, int64_t I, float* y) {
  __m512 a[1][4] = {{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}};
  int64_t i = 0;
  for (; i + 128 <= I; i += 128) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) a[0][k] = _mm512_dpbf16_ps(a[0][k], LoadBh(w + i + 32 * k), LoadBh(x + i + 32 * k));
  }
  __m512 s[1][1] = {{_mm512_add_ps(_mm512_add_ps(a[0][0], a[0][1]), _mm512_add_ps(a[0][2], a[0][3]))}};
  for (; i + 32 <= I; i += 32) StepDp<1, 1, false>(x, 0, w, 0, i, 0, s);
  if (i < I) StepDp<1, 1, true>(x, 0, w, 0, i, static_cast<__mmask32>((uint64_t{1} << (I - i)) - 1), s);
  *y = _mm512_reduce_add_ps(s[0][0]);
}

// Weight rows per block for N x rows: R x N accumulators + R weight vectors + 1 x vector <= 32.
constexpr int DpRowsFor(int N) { return N <= 6 ? 4 : 3; }

template <int N>
void RunRowsDp(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t I, float* y, int64_t ldy, int64_t o0,
               int64_t o1, bool add) {
  int64_t o = o0;
  if constexpr (N == 1) {
    if (!add) {
      for (; o < o1; ++o) Row1Dp(x, w + o * ldw, I, y + o);
      return;
    }
  }
  constexpr int R = DpRowsFor(N);
  for (; o + R <= o1; o += R) BlockDp<N, R>(x, ldx, w + o * ldw, ldw, I, y + o, ldy, add);
  for (; o < o1; ++o) BlockDp<N, 1>(x, ldx, w + o * ldw, ldw, I, y + o, ldy, add);
}

void RunGroupDpBlock(const uint16_t* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t I, float* y, int64_t ldy,
                     int64_t o0, int64_t o1, bool add) {
  switch (N) {
    case 1: RunRowsDp<1>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 2: RunRowsDp<2>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 3: RunRowsDp<3>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 4: RunRowsDp<4>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 5: RunRowsDp<5>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 6: RunRowsDp<6>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 7: RunRowsDp<7>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    default: RunRowsDp<8>(x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
  }
}

void RunGroupDp(const uint16_t* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t I, float* y, int64_t ldy,
                int64_t o0, int64_t o1) {
  InInnerBlocks<uint16_t>(N, I, 32, [&](int64_t i0, int64_t n, bool add) {
    RunGroupDpBlock(x + i0, N, ldx, w + i0, ldw, n, y, ldy, o0, o1, add);
  });
}

// ---- portable ----
template <int N, int R, typename W>
void BlockBaseline(const float* x, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy, bool add) {
  float sum[R][N] = {};
  Tail<N, R>(x, ldx, w, ldw, 0, I, sum);
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < N; ++n) y[n * ldy + r] = add ? y[n * ldy + r] + sum[r][n] : sum[r][n];
}

// Weight rows per block for N rows of x: 4 x 2, 2 x 3..4, 1 x 5..8 accumulators (one x row: Row1*).
constexpr int RowsFor(int N) { return N <= 2 ? 4 : N <= 4 ? 2 : 1; }

enum class Path { kBaseline, kAvx2, kAvx512 };

template <int N, typename X, typename W>
void RunRows(Path path, const X* x, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy, int64_t o0, int64_t o1,
             bool add) {
  constexpr int R = RowsFor(N);
  constexpr int kRows512 = N <= 4 ? 4 : 2;  // R x N accumulators + N x vectors + 1 weight vector <= 32
  int64_t o = o0;
  if constexpr (N == 1) {
    if (path != Path::kBaseline && !add) {
      for (; o < o1; ++o) {
        if (path == Path::kAvx512) Row1Avx512(x, w + o * ldw, I, y + o);
        else Row1Avx2(x, w + o * ldw, I, y + o);
      }
      return;
    }
  }
  auto block = [&](auto r_tag, int64_t row) {
    constexpr int RR = decltype(r_tag)::value;
    const W* wr = w + row * ldw;
    float* yr = y + row;
    switch (path) {
      case Path::kAvx512: BlockAvx512<N, RR>(x, ldx, wr, ldw, I, yr, ldy, add); break;
      case Path::kAvx2: BlockAvx2<N, RR>(x, ldx, wr, ldw, I, yr, ldy, add); break;
      default: BlockBaseline<N, RR>(x, ldx, wr, ldw, I, yr, ldy, add); break;
    }
  };
  if (path == Path::kAvx512 && R < kRows512) {
    // 32 registers: more weight rows per pass over the x rows (fewer x loads per FMA).
    for (; o + kRows512 <= o1; o += kRows512) block(std::integral_constant<int, kRows512>(), o);
  }
  for (; o + R <= o1; o += R) block(std::integral_constant<int, R>(), o);
  for (; o < o1; ++o) block(std::integral_constant<int, 1>(), o);
}

template <typename X, typename W>
void RunGroupBlock(Path path, const X* x, int64_t N, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy,
                   int64_t o0, int64_t o1, bool add) {
  switch (N) {
    case 1: RunRows<1>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 2: RunRows<2>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 3: RunRows<3>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 4: RunRows<4>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 5: RunRows<5>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 6: RunRows<6>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    case 7: RunRows<7>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
    default: RunRows<8>(path, x, ldx, w, ldw, I, y, ldy, o0, o1, add); break;
  }
}

template <typename X, typename W>
void RunGroup(Path path, const X* x, int64_t N, int64_t ldx, const W* w, int64_t ldw, int64_t I, float* y, int64_t ldy,
              int64_t o0, int64_t o1) {
  InInnerBlocks<X>(N, I, 16, [&](int64_t i0, int64_t n, bool add) {
    RunGroupBlock(path, x + i0, N, ldx, w + i0, ldw, n, y, ldy, o0, o1, add);
  });
}

// Output rows in parallel blocks; x rows in groups of kMaxRows over each chunk of weight rows.
// group(x, n, o0, o1) computes y rows for x rows [x, x + n) and weight rows [o0, o1).
template <typename X, typename W, typename Group>
void Run(const X* x, int64_t N, int64_t ldx, int64_t O, int64_t I, float* y, int64_t ldy, const Group& group) {
  TORCH_CHECK(N >= 1 && N <= kMaxWideRows, "gemv: 1 to ", kMaxWideRows, " rows");
  // Blocks of at least ~64 KiB of weights per task, so thread start-up stays small against the reads.
  const int64_t grain = std::max<int64_t>(16, (int64_t{64} << 10) / std::max<int64_t>(1, I * static_cast<int64_t>(sizeof(W))));
  // More than 8 rows of x go in groups of 8 over the same ~16 KiB of weight rows, which the later
  // groups read from L1/L2: the weights still stream from memory once.
  // A multiple of 12, so blocks of 1, 2, 3 or 4 weight rows leave no rest but at the end.
  const int64_t rows = std::max<int64_t>(4, (int64_t{16} << 10) / std::max<int64_t>(1, I * static_cast<int64_t>(sizeof(W))));
  const int64_t chunk = (rows + 11) / 12 * 12;
  at::parallel_for(0, O, grain, [&](int64_t b, int64_t e) {
    for (int64_t o0 = b; o0 < e; o0 += chunk) {
      const int64_t o1 = std::min(e, o0 + chunk);
      for (int64_t n0 = 0; n0 < N; n0 += kMaxRows) group(x + n0 * ldx, std::min(kMaxRows, N - n0), y + n0 * ldy, o0, o1);
    }
  });
}

template <typename X, typename W>
void Run(Path path, const X* x, int64_t N, int64_t ldx, const W* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy) {
  Run<X, W>(x, N, ldx, O, I, y, ldy, [&](const X* xg, int64_t n, float* yg, int64_t o0, int64_t o1) {
    RunGroup(path, xg, n, ldx, w, ldw, I, yg, ldy, o0, o1);
  });
}

Path FloatPath() {
  switch (KernelIsa()) {
    case Isa::kAvx512:
    case Isa::kAvx512Bf16: return Path::kAvx512;
    case Isa::kAvx2: return Path::kAvx2;
    default: return Path::kBaseline;
  }
}

}  // namespace

void Wt(const float* x, int64_t N, int64_t ldx, const float* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy) {
  Run(FloatPath(), x, N, ldx, w, O, I, ldw, y, ldy);
}
void Wt(const float* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy) {
  Run(FloatPath(), x, N, ldx, w, O, I, ldw, y, ldy);
}
void WtBf16(const uint16_t* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy) {
  if (KernelIsa() >= Isa::kAvx512Bf16) {
    return Run<uint16_t, uint16_t>(x, N, ldx, O, I, y, ldy, [&](const uint16_t* xg, int64_t n, float* yg, int64_t o0, int64_t o1) {
      RunGroupDp(xg, n, ldx, w, ldw, I, yg, ldy, o0, o1);
    });
  }
  // Elsewhere the few x rows are widened once for the fp32 kernel.
  std::vector<float> wide(static_cast<size_t>(N * I));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t i = 0; i < I; ++i) wide[static_cast<size_t>(n * I + i)] = ToFloat(x[n * ldx + i]);
  }
  Run(FloatPath(), wide.data(), N, I, w, O, I, ldw, y, ldy);
}

}  // namespace tenet::gemv
