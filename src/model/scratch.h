// Private to src/model: a large scratch tensor kept across calls. glibc serves blocks over 32 MiB
// (its largest mmap threshold) with mmap and unmaps them on free, so a (N, V) logits buffer taken
// fresh every training step is page-faulted in again every step: on the 2-core VM of
// docs/benchmarks.md, writing 128 rows of bf16 logits (33 MB) into fresh memory took 90 ms against
// 45 ms into memory already touched.
#pragma once

#include <torch/torch.h>

#include <mutex>

namespace tenet {

class ScratchBuffer {
 public:
  // A contiguous CPU tensor of `sizes` and `dtype` with undefined contents. It is carved from the
  // kept memory when no tensor handed out before is still alive and the memory is large enough;
  // otherwise it is new memory, which is kept when nothing kept is in use. Thread-safe.
  torch::Tensor Get(at::IntArrayRef sizes, torch::ScalarType dtype) {
    const int64_t bytes = c10::multiply_integers(sizes) * static_cast<int64_t>(c10::elementSize(dtype));
    std::lock_guard<std::mutex> lock(mu_);
    const bool free = kept_.defined() && kept_.use_count() == 1;
    if (!free || kept_.numel() < bytes) {
      if (kept_.defined() && !free) return torch::empty(sizes, torch::TensorOptions().dtype(dtype));
      kept_ = torch::Tensor();  // the old block goes first, so that the peak holds one of them
      kept_ = torch::empty({bytes}, torch::kUInt8);
    }
    // The deleter holds a reference to the kept tensor for as long as the result (or a view) lives.
    return torch::from_blob(
        kept_.data_ptr(), sizes, [hold = kept_](void*) mutable { hold = torch::Tensor(); },
        torch::TensorOptions().dtype(dtype));
  }

 private:
  std::mutex mu_;
  torch::Tensor kept_;  // (bytes,) uint8
};

}  // namespace tenet
