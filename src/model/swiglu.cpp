// silu(gate) * up with a fused backward. See swiglu.h.
//
// s = sigmoid(g), silu = g s, y = round(silu) u:
//   d up = dy round(silu),   d gate = dy u s (1 + g (1 - s)).
#include "swiglu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tenet/util/exp_simd.h"
#include "tenet/util/fast_exp.h"
#include "tenet/util/row_kernel.h"
#include "tensor_rows.h"

namespace tenet {
namespace {

constexpr int64_t kBlock = 512;

// sigmoid(g) from exp(-|g|), the only argument FastExp takes (<= 0).
TENET_INLINE void Sigmoid(const float* g, size_t n, float* s) {
  for (size_t i = 0; i < n; ++i) {
    const float e = FastExp(-std::abs(g[i]));
    const float inv = 1.0f / (1.0f + e);
    s[i] = g[i] >= 0 ? inv : e * inv;
  }
}

template <typename T>
TENET_INLINE void ForwardImpl(const T* g, const T* u, size_t n, T* y) {
  alignas(64) float gb[kBlock], ub[kBlock], sb[kBlock];
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t len = std::min<size_t>(kBlock, n - b);
    Widen(g + b, len, gb);
    Widen(u + b, len, ub);
    Sigmoid(gb, len, sb);
    for (size_t i = 0; i < len; ++i) sb[i] *= gb[i];  // silu
    RoundLike(g, sb, len);
    for (size_t i = 0; i < len; ++i) sb[i] *= ub[i];
    Narrow(sb, len, y + b);
  }
}

template <typename T>
TENET_INLINE void BackwardImpl(const T* g, const T* u, const T* dy, size_t n, T* dg, T* du) {
  alignas(64) float gb[kBlock], ub[kBlock], sb[kBlock], db[kBlock], out[kBlock];
  for (size_t b = 0; b < n; b += kBlock) {
    const size_t len = std::min<size_t>(kBlock, n - b);
    Widen(g + b, len, gb);
    Widen(u + b, len, ub);
    Widen(dy + b, len, db);
    Sigmoid(gb, len, sb);
    for (size_t i = 0; i < len; ++i) out[i] = gb[i] * sb[i];  // silu
    RoundLike(g, out, len);
    for (size_t i = 0; i < len; ++i) out[i] *= db[i];
    Narrow(out, len, du + b);
    for (size_t i = 0; i < len; ++i) out[i] = db[i] * ub[i] * sb[i] * (1.0f + gb[i] * (1.0f - sb[i]));
    Narrow(out, len, dg + b);
  }
}

TENET_ROW_KERNEL(void, Forward, ForwardImpl, (const float* g, const float* u, size_t n, float* y), (g, u, n, y))
TENET_ROW_KERNEL(void, Forward, ForwardImpl, (const uint16_t* g, const uint16_t* u, size_t n, uint16_t* y), (g, u, n, y))
TENET_ROW_KERNEL(void, Backward, BackwardImpl, (const float* g, const float* u, const float* dy, size_t n, float* dg, float* du), (g, u, dy, n, dg, du))
TENET_ROW_KERNEL(void, Backward, BackwardImpl, (const uint16_t* g, const uint16_t* u, const uint16_t* dy, size_t n, uint16_t* dg, uint16_t* du), (g, u, dy, n, dg, du))

// bf16 rows on 16 lanes with AVX-512F: the same steps as ForwardImpl / BackwardImpl in registers
// (exp by Exp16, the same polynomial as FastExp; results may differ from the loops above in the
// last bit of the exp). The last n % 16 elements go through the loops above.
__attribute__((target("avx512f"))) inline __m512 WidenBf16(const uint16_t* x) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))), 16));
}
// Round to nearest even at bf16 precision: the bf16 bits in the upper half of each lane.
__attribute__((target("avx512f"))) inline __m512i RoundBits(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
}
__attribute__((target("avx512f"))) inline __m512 RoundBf16(__m512 x) {
  return _mm512_castsi512_ps(_mm512_and_si512(RoundBits(x), _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
}
__attribute__((target("avx512f"))) inline void NarrowBf16(__m512 x, uint16_t* out) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi32_epi16(_mm512_srli_epi32(RoundBits(x), 16)));
}
// sigmoid(g) from e = exp(-|g|): 1 / (1 + e) for g >= 0, else e / (1 + e).
__attribute__((target("avx512f"))) inline __m512 Sigmoid16(__m512 g) {
  const __m512 e = Exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(g)));
  const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_GE_OQ), _mm512_mul_ps(e, inv), inv);
}

