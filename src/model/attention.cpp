// Attention with a blockwise backward. See attention.h.
//
// Work is split by (batch row, kv head): the G query heads that share a kv head are one (G*T, D)
// block of rows, so each task owns its slices of dK and dV and no two tasks write the same memory.
// Within a task the queries go in blocks of t positions, each block holding those positions of all
// G heads (G*t rows, gathered when the block is not the whole sequence), and a block meets only the
// keys some query of it can see (KeyExtents). The products are LibTorch GEMMs (single-threaded
// inside the parallel region) and the per-element work is the row kernels below. When gradients
// are wanted and the probabilities are small enough (KeepProbs), the forward writes each block's
// probabilities into one kept buffer and the backward reads them instead of recomputing them.
#include "attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <limits>
#include <optional>
#include <vector>

#include "tenet/model/matmul.h"
#include "tenet/util/exp_sum.h"
#include "tenet/util/row_kernel.h"
#include "tensor_rows.h"

namespace tenet::attention {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kLanes = 8;

// A bias at or below this masks its key (the model's masked bias is the dtype's lowest value).
constexpr float kMasked = -1e30f;

// buf = x * scale + bias (fp32); returns the max (-inf for a row that sees no key).
TENET_INLINE float ScaleMaskMax(float* buf, const float* bias, size_t S, float scale) {
  float lane[kLanes];
  std::fill(lane, lane + kLanes, -kInf);
  size_t i = 0;
  for (; i + kLanes <= S; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float y = buf[i + j] * scale + bias[i + j];
      buf[i + j] = y;
      lane[j] = y > lane[j] ? y : lane[j];
    }
  }
  float m = -kInf;
  for (; i < S; ++i) {
    buf[i] = buf[i] * scale + bias[i];
    m = buf[i] > m ? buf[i] : m;
  }
  for (float l : lane) m = l > m ? l : m;
  return m;
}

// What the backward needs to recompute a row's probabilities exactly: p = exp(y - max) * inv_sum.
// (A single log-sum-exp would lose log(S) next to the huge masked bias of a row that sees no key.)
struct RowStats {
  float max, inv_sum;
};

// Forward of one row: scores x (S) in the model dtype -> probabilities, in place. A row that sees
// no key (bias all -inf) gets probabilities 0.
template <typename T>
TENET_INLINE RowStats ForwardRowImpl(T* x, const float* bias, size_t S, float scale, float* buf) {
  Widen(x, S, buf);
  const float m = ScaleMaskMax(buf, bias, S, scale);
  if (m == -kInf) {
    std::fill(buf, buf + S, 0.0f);
    Narrow(buf, S, x);
    return {0.0f, 0.0f};
  }
  const float sum = ExpSubSum(buf, S, m, buf);
  const float inv = 1.0f / sum;
  for (size_t j = 0; j < S; ++j) buf[j] *= inv;
  Narrow(buf, S, x);
  return {m, inv};
}

// The softmax gradient of one row in fp32, in place: g = dS = p * (g - sum(p * g)) * scale.
TENET_INLINE void SoftmaxGrad(const float* p, float* g, size_t S, float scale) {
  float lane[kLanes] = {};
  size_t i = 0;
  float dot = 0;
  for (; i + kLanes <= S; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) lane[j] += p[i + j] * g[i + j];
  }
  for (; i < S; ++i) dot += p[i] * g[i];
  for (float l : lane) dot += l;
  for (size_t j = 0; j < S; ++j) g[j] = p[j] * (g[j] - dot) * scale;
}

// Backward of one row. In: scores x (S) and dP (S) = dO V^T, both in the model dtype, the row's
// forward stats. Out: x = the probabilities rounded to the model dtype (for dV = P^T dO) and
// dp = dS (for dQ and dK), both in place.
template <typename T>
TENET_INLINE void BackwardRowImpl(T* x, T* dp, const float* bias, size_t S, float scale, RowStats st, float* p, float* g) {
  Widen(x, S, p);
  Widen(dp, S, g);
  // p = exp(x * scale + bias - max) / sum, as the forward made it (the exp over the row at once).
  for (size_t j = 0; j < S; ++j) p[j] = p[j] * scale + bias[j];
  ExpSubSum(p, S, st.max, p);
  for (size_t j = 0; j < S; ++j) p[j] *= st.inv_sum;
  Narrow(p, S, x);
  SoftmaxGrad(p, g, S, scale);
  Narrow(g, S, dp);
}

