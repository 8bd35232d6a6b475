// Frozen-weight products through oneDNN with pre-packed weights. See packed_gemm.h.
#include "tenet/model/packed_gemm.h"

#include <atomic>
#include <cstdio>

#include "tenet/util/isa.h"

#ifdef TENET_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#endif

namespace tenet::packed_gemm {
namespace {
std::atomic<bool> enabled{true};
}  // namespace

void SetEnabled(bool on) { enabled = on; }
bool Enabled() { return Built() && enabled; }

Result<bool> WantPacked(const std::string& mode, bool gradient_checkpointing, int64_t copy_bytes, int64_t available_bytes,
                        std::string* why) {
  if (why != nullptr) why->clear();
  if (mode == "on") return true;
  if (mode == "off") return false;
  if (mode != "auto") return Status::InvalidArgument("--packed-weights", "must be auto, on or off, not '" + mode + "'");
  auto gib = [](int64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(b) / (1 << 30));
    return std::string(buf);
  };
  std::string reason;
  if (gradient_checkpointing) {
    reason = "gradient checkpointing asks for memory over speed";
  } else if (available_bytes >= 0 && copy_bytes > available_bytes / 4) {
    reason = "the packed copies (up to " + gib(copy_bytes) + ") would take over a quarter of the " + gib(available_bytes) +
             " available";
  }
  if (why != nullptr) *why = reason;
  return reason.empty();
}

#ifndef TENET_HAVE_ONEDNN

bool Built() { return false; }
bool MatmulWt(const torch::Tensor&, const torch::Tensor&, torch::Tensor&, bool) { return false; }
bool MatmulW(const torch::Tensor&, const torch::Tensor&, torch::Tensor&, bool) { return false; }
int64_t PackedBytes() { return 0; }
void Clear() {}

#else

namespace {
using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// Which operand W is: x W^T (weights (I, O) as the transposed view of W) or g W (weights (O, I)).
enum class Side : int { kWt = 0, kW = 1 };

constexpr int64_t kMinRows = 32;

const dnnl::engine& Engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The weights operand (K, N) of a side, over W (O, I) as stored.
Dt DtypeOf(const torch::Tensor& t) { return t.scalar_type() == torch::kFloat32 ? Dt::f32 : Dt::bf16; }

memory::desc PlainWeights(const torch::Tensor& w, Side side) {
  const int64_t O = w.size(0), I = w.size(1);
  return side == Side::kWt ? memory::desc({I, O}, DtypeOf(w), Tag::ba) : memory::desc({O, I}, DtypeOf(w), Tag::ab);
}

// A (rows, cols) row-major matrix with row stride ld.
memory::desc Rows(int64_t rows, int64_t cols, int64_t ld, Dt dt) { return memory::desc({rows, cols}, dt, {ld, 1}); }

struct Packed {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage{c10::intrusive_ptr<c10::StorageImpl>()};
  int64_t version = -1;
  memory mem;  // in the blocked layout matmul chose for these (K, N), whatever M (checked per primitive)
};

struct State {
  std::mutex mu;
  // Keyed by W's data pointer, side and shape; the weak storage and version tell a stale entry.
  std::map<std::tuple<const void*, int, int64_t, int64_t>, Packed> packed;
  // Set when oneDNN has no brgemm kernel on this CPU (no AVX-512): nothing is packed then.
  bool unsupported = false;
  // Keyed by M, K, N, src and dst dtypes, accumulate: null where oneDNN offers no brgemm kernel for it.
  std::map<std::tuple<int64_t, int64_t, int64_t, int, int, bool>, std::shared_ptr<dnnl::matmul>> primitives;
};
State& GetState() {
  static State* s = new State;  // never destroyed: used from autograd threads until exit
  return *s;
}

// The packed weights of (w, side), made now when missing or stale; null (and s.unsupported set)
// where this CPU has no brgemm kernel to pack for. Caller holds the lock.
const memory* PackedFor(State& s, const torch::Tensor& w, Side side) {
  const auto key = std::make_tuple(static_cast<const void*>(w.data_ptr()), static_cast<int>(side), w.size(0), w.size(1));
  const c10::StorageImpl* impl = w.storage().unsafeGetStorageImpl();
  const int64_t version = w.is_inference() ? 0 : static_cast<int64_t>(w._version());
  auto it = s.packed.find(key);
  if (it != s.packed.end() && it->second.storage.lock().get() == impl && it->second.version == version) return &it->second.mem;
  // A miss: first drop the copies of weights that are gone or changed (the memory is the point).
  for (auto e = s.packed.begin(); e != s.packed.end();) {
    e = e->second.storage.expired() || e == it ? s.packed.erase(e) : std::next(e);
  }
  const memory::desc plain = PlainWeights(w, side);
  const memory::dims& kn = plain.dims();
  const auto pd = dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(Rows(256, kn[0], kn[0], DtypeOf(w)), memory::desc(kn, DtypeOf(w), Tag::any), Rows(256, kn[1], kn[1], DtypeOf(w))),
      Engine());
  if (std::string(pd.impl_info_str()).rfind("brg", 0) != 0) {
    s.unsupported = true;
    return nullptr;
  }
  Packed p{w.storage().getWeakStorageImpl(), version, memory(pd.weights_desc(), Engine())};
  memory src(plain, Engine(), w.data_ptr());
  dnnl::stream stream(Engine());
  dnnl::reorder(src, p.mem).execute(stream, src, p.mem);
  stream.wait();
  return &s.packed.emplace(key, std::move(p)).first->second.mem;
}

