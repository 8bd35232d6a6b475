// RMSNorm with a hand-written backward. See tenet/model/rms_norm.h.
//
// With n = x r, r = (mean(x^2) + eps)^-1/2, y = w * round(n) and g = dy * w:
//   dx = r (g - n mean(g n)),   dw = sum over rows of dy * round(n)
// (round: to the input's dtype, as HF's cast back before the weight; the backward keeps g in fp32
// where autograd would round dy * w to bf16 first).
#include "tenet/model/rms_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tenet/util/row_kernel.h"
#include "tensor_rows.h"

namespace tenet {
namespace {

constexpr size_t kBlock = 256;
constexpr size_t kLanes = 16;

template <typename T>
TENET_INLINE float InverseRmsImpl(const T* x, size_t C, float eps) {
  alignas(64) float buf[kBlock];
  float acc[kLanes] = {};
  float tail = 0;
  for (size_t b = 0; b < C; b += kBlock) {
    const size_t len = std::min(kBlock, C - b);
    Widen(x + b, len, buf);
    size_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) acc[j] += buf[i + j] * buf[i + j];
    }
    for (; i < len; ++i) tail += buf[i] * buf[i];
  }
  for (size_t j = 0; j < kLanes; ++j) tail += acc[j];
  return 1.0f / std::sqrt(tail / static_cast<float>(C) + eps);
}

// y = w * round(x r) for one row.
template <typename T>
TENET_INLINE float ForwardRowImpl(const T* x, const T* w, size_t C, float eps, T* y) {
  alignas(64) float xb[kBlock], wb[kBlock];
  const float r = InverseRmsImpl(x, C, eps);
  for (size_t b = 0; b < C; b += kBlock) {
    const size_t len = std::min(kBlock, C - b);
    Widen(x + b, len, xb);
    Widen(w + b, len, wb);
    for (size_t i = 0; i < len; ++i) xb[i] *= r;
    RoundLike(x, xb, len);
    for (size_t i = 0; i < len; ++i) xb[i] *= wb[i];
    Narrow(xb, len, y + b);
  }
  return r;
}

// dx for one row; dw_acc (C) fp32 += dy * round(n) when given.
template <typename T>
TENET_INLINE void BackwardRowImpl(const T* x, const T* w, const T* dy, size_t C, float r, T* dx, float* dw_acc) {
  alignas(64) float xb[kBlock], wb[kBlock], gb[kBlock];
  float acc[kLanes] = {};
  float dot = 0;
  for (size_t b = 0; b < C; b += kBlock) {
    const size_t len = std::min(kBlock, C - b);
    Widen(x + b, len, xb);
    Widen(w + b, len, wb);
    Widen(dy + b, len, gb);
    for (size_t i = 0; i < len; ++i) xb[i] *= r;  // n
    if (dw_acc != nullptr) {
      alignas(64) float nb[kBlock];
      std::copy(xb, xb + len, nb);
      RoundLike(x, nb, len);
      for (size_t i = 0; i < len; ++i) dw_acc[b + i] += gb[i] * nb[i];
    }
    size_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) acc[j] += gb[i + j] * wb[i + j] * xb[i + j];
    }
    for (; i < len; ++i) dot += gb[i] * wb[i] * xb[i];
  }
  for (size_t j = 0; j < kLanes; ++j) dot += acc[j];
  const float m = dot / static_cast<float>(C);
  for (size_t b = 0; b < C; b += kBlock) {
    const size_t len = std::min(kBlock, C - b);
    Widen(x + b, len, xb);
    Widen(w + b, len, wb);
    Widen(dy + b, len, gb);
    for (size_t i = 0; i < len; ++i) {
      const float n = xb[i] * r;
      xb[i] = r * (gb[i] * wb[i] - n * m);
    }
    Narrow(xb, len, dx + b);
  }
}

