// Products with a frozen weight (bf16 or fp32) on the CPU, through oneDNN's matmul on a copy of
// the weight laid out once in the kernel's own blocked format.
//
// LibTorch's mm hands oneDNN the bf16 weight as stored, and the brgemm kernel then reformats every
// block of it (pairs of K interleaved for vdpbf16ps) inside every call; fp32 products go to
// OpenBLAS. A frozen weight can be reformatted once. At the DPO bench's shapes on the 2-core Zen 4
// VM (docs/benchmarks.md), bf16: the output head's backward went from 391 to 444 GFLOP/s, its
// forward from 403 to 429, the layers' products from about 440 to 460; fp32: 150-190 GFLOP/s
// (OpenBLAS) to 205-215.
//
// The packed copies cost memory: one copy of a weight per orientation used (x W^T in forwards,
// g W in backwards), so a training step keeps up to two extra copies of every frozen weight it
// multiplies. They are kept per weight, keyed by its storage (held weakly), shape and version
// counter: a weight edited in place is packed again, and the copies of freed weights are dropped
// the next time a weight is packed (or by Clear()). SetEnabled(false) turns the whole path off;
// a CPU without AVX-512 (no brgemm kernel) never packs anything.
//
// Shape legend: M rows, O out features, I in features; W (O, I).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "tenet/util/status.h"

namespace tenet::packed_gemm {

// Whether this build has oneDNN's API (CMake option TENET_ONEDNN, Debian's libdnnl-dev).
bool Built();
// On by default where built. Off: every call below returns false.
void SetEnabled(bool enabled);
bool Enabled();

// y (M, O) = x (M, I) W^T, written into `out` (contiguous (M, O)); with `accumulate`, added to what
// `out` holds. x and W both bf16 (out bf16 or fp32) or all fp32. Returns false, having done nothing,
// when this path does not apply: not built or disabled, other dtypes, not CPU matrices, W not
// contiguous or trainable, x or out not dense rows, fewer than 32 rows.
bool MatmulWt(const torch::Tensor& x, const torch::Tensor& w, torch::Tensor& out, bool accumulate = false);
// g (M, O) W -> out (M, I); as MatmulWt.
bool MatmulW(const torch::Tensor& g, const torch::Tensor& w, torch::Tensor& out, bool accumulate = false);

// The --packed-weights setting of the training and evaluation commands: "on", "off", or "auto".
// Auto is on unless gradient checkpointing says memory matters more than speed, or the copies
// (`copy_bytes`) would take more than a quarter of the memory still available (`available_bytes`;
// -1: unknown, not checked). `why`, when given, gets the reason auto turned it off (else empty).
Result<bool> WantPacked(const std::string& mode, bool gradient_checkpointing, int64_t copy_bytes = 0,
                        int64_t available_bytes = -1, std::string* why = nullptr);

// Bytes held by packed copies now; Clear() drops them all.
int64_t PackedBytes();
void Clear();

}  // namespace tenet::packed_gemm
