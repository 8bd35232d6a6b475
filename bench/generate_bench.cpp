// generate_bench: generation throughput of the engine on the `bench` preset (bf16 by default),
// 8 questions x 4 samples x 128 new tokens, next to an eager PyTorch generation loop with a KV
// cache on the same folder, prompts, dtype and threads (bench/peers/generate_peer.py), and next to
// the GEMM ceiling: the time of one decode step's matrix products alone (every linear layer and the
// output head at the same batch), i.e. what reading the weights once per step costs at best.
// Prints one JSON object.
//
// Usage: generate_bench [--model DIR] [--questions 8] [--samples 4] [--new 128] [--threads 2]
//                       [--slots 32] [--dtype auto|bfloat16|float32] [--no-peer] [--profile trace.json]
//                       [--isa avx2] [--llama-cpp DIR [--llama-cpp-build DIR] [--flash-attn]] [--prompt-tokens N]
//                       [--rounds N]
// Without --model a random bench-preset model is written to a temp folder. --dtype auto (the
// default) is what `tenet generate` picks (tenet/model/compute_dtype.h). --llama-cpp runs
// llama.cpp's llama-bench / llama-batched-bench of a build the user made on a GGUF of the same
// folder (bench/peers/llama_cpp_bench.sh) as a second peer; --rounds N alternates Tenet and
// llama.cpp N times and reports the median of the per-round ratios. Reports peak RSS.
// Not for: correctness (tests/generate).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "tenet/generate/engine.h"
#include "tenet/io/hf_folder.h"
#include "tenet/model/loader.h"
#include "tenet/model/matmul.h"
#include "tenet/model/presets.h"
#include "tenet/util/file.h"
#include "tenet/util/isa.h"
#include "tenet/util/runtime.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

void Check(const tenet::Status& s) {
  if (!s.ok()) {
    std::cerr << "generate_bench: " << s.message() << "\n";
    std::exit(1);
  }
}

