// `tenet train dpo` and `tenet train sft`: train a LoRA adapter (DPO on TRL preference JSONL, or
// SFT on prompt/completion or conversation JSONL) with the shared trainer (tenet/train/trainer.h)
// and write a run folder. `--resume DIR` continues a run from its latest checkpoint with the
// options it was started with.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/preferences.h"
#include "tenet/data/sft_data.h"
#include "tenet/model/adapter.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/train/dpo_objective.h"
#include "tenet/train/lora.h"
#include "tenet/train/sft_objective.h"
#include "tenet/train/trainer.h"
#include "tenet/util/file.h"

namespace tenet::cli {
namespace {
using json = nlohmann::json;

struct TrainArgs {
  std::string kind = "dpo";  // dpo | sft
  std::string model, data, out, adapter, tokenizer, loss = "sigmoid", targets = "all-linear", truncation = "keep-end";
  std::string schedule = "linear", resume;
  int64_t lora_r = 16, epochs = 1, max_steps = 0, batch_pairs = 8, grad_accum = 1, max_length = 1024, max_prompt_length = 0;
  int64_t warmup_steps = 0, save_every = 0, eval_every = 0, save_total_limit = 0;
  double lora_alpha = 32, lora_dropout = 0.05, beta = 0.1, label_smoothing = 0, rpo_alpha = 0, lr = 5e-6, simpo_gamma = 0.5;
  double warmup_ratio = 0, max_grad_norm = 1.0, weight_decay = 0, test_fraction = 0;
  uint64_t seed = 42, split_seed = 0;
  bool rslora = false, reference_free = false, precompute_ref = false, gradient_checkpointing = false, full = false;
  std::string packed_weights = "auto";
  RuntimeOptions rt;
  // Keys missing from an older run's config.json take their defaults.
  NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(TrainArgs, kind, model, data, out, adapter, tokenizer, loss, targets, truncation, schedule,
                                 lora_r, epochs, max_steps, batch_pairs, grad_accum, max_length, max_prompt_length,
                                 warmup_steps, save_every, eval_every, save_total_limit, lora_alpha, lora_dropout, beta, label_smoothing,
                                 rpo_alpha, lr, simpo_gamma, warmup_ratio, max_grad_norm, weight_decay, test_fraction, seed, split_seed,
                                 rslora, reference_free, precompute_ref, gradient_checkpointing, full, packed_weights)
};

std::string Duration(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s);
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", t / 3600, t / 60 % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", t / 60, t % 60);
  }
  return buf;
}

// Flag-level validation; errors here are usage errors (exit 2).
struct Resolved {
  TrainOptions train;
  DpoObjectiveOptions dpo;
};

Result<Resolved> ResolveOptions(const TrainArgs& a) {
  Resolved r;
  TENET_ASSIGN_OR_RETURN(r.dpo.loss.type, ParseDpoLossType(a.loss));
  r.dpo.loss.beta = a.beta;
  r.dpo.loss.label_smoothing = a.label_smoothing;
  r.dpo.loss.rpo_alpha = a.rpo_alpha;
  r.dpo.loss.reference_free = a.reference_free;
  r.dpo.loss.simpo_gamma = a.simpo_gamma;
  r.dpo.precompute_ref = a.precompute_ref;
  TENET_RETURN_IF_ERROR(packed_gemm::WantPacked(a.packed_weights, a.gradient_checkpointing).status());  // a usage error before loading
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(r.dpo.loss));
  TrainOptions& o = r.train;
  o.learning_rate = a.lr;
  o.epochs = a.epochs;
  o.max_steps = a.max_steps;
  o.batch_size = a.batch_pairs;
  o.grad_accum = a.grad_accum;
  o.schedule = a.schedule;
  o.warmup_ratio = a.warmup_ratio;
  o.warmup_steps = a.warmup_steps;
  o.max_grad_norm = a.max_grad_norm;
  o.weight_decay = a.weight_decay;
  o.seed = a.seed;
  o.save_every = a.save_every;
  o.eval_every = a.eval_every;
  o.save_total_limit = a.save_total_limit;
  TENET_RETURN_IF_ERROR(ValidateTrainOptions(o));
  TENET_RETURN_IF_ERROR(ParseLoraTargets(a.targets).status());
  TENET_RETURN_IF_ERROR(ParseTruncation(a.truncation).status());
  if (!(a.test_fraction >= 0 && a.test_fraction < 1)) return Status::InvalidArgument("--test-fraction", "must be in [0, 1)");
  if (a.max_length < 2) return Status::InvalidArgument("--max-length", "must be >= 2");
  if (a.lora_r < 1) return Status::InvalidArgument("--lora-r", "must be >= 1");
  if (a.full && !a.adapter.empty()) {
    return Status::InvalidArgument("--full", "trains every weight of the model and cannot continue an --adapter (tenet merge it first)");
  }
  return r;
}

