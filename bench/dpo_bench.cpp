// dpo_bench: DPO + LoRA training pairs/s on the bench preset (Llama 3 vocabulary, 8 layers, hidden
// 512), next to a TRL-style eager PyTorch step (bench/peers/dpo_peer.py) in the same run, and the
// achieved FLOP/s of the necessary work (policy forward + backward, reference forward; the formula
// is dpo_peer.py's necessary_flops) as a fraction of this machine's measured bf16 GEMM speed.
//
// Defaults are the issue's: 4 pairs per step, prompt 128, completions 64, LoRA r 8 (alpha 16) on
// all linear layers, 2 threads, bf16 base. Random token ids, seeded; the trainer is the real one
// (tenet::Trainer with the DPO objective, run folder in a temp dir, no evaluation, checkpoint only at the end).
// Prints one JSON object. With --peer-runs 2 the peer runs before and after Tenet and its steps are
// pooled, so a drift of the machine's speed during the run lands on both sides of the ratio.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "bench_util.h"
#include "tenet/io/hf_folder.h"
#include "tenet/model/adapter.h"
#include "tenet/model/loader.h"
#include "tenet/model/matmul.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/model/presets.h"
#include "tenet/train/dpo_objective.h"
#include "tenet/train/lora.h"
#include "tenet/util/file.h"
#include "tenet/util/isa.h"
#include "tenet/util/runtime.h"

namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void Check(const tenet::Status& s) {
  if (!s.ok()) {
    std::cerr << "dpo_bench: " << s.ToString() << "\n";
    std::exit(1);
  }
}