// Backward of one row from the probabilities the forward kept (rounded to the model dtype, as the
// eager chain's softmax output is): dp = dS, in place.
template <typename T>
TENET_INLINE void BackwardKeptRowImpl(const T* x, T* dp, size_t S, float scale, float* p, float* g) {
  Widen(x, S, p);
  Widen(dp, S, g);
  SoftmaxGrad(p, g, S, scale);
  Narrow(g, S, dp);
}

TENET_ROW_KERNEL(RowStats, ForwardRow, ForwardRowImpl, (float* x, const float* bias, size_t S, float scale, float* buf), (x, bias, S, scale, buf))
TENET_ROW_KERNEL(RowStats, ForwardRow, ForwardRowImpl, (uint16_t* x, const float* bias, size_t S, float scale, float* buf), (x, bias, S, scale, buf))
TENET_ROW_KERNEL(void, BackwardRow, BackwardRowImpl, (float* x, float* dp, const float* bias, size_t S, float scale, RowStats st, float* p, float* g), (x, dp, bias, S, scale, st, p, g))
TENET_ROW_KERNEL(void, BackwardRow, BackwardRowImpl, (uint16_t* x, uint16_t* dp, const float* bias, size_t S, float scale, RowStats st, float* p, float* g), (x, dp, bias, S, scale, st, p, g))
TENET_ROW_KERNEL(void, BackwardKeptRow, BackwardKeptRowImpl, (const float* x, float* dp, size_t S, float scale, float* p, float* g), (x, dp, S, scale, p, g))
TENET_ROW_KERNEL(void, BackwardKeptRow, BackwardKeptRowImpl, (const uint16_t* x, uint16_t* dp, size_t S, float scale, float* p, float* g), (x, dp, S, scale, p, g))

struct Dims {
  int64_t B, H, K, G, T, S, D;
  // From q (B, H, T, D) and k (B, K, S, D).
  static Dims Of(const torch::Tensor& q, const torch::Tensor& k) {
    return {q.size(0), q.size(1), k.size(1), q.size(1) / k.size(1), q.size(2), k.size(2), q.size(3)};
  }
};

// Query positions per block; each block is these positions of all G heads. Blocks of about 512 rows
// (128 positions with 4 heads per kv head) keep the GEMMs near their best speed on this CPU while
// skipping the keys no query of a block can see: a causal 256-token sequence in two blocks does 3/4
// of the whole (T, S) products, and they ran 25% faster (one thread, bf16, head dim 64). A block's
// scores are at most 512 x S values, so long sequences stay within a few MB per task. The blocks
// are made equal: the last layer's 129 queries of a DPO pair (everything it keeps after dropping the
// prompt) go as 65 + 64 positions, not as 128 and a 1-position block whose GEMMs run far slower.
int64_t QueryBlock(int64_t T, int64_t G) {
  const int64_t most = std::min(T, std::max<int64_t>(16, 512 / G));
  const int64_t blocks = (T + most - 1) / most;
  return (T + blocks - 1) / blocks;
}

// One past the row's last visible key (0 when it sees none). Masked tails are skipped 16 keys at a
// time with a branch-free test the compiler vectorizes.
int64_t RowEnd(const float* row, int64_t S) {
  constexpr int64_t kChunk = 16;
  int64_t end = S;
  for (; end >= kChunk; end -= kChunk) {
    bool seen = false;
    for (int64_t j = end - kChunk; j < end; ++j) seen |= row[j] > kMasked;
    if (seen) break;
  }
  while (end > 0 && row[end - 1] <= kMasked) --end;
  return end;
}

// For each (batch row, query block): how many leading keys the block needs. Keys after every
// query's last visible key have probability exactly 0 and are skipped (about half of the work
// under a causal mask). A block with a row that sees no key keeps all S (HF's uniform row).
std::vector<int64_t> KeyExtents(const torch::Tensor& bias, int64_t T, int64_t S, int64_t block) {
  const int64_t B = bias.size(0), blocks = (T + block - 1) / block;
  const float* p = bias.data_ptr<float>();
  std::vector<int64_t> out(static_cast<size_t>(B * blocks), 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t end = RowEnd(p + (b * T + t) * S, S);
      int64_t& e = out[static_cast<size_t>(b * blocks + t / block)];
      e = end == 0 ? S : std::max(e, end);
    }
  }
  return out;
}

