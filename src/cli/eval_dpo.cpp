// `tenet eval dpo`: DPO metrics (TRL key names, eval_ prefix) of an adapter on preference data,
// the policy being base + adapter and the reference the base alone.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/preferences.h"
#include "tenet/train/dpo_objective.h"

namespace tenet::cli {
namespace {
using json = nlohmann::json;

struct EvalArgs {
  std::string model, adapter, data, out, tokenizer, loss = "sigmoid", truncation = "keep-end";
  double beta = 0.1, label_smoothing = 0, rpo_alpha = 0, simpo_gamma = 0.5;
  bool reference_free = false;
  int64_t batch_pairs = 8, max_length = 1024, max_prompt_length = 0;
  std::string packed_weights = "auto";
  RuntimeOptions rt;
};

Status Run(const EvalArgs& a) {
  DpoLossOptions loss;
  TENET_ASSIGN_OR_RETURN(loss.type, ParseDpoLossType(a.loss));
  loss.beta = a.beta;
  loss.label_smoothing = a.label_smoothing;
  loss.rpo_alpha = a.rpo_alpha;
  loss.reference_free = a.reference_free;
  loss.simpo_gamma = a.simpo_gamma;
  TENET_RETURN_IF_ERROR(ValidateDpoLossOptions(loss));
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? a.model : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  PreferenceOptions po;
  po.max_length = a.max_length;
  po.max_prompt_length = a.max_prompt_length;
  TENET_ASSIGN_OR_RETURN(po.truncation, ParseTruncation(a.truncation));
  PreferenceReport report;
  TENET_ASSIGN_OR_RETURN(auto pairs, LoadPreferenceFile(a.data, *encoder, po, &report));
  if (pairs.empty()) return Status::InvalidArgument(a.data, "holds no usable pairs");
  std::cerr << "tenet eval dpo: " << report.Summary() << "\n";
  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForCli(a.model, a.adapter, a.rt));
  // One packed copy (forward orientation) of the frozen weights.
  TENET_RETURN_IF_ERROR(ApplyPackedWeights("tenet eval dpo", a.packed_weights, false, *loaded.model, 1));
  TENET_ASSIGN_OR_RETURN(json m, EvaluateDpo(*loaded.model, ToTokenizedPairs(pairs), loss, a.batch_pairs));
  json out;
  for (auto& [k, v] : m.items()) out["eval_" + k] = v;
  out["pairs"] = pairs.size();
  out["data"] = report.ToJson();
  return WriteOutput(a.out, out.dump(2) + "\n");
}
}  // namespace

RunFn AddEvalDpoCommand(CLI::App& sub) {
  auto a = std::make_shared<EvalArgs>();
  sub.add_option("--model", a->model, "Base model folder")->required();
  sub.add_option("--adapter", a->adapter, "PEFT adapter folder (the policy); without it policy == reference");
  sub.add_option("--data", a->data, "Preference JSONL")->required();
  sub.add_option("--out", a->out, "Write the JSON here instead of stdout");
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  sub.add_option("--loss", a->loss, "sigmoid | hinge | ipo | robust | simpo | orpo")->capture_default_str();
  sub.add_option("--beta", a->beta, "DPO beta")->capture_default_str();
  sub.add_option("--label-smoothing", a->label_smoothing, "cDPO / robust label noise rate")->capture_default_str();
  sub.add_option("--rpo-alpha", a->rpo_alpha, "Weight of the NLL term")->capture_default_str();
  sub.add_flag("--reference-free", a->reference_free, "Reference log-probs 0");
  sub.add_option("--simpo-gamma", a->simpo_gamma, "SimPO target margin")->capture_default_str();
  sub.add_option("--batch-pairs", a->batch_pairs, "Pairs per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--max-length", a->max_length, "Prompt + completion tokens per side")->capture_default_str();
  sub.add_option("--max-prompt-length", a->max_prompt_length, "Floor for a truncated prompt");
  sub.add_option("--truncation", a->truncation, "keep-end | keep-start")->capture_default_str();
  sub.add_option("--packed-weights", a->packed_weights,
                 "auto | on | off: multiply by a copy of the frozen weights packed for oneDNN (auto: on where "
                 "the copy takes at most a quarter of the available memory)")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Output: {"eval_loss", "eval_rewards/chosen", "eval_rewards/rejected", "eval_rewards/accuracies",
         "eval_rewards/margins", "eval_logps/chosen", "eval_logps/rejected", "eval_logits/chosen", "eval_logits/rejected", ...}

Example:
  tenet eval dpo --model base/ --adapter runs/dpo1/adapter --data prefs/test.jsonl --beta 0.1 --loss sigmoid)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