__attribute__((target("avx512f"))) void ForwardBf16Avx512(const uint16_t* g, const uint16_t* u, size_t n, uint16_t* y) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 gv = WidenBf16(g + i);
    const __m512 silu = RoundBf16(_mm512_mul_ps(gv, Sigmoid16(gv)));
    NarrowBf16(_mm512_mul_ps(silu, WidenBf16(u + i)), y + i);
  }
  if (i < n) ForwardImpl(g + i, u + i, n - i, y + i);
}

__attribute__((target("avx512f"))) void BackwardBf16Avx512(const uint16_t* g, const uint16_t* u, const uint16_t* dy, size_t n,
                                                          uint16_t* dg, uint16_t* du) {
  const __m512 one = _mm512_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 gv = WidenBf16(g + i), uv = WidenBf16(u + i), dv = WidenBf16(dy + i);
    const __m512 sv = Sigmoid16(gv);
    NarrowBf16(_mm512_mul_ps(RoundBf16(_mm512_mul_ps(gv, sv)), dv), du + i);
    // dy u s (1 + g (1 - s)), multiplied in the loops' order.
    const __m512 t = _mm512_add_ps(one, _mm512_mul_ps(gv, _mm512_sub_ps(one, sv)));
    NarrowBf16(_mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dv, uv), sv), t), dg + i);
  }
  if (i < n) BackwardImpl(g + i, u + i, dy + i, n - i, dg + i, du + i);
}

// The same on 8 lanes with AVX2 + FMA (the same operations, so the same bits as on 16).
__attribute__((target("avx2,fma"))) inline __m256 WidenBf16x8(const uint16_t* x) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), 16));
}
__attribute__((target("avx2,fma"))) inline __m256i RoundBits8(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  return _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
}
__attribute__((target("avx2,fma"))) inline __m256 RoundBf16x8(__m256 x) {
  return _mm256_castsi256_ps(_mm256_and_si256(RoundBits8(x), _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
}
__attribute__((target("avx2,fma"))) inline void NarrowBf16x8(__m256 x, uint16_t* out) {
  // packus works within 128-bit halves: [a0..a3 a0..a3 | a4..a7 a4..a7]; qwords 0 and 2 hold a0..a7.
  const __m256i hi = _mm256_srli_epi32(RoundBits8(x), 16);
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(hi, hi), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
}
__attribute__((target("avx2,fma"))) inline __m256 Sigmoid8(__m256 g) {
  const __m256 abs_g = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
  const __m256 e = Exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs_g));
  const __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_blendv_ps(_mm256_mul_ps(e, inv), inv, _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_GE_OQ));
}

__attribute__((target("avx2,fma"))) void ForwardBf16Avx2(const uint16_t* g, const uint16_t* u, size_t n, uint16_t* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = WidenBf16x8(g + i);
    const __m256 silu = RoundBf16x8(_mm256_mul_ps(gv, Sigmoid8(gv)));
    NarrowBf16x8(_mm256_mul_ps(silu, WidenBf16x8(u + i)), y + i);
  }
  if (i < n) ForwardImpl(g + i, u + i, n - i, y + i);
}

