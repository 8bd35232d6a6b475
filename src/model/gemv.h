// Private to src/model: products of a few rows with a weight matrix, y = x W^T, streaming each
// weight row once (batch-1 and small-batch decoding, which memory bandwidth bounds).
//
// W is fp32 or bf16 (its uint16_t bits); x and y are fp32, and every product accumulates in fp32:
// bf16 weights are widened in registers (a bf16 value is the upper half of an fp32 one), so an
// AVX2 machine reads half the bytes of an fp32 copy and computes exactly as on fp32 weights.
// WtBf16 takes bf16 rows of x (bf16 compute where the CPU has native bf16) by widening them once.
// Vector versions for AVX-512 and AVX2+FMA, picked by KernelIsa().
// Threads: OpenMP over blocks of output rows (at::parallel_for).
//
// Shapes: x (N, I) with row stride ldx, W (O, I) with row stride ldw, y (N, O) with row stride ldy.
#pragma once

#include <cstdint>

namespace tenet::gemv {

// Rows of x per kernel call (R x N accumulators in registers).
constexpr int64_t kMaxRows = 8;
// The most rows of x one product takes (groups of kMaxRows over the same cached weight rows): over
// bf16 weights on AVX2 this beats widening the weights for an fp32 GEMM up to about this many rows
// (bench/gemv_bench, generate_bench --isa avx2); more rows are a GEMM's job.
constexpr int64_t kMaxWideRows = 32;
// The most bf16 rows of x one product takes under native bf16 (groups of kMaxRows): up to 16 rows
// the vdpbf16ps kernels beat oneDNN's bf16 matmul, at 32 oneDNN wins (bench/gemv_bench, Zen 4:
// 16 rows 33-38 ms against 38-49, 32 rows 61-73 against 56-65 over 128256 x 512 or x 2048).
constexpr int64_t kMaxBf16Rows = 16;

void Wt(const float* x, int64_t N, int64_t ldx, const float* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy);
void Wt(const float* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t O, int64_t I, int64_t ldw, float* y, int64_t ldy);
// x and W both bf16, y fp32.
void WtBf16(const uint16_t* x, int64_t N, int64_t ldx, const uint16_t* w, int64_t O, int64_t I, int64_t ldw, float* y,
            int64_t ldy);

}  // namespace tenet::gemv
