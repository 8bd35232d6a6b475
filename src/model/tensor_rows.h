// Private to src/model: hands a row kernel the raw data of a contiguous fp32 or bf16 tensor
// (bf16 as its uint16_t bits, see tenet/util/row_kernel.h). Used by the output-head log-probs and
// attention.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace tenet {

template <typename F>
void WithRows(const torch::Tensor& t, F&& f) {
  if (t.scalar_type() == torch::kBFloat16) {
    f(reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()));
  } else {
    f(t.data_ptr<float>());
  }
}

}  // namespace tenet
