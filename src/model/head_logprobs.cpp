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

#include "tenet/model/matmul.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/util/exp_sum.h"
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

// Max and sum of buf[0, len), in 16-wide vectors (GCC vector extension: one zmm with AVX-512, two
// ymm with AVX2); as plain lane arrays GCC left this loop scalar.
struct MaxSum {
  float max, sum;
};
TENET_INLINE MaxSum BlockMaxSum(const float* buf, size_t len) {
  Vec16 vmax = Vec16{} - kInf, vsum = Vec16{};
  size_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    Vec16 v;
    std::memcpy(&v, buf + i, sizeof(v));
    vmax = v > vmax ? v : vmax;
    vsum += v;
  }
  MaxSum r{-kInf, 0.0f};
  for (; i < len; ++i) r.max = buf[i] > r.max ? buf[i] : r.max, r.sum += buf[i];
  for (size_t j = 0; j < kLanes; ++j) r.max = vmax[j] > r.max ? vmax[j] : r.max, r.sum += vsum[j];
  return r;
}

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
    const auto [block_max, block_sum] = BlockMaxSum(buf, len);
    sum += static_cast<double>(block_sum);
    if (block_max == -kInf) continue;  // a block of -inf logits adds nothing
    if (block_max > max) {
      if (max != -kInf) total *= std::exp(static_cast<double>(max) - static_cast<double>(block_max));
      max = block_max;
    }
    total += static_cast<double>(ExpSubSum(buf, len, max, nullptr));
  }
  RowForward r;
  r.lse = max + static_cast<float>(std::log(total));
  Widen(x + target, 1, buf);
  r.target_logit = buf[0];
  r.sum = sum;
  return r;
}

// One row kept for the backward (gradients wanted): the forward's results, and the row x (V)
// overwritten in its own dtype with
//   E'[v] = exp(x[v] - max)          for v != target,
//   E'[t] = exp(x[t] - max) - sum     at the target, sum = sum_v exp(x[v] - max),
// so that d logits = g (onehot(t) - softmax(x)) = (-g / sum) E'. The backward is then one GEMM on E'
// and a per-row scale, with no second pass over the row and no second exp. Rounding E' to the row
// dtype is the rounding the d logits themselves used to get; the onehot stays inside the matrix, so
// a confident row's gradient is not a difference of two rounded products.
// Two passes over the row: the max (and the row sum and argmax test) streamed from memory, then
// exp, sum and the write, the row (256 KB at bf16 for a 128k vocabulary) now in L2.
struct RowKept {
  float lse = 0, target_logit = 0, sum_exp = 0;
  double sum = 0;
  bool argmax_hit = false;  // the target is the first position of the row's max (torch.argmax)
};
template <typename T>
TENET_INLINE RowKept KeptRowImpl(T* x, size_t V, int64_t target) {
  alignas(64) float buf[kBlock];
  float max = -kInf;
  double sum = 0;
  for (size_t b = 0; b < V; b += kBlock) {
    const size_t len = std::min(kBlock, V - b);
    Widen(x + b, len, buf);
    const MaxSum block = BlockMaxSum(buf, len);
    max = block.max > max ? block.max : max;
    sum += static_cast<double>(block.sum);
  }
  RowKept r;
  r.sum = sum;
  Widen(x + target, 1, buf);
  r.target_logit = buf[0];
  if (r.target_logit == max) {  // a hit unless an earlier position holds the same max
    r.argmax_hit = true;
    for (int64_t v = 0; v < target && r.argmax_hit; ++v) {
      Widen(x + v, 1, buf);
      r.argmax_hit = buf[0] != max;
    }
  }
  double total = 0;
  for (size_t b = 0; b < V; b += kBlock) {
    const size_t len = std::min(kBlock, V - b);
    Widen(x + b, len, buf);
    total += static_cast<double>(ExpSubSum(buf, len, max, buf));
    Narrow(buf, len, x + b);
  }
  r.sum_exp = static_cast<float>(total);
  r.lse = max + static_cast<float>(std::log(total));
  buf[0] = FastExp(r.target_logit - max) - r.sum_exp;
  Narrow(buf, 1, x + target);
  return r;
}

TENET_ROW_KERNEL(RowForward, ForwardRow, ForwardRowImpl, (const float* x, size_t V, int64_t t), (x, V, t))
TENET_ROW_KERNEL(RowForward, ForwardRow, ForwardRowImpl, (const uint16_t* x, size_t V, int64_t t), (x, V, t))
TENET_ROW_KERNEL(RowKept, KeptRow, KeptRowImpl, (float* x, size_t V, int64_t t), (x, V, t))
TENET_ROW_KERNEL(RowKept, KeptRow, KeptRowImpl, (uint16_t* x, size_t V, int64_t t), (x, V, t))

