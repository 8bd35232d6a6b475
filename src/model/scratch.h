// Private to src/model: large scratch tensors kept across calls. glibc serves blocks over 32 MiB
// (its largest mmap threshold) with mmap and unmaps them on free, so a (N, V) logits buffer taken
// fresh every training step is page-faulted in again every step: on the 2-core VM of
// docs/benchmarks.md, writing 128 rows of bf16 logits (33 MB) into fresh memory took 90 ms against
// 45 ms into memory already touched.
//
// A DPO step holds two such buffers at once (the chosen side's logits stay for the backward while
// the rejected side's are computed), so up to kMaxBlocks blocks are kept, not one: with one, the
// second was fresh memory on every step (16k page faults, about 3% of the bench step).
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace tenet {

class ScratchBuffer {
 public:
  static constexpr size_t kMaxBlocks = 4;

  // A contiguous CPU tensor of `sizes` and `dtype` with undefined contents. It is carved from a
  // kept block that no tensor handed out before still uses (a view counts) and that is large
  // enough; otherwise a free block too small is replaced by a larger one, or a new block is kept
  // while fewer than kMaxBlocks are, or else the memory is not kept. Thread-safe.
  torch::Tensor Get(at::IntArrayRef sizes, torch::ScalarType dtype) {
    const int64_t bytes = c10::multiply_integers(sizes) * static_cast<int64_t>(c10::elementSize(dtype));
    std::lock_guard<std::mutex> lock(mu_);
    torch::Tensor* pick = nullptr;  // the smallest free block that is large enough
    torch::Tensor* small = nullptr;  // else a free block too small, to be replaced
    for (torch::Tensor& k : kept_) {
      if (k.use_count() != 1) continue;
      if (k.numel() >= bytes) {
        if (pick == nullptr || k.numel() < pick->numel()) pick = &k;
      } else {
        small = &k;
      }
    }
    if (pick == nullptr) {
      if (small != nullptr) {
        *small = torch::Tensor();  // the old block goes first, so that the peak holds one of them
        *small = torch::empty({bytes}, torch::kUInt8);
        pick = small;
      } else if (kept_.size() < kMaxBlocks) {
        pick = &kept_.emplace_back(torch::empty({bytes}, torch::kUInt8));
      } else {
        return torch::empty(sizes, torch::TensorOptions().dtype(dtype));
      }
    }
    // The deleter holds a reference to the block for as long as the result (or a view) lives.
    return torch::from_blob(
        pick->data_ptr(), sizes, [hold = *pick](void*) mutable { hold = torch::Tensor(); },
        torch::TensorOptions().dtype(dtype));
  }

  // Blocks kept now (for tests).
  size_t kept_blocks() {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size();
  }

 private:
  std::mutex mu_;
  std::vector<torch::Tensor> kept_;  // each (bytes,) uint8
};

}  // namespace tenet
