// silu(gate) * up with a fused backward. See swiglu.h.
//
// s = sigmoid(g), silu = g s, y = round(silu) u:
//   d up = dy round(silu),   d gate = dy u s (1 + g (1 - s)).
#include "swiglu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

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

TENET_ROW_KERNEL void Forward(const float* g, const float* u, size_t n, float* y) { ForwardImpl(g, u, n, y); }
TENET_ROW_KERNEL void Forward(const uint16_t* g, const uint16_t* u, size_t n, uint16_t* y) { ForwardImpl(g, u, n, y); }
TENET_ROW_KERNEL void Backward(const float* g, const float* u, const float* dy, size_t n, float* dg, float* du) {
  BackwardImpl(g, u, dy, n, dg, du);
}
TENET_ROW_KERNEL void Backward(const uint16_t* g, const uint16_t* u, const uint16_t* dy, size_t n, uint16_t* dg, uint16_t* du) {
  BackwardImpl(g, u, dy, n, dg, du);
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
        Forward(gp + b, Ptr<T>(u) + b, static_cast<size_t>(e - b), Ptr<T>(y) + b);
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
        Backward(gp + b, Ptr<T>(u) + b, Ptr<T>(dy) + b, static_cast<size_t>(e - b), Ptr<T>(dg) + b, Ptr<T>(du) + b);
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
