// `tenet info`: the build, the numeric runtime (threads, BLAS, malloc, CPU features) and, with --model,
// a model's architecture, sizes, dtype and memory. JSON on stdout.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tenet/cli/commands.h"
#include "tenet/model/llama.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/util/isa.h"
#include "tenet/util/runtime.h"

namespace tenet::cli {

namespace {
struct InfoArgs {
  std::string model, adapter;
  RuntimeOptions rt;
};

// Which instruction set Tenet's kernels run (tenet/util/isa.h) and the variables that cap oneDNN,
// ATen and OpenBLAS (`--isa` / TENET_ISA). LibTorch 1.13 does not export ATen's own answer.
nlohmann::json IsaJson() {
  const char* env = std::getenv("TENET_ISA");
  nlohmann::json j = {{"cpu", IsaName(CpuIsa())},
                      {"kernels", IsaName(KernelIsa())},
                      {"cap", env != nullptr ? nlohmann::json(env) : nlohmann::json(nullptr)},
                      {"libraries", LibraryCapSummary()}};
  if (env != nullptr && !ParseIsaCap(env).ok()) j["warning"] = "TENET_ISA is not a known ISA; nothing is capped";
  return j;
}

nlohmann::json RuntimeJson() {
  BlasInfo blas = DetectBlas();
  CpuFeatures cpu = DetectCpu();
  return {
      {"tenet", "0.1.0"},
      {"torch", TORCH_VERSION},
      {"cuda_available", torch::cuda::is_available()},
      {"cuda_devices", torch::cuda::is_available() ? torch::cuda::device_count() : 0},
      {"cores", std::thread::hardware_concurrency()},
      {"threads", torch::get_num_threads()},
      {"mkldnn", at::hasMKLDNN()},
      {"malloc", MallocName()},
      {"packed_weights", packed_gemm::Built()},  // frozen weights packed for oneDNN (--packed-weights)
      {"blas",
       {{"vendor", blas.vendor}, {"library", blas.library}, {"config", blas.config}, {"core", blas.core},
        {"OPENBLAS_CORETYPE", blas.coretype_env.empty() ? nlohmann::json(nullptr) : nlohmann::json(blas.coretype_env)}}},
      {"cpu",
       {{"model", cpu.model_name}, {"avx2", cpu.avx2}, {"avx512f", cpu.avx512f}, {"avx512_bf16", cpu.avx512_bf16},
        {"amx_bf16", cpu.amx_bf16}}},
      {"isa", IsaJson()},
  };
}
}  // namespace

RunFn AddInfoCommand(CLI::App& sub) {
  auto args = std::make_shared<InfoArgs>();
  sub.add_option("--model", args->model, "HF model folder to describe");
  sub.add_option("--adapter", args->adapter, "PEFT adapter folder to attach (with --model)");
  AddRuntimeFlags(sub, &args->rt);
  sub.footer(R"(Examples:
  tenet info                         # build, threads, BLAS (OpenBLAS core type), CPU features
  tenet info --model tiny/           # + architecture, parameters, dtype, weight and KV-cache memory
  tenet info --model tiny/ --dtype float32 --threads 2)");
  return [args]() {
    Status s = ApplyThreads(args->rt);
    if (!s.ok()) return Fail(s);
    nlohmann::json out = RuntimeJson();
    if (!args->model.empty()) {
      auto loaded = LoadModelForCli(args->model, args->adapter, args->rt);
      if (!loaded.ok()) return Fail(loaded.status());
      const ModelConfig& c = loaded->config;
      auto& m = *loaded->model;
      const int64_t params = m.num_base_parameters();
      const size_t elem = c10::elementSize(m.dtype());  // KV cache and activations
      const size_t weight_elem = c10::elementSize(m.weight_dtype());
      const int64_t kv_per_token = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * static_cast<int64_t>(elem);
      int64_t lora_params = 0;
      for (const auto& [_, l] : m.linears())
        if (l->has_lora()) lora_params += l->lora_a().numel() + l->lora_b().numel();
      out["model"] = {
          {"path", loaded->dir},
          {"architecture", c.architecture},
          {"layers", c.num_hidden_layers},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"attention_heads", c.num_attention_heads},
          {"kv_heads", c.num_key_value_heads},
          {"head_dim", c.head_dim},
          {"vocab_size", c.vocab_size},
          {"tie_word_embeddings", c.tie_word_embeddings},
          {"rope", {{"theta", c.rope_theta}, {"scaling", c.rope_scaling.type}, {"factor", c.rope_scaling.factor}}},
          {"max_position_embeddings", c.max_position_embeddings},
          {"parameters", params},
          {"checkpoint_dtype", DtypeName(c.dtype)},
          {"checkpoint_bytes", loaded->checkpoint_bytes},
          {"dtype", DtypeName(m.dtype())},
          {"weight_dtype", DtypeName(m.weight_dtype())},
          {"dtype_reason", loaded->dtype_reason},
          {"device", m.device().str()},
          {"weight_bytes", params * static_cast<int64_t>(weight_elem)},
          {"kv_cache_bytes_per_token", kv_per_token},
          {"eos_token_ids", loaded->eos_token_ids},
      };
      if (lora_params > 0) out["model"]["lora_parameters"] = lora_params;
    }
    s = WriteOutput("", out.dump(2) + "\n");
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