TENET_ROW_KERNEL(float, ForwardRow, ForwardRowImpl, (const float* x, const float* w, size_t C, float eps, float* y), (x, w, C, eps, y))
TENET_ROW_KERNEL(float, ForwardRow, ForwardRowImpl, (const uint16_t* x, const uint16_t* w, size_t C, float eps, uint16_t* y), (x, w, C, eps, y))
TENET_ROW_KERNEL(void, BackwardRow, BackwardRowImpl, (const float* x, const float* w, const float* dy, size_t C, float r, float* dx, float* dw), (x, w, dy, C, r, dx, dw))
TENET_ROW_KERNEL(void, BackwardRow, BackwardRowImpl, (const uint16_t* x, const uint16_t* w, const uint16_t* dy, size_t C, float r, uint16_t* dx, float* dw), (x, w, dy, C, r, dx, dw))

// Rows split into `parts` contiguous ranges run in parallel, so that each range has its own dw partial.
template <typename F>
void ForRowRanges(int64_t rows, int64_t parts, F&& f) {
  at::parallel_for(0, parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) f(p, rows * p / parts, rows * (p + 1) / parts);
  });
}

// Shapes: x (N, C), weight (C,), y (N, C), rstd (N,) fp32.
class RmsNormFn : public torch::autograd::Function<RmsNormFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               double eps) {
    const int64_t C = x.size(-1);
    const torch::Tensor x2 = x.reshape({-1, C}).contiguous();
    const torch::Tensor w = weight.contiguous();
    const int64_t N = x2.size(0);
    torch::Tensor y = torch::empty_like(x2), rstd = torch::empty({N}, torch::kFloat32);
    float* r = rstd.data_ptr<float>();
    WithRows(x2, [&](auto* xp) {
      using T = std::remove_pointer_t<decltype(xp)>;
      const T* wp = reinterpret_cast<const T*>(w.data_ptr());
      T* yp = reinterpret_cast<T*>(y.data_ptr());
      at::parallel_for(0, N, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) r[i] = ForwardRow(xp + i * C, wp, static_cast<size_t>(C), static_cast<float>(eps), yp + i * C);
      });
    });
    ctx->save_for_backward({x2, w, rstd});
    return y.view(x.sizes());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &x2 = saved[0], &w = saved[1], &rstd = saved[2];
    const int64_t N = x2.size(0), C = x2.size(1);
    const torch::Tensor dy = grads[0].reshape({N, C}).to(x2.scalar_type()).contiguous();
    torch::Tensor dx = torch::empty_like(x2);
    const bool want_dw = ctx->needs_input_grad(1);
    const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), N / 16));
    std::vector<float> dw_parts(want_dw ? static_cast<size_t>(parts * C) : 0, 0.0f);
    const float* r = rstd.data_ptr<float>();
    WithRows(x2, [&](auto* xp) {
      using T = std::remove_pointer_t<decltype(xp)>;
      const T* wp = reinterpret_cast<const T*>(w.data_ptr());
      const T* gp = reinterpret_cast<const T*>(dy.data_ptr());
      T* dxp = reinterpret_cast<T*>(dx.data_ptr());
      ForRowRanges(N, parts, [&](int64_t part, int64_t b, int64_t e) {
        float* acc = want_dw ? dw_parts.data() + part * C : nullptr;
        for (int64_t i = b; i < e; ++i) {
          BackwardRow(xp + i * C, wp, gp + i * C, static_cast<size_t>(C), r[i], dxp + i * C, acc);
        }
      });
    });
    torch::Tensor dw;
    if (want_dw) {
      dw = torch::zeros({C}, torch::kFloat32);
      float* d = dw.data_ptr<float>();
      for (int64_t p = 0; p < parts; ++p) {
        for (int64_t c = 0; c < C; ++c) d[c] += dw_parts[static_cast<size_t>(p * C + c)];
      }
      dw = dw.to(w.scalar_type());
    }
    return {dx.view(grads[0].sizes()), dw, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const bool kernel = x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
                      weight.scalar_type() == x.scalar_type() && weight.device().is_cpu();
  if (kernel) return RmsNormFn::apply(x, weight, eps);
  torch::Tensor h = x.to(torch::kFloat32);
  torch::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

}  // namespace tenet
