// Linear + LoRA. See tenet/model/linear.h.
#include "tenet/model/linear.h"

namespace tenet {

Linear::Linear(torch::Tensor weight, torch::Tensor bias) {
  weight_ = register_parameter("weight", std::move(weight), /*requires_grad=*/false);
  if (bias.defined()) bias_ = register_parameter("bias", std::move(bias), /*requires_grad=*/false);
}

torch::Tensor Linear::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight_, bias_);
  if (!lora_a_.defined() || !lora_enabled_) return y;
  torch::Tensor h = x.to(lora_a_.scalar_type());
  if (lora_dropout_ > 0 && is_training()) h = torch::dropout(h, lora_dropout_, /*train=*/true);
  torch::Tensor delta = torch::linear(torch::linear(h, lora_a_), lora_b_) * lora_scale_;
  return y + delta.to(y.scalar_type());
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
