// `tenet merge`: base + LoRA adapter -> a plain HF model folder (tenet/train/merge.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "tenet/cli/commands.h"
#include "tenet/io/model_config.h"
#include "tenet/train/merge.h"

namespace tenet::cli {

RunFn AddMergeCommand(CLI::App& sub) {
  struct Args {
    std::string model, adapter, out, dtype;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--model", a->model, "Base model folder")->required();
  sub.add_option("--adapter", a->adapter, "PEFT adapter folder")->required();
  sub.add_option("--out", a->out, "New folder for the merged model (must not exist or be empty)")->required();
  sub.add_option("--dtype", a->dtype, "Store weights as float32|bfloat16|float16 (default: as the base)");
  sub.footer(R"(Writes W + scale * B A for every adapted layer (computed in fp64), copies config.json,
generation_config.json and the tokenizer files. The input folders are only read.

Example:
  tenet merge --model base/ --adapter runs/dpo1/adapter --out merged/)");
  return [a]() {
    std::optional<torch::ScalarType> dtype;
    if (!a->dtype.empty()) {
      auto d = ParseDtypeName(a->dtype);
      if (!d.ok()) return Fail(d.status(), /*usage=*/true);
      dtype = *d;
    }
    Status s = MergeToFolder(a->model, a->adapter, a->out, dtype);
    if (!s.ok()) return Fail(s);
    std::cerr << "tenet merge: wrote " << a->out << "\n";
    return kExitOk;
  };
}

}  // namespace tenet::cli