// Seconds for one decode step's GEMMs at batch B: x (B, in) @ W^T for every 2-D weight but the
// embedding table (which a step only gathers B rows of).
double GemmCeilingStep(tenet::LlamaForCausalLM& m, int64_t B) {
  torch::NoGradGuard g;
  std::vector<torch::Tensor> weights;
  for (const auto& p : m.named_parameters()) {
    if (p.value().dim() == 2 && p.key() != "model.embed_tokens.weight") weights.push_back(p.value());
  }
  if (m.config().tie_word_embeddings) weights.push_back(m.named_parameters()["model.embed_tokens.weight"]);
  std::vector<torch::Tensor> inputs;
  for (const auto& w : weights) inputs.push_back(torch::randn({B, w.size(1)}).to(m.dtype()));
  auto step = [&] {
    for (size_t i = 0; i < weights.size(); ++i) tenet::ProductWt(inputs[i], weights[i]);
  };
  for (int i = 0; i < 3; ++i) step();
  std::vector<double> t;
  for (int r = 0; r < 15; ++r) {
    auto s = Clock::now();
    step();
    t.push_back(std::chrono::duration<double>(Clock::now() - s).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, dtype_name = "auto", profile, llama_cpp, llama_cpp_build;
  bool flash_attn = false;
  int64_t prompt_tokens = 0;  // 0: 40 + 8 q tokens for question q
  int64_t questions = 8, samples = 4, new_tokens = 128, slots = 0, rounds = 1;
  int threads = 2;
  bool peer = true;
  for (tenet::bench::FlagWalker flags("generate_bench", argc, argv); flags.Next();) {
    const std::string& k = flags.flag();
    auto next = [&] { return flags.Value(); };
    if (k == "--model") model = next();
    else if (k == "--questions") questions = std::stoll(next());
    else if (k == "--samples") samples = std::stoll(next());
    else if (k == "--new") new_tokens = std::stoll(next());
    else if (k == "--threads") threads = std::stoi(next());
    else if (k == "--slots") slots = std::stoll(next());
    else if (k == "--dtype") dtype_name = next();
    else if (k == "--no-peer") peer = false;
    else if (k == "--llama-cpp") llama_cpp = next();
    else if (k == "--llama-cpp-build") llama_cpp_build = next();
    else if (k == "--flash-attn") flash_attn = true;
    else if (k == "--prompt-tokens") prompt_tokens = std::stoll(next());
    else if (k == "--profile") profile = next();
    else if (k == "--rounds") rounds = std::max<int64_t>(1, std::stoll(next()));
    else {
      std::cerr << "usage: generate_bench [--model DIR] [--questions N] [--samples N] [--new N] [--threads N] [--slots N]"
                   " [--dtype bfloat16|float32] [--no-peer] [--rounds N] [--llama-cpp DIR [--llama-cpp-build DIR] [--flash-attn]]\n";
      return 2;
    }
  }
  if (slots <= 0) slots = questions * samples;
  tenet::TuneAllocator();
  torch::set_num_threads(threads);
  std::string tmp;
  if (model.empty()) {
    tmp = std::filesystem::temp_directory_path() / ("tenet-generate-bench-" + std::to_string(::getpid()));
    auto config = tenet::PresetConfig("bench", 128256);
    Check(config.status());
    config->dtype = torch::kBFloat16;
    tenet::ModelOptions mo;
    mo.dtype = torch::kBFloat16;
    auto m = tenet::LlamaForCausalLM::Create(*config, tenet::RandomWeights(1), mo);
    Check(m.status());
    tenet::NamedTensors tensors;
    for (const auto& p : (*m)->named_parameters()) tensors.emplace_back(p.key(), p.value());
    Check(tenet::SaveWeights(tmp, tensors));
    Check(tenet::WriteFileAtomic(tenet::JoinPath(tmp, "config.json"), tenet::ModelConfigToJson(*config).dump(2)));
    model = tmp;
  }
  tenet::LoadOptions lo;
  lo.hardware_policy = true;  // as `tenet generate`: --dtype overrides, else the policy
  lo.prefer_bf16 = true;
  if (dtype_name != "auto") {
    auto dtype = tenet::ParseDtypeName(dtype_name);
    Check(dtype.status());
    lo.dtype = *dtype;
  }
  auto loaded = tenet::LoadModel(model, lo);
  Check(loaded.status());

  // Prompts of 40..96 tokens (a system prompt plus a question), ids below the special tokens.
  std::vector<std::vector<int32_t>> prompts;
  uint64_t state = 12345;
  for (int64_t q = 0; q < questions; ++q) {
    std::vector<int32_t> p;
    for (int64_t t = 0; t < (prompt_tokens > 0 ? prompt_tokens : 40 + 8 * q); ++t) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      p.push_back(static_cast<int32_t>((state >> 33) % 128000));
    }
    prompts.push_back(p);
  }
  std::vector<tenet::GenerationRequest> requests;
  for (const auto& p : prompts) {
    tenet::GenerationRequest r;
    r.prompt = p;
    r.n = static_cast<int32_t>(samples);
    r.max_new_tokens = static_cast<int32_t>(new_tokens);
    r.sampling.temperature = 1.0f;  // no stop ids: every sample runs to max_new_tokens, like the peer
    requests.push_back(r);
  }
  {
    // Warm-up, as llama-bench does: the first pass faults in the mapped weights and grows the heap.
    auto warm = tenet::Engine::Create(*loaded->model, tenet::EngineOptions{1});
    Check(warm.status());
    tenet::GenerationRequest r = requests.front();
    r.n = 1;
    r.max_new_tokens = 2;
    Check((*warm)->Generate({r}, [](size_t, int32_t, tenet::Completion) {}));
  }
  // One timed run of the engine over every request -> its figures.
  auto run_tenet = [&](bool with_profile) {
    auto engine = tenet::Engine::Create(*loaded->model, tenet::EngineOptions{static_cast<int32_t>(slots)});
    Check(engine.status());
    const auto start = Clock::now();
    {
      std::unique_ptr<torch::autograd::profiler::RecordProfile> trace;
      if (with_profile) trace = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
      Check((*engine)->Generate(requests, [](size_t, int32_t, tenet::Completion) {}));
    }
    const double total = std::chrono::duration<double>(Clock::now() - start).count();
    const auto& st = (*engine)->stats();
    return json{{"prefill_tokens_per_s", st.prefill_tokens / st.prefill_seconds},
                {"decode_tokens_per_s", st.decode_tokens / st.decode_seconds},
                {"decode_steps", st.decode_steps},
                {"mean_step_ms", 1e3 * st.decode_seconds / static_cast<double>(st.decode_steps)},
                {"mean_sample_ms_per_step", 1e3 * st.sample_seconds / static_cast<double>(st.decode_steps)},
                {"total_s", total}};
  };
  // llama.cpp on a GGUF of the same folder and dtype: batch-1 (pp/tg) or batched decode.
  const std::string llama_cmd =
      llama_cpp.empty() ? std::string()
                        : std::string(TENET_BENCH_SOURCE_DIR) + "/bench/peers/llama_cpp_bench.sh --llama-cpp " + llama_cpp +
                              " --model " + model + " --threads " + std::to_string(threads) +
                              (slots > 1 ? " --batch-decode " + std::to_string(slots) + "x" + std::to_string(new_tokens)
                                         : " --pp 128 --tg " + std::to_string(new_tokens)) +
                              (llama_cpp_build.empty() ? "" : " --build-dir " + llama_cpp_build) + (flash_attn ? " --flash-attn" : "");
  auto llama_decode = [&](const json& lc) {
    return slots > 1 ? lc.value("/batch_decode/s_tg_tok_s"_json_pointer, json()) : lc.value("tg_tok_s", json());
  };
  // --rounds N: Tenet and llama.cpp alternate N times and the ratios are the medians of the
  // per-round ratios, so a slow spell of this shared machine hits both sides of a round.
  std::vector<json> tenet_runs, llama_runs;
  for (int64_t r = 0; r < rounds; ++r) {
    tenet_runs.push_back(run_tenet(!profile.empty() && r == 0));
    if (!llama_cmd.empty()) {
      auto lc = tenet::bench::RunPeer(llama_cmd);
      llama_runs.push_back(lc ? *lc : json("failed: " + llama_cmd));
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  // The round with the median decode speed stands for Tenet.
  std::vector<size_t> order(tenet_runs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tenet_runs[a]["decode_tokens_per_s"].get<double>() < tenet_runs[b]["decode_tokens_per_s"].get<double>();
  });
  const json tenet_fig = tenet_runs[order[order.size() / 2]];
  const double decode_tps = tenet_fig["decode_tokens_per_s"].get<double>();
  const double step_ceiling = GemmCeilingStep(*loaded->model, slots);
  json report = {{"bench", "generate"},
                 {"dtype",
                  {{"requested", dtype_name},
                   {"compute", tenet::DtypeName(loaded->model->dtype())},
                   {"weights", tenet::DtypeName(loaded->model->weight_dtype())},
                   {"reason", loaded->dtype_reason}}},
                 {"isa", {{"cpu", tenet::IsaName(tenet::CpuIsa())}, {"kernels", tenet::IsaName(tenet::KernelIsa())}}},
                 {"threads", threads},
                 {"questions", questions},
                 {"samples", samples},
                 {"new_tokens", new_tokens},
                 {"slots", slots},
                 {"rounds", rounds},
                 {"tenet", tenet_fig},
                 {"gemm_ceiling",
                  {{"step_ms_at_full_batch", 1e3 * step_ceiling},
                   {"decode_tokens_per_s", static_cast<double>(slots) / step_ceiling}}}};
  report["ratio_to_ceiling"] = decode_tps / report["gemm_ceiling"]["decode_tokens_per_s"].get<double>();
  if (peer) {
    std::string pfile = tenet::JoinPath(std::filesystem::temp_directory_path().string(),
                                        "tenet-generate-prompts-" + std::to_string(::getpid()) + ".json");
    Check(tenet::WriteFileAtomic(pfile, json(prompts).dump()));
    std::string cmd = std::string("/usr/bin/python3 ") + TENET_BENCH_SOURCE_DIR + "/bench/peers/generate_peer.py --model " +
                      model + " --prompts " + pfile + " --samples " + std::to_string(samples) + " --new " +
                      std::to_string(new_tokens) + " --threads " + std::to_string(threads) + " --dtype " + tenet::DtypeName(loaded->model->dtype());
    if (auto peer_json = tenet::bench::RunPeer(cmd)) {
      report["peer"] = *peer_json;
      report["ratio_decode"] = decode_tps / report["peer"]["decode_tokens_per_s"].get<double>();
      report["ratio_prefill"] = report["tenet"]["prefill_tokens_per_s"].get<double>() /
                                report["peer"]["prefill_tokens_per_s"].get<double>();
    } else {
      report["peer"] = "failed: " + cmd;
    }
    std::filesystem::remove(pfile);
  }
  if (!llama_cmd.empty()) {
    std::vector<double> decode_ratios, prefill_ratios;
    json per_round = json::array();
    for (size_t r = 0; r < llama_runs.size(); ++r) {
      const json& lc = llama_runs[r];
      json row = {{"tenet_decode_tokens_per_s", tenet_runs[r]["decode_tokens_per_s"]},
                  {"tenet_prefill_tokens_per_s", tenet_runs[r]["prefill_tokens_per_s"]}};
      const json decode = lc.is_object() ? llama_decode(lc) : json();
      if (decode.is_number()) {
        row["llama_cpp_decode_tokens_per_s"] = decode;
        decode_ratios.push_back(tenet_runs[r]["decode_tokens_per_s"].get<double>() / decode.get<double>());
      }
      if (slots <= 1 && lc.is_object() && lc.value("pp_tok_s", json()).is_number()) {
        row["llama_cpp_prefill_tokens_per_s"] = lc["pp_tok_s"];
        prefill_ratios.push_back(tenet_runs[r]["prefill_tokens_per_s"].get<double>() / lc["pp_tok_s"].get<double>());
      }
      per_round.push_back(row);
    }
    report["llama_cpp"] = llama_runs.back();
    if (rounds > 1) report["llama_cpp_rounds"] = per_round;
    if (!decode_ratios.empty()) report["ratio_decode_to_llama_cpp"] = median(decode_ratios);
    if (!prefill_ratios.empty()) report["ratio_prefill_to_llama_cpp"] = median(prefill_ratios);
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  report["peak_rss_bytes"] = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  report["weight_bytes"] = [&] {
    int64_t b = 0;
    for (const auto& p : loaded->model->named_parameters()) b += p.value().numel() * static_cast<int64_t>(p.value().element_size());
    return b;
  }();
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  std::cout << report.dump(2) << std::endl;
  return 0;
}
