// A frozen linear layer with an optional LoRA adapter (Hu et al. 2021, arXiv 2106.09685).
//
//   y = x W^T + b + scale * B(A(dropout(x)))       W (out, in), A (R, in), B (out, R)
//
// The adapter's weights are fp32 (also on a bf16 base); its products run in the activations' dtype
// with fp32 accumulation, as under torch.autocast, and are added into the base product's output in
// one autograd node (see LoraLinearFn in linear.cpp); at fp32 this is PEFT's computation exactly.
// Whether a pass applies the attached adapter is the caller's choice per call (AdapterChoice: the
// DPO reference model is the same model without it), never a switch on the layer. Parameter names follow HF: "weight", "bias", "lora_A", "lora_B" (PEFT's file names
// are produced by tenet/io/peft_adapter.h).
//
// Shape legend: N any leading dims, I in features, O out features, R lora rank.
#pragma once

#include <torch/torch.h>

#include "tenet/model/row_lora.h"

namespace tenet {

// What one forward pass adds on top of the frozen base, chosen per call rather than by switching
// the model: the attached adapter (training's, or one attached for generation) or not, and
// per-row served adapters (row_lora.h; inference). The default is the model as attached.
struct AdapterChoice {
  bool attached = true;
  const RowAdapters* rows = nullptr;  // null: none
  // The frozen base alone (DPO's reference model, the "before" of a comparison).
  static AdapterChoice Base() { return {false, nullptr}; }
  static AdapterChoice Rows(const RowAdapters* rows) { return {true, rows}; }
};

class Linear : public torch::nn::Module {
 public:
  // weight (O, I); bias (O,) or undefined.
  Linear(torch::Tensor weight, torch::Tensor bias);

  // x (N, I) -> (N, O), with the attached adapter if any.
  torch::Tensor forward(const torch::Tensor& x);
  // x (N, I) -> (N, O) as `adapters` says: with the attached adapter or the base alone, and for
  // x (B, T, I) each row b adding the delta of adapters.rows->rows[b] (inference only, no
  // gradients through those).
  torch::Tensor forward(const torch::Tensor& x, const AdapterChoice& adapters);

  // This layer's index in its model's linears() (what ServedAdapter::layers is indexed by).
  void set_index(size_t index) { index_ = index; }

  // Attaches (or replaces) an adapter: a (R, I), b (O, R). Programmer error on shape mismatch
  // (callers validate user files first).
  void SetLora(torch::Tensor a, torch::Tensor b, double scale, double dropout);
  void RemoveLora();
  bool has_lora() const { return lora_a_.defined(); }

  const torch::Tensor& weight() const { return weight_; }
  const torch::Tensor& bias() const { return bias_; }
  const torch::Tensor& lora_a() const { return lora_a_; }
  const torch::Tensor& lora_b() const { return lora_b_; }
  double lora_scale() const { return lora_scale_; }
  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }

 private:
  // x W^T + b, the base alone.
  torch::Tensor Base(const torch::Tensor& x);

  torch::Tensor weight_, bias_;
  torch::Tensor lora_a_, lora_b_;
  double lora_scale_ = 0.0;
  double lora_dropout_ = 0.0;
  size_t index_ = 0;
};

}  // namespace tenet