__attribute__((target("avx2,fma"))) void BackwardBf16Avx2(const uint16_t* g, const uint16_t* u, const uint16_t* dy, size_t n,
                                                         uint16_t* dg, uint16_t* du) {
  const __m256 one = _mm256_set1_ps(1.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = WidenBf16x8(g + i), uv = WidenBf16x8(u + i), dv = WidenBf16x8(dy + i);
    const __m256 sv = Sigmoid8(gv);
    NarrowBf16x8(_mm256_mul_ps(RoundBf16x8(_mm256_mul_ps(gv, sv)), dv), du + i);
    const __m256 t = _mm256_add_ps(one, _mm256_mul_ps(gv, _mm256_sub_ps(one, sv)));
    NarrowBf16x8(_mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dv, uv), sv), t), dg + i);
  }
  if (i < n) BackwardImpl(g + i, u + i, dy + i, n - i, dg + i, du + i);
}

void ForwardRange(const float* g, const float* u, size_t n, float* y) { Forward(g, u, n, y); }
void ForwardRange(const uint16_t* g, const uint16_t* u, size_t n, uint16_t* y) {
  switch (KernelIsa()) {
    case Isa::kAvx512:
    case Isa::kAvx512Bf16: return ForwardBf16Avx512(g, u, n, y);
    case Isa::kAvx2: return ForwardBf16Avx2(g, u, n, y);
    default: return Forward(g, u, n, y);
  }
}
void BackwardRange(const float* g, const float* u, const float* dy, size_t n, float* dg, float* du) { Backward(g, u, dy, n, dg, du); }
void BackwardRange(const uint16_t* g, const uint16_t* u, const uint16_t* dy, size_t n, uint16_t* dg, uint16_t* du) {
  switch (KernelIsa()) {
    case Isa::kAvx512:
    case Isa::kAvx512Bf16: return BackwardBf16Avx512(g, u, dy, n, dg, du);
    case Isa::kAvx2: return BackwardBf16Avx2(g, u, dy, n, dg, du);
    default: return Backward(g, u, dy, n, dg, du);
  }
}

template <typename T>
T* Ptr(const torch::Tensor& t) {
  return reinterpret_cast<T*>(t.data_ptr());
}

class SwiGluFn : public torch::autograd::Function<SwiGluFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& gate, const torch::Tensor& up) {
    const torch::Tensor g = gate.contiguous(), u = up.contiguous();
    torch::Tensor y = torch::empty_like(g);
    const int64_t n = g.numel();
    WithRows(g, [&](auto* gp) {
      using T = std::remove_pointer_t<decltype(gp)>;
      at::parallel_for(0, n, 4 * kBlock, [&](int64_t b, int64_t e) {
        ForwardRange(gp + b, Ptr<T>(u) + b, static_cast<size_t>(e - b), Ptr<T>(y) + b);
      });
    });
    ctx->save_for_backward({g, u});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &g = saved[0], &u = saved[1];
    const torch::Tensor dy = grads[0].to(g.scalar_type()).contiguous();
    torch::Tensor dg = torch::empty_like(g), du = torch::empty_like(u);
    const int64_t n = g.numel();
    WithRows(g, [&](auto* gp) {
      using T = std::remove_pointer_t<decltype(gp)>;
      at::parallel_for(0, n, 4 * kBlock, [&](int64_t b, int64_t e) {
        BackwardRange(gp + b, Ptr<T>(u) + b, Ptr<T>(dy) + b, static_cast<size_t>(e - b), Ptr<T>(dg) + b, Ptr<T>(du) + b);
      });
    });
    return {dg, du};
  }
};

}  // namespace

torch::Tensor SwiGlu(const torch::Tensor& gate, const torch::Tensor& up) {
  const bool kernel = gate.device().is_cpu() && up.device().is_cpu() && gate.scalar_type() == up.scalar_type() &&
                      gate.sizes() == up.sizes() &&
                      (gate.scalar_type() == torch::kFloat32 || gate.scalar_type() == torch::kBFloat16);
  if (!kernel) return torch::silu(gate) * up;
  return SwiGluFn::apply(gate, up);
}

}  // namespace tenet