// Mirrors necessary_flops in bench/peers/dpo_peer.py (see its docstring for the terms; the last
// layer needs queries, attention, o_proj and the MLP only at the positions that feed a logit).
struct StepFlops {
  double policy_forward, policy_backward, reference_forward;
};
StepFlops NecessaryStepFlops(const tenet::ModelConfig& c, int64_t P, int64_t Lp, int64_t Lc, int64_t r) {
  const double C = static_cast<double>(c.hidden_size), H = static_cast<double>(c.num_attention_heads),
               K = static_cast<double>(c.num_key_value_heads), D = static_cast<double>(c.head_dim),
               I = static_cast<double>(c.intermediate_size), V = static_cast<double>(c.vocab_size),
               L = static_cast<double>(c.num_hidden_layers), R = static_cast<double>(r);
  const double lin[7][2] = {{C, H * D}, {C, K * D}, {C, K * D}, {H * D, C}, {C, I}, {C, I}, {I, C}};
  double base = 0, lora = 0, base_kv = 0, lora_kv = 0;
  for (int i = 0; i < 7; ++i) {
    base += lin[i][0] * lin[i][1], lora += R * (lin[i][0] + lin[i][1]);
    if (i == 1 || i == 2) base_kv += lin[i][0] * lin[i][1], lora_kv += R * (lin[i][0] + lin[i][1]);
  }
  const double p = static_cast<double>(P), lp = static_cast<double>(Lp), lc = static_cast<double>(Lc);
  const double tokens = p * (lp + 2 * lc), tokens_out = p * (2 * lc + 1);
  const double att = 4 * H * D * p * (lp * lp + 2 * lc * (lp + lc));
  const double att_out = 4 * H * D * p * (lp + 2 * lc * (lp + lc));
  const double head = 2 * C * V * p * 2 * lc;
  auto linears = [&](double b, double b_kv) { return 2 * b_kv * tokens + 2 * (b - b_kv) * tokens_out; };
  StepFlops f;
  f.policy_forward = (L - 1) * (2 * (base + lora) * tokens + att) + linears(base + lora, base_kv + lora_kv) + att_out + head;
  f.policy_backward = (L - 1) * (2 * (base + lora) * tokens + 2 * lora * tokens + 2 * att) + linears(base + lora, base_kv + lora_kv) +
                      linears(lora, lora_kv) + 2 * att_out + head;
  f.reference_forward = (L - 1) * (2 * base * tokens + att) + linears(base, base_kv) + att_out + head;
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The machine's bf16 (or fp32) GEMM speed: a 1024 x 2048 x 2048 product, best of 12, through
// LibTorch's mm and (where built) with the weight packed once (tenet/model/packed_gemm.h),
// which runs faster: the ceiling is the faster of the two.
struct GemmSpeed {
  double mm = 0, packed = 0;
  double best() const { return std::max(mm, packed); }
};
GemmSpeed GemmFlopsPerSecond(torch::ScalarType dtype) {
  auto a = torch::randn({1024, 2048}).to(dtype), w = torch::randn({2048, 2048}).to(dtype);
  auto time = [](auto&& product) {
    double best = 1e30;
    for (int i = 0; i < 12; ++i) {
      auto t0 = Clock::now();
      if (!product()) return 0.0;
      best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return 2.0 * 1024 * 2048 * 2048 / best;
  };
  GemmSpeed g;
  g.mm = time([&] { return tenet::Mm(a, w.t()).defined(); });  // bf16 without native bf16: in fp32
  torch::Tensor out = torch::empty({1024, 2048}, a.options());
  const bool was = tenet::packed_gemm::Enabled();  // measured also under --packed-weights off
  tenet::packed_gemm::SetEnabled(true);
  g.packed = time([&] { return tenet::packed_gemm::MatmulWt(a, w, out); });
  tenet::packed_gemm::SetEnabled(was);
  return g;
}

// Self time per (op, input shapes) over the profiled steps, largest first, to stderr: where a step's
// time goes, GEMM shape by GEMM shape (--op-table N prints the N largest rows).
void PrintOpTable(const torch::autograd::profiler::thread_event_lists& lists, int rows) {
  using torch::autograd::profiler::EventKind;
  using torch::autograd::profiler::LegacyEvent;
  struct Row { double self_us = 0; int64_t calls = 0; };
  std::map<std::string, Row> table;
  double total = 0;
  for (const auto& events : lists) {
    struct Open { const LegacyEvent* e; double child_us; };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == EventKind::PushRange) {
        stack.push_back({&e, 0});
      } else if (e.kind() == EventKind::PopRange && !stack.empty()) {
        const Open open = stack.back();
        stack.pop_back();
        const double us = open.e->cpuElapsedUs(e);
        std::string key = open.e->name();
        for (const auto& shape : open.e->shapes()) {
          key += " [";
          for (size_t i = 0; i < shape.size(); ++i) key += (i ? "x" : "") + std::to_string(shape[i]);
          key += "]";
        }
        Row& row = table[key];
        row.self_us += us - open.child_us;
        row.calls += 1;
        total += us - open.child_us;
        if (!stack.empty()) stack.back().child_us += us;
      }
    }
  }
  std::vector<std::pair<std::string, Row>> sorted(table.begin(), table.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  std::fprintf(stderr, "op table: %.1f ms self time in all\n%10s %7s  op [input shapes]\n", total / 1e3, "self ms", "calls");
  for (int i = 0; i < rows && i < static_cast<int>(sorted.size()); ++i) {
    std::fprintf(stderr, "%10.1f %7lld  %s\n", sorted[i].second.self_us / 1e3, static_cast<long long>(sorted[i].second.calls),
                 sorted[i].first.c_str());
  }
}

// One peer result from its runs: the first run's fields, with step_seconds pooled over all runs,
// pairs_per_s from their mean, the largest peak RSS, and each run's pairs/s under
// "runs_pairs_per_s" when there are two. Empty if any run failed.
std::optional<json> PoolPeerRuns(const std::vector<std::optional<json>>& runs, int64_t pairs) {
  if (runs.empty()) return std::nullopt;
  for (const auto& r : runs)
    if (!r || !r->contains("step_seconds") || !r->contains("pairs_per_s")) return std::nullopt;
  if (runs.size() == 1) return runs[0];
  json pooled = *runs[0];
  std::vector<double> steps;
  json each = json::array();
  double rss = 0;
  for (const auto& r : runs) {
    for (double v : (*r)["step_seconds"].get<std::vector<double>>()) steps.push_back(v);
    each.push_back((*r)["pairs_per_s"]);
    if (r->contains("peak_rss_mib")) rss = std::max(rss, (*r)["peak_rss_mib"].get<double>());
  }
  double total = 0;
  for (double v : steps) total += v;
  pooled["step_seconds"] = steps;
  pooled["pairs_per_s"] = static_cast<double>(pairs) * static_cast<double>(steps.size()) / total;
  pooled["peak_rss_mib"] = rss;
  pooled["runs_pairs_per_s"] = each;
  return pooled;
}

}  // namespace

