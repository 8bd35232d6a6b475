// Output-head log-probs with a recomputing backward. See head_logprobs.h.
//
// The row loops go through a small fp32 buffer per block so that GCC vectorizes each step, and are
// built for AVX-512, AVX2 and the baseline (function multiversioning), like the samplers' kernels.
#include "head_logprobs.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "tenet/util/fast_exp.h"
#include "tenet/util/row_kernel.h"
#include "scratch.h"
#include "tensor_rows.h"

namespace tenet::head_logprobs {
namespace {

constexpr size_t kBlock = 2048;  // 8 KB of fp32: in L1; per-block reductions amortized over 2048 logits
constexpr size_t kLanes = 16;
constexpr float kInf = std::numeric_limits<float>::infinity();

typedef float Vec16 __attribute__((vector_size(64)));

// The kept (N, V) logits of a forward with gradients, and the one-chunk logits of a forward without.
ScratchBuffer kept_logits, chunk_logits;

struct RowForward {
  float lse = 0, target_logit = 0;
  double sum = 0;  // of the logits, for the mean-logit metric
};

// One row of logits x (V): log-sum-exp, the target's logit, the row sum. One pass over the row
// (an online log-sum-exp, Milakov & Gimelshein 2018, arXiv 1805.02867, per block of kBlock): each
// block's max rescales the running sum when it raises the running max.
template <typename T>
TENET_INLINE RowForward ForwardRowImpl(const T* x, size_t V, int64_t target) {
  alignas(64) float buf[kBlock];
  float max = -kInf;
  double sum = 0, total = 0;
  for (size_t b = 0; b < V; b += kBlock) {
    const size_t len = std::min(kBlock, V - b);
    Widen(x + b, len, buf);
    // Max and sum in 16-wide vectors (GCC vector extension: one zmm with AVX-512, two ymm with
    // AVX2); as plain lane arrays GCC left this loop scalar.
    Vec16 vmax = Vec16{} - kInf, vsum = Vec16{};
    size_t i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      Vec16 v;
      std::memcpy(&v, buf + i, sizeof(v));
      vmax = v > vmax ? v : vmax;
      vsum += v;
    }
    float block_max = -kInf, block_sum = 0;
    for (; i < len; ++i) block_max = buf[i] > block_max ? buf[i] : block_max, block_sum += buf[i];
    for (size_t j = 0; j < kLanes; ++j) block_max = vmax[j] > block_max ? vmax[j] : block_max, block_sum += vsum[j];
    sum += static_cast<double>(block_sum);
    if (block_max == -kInf) continue;  // a block of -inf logits adds nothing
    if (block_max > max) {
      if (max != -kInf) total *= std::exp(static_cast<double>(max) - static_cast<double>(block_max));
      max = block_max;
    }
    float lane_exp[kLanes] = {}, tail = 0;
    i = 0;
    for (; i + kLanes <= len; i += kLanes) {
      for (size_t j = 0; j < kLanes; ++j) lane_exp[j] += FastExp(buf[i + j] - max);
    }
    for (; i < len; ++i) tail += FastExp(buf[i] - max);
    for (size_t j = 0; j < kLanes; ++j) tail += lane_exp[j];
    total += static_cast<double>(tail);
  }
  RowForward r;
  r.lse = max + static_cast<float>(std::log(total));
  Widen(x + target, 1, buf);
  r.target_logit = buf[0];
  r.sum = sum;
  return r;
}

// d logits of one row: g * (onehot(target) - exp(x - lse)), written in the logits' dtype.
template <typename T>
TENET_INLINE void BackwardRowImpl(const T* x, size_t V, int64_t target, float lse, float g, T* out) {
  alignas(64) float buf[kBlock];
  const float minus_g = -g;
  for (size_t b = 0; b < V; b += kBlock) {
    const size_t len = std::min(kBlock, V - b);
    Widen(x + b, len, buf);
    for (size_t i = 0; i < len; ++i) buf[i] = minus_g * FastExp(buf[i] - lse);
    if (static_cast<size_t>(target) >= b && static_cast<size_t>(target) < b + len) buf[target - static_cast<int64_t>(b)] += g;
    Narrow(buf, len, out + b);
  }
}

TENET_ROW_KERNEL RowForward ForwardRow(const float* x, size_t V, int64_t t) { return ForwardRowImpl(x, V, t); }
TENET_ROW_KERNEL RowForward ForwardRow(const uint16_t* x, size_t V, int64_t t) { return ForwardRowImpl(x, V, t); }
TENET_ROW_KERNEL void BackwardRow(const float* x, size_t V, int64_t t, float lse, float g, float* out) {
  BackwardRowImpl(x, V, t, lse, g, out);
}
TENET_ROW_KERNEL void BackwardRow(const uint16_t* x, size_t V, int64_t t, float lse, float g, uint16_t* out) {
  BackwardRowImpl(x, V, t, lse, g, out);
}

class HeadLogProbFn : public torch::autograd::Function<HeadLogProbFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& head,
                               const torch::Tensor& targets, int64_t chunk, bool keep_logits, TokenLogitStats* stats) {
    const int64_t N = hidden.size(0), V = head.size(0);
    torch::Tensor lse = torch::empty({N}, torch::kFloat32), logp = torch::empty({N}, torch::kFloat32);
    // With gradients wanted, all (N, V) logits stay for the backward (in the head's dtype: 2 bytes
    // each for bf16), which then needs no second GEMM; otherwise one chunk at a time.
    torch::Tensor all = keep_logits ? kept_logits.Get({N, V}, head.scalar_type()) : torch::Tensor();
    const int64_t* tgt = targets.data_ptr<int64_t>();
    float* lse_p = lse.data_ptr<float>();
    float* logp_p = logp.data_ptr<float>();
    std::vector<double> row_sums(static_cast<size_t>(N));
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t len = std::min(chunk, N - s);
      torch::Tensor logits = keep_logits ? all.narrow(0, s, len) : chunk_logits.Get({len, V}, head.scalar_type());  // (len, V)
      at::mm_out(logits, hidden.narrow(0, s, len), head.t());  // narrow rows of a contiguous tensor: contiguous
      WithRows(logits, [&](auto* rows) {
        at::parallel_for(0, len, 1, [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) {
            const RowForward f = ForwardRow(rows + r * V, static_cast<size_t>(V), tgt[s + r]);
            lse_p[s + r] = f.lse;
            logp_p[s + r] = f.target_logit - f.lse;
            row_sums[static_cast<size_t>(s + r)] = f.sum;
          }
        });
      });
      if (stats != nullptr && stats->count_argmax_hits) {
        stats->argmax_hits += logits.argmax(-1).eq(targets.narrow(0, s, len)).sum().item<int64_t>();
      }
    }
    if (stats != nullptr) {
      for (double v : row_sums) stats->logit_mean_sum += v / static_cast<double>(V);
    }
    ctx->save_for_backward({hidden, head, targets, lse, all});
    ctx->saved_data["chunk"] = chunk;
    return logp;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &hidden = saved[0], &head = saved[1], &targets = saved[2], &lse = saved[3];
    torch::Tensor all = saved[4];
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const torch::Tensor g = grads[0].to(torch::kFloat32).contiguous();
    const int64_t N = hidden.size(0), V = head.size(0);
    const int64_t* tgt = targets.data_ptr<int64_t>();
    const float* gp = g.data_ptr<float>();
    const float* lp = lse.data_ptr<float>();
    if (!all.defined()) {  // forward ran without keeping logits (gradients switched on later): recompute
      all = kept_logits.Get({N, V}, head.scalar_type());
      for (int64_t s = 0; s < N; s += chunk) {
        torch::Tensor rows = all.narrow(0, s, std::min(chunk, N - s));
        at::mm_out(rows, hidden.narrow(0, s, std::min(chunk, N - s)), head.t());
      }
    }
    // d logits overwrite the logits row by row (each row is read once, then written), then one GEMM.
    WithRows(all, [&](auto* rows) {
      at::parallel_for(0, N, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) BackwardRow(rows + r * V, static_cast<size_t>(V), tgt[r], lp[r], gp[r], rows + r * V);
      });
    });
    // d hidden = d logits @ head; d head = d logits^T @ hidden only when the head is trained (full fine-tuning).
    torch::Tensor d_hidden = ctx->needs_input_grad(0) ? torch::mm(all, head) : torch::Tensor();
    torch::Tensor d_head = ctx->needs_input_grad(1) ? torch::mm(all.t(), hidden) : torch::Tensor();
    return {d_hidden, d_head, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor TokenLogProbs(const torch::Tensor& hidden, const torch::Tensor& head, const torch::Tensor& targets,
                            int64_t chunk, TokenLogitStats* stats) {
  const bool keep = torch::GradMode::is_enabled() && (hidden.requires_grad() || head.requires_grad());
  return HeadLogProbFn::apply(hidden.contiguous(), head, targets.contiguous(), chunk, keep, stats);
}

}  // namespace tenet::head_logprobs