// KeyExtents for the mask every layer of a forward shares (and its backward reads again): the last
// result is kept per thread and reused while the mask is the same memory, unchanged. The weak
// reference keeps the storage's identity from passing to a new tensor; the version counter catches
// in-place edits (inference tensors have none: computed afresh). Reading the mask of every layer
// again was about 0.3% of a DPO step, on the main thread while the other one waited.
std::vector<int64_t> CachedKeyExtents(const torch::Tensor& bias, int64_t T, int64_t S, int64_t block) {
  struct Entry {
    c10::weak_intrusive_ptr<c10::StorageImpl> storage{c10::intrusive_ptr<c10::StorageImpl>()};
    int64_t offset = -1, version = -1, B = -1, T = -1, S = -1, block = -1;
    std::vector<int64_t> extents;
  };
  if (bias.is_inference()) return KeyExtents(bias, T, S, block);
  thread_local Entry cached;
  const c10::StorageImpl* impl = bias.storage().unsafeGetStorageImpl();
  const int64_t offset = bias.storage_offset(), version = static_cast<int64_t>(bias._version()), B = bias.size(0);
  if (cached.storage.lock().get() != impl || cached.offset != offset || cached.version != version || cached.B != B ||
      cached.T != T || cached.S != S || cached.block != block) {
    cached = Entry{bias.storage().getWeakStorageImpl(), offset, version, B, T, S, block, KeyExtents(bias, T, S, block)};
  }
  return cached.extents;
}

// Where each block's probabilities go when the forward keeps them: offsets into one flat buffer,
// indexed (b * K + kv) * blocks + block, and the total in elements (the last entry).
std::vector<int64_t> ProbOffsets(const Dims& d, const std::vector<int64_t>& extents, int64_t block) {
  const int64_t blocks = (d.T + block - 1) / block;
  std::vector<int64_t> off(static_cast<size_t>(d.B * d.K * blocks + 1), 0);
  size_t i = 0;
  for (int64_t b = 0; b < d.B; ++b) {
    for (int64_t kv = 0; kv < d.K; ++kv) {
      for (int64_t j = 0; j < blocks; ++j, ++i) {
        const int64_t n = std::min(block, d.T - j * block);
        off[i + 1] = off[i] + d.G * n * extents[static_cast<size_t>(b * blocks + j)];
      }
    }
  }
  return off;
}

// The forward keeps the probabilities for the backward (no second q k^T and exp there) when they
// take at most 4x the memory of q, that is while a query meets on average at most 4 * D keys (the
// bench's 256-token pairs: 3x); longer sequences recompute them and their memory stays linear in T.
bool KeepProbs(const Dims& d, int64_t total) { return total <= 4 * d.B * d.H * d.T * d.D; }

// Block `i` (of `task`, of `blocks` per task) of the kept buffer as (rows, E).
torch::Tensor KeptBlock(const torch::Tensor& kept, const std::vector<int64_t>& offsets, int64_t task, int64_t blocks, int64_t i,
                        int64_t rows, int64_t E) {
  return kept.narrow(0, offsets[static_cast<size_t>(task * blocks + i)], rows * E).view({rows, E});
}

// One query block of a (b, kv) task: positions t0 .. t0 + n - 1 of each of the G heads, as G*n rows
// (row r is head r / n, position t0 + r % n), meeting the first E keys.
struct Block {
  int64_t t0, n, E;
  bool whole;  // the block is the task's whole (G*T, D) rows, in place: nothing to gather
  // Index of block row r in the task's (G*T) rows.
  int64_t Row(int64_t r, int64_t T) const { return (r / n) * T + t0 + r % n; }
  // The block's rows of a task's (G*T, D) tensor x: a view when whole, else a gathered copy (G*n, D).
  torch::Tensor Gather(const torch::Tensor& x, int64_t G, int64_t T) const {
    if (whole) return x;
    return x.view({G, T, x.size(1)}).narrow(1, t0, n).reshape({G * n, x.size(1)});
  }
  // Writes the block's rows of the task's (G*T, D) tensor x as a @ b: in place when whole, else
  // computed (G*n, D) and scattered back.
  void MmInto(torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b, int64_t G, int64_t T) const {
    if (whole) {
      MmOut(x, a, b);
      return;
    }
    x.view({G, T, x.size(1)}).narrow(1, t0, n).copy_(Mm(a, b).view({G, n, x.size(1)}));
  }
};