json GivenJson(const TrainArgs& a) {
  json j = a;
  j["dtype"] = a.rt.dtype;
  j["device"] = a.rt.device;
  j["threads"] = a.rt.threads;
  return j;
}

// Reads the options a run was started with (for --resume).
Status LoadGivenArgs(TrainArgs* a) {
  const std::string dir = a->resume;
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/config.json"));
  json config = json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.contains("given")) return Status::Corruption(dir + "/config.json", "not a run config");
  const RuntimeOptions rt = a->rt;
  try {
    *a = config["given"].get<TrainArgs>();
  } catch (const std::exception& e) {
    return Status::Corruption(dir + "/config.json", e.what());
  }
  // The run keeps its dtype and device unless this command line says otherwise (threads are
  // this machine's business).
  a->rt = rt;
  if (a->rt.dtype.empty()) a->rt.dtype = config["given"].value("dtype", "");
  if (a->rt.device == "auto") a->rt.device = config["given"].value("device", "auto");
  a->out = dir;
  a->resume = dir;
  return Status::OK();
}

// The LoRA adapter to train: the given --adapter as it is configured, or a fresh one from the flags.
Result<std::unique_ptr<Trainable>> MakeLora(const TrainArgs& a, const std::vector<std::string>& targets, LlamaForCausalLM& model) {
  LoraConfig lora;
  if (!a.adapter.empty()) {
    TENET_ASSIGN_OR_RETURN(LoraAdapter existing, LoadPeftAdapter(a.adapter));
    lora = existing.config;  // the model was loaded with it attached
  } else {
    lora.r = a.lora_r;
    lora.lora_alpha = a.lora_alpha;
    lora.lora_dropout = a.lora_dropout;
    lora.use_rslora = a.rslora;
    lora.target_modules = targets;
    lora.base_model_name_or_path = a.model;
    TENET_ASSIGN_OR_RETURN(LoraAdapter fresh, NewLoraAdapter(model, lora, a.seed));
    TENET_RETURN_IF_ERROR(AttachAdapter(model, fresh));
  }
  return MakeLoraTrainable(model, lora);
}

