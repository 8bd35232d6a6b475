// Linear + LoRA. See tenet/model/linear.h.
#include "tenet/model/linear.h"

#include "tenet/model/matmul.h"
#include "tenet/model/packed_gemm.h"

namespace tenet {
namespace {

// The frozen base's products, through the packed weight where that path applies
// (tenet/model/packed_gemm.h), else tenet/model/matmul.h (which also takes bf16 weights under fp32
// activations). x (N, I) W^T -> (N, O); gy (N, O) W -> (N, I).
torch::Tensor BaseProduct(const torch::Tensor& x, const torch::Tensor& weight) {
  if (packed_gemm::Enabled() && x.is_cpu()) {
    torch::Tensor y = torch::empty({x.size(0), weight.size(0)}, x.options());
    if (packed_gemm::MatmulWt(x, weight, y)) return y;
  }
  return ProductWt(x, weight);
}
torch::Tensor BaseInputGrad(const torch::Tensor& gy, const torch::Tensor& weight) {
  if (packed_gemm::Enabled() && gy.is_cpu()) {
    torch::Tensor gx = torch::empty({gy.size(0), weight.size(1)}, gy.options());
    if (packed_gemm::MatmulW(gy, weight, gx)) return gx;
  }
  return ProductW(gy, weight);
}

// y = x W^T + scale * (dropout(x) A^T) B^T as one autograd node (Hu et al. 2021).
//
// The adapter's products run in the activations' dtype, with A and scale*B rounded to it for the
// call: at bf16 that is what torch.autocast does with an fp32 adapter on a bf16 base, with fp32
// accumulation inside every product; the adapter weights, their gradients and the optimizer state
// stay fp32. The adapter's output is added into the base product's output by the GEMM itself
// (addmm, beta 1) and its backward adds into the input gradient the same way, so no (N, O)
// elementwise pass is made and the activations are never cast. The frozen base needs no weight
// gradient.
//
// Shapes: x (N, I) (leading dims flattened), W (O, I), A (R, I), B (O, R), u = h A^T (N, R),
// v = gy (scale B) (N, R).
class LoraLinearFn : public torch::autograd::Function<LoraLinearFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& a,
                               const torch::Tensor& b, const torch::Tensor& weight, double scale, double dropout) {
    const int64_t I = weight.size(1), O = weight.size(0);
    const torch::Tensor x2 = x.reshape({-1, I}).contiguous();  // (N, I)
    const torch::ScalarType dt = x2.scalar_type();
    const torch::Tensor ac = a.to(dt);                           // (R, I)
    const torch::Tensor bs = (b * scale).to(dt);                 // (O, R)
    torch::Tensor h = x2, keep;                                  // keep: the dropout mask / (1 - p), (N, I)
    if (dropout > 0) {
      keep = torch::empty_like(x2).bernoulli_(1.0 - dropout).div_(1.0 - dropout);
      h = x2 * keep;
    }
    const torch::Tensor u = Mm(h, ac.t());                // (N, R)
    torch::Tensor y = BaseProduct(x2, weight);                   // (N, O)
    if (NativeBf16(y) || y.scalar_type() != torch::kBFloat16) y.addmm_(u, bs.t());
    else y.add_(Mm(u, bs.t()));
    ctx->save_for_backward({h, u, ac, bs, weight});
    if (keep.defined()) ctx->saved_data["keep"] = keep;
    ctx->saved_data["scale"] = scale;
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = O;
    return y.view(shape);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &h = saved[0], &u = saved[1], &ac = saved[2], &bs = saved[3], &weight = saved[4];
    const torch::Tensor keep = ctx->saved_data.count("keep") ? ctx->saved_data["keep"].toTensor() : torch::Tensor();
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t I = weight.size(1), O = weight.size(0);
    const torch::Tensor gy = grads[0].reshape({-1, O}).contiguous().to(h.scalar_type());  // (N, O)
    const torch::Tensor v = Mm(gy, bs);                                               // (N, R)
    torch::Tensor gx;
    if (ctx->needs_input_grad(0)) {
      gx = BaseInputGrad(gy, weight);  // (N, I)
      if (keep.defined()) gx.add_(Mm(v, ac) * keep);
      else if (NativeBf16(gx) || gx.scalar_type() != torch::kBFloat16) gx.addmm_(v, ac);
      else gx.add_(Mm(v, ac));
      std::vector<int64_t> shape = grads[0].sizes().vec();
      shape.back() = I;
      gx = gx.view(shape);
    }
    // dA = (gy scale B)^T h = v^T h;  dB = scale gy^T u. In the adapter's dtype (fp32).
    const torch::Tensor ga = ctx->needs_input_grad(1) ? Mm(v.t(), h).to(torch::kFloat32) : torch::Tensor();
    // dB as (u^T gy)^T: oneDNN runs the (R, N) x (N, O) product on gy as stored about 1.5x faster
    // than gy^T u, which reads gy transposed (bench preset, gate/up: 0.29 against 0.44 ms).
    const torch::Tensor gb = ctx->needs_input_grad(2) ? (Mm(u.t(), gy).t().to(torch::kFloat32) * scale) : torch::Tensor();
    return {gx, ga, gb, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

Linear::Linear(torch::Tensor weight, torch::Tensor bias) {
  weight_ = register_parameter("weight", std::move(weight), /*requires_grad=*/false);
  if (bias.defined()) bias_ = register_parameter("bias", std::move(bias), /*requires_grad=*/false);
}

torch::Tensor Linear::Base(const torch::Tensor& x) {
  if (!lora_a_.defined()) return Affine(x, weight_, bias_);
  // The DPO reference (the base of an adapted layer, under no-grad) also goes through the packed
  // weight, which autograd does not see; plain inference without an adapter, and any pass that
  // needs x's gradient, takes Affine (LibTorch's linear where it is best).
  const bool needs_grad = torch::GradMode::is_enabled() && x.requires_grad();
  if (weight_.requires_grad() || needs_grad || !packed_gemm::Enabled()) return Affine(x, weight_, bias_);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out_features();
  torch::Tensor y = BaseProduct(x.reshape({-1, in_features()}).contiguous(), weight_).view(shape);
  return bias_.defined() ? y + bias_ : y;
}

torch::Tensor Linear::forward(const torch::Tensor& x) {
  if (!lora_a_.defined()) return Affine(x, weight_, bias_);
  if (!weight_.requires_grad() && !(bias_.defined() && bias_.requires_grad())) {
    torch::Tensor y = LoraLinearFn::apply(x, lora_a_, lora_b_, weight_, lora_scale_, is_training() ? lora_dropout_ : 0.0);
    return bias_.defined() ? y + bias_ : y;
  }
  // A trainable base under an adapter (not a Tenet recipe; kept general): plain autograd.
  torch::Tensor h = x.to(lora_a_.scalar_type());
  if (lora_dropout_ > 0 && is_training()) h = torch::dropout(h, lora_dropout_, /*train=*/true);
  torch::Tensor delta = torch::linear(torch::linear(h, lora_a_), lora_b_) * lora_scale_;
  return torch::linear(x, weight_, bias_) + delta.to(x.scalar_type());
}

torch::Tensor Linear::forward(const torch::Tensor& x, const AdapterChoice& adapters) {
  torch::Tensor y = adapters.attached ? forward(x) : Base(x);
  if (adapters.rows != nullptr && adapters.rows->any()) AddRowLora(x, y, *adapters.rows, index_);
  return y;
}

void Linear::SetLora(torch::Tensor a, torch::Tensor b, double scale, double dropout) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == in_features() && b.size(0) == out_features() &&
                  a.size(0) == b.size(1),
              "LoRA shapes do not fit the layer");
  RemoveLora();
  lora_a_ = register_parameter("lora_A", std::move(a));
  lora_b_ = register_parameter("lora_B", std::move(b));
  lora_scale_ = scale;
  lora_dropout_ = dropout;
}

void Linear::RemoveLora() {
  if (!lora_a_.defined()) return;
  // LibTorch modules cannot unregister a parameter; re-create the dictionary without them.
  auto params = named_parameters(/*recurse=*/false);
  parameters_.clear();
  for (const auto& p : params) {
    if (p.key() != "lora_A" && p.key() != "lora_B") register_parameter(p.key(), p.value(), p.value().requires_grad());
  }
  lora_a_ = lora_b_ = torch::Tensor();
}

}  // namespace tenet
