// Rotary embeddings, matching transformers' LlamaRotaryEmbedding and _compute_llama3_parameters.
#include "tenet/model/rope.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tenet/util/row_kernel.h"
#include "tensor_rows.h"

namespace tenet {
namespace {

constexpr size_t kMaxHeadDim = 512;

// One head of one token: y = round(round(x cos) + round(rotate_half(x) sin)), the eager ops'
// rounding at bf16 (each product, then the sum); exact fp32 arithmetic at fp32.
template <typename T>
TENET_INLINE void RotateImpl(const T* x, const float* c, const float* s, size_t D, T* y) {
  alignas(64) float xb[kMaxHeadDim], a[kMaxHeadDim], r[kMaxHeadDim];
  const size_t half = D / 2;
  Widen(x, D, xb);
  for (size_t i = 0; i < D; ++i) a[i] = xb[i] * c[i];
  for (size_t i = 0; i < half; ++i) r[i] = -xb[i + half] * s[i];
  for (size_t i = half; i < D; ++i) r[i] = xb[i - half] * s[i];
  RoundLike(x, a, D);
  RoundLike(x, r, D);
  for (size_t i = 0; i < D; ++i) a[i] += r[i];
  Narrow(a, D, y);
}

// Its gradient: dx = dy cos + (first half: dy[i + half] sin[i + half]; second: -dy[i - half] sin[i - half]).
template <typename T>
TENET_INLINE void RotateBackImpl(const T* dy, const float* c, const float* s, size_t D, T* dx) {
  alignas(64) float gb[kMaxHeadDim], a[kMaxHeadDim];
  const size_t half = D / 2;
  Widen(dy, D, gb);
  for (size_t i = 0; i < half; ++i) a[i] = gb[i] * c[i] + gb[i + half] * s[i + half];
  for (size_t i = half; i < D; ++i) a[i] = gb[i] * c[i] - gb[i - half] * s[i - half];
  Narrow(a, D, dx);
}

TENET_ROW_KERNEL(void, Rotate, RotateImpl, (const float* x, const float* c, const float* s, size_t D, float* y), (x, c, s, D, y))
TENET_ROW_KERNEL(void, Rotate, RotateImpl, (const uint16_t* x, const float* c, const float* s, size_t D, uint16_t* y), (x, c, s, D, y))
TENET_ROW_KERNEL(void, RotateBack, RotateBackImpl, (const float* g, const float* c, const float* s, size_t D, float* dx), (g, c, s, D, dx))
TENET_ROW_KERNEL(void, RotateBack, RotateBackImpl, (const uint16_t* g, const float* c, const float* s, size_t D, uint16_t* dx), (g, c, s, D, dx))

// Shapes: x (B, T, H*D) contiguous, cs (2, B, T, D) fp32 (cos, sin; values of the model dtype),
// y (B, H, T, D). Each (b, t) is one unit of work: its cos/sin row is read once for all H heads.
class RopeToHeadsFn : public torch::autograd::Function<RopeToHeadsFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& cs,
                               int64_t H) {
    const torch::Tensor x = x_in.contiguous();
    const int64_t B = x.size(0), T = x.size(1), D = x.size(2) / H;
    torch::Tensor y = torch::empty({B, H, T, D}, x.options());
    const float* c = cs.data_ptr<float>();
    const float* s = c + B * T * D;
    WithRows(x, [&](auto* xp) {
      using E = std::remove_pointer_t<decltype(xp)>;
      E* yp = reinterpret_cast<E*>(y.data_ptr());
      at::parallel_for(0, B * T, 8, [&](int64_t lo, int64_t hi) {
        for (int64_t bt = lo; bt < hi; ++bt) {
          const int64_t b = bt / T, t = bt % T;
          for (int64_t h = 0; h < H; ++h) {
            Rotate(xp + (bt * H + h) * D, c + bt * D, s + bt * D, static_cast<size_t>(D), yp + ((b * H + h) * T + t) * D);
          }
        }
      });
    });
    ctx->save_for_backward({cs});
    ctx->saved_data["H"] = H;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const torch::Tensor cs = ctx->get_saved_variables()[0];
    const int64_t H = ctx->saved_data["H"].toInt();
    const torch::Tensor dy = grads[0].contiguous();  // (B, H, T, D)
    const int64_t B = dy.size(0), T = dy.size(2), D = dy.size(3);
    torch::Tensor dx = torch::empty({B, T, H * D}, dy.options());
    const float* c = cs.data_ptr<float>();
    const float* s = c + B * T * D;
    WithRows(dy, [&](auto* gp) {
      using E = std::remove_pointer_t<decltype(gp)>;
      E* dxp = reinterpret_cast<E*>(dx.data_ptr());
      at::parallel_for(0, B * T, 8, [&](int64_t lo, int64_t hi) {
        for (int64_t bt = lo; bt < hi; ++bt) {
          const int64_t b = bt / T, t = bt % T;
          for (int64_t h = 0; h < H; ++h) {
            RotateBack(gp + ((b * H + h) * T + t) * D, c + bt * D, s + bt * D, static_cast<size_t>(D), dxp + (bt * H + h) * D);
          }
        }
      });
    });
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor RopeInverseFrequencies(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  // inv_freq = 1 / theta^(arange(0, D, 2) / D), computed in fp32 as HF does.
  torch::Tensor exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(static_cast<float>(c.rope_theta), exponents);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "linear") return inv_freq / s.factor;
  if (s.type != "llama3") return inv_freq;
  // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between
  // interpolated smoothly.
  const double old_ctx = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_ctx / s.low_freq_factor;
  const double high_freq_wavelen = old_ctx / s.high_freq_factor;
  torch::Tensor wavelen = 2 * M_PI / inv_freq;
  torch::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  torch::Tensor smooth = (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  torch::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  torch::Tensor is_medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return torch::where(is_medium, smoothed, scaled).to(torch::kFloat32);
}

std::pair<torch::Tensor, torch::Tensor> RopeCosSin(const torch::Tensor& inv_freq, const torch::Tensor& positions,
                                                   torch::ScalarType dtype) {
  // freqs (B, T, D/2) = positions (B, T, 1) * inv_freq (D/2): one product, exact in fp32.
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq.to(positions.device());
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);  // (B, T, D)
  return {emb.cos().to(dtype).unsqueeze(1), emb.sin().to(dtype).unsqueeze(1)};
}

torch::Tensor ApplyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  torch::Tensor x1 = x.narrow(-1, 0, half);
  torch::Tensor x2 = x.narrow(-1, half, half);
  torch::Tensor rotated = torch::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

torch::Tensor RopeToHeads(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, int64_t heads) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2) / heads;
  const bool kernel = x.device().is_cpu() && (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) &&
                      D % 2 == 0 && D <= static_cast<int64_t>(kMaxHeadDim) && x.size(2) == heads * D;
  if (!kernel) return ApplyRope(x.view({B, T, heads, D}).transpose(1, 2), cos, sin);
  // cos/sin (B or 1, 1, T, D) in the model dtype -> one (2, B, T, D) fp32 tensor (exact).
  const torch::Tensor cs = torch::stack({cos.expand({B, 1, T, D}).reshape({B, T, D}), sin.expand({B, 1, T, D}).reshape({B, T, D})})
                               .to(torch::kFloat32)
                               .contiguous();
  return RopeToHeadsFn::apply(x, cs, heads);
}

}  // namespace tenet