// Runs KeptRow over rows [s, s + len) of `logits` (N, V); fills log p, row sums, the softmax sums
// and the argmax hits of those rows.
void KeepRows(const torch::Tensor& logits, int64_t s, int64_t len, const int64_t* tgt, float* logp, float* sum_exp,
              double* row_sums, int64_t* hits) {
  const int64_t V = logits.size(1);
  std::vector<int64_t> hit(static_cast<size_t>(len), 0);
  WithRows(logits, [&](auto* rows) {
    at::parallel_for(0, len, 1, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const RowKept k = KeptRow(rows + (s + r) * V, static_cast<size_t>(V), tgt[s + r]);
        logp[s + r] = k.target_logit - k.lse;
        sum_exp[s + r] = k.sum_exp;
        row_sums[s + r] = k.sum;
        hit[static_cast<size_t>(r)] = k.argmax_hit ? 1 : 0;
      }
    });
  });
  for (int64_t h : hit) *hits += h;
}

class HeadLogProbFn : public torch::autograd::Function<HeadLogProbFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& head,
                               const torch::Tensor& targets, int64_t chunk, bool keep_logits, TokenLogitStats* stats) {
    const int64_t N = hidden.size(0), V = head.size(0);
    torch::Tensor logp = torch::empty({N}, torch::kFloat32), sum_exp = torch::empty({N}, torch::kFloat32);
    // With gradients wanted, all (N, V) rows stay for the backward as E' (KeptRow; in the head's
    // dtype: 2 bytes each for bf16), which then needs no second GEMM; otherwise one chunk of logits
    // at a time.
    torch::Tensor all = keep_logits ? kept_logits.Get({N, V}, hidden.scalar_type()) : torch::Tensor();
    const int64_t* tgt = targets.data_ptr<int64_t>();
    float* logp_p = logp.data_ptr<float>();
    std::vector<double> row_sums(static_cast<size_t>(N));
    int64_t hits = 0;
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t len = std::min(chunk, N - s);
      torch::Tensor logits = keep_logits ? all.narrow(0, s, len) : chunk_logits.Get({len, V}, hidden.scalar_type());  // (len, V)
      const torch::Tensor rows = hidden.narrow(0, s, len);  // narrow rows of a contiguous tensor: contiguous
      if (!packed_gemm::MatmulWt(rows, head, logits)) ProductWtOut(logits, rows, head);
      if (keep_logits) {
        KeepRows(all, s, len, tgt, logp_p, sum_exp.data_ptr<float>(), row_sums.data(), &hits);
        continue;
      }
      WithRows(logits, [&](auto* rows) {
        at::parallel_for(0, len, 1, [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r) {
            const RowForward f = ForwardRow(rows + r * V, static_cast<size_t>(V), tgt[s + r]);
            logp_p[s + r] = f.target_logit - f.lse;
            row_sums[static_cast<size_t>(s + r)] = f.sum;
          }
        });
      });
      if (stats != nullptr && stats->count_argmax_hits) {
        hits += logits.argmax(-1).eq(targets.narrow(0, s, len)).sum().item<int64_t>();
      }
    }
    if (stats != nullptr) {
      for (double v : row_sums) stats->logit_mean_sum += v / static_cast<double>(V);
      if (stats->count_argmax_hits) stats->argmax_hits += hits;
    }
    ctx->save_for_backward({hidden, head, sum_exp, all});
    return logp;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &hidden = saved[0], &head = saved[1], &sum_exp = saved[2], &all = saved[3];
    // The forward keeps the rows whenever a gradient is wanted (TokenLogProbs), so they are here.
    TORCH_INTERNAL_ASSERT(all.defined(), "head log-probs: backward without the kept rows");
    // d logits = diag(-g / sum) E' (KeptRow): one GEMM on E', the row scale applied to its (N, C)
    // result (d hidden) or to the hidden rows (d head, full fine-tuning only).
    const torch::Tensor row_scale = (-grads[0].to(torch::kFloat32) / sum_exp).unsqueeze(1);  // (N, 1)
    torch::Tensor d_hidden, d_head;
    if (ctx->needs_input_grad(0)) {
      // (N, C) in fp32: the packed path writes it so directly; mm's bf16 result is widened.
      torch::Tensor product = packed_gemm::Enabled() ? torch::empty({all.size(0), head.size(1)}, torch::kFloat32) : torch::Tensor();
      if (!product.defined() || !packed_gemm::MatmulW(all, head, product)) product = ProductW(all, head).to(torch::kFloat32);
      d_hidden = (product * row_scale).to(hidden.scalar_type());
    }
    if (ctx->needs_input_grad(1)) d_head = Mm(all.t(), (hidden.to(torch::kFloat32) * row_scale).to(hidden.scalar_type()));
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
