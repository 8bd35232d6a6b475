// See tenet/model/matmul.h.
#include "tenet/model/matmul.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <bit>

#include "gemv.h"
#include "tenet/util/isa.h"

namespace tenet {
namespace {

// fp32 elements of one widened weight block (8 MiB).
constexpr int64_t kBlockElems = int64_t{2} << 20;

bool Mixed(const torch::Tensor& x, const torch::Tensor& w) {
  if (x.scalar_type() == w.scalar_type()) return false;
  TORCH_CHECK(x.is_cpu() && w.is_cpu() && x.scalar_type() == torch::kFloat32 && w.scalar_type() == torch::kBFloat16,
              "matmul: weights stored in ", w.scalar_type(), " under ", x.scalar_type(), " activations");
  return true;
}

// Rows [o0, o0 + n) of W (O, I) (any row stride, unit column stride) widened into buf (n, I) fp32.
void WidenRows(const torch::Tensor& w, int64_t o0, int64_t n, torch::Tensor& buf) {
  const int64_t I = w.size(1), ld = w.stride(0);
  const auto* src = reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>()) + o0 * ld;
  float* dst = buf.data_ptr<float>();
  at::parallel_for(0, n, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(I, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const uint16_t* s = src + r * ld;
      float* d = dst + r * I;
      for (int64_t i = 0; i < I; ++i) d[i] = std::bit_cast<float>(static_cast<uint32_t>(s[i]) << 16);
    }
  });
}

int64_t BlockRows(int64_t rows, int64_t cols) { return std::clamp<int64_t>(kBlockElems / std::max<int64_t>(cols, 1), 16, rows); }

// How many rows of x (of dtype x over weights of dtype w) the few-row kernels take on this CPU; 0:
// none. fp32 rows over bf16 weights: up to kMaxWideRows (no widened copy to write and read back);
// bf16 rows over bf16 weights where vdpbf16ps exists: up to kMaxBf16Rows; fp32 over fp32: up to
// kMaxRows, where a GEMM is not yet efficient.
int64_t FewRowsLimit(torch::ScalarType x, torch::ScalarType w) {
  if (x == torch::kBFloat16) return w == torch::kBFloat16 && KernelIsa() >= Isa::kAvx512Bf16 ? gemv::kMaxBf16Rows : 0;
  if (x != torch::kFloat32) return 0;
  return w == torch::kBFloat16 ? gemv::kMaxWideRows : w == torch::kFloat32 ? gemv::kMaxRows : 0;
}

bool UseGemv(const torch::Tensor& x, const torch::Tensor& w) {
  if (!x.is_cpu() || !w.is_cpu() || x.size(0) == 0 || x.stride(1) != 1 || w.stride(1) != 1) return false;
  return x.size(0) <= FewRowsLimit(x.scalar_type(), w.scalar_type());
}

void GemvInto(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t N = x.size(0), O = w.size(0), I = w.size(1);
  const auto bits = [](const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); };
  if (x.scalar_type() == torch::kBFloat16) {
    // fp32 sums, rounded to bf16 once (as oneDNN's bf16 matmul rounds its fp32 accumulators).
    torch::Tensor y = out.scalar_type() == torch::kFloat32 ? out : torch::empty(out.sizes(), out.options().dtype(torch::kFloat32));
    gemv::WtBf16(bits(x), N, x.stride(0), bits(w), O, I, w.stride(0), y.data_ptr<float>(), y.stride(0));
    if (!y.is_same(out)) out.copy_(y);
  } else if (w.scalar_type() == torch::kBFloat16) {
    gemv::Wt(x.data_ptr<float>(), N, x.stride(0), reinterpret_cast<const uint16_t*>(w.data_ptr<at::BFloat16>()), O, I, w.stride(0),
             out.data_ptr<float>(), out.stride(0));
  } else {
    gemv::Wt(x.data_ptr<float>(), N, x.stride(0), w.data_ptr<float>(), O, I, w.stride(0), out.data_ptr<float>(), out.stride(0));
  }
}

}  // namespace

bool NativeBf16(const torch::Tensor& t) { return !t.is_cpu() || KernelIsa() >= Isa::kAvx512Bf16; }

torch::Tensor Mm(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() == torch::kBFloat16 && !NativeBf16(a)) {
    return torch::mm(a.to(torch::kFloat32), b.to(torch::kFloat32)).to(torch::kBFloat16);
  }
  return torch::mm(a, b);
}

void MmOut(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() == torch::kBFloat16 && !NativeBf16(a)) {
    out.copy_(torch::mm(a.to(torch::kFloat32), b.to(torch::kFloat32)));
    return;
  }
  at::mm_out(out, a, b);
}

void ProductWtOut(torch::Tensor& out, const torch::Tensor& x, const torch::Tensor& w) {
  const bool mixed = Mixed(x, w);
  if (UseGemv(x, w) && out.stride(1) == 1) return GemvInto(out, x, w);
  if (!mixed) return MmOut(out, x, w.t());
  const int64_t O = w.size(0), I = w.size(1);
  const int64_t rows = BlockRows(O, I);
  torch::Tensor buf = torch::empty({rows, I}, x.options());
  for (int64_t o0 = 0; o0 < O; o0 += rows) {
    const int64_t n = std::min(rows, O - o0);
    torch::Tensor wide = buf.narrow(0, 0, n);
    WidenRows(w, o0, n, wide);
    if (n == O) {
      at::mm_out(out, x, wide.t());
    } else {
      out.narrow(1, o0, n).copy_(torch::mm(x, wide.t()));
    }
  }
}

torch::Tensor ProductWt(const torch::Tensor& x, const torch::Tensor& w) {
  if (!Mixed(x, w) && !UseGemv(x, w)) return Mm(x, w.t());
  torch::Tensor out = torch::empty({x.size(0), w.size(0)}, x.options());
  ProductWtOut(out, x, w);
  return out;
}

torch::Tensor ProductW(const torch::Tensor& g, const torch::Tensor& w) {
  if (!Mixed(g, w)) return Mm(g, w);
  // Blocks of W's rows are blocks of the sum over O: the first one writes, the rest add.
  const int64_t O = w.size(0), I = w.size(1);
  const int64_t rows = BlockRows(O, I);
  torch::Tensor buf = torch::empty({rows, I}, g.options());
  torch::Tensor out = torch::empty({g.size(0), I}, g.options());
  for (int64_t o0 = 0; o0 < O; o0 += rows) {
    const int64_t n = std::min(rows, O - o0);
    torch::Tensor wide = buf.narrow(0, 0, n);
    WidenRows(w, o0, n, wide);
    if (o0 == 0) at::mm_out(out, g.narrow(1, o0, n), wide);
    else out.addmm_(g.narrow(1, o0, n), wide);
  }
  return out;
}

torch::Tensor Affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const bool mixed = x.scalar_type() != w.scalar_type();
  const bool slow_bf16 = x.scalar_type() == torch::kBFloat16 && !NativeBf16(x);
  const bool few_rows = x.numel() <= FewRowsLimit(x.scalar_type(), w.scalar_type()) * x.size(-1);
  if (!x.is_cpu() || (!mixed && !slow_bf16 && !few_rows)) return torch::linear(x, w, b);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  torch::Tensor y = ProductWt(x.reshape({-1, w.size(1)}).contiguous(), w);
  if (b.defined()) y.add_(b);
  return y.view(shape);
}

}  // namespace tenet