Status Run(TrainArgs a, const Resolved& o) {
  const bool resume = !a.resume.empty();
  TENET_ASSIGN_OR_RETURN(std::vector<std::string> targets, ParseLoraTargets(a.targets));

  // Data first: a bad line fails before the model loads.
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? a.model : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  const std::string who = "tenet train " + a.kind;
  std::unique_ptr<Objective> objective;
  json data_report;
  if (a.kind == "dpo") {
    PreferenceOptions po;
    po.max_length = a.max_length;
    po.max_prompt_length = a.max_prompt_length;
    TENET_ASSIGN_OR_RETURN(po.truncation, ParseTruncation(a.truncation));
    TENET_ASSIGN_OR_RETURN(PreferenceSplit split, LoadPreferences(a.data, *encoder, po, a.test_fraction, a.split_seed));
    std::cerr << who << ": " << split.report.Summary() << "; " << split.train.size() << " train / " << split.test.size()
              << " test pairs\n";
    data_report = split.report.ToJson();
    objective = MakeDpoObjective(ToTokenizedPairs(split.train), ToTokenizedPairs(split.test), o.dpo);
  } else {
    TENET_ASSIGN_OR_RETURN(SftSplit split, LoadSft(a.data, *encoder, a.max_length, a.test_fraction, a.split_seed));
    std::cerr << who << ": " << split.report.Summary() << "; " << split.train.size() << " train / " << split.test.size()
              << " test examples\n";
    data_report = split.report.ToJson();
    objective = MakeSftObjective(std::move(split.train), std::move(split.test));
  }

  RuntimeOptions rt = a.rt;
  // Full fine-tuning trains the stored weights themselves; LoRA's frozen products run faster on a
  // copy in the compute dtype where one fits (tenet/model/loader.h).
  rt.weights = a.full ? WeightStorage::kCompute : WeightStorage::kComputeIfFits;
  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForCli(a.model, a.adapter, rt));
  loaded.model->SetGradientCheckpointing(a.gradient_checkpointing);
  // Up to two packed copies (forward and backward orientation) of the frozen weights.
  TENET_RETURN_IF_ERROR(ApplyPackedWeights(who, a.packed_weights, a.gradient_checkpointing, *loaded.model, 2));
  std::unique_ptr<Trainable> trainable;
  if (a.full) {
    TENET_ASSIGN_OR_RETURN(trainable, MakeFullTrainable(*loaded.model, a.model));
  } else {
    TENET_ASSIGN_OR_RETURN(trainable, MakeLora(a, targets, *loaded.model));
  }
  TENET_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(*loaded.model, std::move(trainable), std::move(objective), o.train, a.out, GivenJson(a), resume));
  if (!resume) TENET_RETURN_IF_ERROR(WriteFileAtomic(a.out + "/data_report.json", data_report.dump(2) + "\n"));
  if (resume) std::cerr << who << ": resuming " << a.out << " at step " << trainer->steps_done() << "\n";
  const bool dpo = a.kind == "dpo";
  Status s = trainer->Train([&](const TrainProgress& p) {
    const json& m = p.metrics;
    std::fprintf(stderr, "\r%s: step %lld/%lld  epoch %.2f  loss %.4f", who.c_str(), static_cast<long long>(p.step),
                 static_cast<long long>(p.total_steps), p.epoch, m["loss"].get<double>());
    if (dpo) {
      std::fprintf(stderr, "  acc %.2f  margin %.4f  %.2f pairs/s", m["rewards/accuracies"].get<double>(),
                   m["rewards/margins"].get<double>(), p.examples_per_second);
    } else {
      std::fprintf(stderr, "  token acc %.3f  %.2f examples/s", m["mean_token_accuracy"].get<double>(), p.examples_per_second);
    }
    std::fprintf(stderr, "  ETA %s   ", Duration(p.eta_seconds).c_str());
  });
  std::cerr << "\n";
  TENET_RETURN_IF_ERROR(s);
  const std::string artifact = a.full ? "model" : "adapter";
  std::cout << json{{"run", a.out}, {artifact, a.out + "/" + artifact}, {"steps", trainer->steps_done()}}.dump() << "\n";
  return Status::OK();
}
}  // namespace

