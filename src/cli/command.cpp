// Dispatch and shared CLI helpers. See tenet/cli/command.h.
#include "tenet/cli/command.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "tenet/util/file.h"
#include "tenet/util/isa.h"
#include "tenet/util/runtime.h"

namespace tenet::cli {

int Fail(const Status& s, bool usage) {
  std::cerr << "tenet: error: " << s.message() << "\n";
  return usage && s.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitError;
}

int Dispatch(int argc, char** argv, const CommandSpec* table, size_t n) {
  TuneAllocator();
  CLI::App app{"Tenet: align Llama-family chat models with human preferences (DPO + LoRA).", "tenet"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tenet 0.1.0");
  // One switch for measuring an AVX2-only machine on a newer one (tenet/util/isa.h). Allowed after
  // the command's name too (fallthrough).
  std::string isa;
  app.add_option("--isa", isa,
                 "Cap the instruction set of Tenet's kernels, oneDNN, ATen and OpenBLAS: native, avx512_bf16, "
                 "avx512, avx2, baseline (same as TENET_ISA=...)")
      ->envname("TENET_ISA");
  app.fallthrough();
  std::vector<std::pair<CLI::App*, RunFn>> runners;
  for (size_t i = 0; i < n; ++i) {
    std::istringstream words(table[i].path);
    std::vector<std::string> parts;
    for (std::string w; words >> w;) parts.push_back(w);
    CLI::App* parent = &app;
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      CLI::App* group = nullptr;
      for (CLI::App* sub : parent->get_subcommands({})) {
        if (sub->get_name() == parts[k]) group = sub;
      }
      if (group == nullptr) {
        group = parent->add_subcommand(parts[k], "Commands: tenet " + parts[k] + " <command>");
        group->require_subcommand(1);
      }
      parent = group;
    }
    CLI::App* sub = parent->add_subcommand(parts.back(), table[i].summary);
    runners.emplace_back(sub, table[i].add(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tenet: error: " << e.what() << " (see --help)\n";
    return kExitUsage;
  }
  if (!isa.empty()) {
    Status s = ReexecUnderIsaCap(isa, argv);  // returns only when already capped, or on error
    if (!s.ok()) return Fail(s, /*usage=*/true);
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) {
      try {
        return run();
      } catch (const std::exception& e) {
        // Only programmer errors and unforeseen library failures reach here.
        std::cerr << "tenet: error: internal: " << e.what() << "\n";
        return kExitError;
      }
    }
  }
  std::cerr << "tenet: error: no command given (see --help)\n";
  return kExitUsage;
}

void AddSamplingFlags(CLI::App& app, SamplingParams* p) {
  app.add_option("--temperature", p->temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-k", p->top_k, "0 = off")->capture_default_str();
  app.add_option("--top-p", p->top_p, "1 = off")->capture_default_str();
  app.add_option("--min-p", p->min_p, "0 = off")->capture_default_str();
  app.add_option("--repetition-penalty", p->repetition_penalty, "1 = off (CTRL / HF semantics)")->capture_default_str();
}

void AddRuntimeFlags(CLI::App& app, RuntimeOptions* opts, bool with_dtype) {
  app.add_option("--threads", opts->threads, "Intra-op threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--device", opts->device, "cpu, cuda or auto (cuda when available)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  if (with_dtype) {
    app.add_option("--dtype", opts->dtype, "float32 or bfloat16 (default: the checkpoint's)")
        ->check(CLI::IsMember({"float32", "bfloat16"}));
  }
}

Status ApplyThreads(const RuntimeOptions& opts) {
  int n = opts.threads > 0 ? opts.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  torch::set_num_threads(n);
  return Status::OK();
}

Status WriteOutput(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? Status::OK() : Status::IOError("stdout", "write failed");
  }
  return WriteFileAtomic(path, text);
}

}  // namespace tenet::cli