// Calls f(block) for each query block of batch row b.
template <typename F>
void ForEachBlock(const Dims& d, int64_t b, const std::vector<int64_t>& extents, int64_t block, F&& f) {
  const int64_t blocks = (d.T + block - 1) / block;
  for (int64_t t0 = 0, i = 0; t0 < d.T; t0 += block, ++i) {
    f(Block{t0, std::min(block, d.T - t0), extents[static_cast<size_t>(b * blocks + i)], blocks == 1});
  }
}

class AttentionFn : public torch::autograd::Function<AttentionFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in, const torch::Tensor& k_in,
                               const torch::Tensor& v_in, const torch::Tensor& bias, double scale, Probs keep) {
    const Dims d = Dims::Of(q_in, k_in);
    const torch::Tensor q = q_in.contiguous().view({d.B, d.K, d.G * d.T, d.D});
    const torch::Tensor k = k_in.contiguous(), v = v_in.contiguous();
    torch::Tensor out = torch::empty({d.B, d.K, d.G * d.T, d.D}, q.options());
    torch::Tensor stats = torch::empty({d.B, d.K, d.G * d.T, 2}, q.options().dtype(torch::kFloat32));  // RowStats
    const int64_t block = QueryBlock(d.T, d.G);
    const std::vector<int64_t> extents = CachedKeyExtents(bias, d.T, d.S, block);
    const float* bias_p = bias.data_ptr<float>();
    const int64_t blocks = (d.T + block - 1) / block;
    const bool grad = q_in.requires_grad() || k_in.requires_grad() || v_in.requires_grad();
    std::vector<int64_t> offsets = grad ? ProbOffsets(d, extents, block) : std::vector<int64_t>();
    torch::Tensor probs;  // (total,) the blocks' probabilities, when kept for the backward
    if (grad && (keep == Probs::kKeep || (keep == Probs::kAuto && KeepProbs(d, offsets.back())))) probs = torch::empty({offsets.back()}, q.options());
    const bool inference = c10::InferenceMode::is_enabled();  // generation steps under InferenceMode
    at::parallel_for(0, d.B * d.K, 1, [&](int64_t begin, int64_t end) {
      // Grad and inference mode are thread-local and at::parallel_for does not carry them to OpenMP workers.
      torch::NoGradGuard no_grad;
      std::optional<c10::InferenceMode> inference_mode;  // (InferenceMode(false) would turn grad mode back on)
      if (inference) inference_mode.emplace();
      std::vector<float> buf(static_cast<size_t>(d.S));
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / d.K, kv = task % d.K;
        const torch::Tensor qb = q[b][kv], kb = k[b][kv], vb = v[b][kv];
        torch::Tensor ob = out[b][kv];
        auto* st = reinterpret_cast<RowStats*>(stats[b][kv].data_ptr<float>());
        ForEachBlock(d, b, extents, block, [&](const Block& blk) {
          const int64_t E = blk.E, rows = d.G * blk.n;
          torch::Tensor scores;  // (rows, E)
          if (probs.defined()) {
            scores = KeptBlock(probs, offsets, task, blocks, blk.t0 / block, rows, E);
            MmOut(scores, blk.Gather(qb, d.G, d.T), kb.narrow(0, 0, E).t());
          } else {
            scores = Mm(blk.Gather(qb, d.G, d.T), kb.narrow(0, 0, E).t());
          }
          WithRows(scores, [&](auto* x) {
            for (int64_t r = 0; r < rows; ++r) {
              const int64_t row = blk.Row(r, d.T);
              const float* bias_row = bias_p + (b * d.T + row % d.T) * d.S;
              st[row] = ForwardRow(x + r * E, bias_row, static_cast<size_t>(E), static_cast<float>(scale), buf.data());
            }
          });
          blk.MmInto(ob, scores, vb.narrow(0, 0, E), d.G, d.T);
        });
      }
    });
    ctx->save_for_backward({q, k, v, bias, stats, probs});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["H"] = d.H;
    return out.view({d.B, d.H, d.T, d.D});
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &bias = saved[3], &stats = saved[4], &kept = saved[5];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t B = q.size(0), K = q.size(1), rows = q.size(2), D = q.size(3), S = k.size(2);
    const int64_t H = ctx->saved_data["H"].toInt(), G = H / K, T = rows / G;
    const Dims d{B, H, K, G, T, S, D};
    const torch::Tensor dout = grads[0].to(q.scalar_type()).contiguous().view({B, K, rows, D});
    torch::Tensor dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
    const int64_t block = QueryBlock(T, G);
    const std::vector<int64_t> extents = CachedKeyExtents(bias, T, S, block);
    const float* bias_p = bias.data_ptr<float>();
    const int64_t blocks = (T + block - 1) / block;
    const std::vector<int64_t> offsets = kept.defined() ? ProbOffsets(d, extents, block) : std::vector<int64_t>();
    at::parallel_for(0, B * K, 1, [&](int64_t begin, int64_t end) {
      // Grad mode is thread-local and at::parallel_for does not carry it to OpenMP workers.
      torch::NoGradGuard no_grad;
      std::vector<float> p(static_cast<size_t>(S)), g(static_cast<size_t>(S));
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / K, kv = task % K;
        const torch::Tensor qb = q[b][kv], kb = k[b][kv], vb = v[b][kv], dob = dout[b][kv];
        torch::Tensor dqb = dq[b][kv];
        // dK and dV collect every block's part in fp32.
        torch::Tensor dk_sum = torch::zeros({S, D}, torch::kFloat32), dv_sum = torch::zeros({S, D}, torch::kFloat32);
        const auto* st = reinterpret_cast<const RowStats*>(stats[b][kv].data_ptr<float>());
        ForEachBlock(d, b, extents, block, [&](const Block& blk) {
          const int64_t E = blk.E, rows = d.G * blk.n;
          const torch::Tensor qn = blk.Gather(qb, d.G, d.T), don = blk.Gather(dob, d.G, d.T);
          const torch::Tensor ke = kb.narrow(0, 0, E), ve = vb.narrow(0, 0, E);
          torch::Tensor ds = Mm(don, ve.t());  // dP, then dS (rows, E)
          // The rounded probabilities (rows, E): kept by the forward, or recomputed from the scores.
          const torch::Tensor probs =
              kept.defined() ? KeptBlock(kept, offsets, task, blocks, blk.t0 / block, rows, E) : Mm(qn, ke.t());
          WithRows(probs, [&](auto* x) {
            using Elem = std::remove_pointer_t<decltype(x)>;
            Elem* dp = reinterpret_cast<Elem*>(ds.data_ptr());
            for (int64_t r = 0; r < rows; ++r) {
              if (kept.defined()) {
                BackwardKeptRow(x + r * E, dp + r * E, static_cast<size_t>(E), static_cast<float>(scale), p.data(), g.data());
                continue;
              }
              const int64_t row = blk.Row(r, T);
              const float* bias_row = bias_p + (b * T + row % T) * S;
              BackwardRow(x + r * E, dp + r * E, bias_row, static_cast<size_t>(E), static_cast<float>(scale), st[row], p.data(),
                          g.data());
            }
          });
          blk.MmInto(dqb, ds, ke, d.G, d.T);
          dv_sum.narrow(0, 0, E).add_(Mm(probs.t(), don));
          dk_sum.narrow(0, 0, E).add_(Mm(ds.t(), qn));
        });
        dv[b][kv].copy_(dv_sum);
        dk[b][kv].copy_(dk_sum);
      }
    });
    return {dq.view({B, H, T, D}), dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool Supports(const torch::Tensor& q) {
  return q.device().is_cpu() && (q.scalar_type() == torch::kFloat32 || q.scalar_type() == torch::kBFloat16);
}

torch::Tensor Attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias,
                     double scale, Probs keep) {
  TORCH_CHECK(Supports(q) && k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(), "attention: unsupported tensors");
  TORCH_CHECK(q.size(1) % k.size(1) == 0 && bias.scalar_type() == torch::kFloat32 && bias.is_contiguous() &&
                  bias.size(0) == q.size(0) && bias.size(1) == q.size(2) && bias.size(2) == k.size(2),
              "attention: shapes do not fit");
  // Under no-grad nothing runs the backward, whatever the inputs' flags: nothing to keep.
  if (!torch::GradMode::is_enabled()) keep = Probs::kRecompute;
  return AttentionFn::apply(q, k, v, bias, scale, keep);
}

}  // namespace tenet::attention
