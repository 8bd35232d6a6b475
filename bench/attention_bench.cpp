// attention_bench: the training attention kernel (src/model/attention.h) against the eager LibTorch
// chain it replaced (matmul, scale, mask, fp32 softmax, matmul), forward + backward, on the DPO
// bench's shapes by default (4 rows of 256 tokens, 8 query heads, 2 kv heads, head dim 64, bf16).
//
// Tenet's kernel runs twice: with the probabilities kept by the forward (what it does for sequences
// this short) and with the backward recomputing them (what it does for long ones).
//
//   build/bench/attention_bench [--batch 4] [--tokens 256] [--dtype bfloat16|float32] [--threads 2] [--iters 20]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>

#include "../src/model/attention.h"
#include "bench_util.h"

namespace {
using Clock = std::chrono::steady_clock;

torch::Tensor Eager(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias, double scale) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), K = k.size(1), S = k.size(2), G = H / K;
  torch::Tensor scores = torch::matmul(q.reshape({B, K, G * T, D}), k.transpose(-1, -2)) * scale;
  scores = scores.view({B, K, G, T, S}) + bias.view({B, 1, 1, T, S});
  torch::Tensor probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
  return torch::matmul(probs.view({B, K, G * T, S}), v).view({B, H, T, D});
}

}  // namespace

int main(int argc, char** argv) {
  int64_t B = 4, T = 256, H = 8, K = 2, D = 64, iters = 20;
  int threads = 2;
  std::string dtype_name = "bfloat16";
  for (tenet::bench::FlagWalker flags("attention_bench", argc, argv); flags.Next();) {
    const std::string& f = flags.flag();
    if (f == "--batch") B = std::stoll(flags.Value());
    else if (f == "--tokens") T = std::stoll(flags.Value());
    else if (f == "--threads") threads = std::stoi(flags.Value());
    else if (f == "--iters") iters = std::stoll(flags.Value());
    else if (f == "--dtype") dtype_name = flags.Value();
    else {
      std::cerr << "attention_bench: unknown flag " << f << "\n";
      return 2;
    }
  }
  torch::set_num_threads(threads);
  const auto dtype = dtype_name == "float32" ? torch::kFloat32 : torch::kBFloat16;
  torch::manual_seed(0);
  auto q = torch::randn({B, H, T, D}).to(dtype).requires_grad_();
  auto k = torch::randn({B, K, T, D}).to(dtype).requires_grad_();
  auto v = torch::randn({B, K, T, D}).to(dtype).requires_grad_();
  auto g = torch::randn({B, H, T, D}).to(dtype);
  auto allowed = torch::arange(T).view({1, T}) <= torch::arange(T).view({T, 1});
  auto bias32 = torch::zeros({B, T, T}).masked_fill(allowed.logical_not().expand({B, T, T}), std::numeric_limits<float>::lowest());
  auto bias = bias32.to(dtype);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto time = [&](auto&& fn) {
    double best_fwd = 1e30, best_all = 1e30;
    for (int64_t i = 0; i < iters; ++i) {
      auto t0 = Clock::now();
      auto out = fn();
      auto t1 = Clock::now();
      out.backward(g);
      auto t2 = Clock::now();
      best_fwd = std::min(best_fwd, std::chrono::duration<double>(t1 - t0).count());
      best_all = std::min(best_all, std::chrono::duration<double>(t2 - t0).count());
      q.mutable_grad() = k.mutable_grad() = v.mutable_grad() = torch::Tensor();
    }
    return std::make_pair(best_fwd * 1e3, best_all * 1e3);
  };
  auto eager = time([&] { return Eager(q, k, v, bias, scale); });
  using tenet::attention::Probs;
  auto kept = time([&] { return tenet::attention::Attend(q, k, v, bias32, scale, Probs::kKeep); });
  auto recomputed = time([&] { return tenet::attention::Attend(q, k, v, bias32, scale, Probs::kRecompute); });
  std::printf("{\"bench\": \"attention\", \"dtype\": \"%s\", \"B\": %lld, \"T\": %lld, \"threads\": %d,\n"
              " \"eager_ms\": {\"forward\": %.3f, \"forward_backward\": %.3f},\n"
              " \"tenet_kept_ms\": {\"forward\": %.3f, \"forward_backward\": %.3f},\n"
              " \"tenet_recomputed_ms\": {\"forward\": %.3f, \"forward_backward\": %.3f}}\n",
              dtype_name.c_str(), static_cast<long long>(B), static_cast<long long>(T), threads, eager.first, eager.second,
              kept.first, kept.second, recomputed.first, recomputed.second);
  return 0;
}
