// forward_bench: forward-pass throughput (tokens/s) of Tenet's Llama on the `bench` preset (8 layers,
// hidden 512, 8 heads, 2 kv heads, intermediate 1536, Llama 3 vocabulary 128256), next to an eager
// PyTorch forward on the same folder, shapes, dtype and threads in the same run
// (bench/peers/forward_peer.py). Prints one JSON object on stdout.
//
// Modes (median of --reps runs, B x T tokens each):
//   hidden   the decoder stack: embeddings through the final norm (prefill cost)
//   logits   hidden + logits at every position: (B, T, V) with V = 128256 (the peer always does this)
//   score    hidden + logits only at the last T/4 positions of each row (how scoring and DPO work)
//
// Usage: forward_bench [--model DIR] [--batch 4] [--seq 256] [--threads 2] [--reps 3] [--no-peer]
//                      [--profile trace.json]   (chrome trace of one bf16 `hidden` pass)
// Without --model a random bench-preset model is written to a temp folder (fp32 checkpoint).
// Not for: correctness (tests/model) or generation (decode) speed.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "bench_util.h"
#include "tenet/io/hf_folder.h"
#include "tenet/model/loader.h"
#include "tenet/model/presets.h"
#include "tenet/util/file.h"
#include "tenet/util/runtime.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, profile;  // profile: chrome-trace file of one bf16 hidden pass
  int64_t batch = 4, seq = 256, reps = 3;
  int threads = 2;
  bool peer = true;
};

template <typename F>
double Median(int64_t reps, F&& fn) {
  std::vector<double> t;
  for (int64_t i = 0; i < reps; ++i) {
    auto start = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void Check(const tenet::Status& s) {
  if (!s.ok()) {
    std::cerr << "forward_bench: " << s.message() << "\n";
    std::exit(1);
  }
}

json Measure(const Args& a, torch::ScalarType dtype) {
  tenet::LoadOptions lo;
  lo.dtype = dtype;
  auto loaded = tenet::LoadModel(a.model, lo);
  Check(loaded.status());
  auto& m = *loaded->model;
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(0, loaded->config.vocab_size, {a.batch, a.seq}, torch::kInt64);
  const int64_t tail = std::max<int64_t>(1, a.seq / 4);
  json out;
  auto hidden = [&] { return m.Hidden(ids).value(); };
  hidden();  // warm-up (oneDNN primitive caches, allocator)
  if (!a.profile.empty() && dtype == torch::kBFloat16) {
    torch::autograd::profiler::RecordProfile trace(a.profile);
    hidden();
  }
  out["hidden_tokens_per_s"] = a.batch * a.seq / Median(a.reps, hidden);
  out["logits_tokens_per_s"] = a.batch * a.seq / Median(a.reps, [&] { m.Logits(hidden()).to(torch::kFloat32); });
  out["score_tokens_per_s"] = a.batch * a.seq / Median(a.reps, [&] {
    torch::Tensor h = hidden().narrow(1, a.seq - tail, tail);
    m.Logits(h).to(torch::kFloat32);
  });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (tenet::bench::FlagWalker flags("forward_bench", argc, argv); flags.Next();) {
    const std::string& k = flags.flag();
    auto next = [&] { return flags.Value(); };
    if (k == "--model") a.model = next();
    else if (k == "--batch") a.batch = std::stoll(next());
    else if (k == "--seq") a.seq = std::stoll(next());
    else if (k == "--reps") a.reps = std::stoll(next());
    else if (k == "--threads") a.threads = std::stoi(next());
    else if (k == "--no-peer") a.peer = false;
    else if (k == "--profile") a.profile = next();
    else {
      std::cerr << "usage: forward_bench [--model DIR] [--batch N] [--seq N] [--threads N] [--reps N] [--no-peer]\n";
      return 2;
    }
  }
  tenet::TuneAllocator();  // as the tenet binary does at startup
  torch::set_num_threads(a.threads);
  std::string tmp;
  if (a.model.empty()) {
    tmp = std::filesystem::temp_directory_path() / ("tenet-forward-bench-" + std::to_string(::getpid()));
    auto config = tenet::PresetConfig("bench", 128256);
    Check(config.status());
    config->dtype = torch::kFloat32;
    auto model = tenet::LlamaForCausalLM::Create(*config, tenet::RandomWeights(1), tenet::ModelOptions{});
    Check(model.status());
    tenet::NamedTensors tensors;
    for (const auto& p : (*model)->named_parameters()) tensors.emplace_back(p.key(), p.value());
    Check(tenet::SaveWeights(tmp, tensors));
    Check(tenet::WriteFileAtomic(tenet::JoinPath(tmp, "config.json"), tenet::ModelConfigToJson(*config).dump(2)));
    a.model = tmp;
  }
  tenet::BlasInfo blas = tenet::DetectBlas();
  json report = {{"bench", "forward"},
                 {"model", a.model},
                 {"batch", a.batch},
                 {"seq", a.seq},
                 {"threads", a.threads},
                 {"blas_core", blas.core},
                 {"OPENBLAS_CORETYPE", blas.coretype_env}};
  for (auto [name, dtype] : {std::pair{"float32", torch::kFloat32}, std::pair{"bfloat16", torch::kBFloat16}}) {
    json r = {{"tenet", Measure(a, dtype)}};
    if (a.peer) {
      std::string cmd = std::string("/usr/bin/python3 ") + TENET_BENCH_SOURCE_DIR + "/bench/peers/forward_peer.py --model " +
                        a.model + " --dtype " + name + " --batch " + std::to_string(a.batch) + " --seq " +
                        std::to_string(a.seq) + " --reps " + std::to_string(a.reps) + " --threads " + std::to_string(a.threads);
      if (auto peer_json = tenet::bench::RunPeer(cmd)) {
        r["peer"] = *peer_json;
        for (const char* k : {"hidden_tokens_per_s", "logits_tokens_per_s"}) {
          r["ratio_" + std::string(k).substr(0, std::string(k).find('_'))] =
              r["tenet"][k].get<double>() / r["peer"][k].get<double>();
        }
      } else {
        r["peer"] = "failed: " + cmd;
      }
    }
    report[name] = r;
  }
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  std::cout << report.dump(2) << std::endl;
  return 0;
}
