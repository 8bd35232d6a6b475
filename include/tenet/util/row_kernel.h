// Helpers for hand-vectorized row loops over fp32 or bf16 data (samplers, output-head log-probs,
// attention): each kernel is built for AVX-512, AVX2+FMA and the baseline, and the version run is
// picked per call by KernelIsa() (tenet/util/isa.h), so `TENET_ISA=avx2` caps it. bf16 rows are
// widened into small fp32 buffers so that GCC vectorizes each step.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "tenet/util/isa.h"

// The target attributes of the two vector builds. Neither enables FMA, so the compiler contracts no
// multiply-add and every version gives the same bits (seeded sampling draws the same tokens on every
// CPU); kernels that want FMA use it explicitly in intrinsics.
#define TENET_TARGET_AVX512 __attribute__((target("avx512f")))
#define TENET_TARGET_AVX2 __attribute__((target("avx2")))

// TENET_ROW_KERNEL(ret, Name, Impl, (params), (args)) defines `ret Name(params)` running
// `Impl(args)` (an always-inline template) built three times, as NameAvx512 / NameAvx2 /
// NameBaseline, and picks one per call by KernelIsa().
#define TENET_ROW_KERNEL(ret, name, impl, params, args)                \
  TENET_TARGET_AVX512 ret name##Avx512 params { return impl args; }    \
  TENET_TARGET_AVX2 ret name##Avx2 params { return impl args; }        \
  ret name##Baseline params { return impl args; }                      \
  ret name params {                                                    \
    switch (::tenet::KernelIsa()) {                                    \
      case ::tenet::Isa::kAvx512:                                      \
      case ::tenet::Isa::kAvx512Bf16: return name##Avx512 args;        \
      case ::tenet::Isa::kAvx2: return name##Avx2 args;                \
      default: return name##Baseline args;                             \
    }                                                                  \
  }
#define TENET_INLINE __attribute__((always_inline)) inline

namespace tenet {

// bf16 rows are handled as their raw uint16_t bits.
TENET_INLINE void Widen(const float* x, size_t n, float* out) { std::copy(x, x + n, out); }
TENET_INLINE void Widen(const uint16_t* x, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(static_cast<uint32_t>(x[i]) << 16);
}
TENET_INLINE void Narrow(const float* x, size_t n, float* out) { std::copy(x, x + n, out); }
// fp32 -> bf16 bits, round to nearest even (as c10::BFloat16); values must be finite.
TENET_INLINE void Narrow(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(x[i]);
    out[i] = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

// Rounds fp32 values through the row type in place: for bf16 rows, to the nearest bf16 (ties to
// even) and back, the value a bf16 tensor op stores; for fp32 rows nothing. The pointer only picks
// the type. Values must be finite.
TENET_INLINE void RoundLike(const float*, float*, size_t) {}
TENET_INLINE void RoundLike(const uint16_t*, float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(x[i]);
    x[i] = std::bit_cast<float>((u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u);
  }
}

}  // namespace tenet