bool Run(const torch::Tensor& a, const torch::Tensor& w, Side side, torch::Tensor& out, bool accumulate) {
  if (!Enabled() || w.dim() != 2 || a.dim() != 2 || out.dim() != 2) return false;
  // A trainable weight (full fine-tuning) would be packed again after every optimizer step.
  // bf16 (bf16 or fp32 out) or fp32 throughout.
  const bool bf16 = w.scalar_type() == torch::kBFloat16;
  // oneDNN 2.x has brgemm matmuls from AVX-512 on, bf16 ones from AVX512_BF16 on; asking it for one
  // under ONEDNN_MAX_CPU_ISA=AVX2 throws instead of reporting a reference kernel.
  if (KernelIsa() < (bf16 ? Isa::kAvx512Bf16 : Isa::kAvx512)) return false;
  if (!w.device().is_cpu() || (!bf16 && w.scalar_type() != torch::kFloat32) || !w.is_contiguous() || w.requires_grad()) return false;
  if (!a.device().is_cpu() || a.scalar_type() != w.scalar_type() || a.stride(1) != 1) return false;
  if (!out.device().is_cpu() || (out.scalar_type() != w.scalar_type() && !(bf16 && out.scalar_type() == torch::kFloat32)) ||
      out.stride(1) != 1) {
    return false;
  }
  const int64_t M = a.size(0), K = side == Side::kWt ? w.size(1) : w.size(0), N = side == Side::kWt ? w.size(0) : w.size(1);
  TORCH_CHECK(a.size(1) == K && out.size(0) == M && out.size(1) == N, "packed_gemm: shapes do not fit");
  // Few rows (decoding) stay with mm: the packing pays off where each weight block meets many rows.
  if (M < kMinRows || a.stride(0) != K || out.stride(0) != N) return false;
  const Dt in_dt = DtypeOf(w), out_dt = DtypeOf(out);
  State& s = GetState();
  memory weights;
  std::shared_ptr<dnnl::matmul> prim;
  try {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.unsupported) return false;
    const memory* packed = PackedFor(s, w, side);
    if (packed == nullptr) return false;
    weights = *packed;
    const auto key = std::make_tuple(M, K, N, static_cast<int>(in_dt), static_cast<int>(out_dt), accumulate);
    auto it = s.primitives.find(key);
    if (it == s.primitives.end()) {
      if (s.primitives.size() >= 512) s.primitives.clear();  // bounded: a new M per call is not a pattern here
      dnnl::primitive_attr attr;
      if (accumulate) {
        dnnl::post_ops ops;
        ops.append_sum(1.0f);
        attr.set_post_ops(ops);
      }
      const auto pd = dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(Rows(M, K, K, in_dt), weights.get_desc(), Rows(M, N, N, out_dt)), attr, Engine());
      // Only the brgemm kernels are the point; anything else (a reference kernel) goes back to mm.
      const std::string impl = pd.impl_info_str();
      it = s.primitives.emplace(key, impl.rfind("brg", 0) == 0 ? std::make_shared<dnnl::matmul>(pd) : nullptr).first;
    }
    prim = it->second;
  } catch (const dnnl::error&) {
    return false;
  }
  if (prim == nullptr) return false;
  memory src(Rows(M, K, K, in_dt), Engine(), a.data_ptr());
  memory dst(Rows(M, N, N, out_dt), Engine(), out.data_ptr());
  dnnl::stream stream(Engine());
  prim->execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  stream.wait();
  return true;
}

}  // namespace

bool Built() { return true; }

bool MatmulWt(const torch::Tensor& x, const torch::Tensor& w, torch::Tensor& out, bool accumulate) {
  return Run(x, w, Side::kWt, out, accumulate);
}

bool MatmulW(const torch::Tensor& g, const torch::Tensor& w, torch::Tensor& out, bool accumulate) {
  return Run(g, w, Side::kW, out, accumulate);
}

int64_t PackedBytes() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  int64_t bytes = 0;
  for (const auto& [_, p] : s.packed) {
    if (!p.storage.expired()) bytes += static_cast<int64_t>(p.mem.get_desc().get_size());
  }
  return bytes;
}

void Clear() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.packed.clear();
  s.primitives.clear();
}

#endif

}  // namespace tenet::packed_gemm