int main(int argc, char** argv) {
  tenet::TuneAllocator();  // as the tenet binary does at startup (a no-op under tcmalloc)
  std::string model, dtype_name = "auto", peer_logps = "selective", profile;
  int op_table = 0, peer_runs = 1;
  int64_t pairs = 4, prompt_len = 128, completion_len = 64, lora_r = 8, steps = 3, warmup = 3;
  int threads = 2;
  bool peer = true, precompute_ref = false, checkpointing = false;
  std::string packed_mode = "auto";  // as tenet train's --packed-weights
  for (tenet::bench::FlagWalker flags("dpo_bench", argc, argv); flags.Next();) {
    const std::string& k = flags.flag();
    auto next = [&] { return flags.Value(); };
    if (k == "--model") model = next();
    else if (k == "--dtype") dtype_name = next();
    else if (k == "--pairs") pairs = std::stoll(next());
    else if (k == "--prompt-len") prompt_len = std::stoll(next());
    else if (k == "--completion-len") completion_len = std::stoll(next());
    else if (k == "--lora-r") lora_r = std::stoll(next());
    else if (k == "--steps") steps = std::stoll(next());
    else if (k == "--warmup") warmup = std::stoll(next());
    else if (k == "--threads") threads = std::stoi(next());
    else if (k == "--peer-logps") peer_logps = next();
    else if (k == "--no-peer") peer = false;
    else if (k == "--peer-runs") peer_runs = std::stoi(next());
    else if (k == "--profile") profile = next();
    else if (k == "--op-table") op_table = std::stoi(next());
    else if (k == "--precompute-ref") precompute_ref = true;
    else if (k == "--gradient-checkpointing") checkpointing = true;
    else if (k == "--packed-weights") packed_mode = next();
    else {
      std::cerr << "usage: dpo_bench [--model DIR] [--dtype auto|bfloat16|float32] [--pairs 4] [--prompt-len 128] [--completion-len 64]"
                   " [--lora-r 8] [--steps 3] [--warmup 3] [--threads 2] [--peer-logps selective|classic] [--peer-runs 1|2] [--precompute-ref] [--gradient-checkpointing] [--packed-weights auto|on|off] [--no-peer] [--profile trace.json] [--op-table ROWS]\n";
      return 2;
    }
  }
  if (steps < 1 || warmup < 1 || pairs < 1) {
    std::cerr << "dpo_bench: --steps, --warmup and --pairs must be at least 1\n";
    return 2;
  }
  if (peer_runs != 1 && peer_runs != 2) {
    std::cerr << "dpo_bench: --peer-runs must be 1 (after Tenet) or 2 (before and after)\n";
    return 2;
  }
  const tenet::Result<bool> packed = tenet::packed_gemm::WantPacked(packed_mode, checkpointing);
  if (!packed.ok()) {
    std::cerr << "dpo_bench: " << packed.status().message() << "\n";
    return 2;
  }
  tenet::packed_gemm::SetEnabled(*packed);
  torch::set_num_threads(threads);
  const std::string tmp = std::filesystem::temp_directory_path() / ("tenet-dpo-bench-" + std::to_string(::getpid()));
  if (model.empty()) {
    model = tmp + "/model";
    auto config = tenet::PresetConfig("bench", 128256);
    Check(config.status());
    config->dtype = torch::kBFloat16;  // a bf16 checkpoint, as real ones are
    tenet::ModelOptions mo;
    mo.dtype = torch::kBFloat16;
    auto m = tenet::LlamaForCausalLM::Create(*config, tenet::RandomWeights(1), mo);
    Check(m.status());
    tenet::NamedTensors tensors;
    for (const auto& p : (*m)->named_parameters()) tensors.emplace_back(p.key(), p.value());
    Check(tenet::SaveWeights(model, tensors));
    Check(tenet::WriteFileAtomic(model + "/config.json", tenet::ModelConfigToJson(*config).dump(2)));
  }
  tenet::LoadOptions lo;
  lo.hardware_policy = true;  // as `tenet train dpo`: --dtype overrides, else the policy
  lo.storage = tenet::WeightStorage::kComputeIfFits;
  if (dtype_name != "auto") {
    auto requested = tenet::ParseDtypeName(dtype_name);
    Check(requested.status());
    lo.dtype = *requested;
  }
  auto loaded = tenet::LoadModel(model, lo);
  Check(loaded.status());
  auto& m = *loaded->model;
  const torch::ScalarType dtype = m.dtype();
  const std::string compute_name = tenet::DtypeName(dtype);
  m.SetGradientCheckpointing(checkpointing);
  const auto& config = loaded->config;

  tenet::LoraConfig lora;
  lora.r = lora_r;
  lora.lora_alpha = 2.0 * static_cast<double>(lora_r);
  lora.lora_dropout = 0.0;
  lora.target_modules = tenet::LoraTargetNames();
  auto adapter = tenet::NewLoraAdapter(m, lora, 0);
  Check(adapter.status());
  Check(tenet::AttachAdapter(m, *adapter));

  // (warmup + steps) x pairs random pairs below the special tokens: one epoch = warmup + steps optimizer steps.
  std::mt19937 g(0);
  auto ids = [&](int64_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<int32_t>(g() % 128000);
    return v;
  };
  std::vector<tenet::TokenizedPair> data;
  for (int64_t i = 0; i < (warmup + steps) * pairs; ++i) data.push_back({ids(prompt_len), ids(completion_len), ids(completion_len)});
  tenet::TrainOptions o;
  o.batch_size = pairs;
  o.learning_rate = 5e-6;
  o.save_every = 1 << 30;
  tenet::DpoObjectiveOptions dpo;
  dpo.precompute_ref = precompute_ref;  // reference log-probs computed once before the timed steps
  auto trainable = tenet::MakeLoraTrainable(m, lora);
  Check(trainable.status());
  auto trainer = tenet::Trainer::Create(m, std::move(*trainable), tenet::MakeDpoObjective(data, {}, dpo), o, tmp + "/run", json::object(), false);
  Check(trainer.status());
  const std::string peer_cmd = "/usr/bin/python3 " + std::string(TENET_BENCH_SOURCE_DIR) + "/bench/peers/dpo_peer.py --model " + model +
                               " --dtype " + compute_name + " --threads " + std::to_string(threads) + " --pairs-per-step " +
                               std::to_string(pairs) + " --prompt-len " + std::to_string(prompt_len) + " --completion-len " +
                               std::to_string(completion_len) + " --lora-r " + std::to_string(lora_r) + " --lora-alpha " +
                               std::to_string(2 * lora_r) + " --steps " + std::to_string(steps) + " --warmup " +
                               std::to_string(warmup) + " --logps " + peer_logps;
  std::vector<std::optional<json>> peer_results;
  if (peer && peer_runs == 2) peer_results.push_back(tenet::bench::RunPeer(peer_cmd));
  std::vector<double> stamps;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> trace;  // op-level chrome trace of the steps
  if (!profile.empty()) trace = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
  // The op table covers the timed steps only (it starts when the warm-up steps end).
  std::unique_ptr<torch::autograd::profiler::TLSLegacyProfilerGuard> shapes;
  auto t0 = Clock::now();
  Check((*trainer)->Train([&](const tenet::TrainProgress&) {
    stamps.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (op_table > 0 && !shapes && static_cast<int64_t>(stamps.size()) == warmup) {
      shapes = std::make_unique<torch::autograd::profiler::TLSLegacyProfilerGuard>(
          torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU, /*report_input_shapes=*/true),
          [op_table](const torch::autograd::profiler::thread_event_lists& lists) { PrintOpTable(lists, op_table); });
    }
  }));
  trace.reset();
  shapes.reset();
  // The first `warmup` steps warm up (allocator, oneDNN primitives); the rest are timed. Both sides
  // get the same warm-up: the eager peer's steps still speed up over its first three or four (5.5,
  // 4.7, 4.1, 4.0 s here: glibc's mmap threshold adapts to its large temporaries), so timing
  // after one warm-up step overstated the speedup by about 15% (docs/benchmarks.md).
  const size_t first = static_cast<size_t>(warmup - 1);
  const double seconds = stamps.back() - stamps[first];
  const double seconds_per_step = seconds / static_cast<double>(steps);
  std::vector<double> step_seconds;
  for (size_t i = first + 1; i < stamps.size(); ++i) step_seconds.push_back(stamps[i] - stamps[i - 1]);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const StepFlops step_flops = NecessaryStepFlops(config, pairs, prompt_len, completion_len, lora_r);
  double flops = step_flops.policy_forward + step_flops.policy_backward + step_flops.reference_forward;
  // With the reference precomputed the step no longer runs the reference forward.
  if (precompute_ref) flops -= step_flops.reference_forward;
  const GemmSpeed gemm_speed = GemmFlopsPerSecond(dtype);
  const double gemm = gemm_speed.best();
  json out = {{"bench", "dpo"},
              {"dtype",
               {{"requested", dtype_name},
                {"compute", compute_name},
                {"weights", tenet::DtypeName(m.weight_dtype())},
                {"reason", loaded->dtype_reason}}},
              {"isa", tenet::IsaName(tenet::KernelIsa())},
              {"threads", threads},
              {"malloc", tenet::MallocName()},
              {"packed_weights", tenet::packed_gemm::Enabled()},
              {"packed_weight_mib", static_cast<double>(tenet::packed_gemm::PackedBytes()) / (1 << 20)},
              {"pairs_per_step", pairs},
              {"prompt_len", prompt_len},
              {"completion_len", completion_len},
              {"lora_r", lora_r},
              {"steps_timed", steps},
              {"warmup_steps", warmup},
              {"precompute_ref", precompute_ref},
              {"gradient_checkpointing", checkpointing},
              {"tenet",
               {{"seconds_per_step", seconds_per_step},
                {"pairs_per_s", static_cast<double>(pairs) / seconds_per_step},
                {"step_seconds", step_seconds},
                {"necessary_gflop_per_step", flops / 1e9},
                {"achieved_gflop_per_s", flops / seconds_per_step / 1e9},
                {"peak_rss_mib", static_cast<double>(u.ru_maxrss) / 1024.0}}},
              {"gemm_gflop_per_s", gemm / 1e9},
              {"gemm_mm_gflop_per_s", gemm_speed.mm / 1e9},
              {"gemm_packed_gflop_per_s", gemm_speed.packed / 1e9},
              {"fraction_of_gemm", flops / seconds_per_step / gemm}};
  if (peer) {
    peer_results.push_back(tenet::bench::RunPeer(peer_cmd));
    std::optional<json> p = PoolPeerRuns(peer_results, pairs);
    if (p) {
      out["peer"] = *p;
      out["speedup"] = (static_cast<double>(pairs) / seconds_per_step) / (*p)["pairs_per_s"].get<double>();
      // The same ratio from each side's median step: one step slowed by a noisy neighbour moves it less.
      if ((*p).contains("step_seconds") && !step_seconds.empty()) {
        out["speedup_median_step"] = Median((*p)["step_seconds"].get<std::vector<double>>()) / Median(step_seconds);
      }
    } else {
      out["peer"] = "failed: " + peer_cmd;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  std::cout << out.dump(2) << "\n";
  return 0;
}
