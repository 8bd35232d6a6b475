// The model's matrix products on every CPU, whatever the weights' storage dtype.
//
// Weights may be stored narrower than the activations: a bf16 checkpoint computed in fp32 on a CPU
// without native bf16 (the compute-dtype policy, tenet/model/compute_dtype.h) keeps its bf16 bytes,
// and the products widen them as they go:
// - up to 32 rows (gemv::kMaxWideRows, in groups of 8), the few-row kernels stream each weight row
//   once and widen it in registers (src/model/gemv.h): decoding reads half the bytes of an fp32 copy;
// - more rows widen the weight block by block (about 8 MiB of fp32 at a time) into a scratch
//   buffer that one fp32 GEMM (OpenBLAS) then multiplies: for M rows the widening costs about
//   1/M of the GEMM's memory traffic, a few percent from 32 rows on.
// Both run the products in fp32 with fp32 accumulation, as the fp32 model would.
//
// bf16 products where the CPU has no native bf16 (no AVX512_BF16 / AMX): LibTorch 1.13's own bf16
// GEMM there is a scalar loop that is both slow (about 20x below OpenBLAS) and less precise (it
// loses accuracy summing long products), so Mm() multiplies such operands in fp32 and rounds the
// result to bf16 once.
//
// Shape legend: N rows, I in features, O out features; W (O, I).
#pragma once

#include <torch/torch.h>

namespace tenet {

// Whether bf16 products on this tensor's device are native: CUDA, or a CPU whose kernels run
// AVX512_BF16 (tenet/util/isa.h; the cap counts).
bool NativeBf16(const torch::Tensor& t);

// a (N, K) b (K, M) -> (N, M) in their shared dtype; bf16 on a CPU without native bf16 in fp32.
torch::Tensor Mm(const torch::Tensor& a, const torch::Tensor& b);
// The same into `out` (N, M), which must have the operands' dtype.
void MmOut(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b);

// x (N, I) W^T -> (N, O) in x's dtype. W in x's dtype, or bf16 under fp32 x (CPU).
torch::Tensor ProductWt(const torch::Tensor& x, const torch::Tensor& w);
// The same into `out` (N, O) contiguous, in x's dtype.
void ProductWtOut(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& w);
// g (N, O) W -> (N, I) in g's dtype; W as above.
torch::Tensor ProductW(const torch::Tensor& g, const torch::Tensor& w);

// x W^T + b with any leading dims of x, as torch::linear, through ProductWt (b in x's dtype or
// undefined).
torch::Tensor Affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {});

}  // namespace tenet
