// Per-row LoRA deltas. See tenet/model/row_lora.h.
#include "tenet/model/row_lora.h"

#include <map>

namespace tenet {

void AddRowLora(const torch::Tensor& x, torch::Tensor& y, const RowAdapters& rows, size_t layer) {
  TORCH_CHECK(x.dim() >= 2 && x.size(0) == static_cast<int64_t>(rows.rows.size()), "row adapters: one per batch row");
  std::map<const ServedAdapter*, std::vector<int64_t>> groups;
  for (size_t b = 0; b < rows.rows.size(); ++b) {
    const ServedAdapter* a = rows.rows[b];
    if (a != nullptr && layer < a->layers.size() && a->layers[layer].a.defined()) groups[a].push_back(static_cast<int64_t>(b));
  }
  for (const auto& [adapter, members] : groups) {
    const ServedAdapter::Layer& l = adapter->layers[layer];
    const bool all = static_cast<int64_t>(members.size()) == x.size(0);
    torch::Tensor idx = all ? torch::Tensor() : torch::tensor(members, torch::kInt64).to(x.device());
    torch::Tensor xs = all ? x : x.index_select(0, idx);
    torch::Tensor delta = torch::matmul(torch::matmul(xs.to(l.a.scalar_type()), l.a.t()), l.b.t()).mul_(l.scale).to(y.scalar_type());
    if (all) {
      y.add_(delta);
    } else {
      y.index_add_(0, idx, delta);
    }
  }
}

}  // namespace tenet
