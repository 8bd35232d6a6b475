// gemv_bench: the few-row products of decoding (tenet/model/matmul.h) over one weight matrix too
// large for the caches, as weight bytes streamed per second (batch-1 decoding is bound by them)
// and GFLOP/s, next to LibTorch's mm on an fp32 copy of the same weights (OpenBLAS) in the same
// run. Compute dtype as the policy picks it: fp32 rows over bf16 weights, or bf16 rows over bf16
// weights where the CPU has native bf16. The weights are mapped from a safetensors file, as a
// loaded checkpoint's are (small pages; --anonymous: in allocated memory instead). Best of --iters.
// Prints one JSON object.
//
//   build/bench/gemv_bench [--out 128256] [--in 2048] [--rows 1,2,4,8,16,32] [--threads 2] [--iters 10]
//                          [--anonymous] [--isa avx2]
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "tenet/io/hf_folder.h"
#include "tenet/io/model_config.h"
#include "tenet/model/matmul.h"
#include "tenet/util/isa.h"

namespace {
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double BestSeconds(int64_t iters, const std::function<void()>& fn) {
  fn();
  double best = 1e30;
  for (int64_t i = 0; i < iters; ++i) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t O = 128256, I = 2048, iters = 10;
  bool anonymous = false;
  int threads = 2;
  std::vector<int64_t> rows = {1, 2, 4, 8, 16, 32};
  for (tenet::bench::FlagWalker flags("gemv_bench", argc, argv); flags.Next();) {
    const std::string& k = flags.flag();
    if (k == "--out") O = std::stoll(flags.Value());
    else if (k == "--in") I = std::stoll(flags.Value());
    else if (k == "--iters") iters = std::stoll(flags.Value());
    else if (k == "--threads") threads = std::stoi(flags.Value());
    else if (k == "--anonymous") anonymous = true;
    else if (k == "--rows") {
      rows.clear();
      std::stringstream ss(flags.Value());
      for (std::string part; std::getline(ss, part, ',');) rows.push_back(std::stoll(part));
    } else {
      std::cerr << "usage: gemv_bench [--out 128256] [--in 2048] [--rows 1,2,4,8,16,32] [--threads 2] [--iters 10] [--anonymous] [--isa avx2]\n";
      return 2;
    }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  torch::Tensor w = torch::randn({O, I}).to(torch::kBFloat16);
  const torch::Tensor w32 = w.to(torch::kFloat32);
  const std::string dir = std::filesystem::temp_directory_path() / ("tenet-gemv-bench-" + std::to_string(::getpid()));
  std::unique_ptr<tenet::TensorStore> store;
  if (!anonymous) {
    auto check = [](const tenet::Status& s) {
      if (!s.ok()) {
        std::cerr << "gemv_bench: " << s.message() << "\n";
        std::exit(1);
      }
    };
    check(tenet::SaveWeights(dir, {{"w", w}}));
    auto opened = tenet::TensorStore::OpenDir(dir);
    check(opened.status());
    store = std::move(*opened);
    auto mapped = store->Get("w");
    check(mapped.status());
    w = *mapped;
  }
  const bool native = tenet::KernelIsa() >= tenet::Isa::kAvx512Bf16;
  const torch::ScalarType compute = native ? torch::kBFloat16 : torch::kFloat32;
  json out = {{"bench", "gemv"},
              {"isa", {{"cpu", tenet::IsaName(tenet::CpuIsa())}, {"kernels", tenet::IsaName(tenet::KernelIsa())}}},
              {"threads", threads},
              {"weight", {{"out", O}, {"in", I}, {"dtype", "bfloat16"}, {"mib", static_cast<double>(O * I * 2) / (1 << 20)},
                          {"memory", anonymous ? "anonymous" : "mmapped safetensors"}}},
              {"compute", tenet::DtypeName(compute)},
              {"rows", json::array()}};
  for (int64_t n : rows) {
    const torch::Tensor x = torch::randn({n, I}).to(compute);
    const torch::Tensor x32 = x.to(torch::kFloat32);
    torch::Tensor y = torch::empty({n, O}, x.options()), y32 = torch::empty({n, O});
    const double t = BestSeconds(iters, [&] { tenet::ProductWtOut(y, x, w); });
    const double t_mm = BestSeconds(iters, [&] { at::mm_out(y32, x32, w32.t()); });
    const double flops = 2.0 * static_cast<double>(n * O * I);
    out["rows"].push_back({{"rows", n},
                           {"tenet_ms", t * 1e3},
                           {"tenet_weight_gb_per_s", static_cast<double>(O * I * 2) / t / 1e9},
                           {"tenet_gflop_per_s", flops / t / 1e9},
                           {"fp32_copy_mm_ms", t_mm * 1e3},
                           {"fp32_copy_weight_gb_per_s", static_cast<double>(O * I * 4) / t_mm / 1e9},
                           {"speedup_over_fp32_copy", t_mm / t}});
  }
  std::cout << out.dump(1) << "\n";
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
