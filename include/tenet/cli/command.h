// The CLI's building blocks: the command table entry, shared runtime flags, error printing.
//
// Each command lives in src/cli/<command>.cpp and exposes one `Add<Name>Command` function that
// declares its flags on a CLI11 sub-app and returns the function that runs it. main.cpp holds the
// table. Conventions (STYLE.md): `--help` with examples, progress on stderr, machine-readable
// output on stdout or `--out`, exit 0 on success, 1 on a runtime error (one line "tenet: error:
// ..." on stderr), 2 on a usage error.
#pragma once

#include <functional>
#include <string>

#include "tenet/generate/sampler.h"
#include "tenet/model/loader.h"
#include "tenet/util/status.h"

namespace CLI {
class App;
}

namespace tenet::cli {

using RunFn = std::function<int()>;
// Declares a command's flags on `sub` and returns the function that runs it after parsing.
using AddFn = RunFn (*)(CLI::App& sub);

struct CommandSpec {
  const char* path;     // words after `tenet`, e.g. "model init"
  const char* summary;  // one line for `tenet --help`
  AddFn add;
};

// Parses argv against `table` and runs the selected command. Returns the process exit code.
int Dispatch(int argc, char** argv, const CommandSpec* table, size_t n);

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Prints "tenet: error: <message>" to stderr and returns kExitError (kExitUsage for
// InvalidArgument raised while validating flags, when `usage` is set).
int Fail(const Status& s, bool usage = false);

// Flags shared by every command that runs a model: --threads, --device, --dtype.
struct RuntimeOptions {
  int threads = 0;             // 0: all cores of this machine
  std::string device = "auto"; // auto|cpu|cuda; auto = cuda when available
  std::string dtype;           // ""(the compute-dtype policy's, tenet/model/compute_dtype.h)|float32|bfloat16
  // Set by commands, not flags: generation prefers bf16 where it is native; training keeps an
  // fp32 copy of a bf16 checkpoint's weights where it fits (full fine-tuning always: it trains them).
  bool prefer_bf16 = false;
  WeightStorage weights = WeightStorage::kNarrow;
};
void AddRuntimeFlags(CLI::App& app, RuntimeOptions* opts, bool with_dtype = true);
// The sampling flags every generating command takes: --temperature, --top-k, --top-p, --min-p,
// --repetition-penalty (defaults: what `params` holds). --seed and the OpenAI penalties are the
// commands' own (their meanings differ).
void AddSamplingFlags(CLI::App& app, SamplingParams* params);
// Sets LibTorch's intra-op threads (Debian's build starts with 1). InvalidArgument on bad values.
Status ApplyThreads(const RuntimeOptions& opts);

// Writes `text` to `path` atomically, or to stdout when path is empty or "-".
Status WriteOutput(const std::string& path, const std::string& text);

}  // namespace tenet::cli

#include <optional>
#include <vector>

#include "tenet/model/loader.h"

namespace tenet::cli {

// What every model-running command does first: applies --threads, warns on stderr when the
// reference BLAS is loaded, resolves --device and --dtype, loads the model folder and (if
// `adapter_dir` is not empty) attaches the PEFT adapter.
Result<LoadedModel> LoadModelForCli(const std::string& model_dir, const std::string& adapter_dir,
                                    const RuntimeOptions& opts);

// Applies --packed-weights (tenet/model/packed_gemm.h) for a loaded model whose products will use
// `copies` packed copies of its weights (2 for training, 1 for evaluation); says on stderr, after
// `who`, why auto left them off.
Status ApplyPackedWeights(const std::string& who, const std::string& mode, bool gradient_checkpointing,
                          const LlamaForCausalLM& model, int copies);

// For generation: bf16 weights unless --dtype says otherwise, where bf16 math is native
// (AVX512-BF16 / AMX CPUs, CUDA). Decoding reads every weight once per step, so half the bytes is
// nearly twice the speed.
Result<RuntimeOptions> PreferBf16ForGeneration(RuntimeOptions opts);


}  // namespace tenet::cli
