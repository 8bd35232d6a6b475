// Per-row LoRA deltas. See tenet/model/row_lora.h.
#include "tenet/model/row_lora.h"

#include <map>

#include "tenet/model/matmul.h"

namespace tenet {

void AddRowLora(const torch::Tensor& x, torch::Tensor& y, const RowAdapters& rows, size_t layer) {
  TORCH_CHECK(x.dim() >= 2 && x.size(0) == static_cast<int64_t>(rows.rows.size()), "row adapters: one per batch row");
  std::map<const ServedAdapter*, std::vector<int64_t>> groups;
  for (size_t b = 0; b < rows.rows.size(); ++b) {
    const ServedAdapter* a = rows.rows[b];
    if (a != nullptr && layer < a->layers.size() && a->layers[layer].a.defined()) groups[a].push_back(static_cast<int64_t>(b));
  }
  const int64_t I = x.size(-1), O = y.size(-1);
  for (const auto& [adapter, members] : groups) {
    const ServedAdapter::Layer& l = adapter->layers[layer];
    const bool all = static_cast<int64_t>(members.size()) == x.size(0);
    torch::Tensor idx = all ? torch::Tensor() : torch::tensor(members, torch::kInt64).to(x.device());
    // The same products as an attached adapter (LoraLinearFn in linear.cpp): u = x A^T, then
    // (scale B) added into the base output by the GEMM itself where the dtype allows.
    const torch::Tensor x2 = (all ? x : x.index_select(0, idx)).reshape({-1, I}).contiguous();
    torch::Tensor yr = all ? y : y.index_select(0, idx);
    torch::Tensor y2 = yr.view({-1, O});
    const torch::Tensor u = Mm(x2, l.a.t());
    if (NativeBf16(y2) || y2.scalar_type() != torch::kBFloat16) {
      y2.addmm_(u, l.b.t());
    } else {
      y2.add_(Mm(u, l.b.t()));
    }
    if (!all) y.index_copy_(0, idx, yr);
  }
}

}  // namespace tenet
