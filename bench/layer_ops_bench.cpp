// layer_ops_bench: the fused per-layer kernels of training (RMSNorm, SwiGLU, RoPE to heads, LoRA
// linear) against the eager LibTorch chains they replaced, forward + backward, on the DPO bench's
// shapes by default (1024 tokens, hidden 512, MLP 1536, 8 heads of 64, LoRA r 8, bf16). Best of
// --iters, milliseconds, one JSON object. The LoRA linear is also timed with its adapter off: the
// base GEMMs alone.
//
//   build/bench/layer_ops_bench [--tokens 1024] [--dtype bfloat16|float32] [--threads 2] [--iters 30]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>

#include "../src/model/swiglu.h"
#include "bench_util.h"
#include "tenet/model/linear.h"
#include "tenet/model/rms_norm.h"
#include "tenet/model/rope.h"

namespace {
using Clock = std::chrono::steady_clock;

// Best forward + backward time in ms of fn() (which returns the output) with output gradient g.
double Time(int64_t iters, const std::function<torch::Tensor()>& fn, const torch::Tensor& g,
            std::initializer_list<torch::Tensor> inputs) {
  double best = 1e30;
  for (int64_t i = 0; i < iters; ++i) {
    auto t0 = Clock::now();
    fn().backward(g);
    best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    for (auto t : inputs) t.mutable_grad() = torch::Tensor();
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t N = 1024, C = 512, F = 1536, H = 8, D = 64, R = 8, iters = 30;
  int threads = 2;
  std::string dtype_name = "bfloat16";
  for (tenet::bench::FlagWalker flags("layer_ops_bench", argc, argv); flags.Next();) {
    const std::string& f = flags.flag();
    if (f == "--tokens") N = std::stoll(flags.Value());
    else if (f == "--threads") threads = std::stoi(flags.Value());
    else if (f == "--iters") iters = std::stoll(flags.Value());
    else if (f == "--dtype") dtype_name = flags.Value();
    else {
      std::cerr << "layer_ops_bench: unknown flag " << f << "\n";
      return 2;
    }
  }
  torch::set_num_threads(threads);
  const auto dt = dtype_name == "float32" ? torch::kFloat32 : torch::kBFloat16;
  torch::manual_seed(0);
  const double eps = 1e-5;
  // RMSNorm over (1, N, C).
  auto x = torch::randn({1, N, C}).to(dt).requires_grad_();
  auto w = (1 + 0.1 * torch::randn({C})).to(dt);
  auto gx = torch::randn({1, N, C}).to(dt);
  const double norm_eager = Time(iters, [&] {
    auto h = x.to(torch::kFloat32);
    h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
    return w * h.to(dt);
  }, gx, {x});
  const double norm_fused = Time(iters, [&] { return tenet::RmsNorm(x, w, eps); }, gx, {x});
  // SwiGLU over (1, N, F).
  auto gate = torch::randn({1, N, F}).to(dt).requires_grad_(), up = torch::randn({1, N, F}).to(dt).requires_grad_();
  auto gf = torch::randn({1, N, F}).to(dt);
  const double glu_eager = Time(iters, [&] { return torch::silu(gate) * up; }, gf, {gate, up});
  const double glu_fused = Time(iters, [&] { return tenet::SwiGlu(gate, up); }, gf, {gate, up});
  // RoPE of a q projection (1, N, H*D) into heads.
  auto q = torch::randn({1, N, H * D}).to(dt).requires_grad_();
  auto pos = torch::arange(N).view({1, N});
  auto freqs = pos.to(torch::kFloat32).unsqueeze(-1) * torch::rand({D / 2});
  auto emb = torch::cat({freqs, freqs}, -1);
  auto cos = emb.cos().to(dt).unsqueeze(1), sin = emb.sin().to(dt).unsqueeze(1);
  auto gq = torch::randn({1, H, N, D}).to(dt);
  const double rope_eager = Time(iters, [&] { return tenet::ApplyRope(q.view({1, N, H, D}).transpose(1, 2), cos, sin); }, gq, {q});
  const double rope_fused = Time(iters, [&] { return tenet::RopeToHeads(q, cos, sin, H); }, gq, {q});
  // LoRA linear C -> F with fp32 adapters: eager PEFT-style chain (fp32 adapter path) vs Tenet's.
  auto base = 0.02 * torch::randn({F, C});
  tenet::Linear lin(base.to(dt), torch::Tensor());
  auto a = (0.02 * torch::randn({R, C})).requires_grad_(), b = (0.02 * torch::randn({F, R})).requires_grad_();
  lin.SetLora(a, b, 2.0, 0.0);
  auto xl = torch::randn({1, N, C}).to(dt).requires_grad_();
  const double lora_eager = Time(iters, [&] {
    auto y = torch::linear(xl, lin.weight());
    auto delta = torch::linear(torch::linear(xl.to(torch::kFloat32), a), b) * 2.0;
    return y + delta.to(dt);
  }, gf, {xl, a, b});
  const double lora_fused = Time(iters, [&] { return lin.forward(xl); }, gf, {xl, lin.lora_a(), lin.lora_b()});
  const double lora_base = Time(iters, [&] { return lin.forward(xl, tenet::AdapterChoice::Base()); }, gf, {xl});
  std::printf("{\"bench\": \"layer_ops\", \"dtype\": \"%s\", \"tokens\": %lld, \"threads\": %d,\n"
              " \"forward_backward_ms\": {\n"
              "  \"rms_norm\": {\"eager\": %.3f, \"tenet\": %.3f},\n"
              "  \"swiglu\": {\"eager\": %.3f, \"tenet\": %.3f},\n"
              "  \"rope_to_heads\": {\"eager\": %.3f, \"tenet\": %.3f},\n"
              "  \"lora_linear\": {\"eager\": %.3f, \"tenet\": %.3f, \"base_alone\": %.3f}}}\n",
              dtype_name.c_str(), static_cast<long long>(N), threads, norm_eager, norm_fused, glu_eager, glu_fused, rope_eager,
              rope_fused, lora_eager, lora_fused, lora_base);
  return 0;
}