namespace {

// Flags both commands share; `a->kind` decides the data help and the defaults shown.
void AddCommonFlags(CLI::App& sub, TrainArgs* a) {
  const bool dpo = a->kind == "dpo";
  sub.add_option("--model", a->model, "Base model folder (HF)");
  sub.add_option("--data", a->data, dpo ? "Preference JSONL file, or a folder with train.jsonl [+ test.jsonl]"
                                         : "SFT JSONL file, or a folder with train.jsonl [+ test.jsonl]");
  sub.add_option("--out", a->out, "Run folder to create");
  sub.add_option("--resume", a->resume, "Continue the run in this folder from its latest checkpoint");
  sub.add_option("--adapter", a->adapter, "Start from this PEFT adapter instead of a fresh one");
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  sub.add_option("--lora-r", a->lora_r, "LoRA rank")->capture_default_str();
  sub.add_option("--lora-alpha", a->lora_alpha, "LoRA alpha (scale alpha/r)")->capture_default_str();
  sub.add_option("--lora-dropout", a->lora_dropout, "Dropout on the LoRA input")->capture_default_str();
  sub.add_flag("--rslora", a->rslora, "Scale alpha/sqrt(r) (rsLoRA)");
  sub.add_option("--lora-targets", a->targets, "Comma-separated modules, or all-linear")->capture_default_str();
  sub.add_option("--lr", a->lr, "Peak learning rate")->capture_default_str();
  sub.add_option("--epochs", a->epochs, "Passes over the training data")->capture_default_str();
  sub.add_option("--max-steps", a->max_steps, "Stop after this many optimizer steps (overrides --epochs)");
  sub.add_option(dpo ? "--batch-pairs" : "--batch-size", a->batch_pairs, dpo ? "Pairs per micro-batch" : "Examples per micro-batch")
      ->capture_default_str();
  sub.add_option("--grad-accum", a->grad_accum, "Micro-batches per optimizer step")->capture_default_str();
  sub.add_option("--max-length", a->max_length, dpo ? "Prompt + completion tokens per side" : "Tokens per example (cut at the end)")
      ->capture_default_str();
  sub.add_option("--test-fraction", a->test_fraction, "Hold out this fraction of prompts (single-file data)")->capture_default_str();
  sub.add_option("--split-seed", a->split_seed, "Seed of the train/test split")->capture_default_str();
  sub.add_option("--schedule", a->schedule, "linear | cosine | constant")->capture_default_str();
  sub.add_option("--warmup-ratio", a->warmup_ratio, "Warmup as a fraction of the steps")->capture_default_str();
  sub.add_option("--warmup-steps", a->warmup_steps, "Warmup steps (overrides --warmup-ratio)");
  sub.add_option("--max-grad-norm", a->max_grad_norm, "Clip the global gradient norm; 0 = off")->capture_default_str();
  sub.add_option("--weight-decay", a->weight_decay, "AdamW weight decay")->capture_default_str();
  sub.add_option("--seed", a->seed, "Seed for LoRA init, data order and dropout")->capture_default_str();
  sub.add_flag("--gradient-checkpointing", a->gradient_checkpointing,
               "Recompute layer activations in the backward pass: less memory on long sequences, ~1 more forward");
  sub.add_option("--packed-weights", a->packed_weights,
                 "auto | on | off: multiply by copies of the frozen weights packed for oneDNN (6-27% faster "
                 "steps for up to two extra copies of them); auto: on unless --gradient-checkpointing or the "
                 "copies would take over a quarter of the available memory")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  sub.add_option("--save-every", a->save_every, "Checkpoint every N steps (default: each epoch)");
  sub.add_option("--save-total-limit", a->save_total_limit, "Keep only the newest N checkpoints (default: all)");
  sub.add_option("--eval-every", a->eval_every, "Evaluate on the test data every N steps (default: each epoch)");
  AddRuntimeFlags(sub, &a->rt);
}

RunFn Runner(std::shared_ptr<TrainArgs> a) {
  return [a]() {
    TrainArgs args = *a;
    const std::string kind = args.kind;
    if (!args.resume.empty()) {
      Status s = LoadGivenArgs(&args);
      if (!s.ok()) return Fail(s);
      if (args.kind != kind) {
        return Fail(Status::InvalidArgument(args.out, "holds a " + args.kind + " run; resume it with tenet train " + args.kind));
      }
    } else if (args.model.empty() || args.data.empty() || args.out.empty()) {
      return Fail(Status::InvalidArgument("tenet train " + kind, "needs --model, --data and --out (or --resume RUN_DIR)"), true);
    }
    auto o = ResolveOptions(args);
    if (!o.ok()) return Fail(o.status(), /*usage=*/true);
    Status s = Run(args, *o);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace

RunFn AddTrainDpoCommand(CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  a->kind = "dpo";
  AddCommonFlags(sub, a.get());
  sub.add_option("--loss", a->loss, "sigmoid | hinge | ipo | robust | simpo | orpo")->capture_default_str();
  sub.add_option("--beta", a->beta, "DPO beta")->capture_default_str();
  sub.add_option("--label-smoothing", a->label_smoothing, "cDPO / robust label noise rate")->capture_default_str();
  sub.add_option("--rpo-alpha", a->rpo_alpha, "Weight of the NLL on chosen completions (RPO); 0 = off")->capture_default_str();
  sub.add_flag("--reference-free", a->reference_free, "Compare against a uniform reference (log-probs 0)");
  sub.add_option("--simpo-gamma", a->simpo_gamma, "SimPO target margin")->capture_default_str();
  sub.add_flag("--precompute-ref", a->precompute_ref, "Compute reference log-probs once, cache them in the run folder");
  sub.add_option("--max-prompt-length", a->max_prompt_length, "Floor for a truncated prompt (default max-length/2)");
  sub.add_option("--truncation", a->truncation, "keep-end | keep-start (which part of a long prompt stays)")->capture_default_str();
  sub.footer(R"(Data: TRL preference JSONL, one record per line:
  {"prompt": "...", "chosen": "...", "rejected": "..."}
  {"prompt": [{"role": "user", "content": "..."}], "chosen": [{"role": "assistant", "content": "..."}], "rejected": [...]}
Writes OUT/config.json, data_report.json, metrics.jsonl (TRL key names), checkpoints/, adapter/ (PEFT), summary.json.

Examples:
  tenet train dpo --model base/ --data prefs/ --out runs/dpo1 --lora-r 16 --lora-alpha 32 --beta 0.1 --lr 5e-6 --epochs 3
  tenet train dpo --resume runs/dpo1)");
  return Runner(a);
}

RunFn AddTrainSftCommand(CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  a->kind = "sft";
  a->lr = 2e-4;  // LoRA SFT's usual rate (PEFT/TRL examples); DPO's default is much lower
  AddCommonFlags(sub, a.get());
  sub.add_flag("--full", a->full,
               "Train every weight instead of a LoRA adapter (fp32 master weights on a bf16 model); writes OUT/model/, "
               "an HF folder; --lr defaults to 2e-5");
  sub.footer(R"(Data: JSONL, one record per line; the loss covers completion (assistant) tokens only:
  {"prompt": "...", "completion": "..."}
  {"messages": [{"role": "system", ...}, {"role": "user", ...}, {"role": "assistant", ...}, ...]}
Writes OUT/config.json, data_report.json, metrics.jsonl (loss, mean_token_accuracy, num_tokens, ...), checkpoints/,
adapter/ (PEFT) or with --full model/ (HF folder), summary.json.

Examples:
  tenet train sft --model base/ --data sft.jsonl --out runs/sft1 --lora-r 16 --epochs 2
  tenet train sft --model base/ --data sft.jsonl --out runs/sft2 --full --lr 2e-5
  tenet train sft --resume runs/sft1)");
  // Full fine-tuning's usual rate (TRL's SFTConfig default) unless --lr was given.
  CLI::Option* lr = sub.get_option("--lr");
  return [a, lr, run = Runner(a)]() {
    if (a->full && lr->count() == 0) a->lr = 2e-5;
    return run();
  };
}

}  // namespace tenet::cli
