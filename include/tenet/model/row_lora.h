// Several LoRA adapters over one frozen base in one batch: each row of the batch adds its own
// adapter's delta (the idea of S-LoRA, Sheng et al. 2023, arXiv 2311.03285, and Punica), so a
// server decodes requests for different adapters, and for the base, together.
//
//   y[rows of adapter k] += scale_k * (x[rows of k] A_k^T) B_k^T      for each adapter k in the batch
//
// How the products are grouped: per linear layer, the rows are grouped by adapter; each group is
// gathered (index_select), multiplied by A_k then added into the gathered base output times
// scale_k B_k (two small GEMMs in the compute dtype, the numerics of an attached adapter), and
// written back (index_copy_); a group of every row works in place. A batch with g distinct adapters costs each layer g gathers, 2g rank-R
// products and g scatters on top of the base product, which is computed once for all rows; rows
// without an adapter cost nothing extra. With rank R the products are R x (I + O) MACs per row,
// small against the base's I x O.
//
// Shape legend: B batch rows, T tokens, I in features, O out features, R rank.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tenet {

// One adapter in the per-row form (made by MakeServedAdapter, model/adapter.h). Immutable once
// made; requests hold it by shared_ptr, so unloading it from a server lets them finish with it.
struct ServedAdapter {
  std::string name;
  struct Layer {
    // A (R, I) and scale * B (O, R), rounded to the model's compute dtype as an attached adapter's
    // products use them (model/linear.h); undefined: the layer is not adapted.
    torch::Tensor a, b;
  };
  std::vector<Layer> layers;  // by the model's linear index (LlamaForCausalLM::linears() order)
  int64_t bytes = 0;
};

// The adapter of each batch row (null: the base alone).
struct RowAdapters {
  std::vector<const ServedAdapter*> rows;
  bool any() const {
    for (const auto* a : rows)
      if (a != nullptr) return true;
    return false;
  }
};

// x (B, T, I), y (B, T, O) = the base product: adds every row's adapter delta for linear layer
// `layer` into y, in place.
void AddRowLora(const torch::Tensor& x, torch::Tensor& y, const RowAdapters& rows, size_t layer);

}  // namespace tenet
