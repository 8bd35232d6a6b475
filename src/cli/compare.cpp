// `tenet compare`: before/after answers on held-out questions, scored with implicit DPO rewards,
// written as comparison.jsonl + summary.json + report.html (tenet/eval/comparison.h, report.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/jsonl.h"
#include "tenet/data/questions.h"
#include "tenet/eval/comparison.h"
#include "tenet/eval/report.h"
#include "tenet/generate/stops.h"
#include "tenet/io/peft_adapter.h"
#include "tenet/model/adapter.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {
using json = nlohmann::json;

struct CompareArgs {
  std::string model, before, run, questions, system, out, tokenizer, labels, job;
  std::vector<std::string> adapters, afters;  // [NAME=]DIR
  std::vector<std::string> stop;
  int32_t samples = 1, max_new_tokens = 256, slots = 16;
  double beta = -1;  // < 0: the run's, else 0.1
  SamplingParams sampling;
  RuntimeOptions rt;
};

// "[NAME=]DIR" -> (name, dir); the default name is `fallback`.
std::pair<std::string, std::string> NamedDir(const std::string& spec, const std::string& fallback) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || spec.find('/') < eq) return {fallback, spec};
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::string AfterName(size_t i, size_t n) { return n == 1 ? "after" : "after" + std::to_string(i + 1); }

Result<json> ReadJsonFile(const std::string& path) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path, "is not a JSON object");
  return j;
}

// The human verdict of pairwise job `job` in `labels_db`, in the report's terms; its systems must
// be among the comparison's.
Result<json> HumanVerdict(const std::string& labels_db, const std::string& job, const json& summary) {
  TENET_ASSIGN_OR_RETURN(auto db, OpenExistingLabelDb(labels_db));
  Result<label::PairwiseJobVotes> votes = label::LoadPairwiseVotes(*db, job);
  if (!votes.ok()) return Status::InvalidArgument(labels_db, votes.status().message());
  std::vector<std::string> known;
  for (const json& s : summary.value("systems", json::array())) known.push_back(s.value("name", ""));
  for (const std::string& s : votes->systems) {
    if (std::find(known.begin(), known.end(), s) == known.end()) {
      return Status::InvalidArgument("--job " + job, "compares system '" + s + "', which this comparison does not have");
    }
  }
  TENET_ASSIGN_OR_RETURN(json r, eval::SummarizePairwise(votes->systems, label::ToEvalVotes(*votes)));
  const std::string before = votes->systems[0], after = votes->systems[1];
  return json{{"job", job},
              {"systems", votes->systems},
              {"wins", {{after, r["wins"][after]}}},
              {"losses", {{after, r["wins"][before]}}},
              {"ties", r["ties"]},
              {"both_bad", r["both_bad"]},
              {"win_rate", r["win_rate"]["estimate"]},
              {"low", r["win_rate"]["low"]},
              {"high", r["win_rate"]["high"]},
              {"p_value", r["p_value"]},
              {"votes", r["votes"]},
              {"by_question", r["by_question"]},
              {"position_bias", r["position_bias"]}};
}

std::vector<json> RunMetrics(const json& summary) {
  std::vector<json> metrics;
  if (!summary.contains("run") || !summary["run"].is_string()) return metrics;
  const std::string path = JoinPath(summary["run"].get<std::string>(), "metrics.jsonl");
  if (!FileExists(path)) return metrics;
  Status s = ForEachJsonlObject(path, [&](const json& r, const std::string&, int64_t) {
    metrics.push_back(r);
    return Status::OK();
  });
  if (!s.ok()) metrics.clear();
  return metrics;
}

// --labels/--job without models: the report of an existing comparison gains the human verdict.
Status AddVerdict(const CompareArgs& a) {
  const std::string jsonl = JoinPath(a.out, "comparison.jsonl"), summary_path = JoinPath(a.out, "summary.json");
  TENET_ASSIGN_OR_RETURN(json summary, ReadJsonFile(summary_path));
  std::vector<json> questions;
  TENET_RETURN_IF_ERROR(ForEachJsonlObject(jsonl, [&](const json& r, const std::string&, int64_t) {
    questions.push_back(r);
    return Status::OK();
  }));
  TENET_ASSIGN_OR_RETURN(summary["human"], HumanVerdict(a.labels, a.job, summary));
  TENET_RETURN_IF_ERROR(WriteFileAtomic(summary_path, summary.dump(2, ' ', false, json::error_handler_t::replace) + "\n"));
  const std::string report = JoinPath(a.out, "report.html");
  TENET_RETURN_IF_ERROR(WriteFileAtomic(report, eval::RenderComparisonReport(summary, questions, RunMetrics(summary))));
  std::cout << json{{"human", summary["human"]}, {"report", report}}.dump(2) << "\n";
  return Status::OK();
}

Status Run(CompareArgs a) {
  if (a.labels.empty() != a.job.empty()) return Status::InvalidArgument("--labels", "goes with --job (a pairwise job)");
  if (!a.labels.empty() && a.model.empty() && a.before.empty()) return AddVerdict(a);
  // What is compared: base vs base+adapter(s), or model folders.
  const bool adapter_form = !a.model.empty();
  if (a.questions.empty()) return Status::InvalidArgument("--questions", "is required (held-out questions)");
  if (adapter_form == !a.before.empty()) {
    return Status::InvalidArgument("tenet compare", "give --model (with --adapter or --run) or --before with --after");
  }
  if (adapter_form && !a.afters.empty()) return Status::InvalidArgument("--after", "goes with --before, not with --model");
  if (!adapter_form && !a.adapters.empty()) return Status::InvalidArgument("--adapter", "goes with --model, not with --before");
  json run_config;
  std::vector<json> metrics;
  if (!a.run.empty()) {
    if (!IsDirectory(a.run)) return Status::NotFound(a.run, "no such run folder");
    TENET_ASSIGN_OR_RETURN(run_config, ReadJsonFile(JoinPath(a.run, "config.json")));
    const std::string mpath = JoinPath(a.run, "metrics.jsonl");
    if (FileExists(mpath)) {
      TENET_RETURN_IF_ERROR(ForEachJsonlObject(mpath, [&](const json& r, const std::string&, int64_t) {
        metrics.push_back(r);
        return Status::OK();
      }));
    }
    if (adapter_form && a.adapters.empty()) a.adapters.push_back(JoinPath(a.run, "adapter"));
  }
  if (adapter_form && a.adapters.empty()) return Status::InvalidArgument("--model", "needs --adapter or --run (what to compare it with)");
  if (!adapter_form && a.afters.empty()) return Status::InvalidArgument("--before", "needs --after");
  double beta = a.beta;
  if (beta < 0) {
    const json& resolved = run_config.is_object() && run_config.contains("resolved") ? run_config["resolved"] : json();
    beta = resolved.is_object() && resolved.contains("beta") && resolved["beta"].is_number() ? resolved["beta"].get<double>() : 0.1;
  }

  std::string system;
  if (!a.system.empty()) {
    TENET_ASSIGN_OR_RETURN(system, ReadSystemFile(a.system));
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Question> questions, LoadQuestions(a.questions, system));
  const std::string first = adapter_form ? a.model : a.before;
  if (!IsDirectory(first)) return Status::NotFound(first, "no such model folder");
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? first : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  TENET_RETURN_IF_ERROR(MakeDirs(a.out));

  TENET_ASSIGN_OR_RETURN(RuntimeOptions rt, PreferBf16ForGeneration(a.rt));
  std::vector<LoadedModel> models;  // kept alive for the systems
  models.reserve(1 + a.afters.size());
  std::vector<eval::ComparedSystem> systems;
  TENET_ASSIGN_OR_RETURN(LoadedModel base, LoadModelForCli(first, "", rt));
  models.push_back(std::move(base));
  systems.push_back({"before", models[0].model.get(), nullptr, {{"model", first}, {"adapter", nullptr}}});
  if (adapter_form) {
    for (size_t i = 0; i < a.adapters.size(); ++i) {
      auto [name, dir] = NamedDir(a.adapters[i], AfterName(i, a.adapters.size()));
      TENET_ASSIGN_OR_RETURN(LoraAdapter adapter, LoadPeftAdapter(dir));
      TENET_ASSIGN_OR_RETURN(auto served, MakeServedAdapter(*models[0].model, adapter, name));
      systems.push_back({name, models[0].model.get(), served, {{"model", first}, {"adapter", dir}}});
    }
  } else {
    for (size_t i = 0; i < a.afters.size(); ++i) {
      auto [name, dir] = NamedDir(a.afters[i], AfterName(i, a.afters.size()));
      TENET_ASSIGN_OR_RETURN(LoadedModel m, LoadModelForCli(dir, "", rt));
      if (m.config.vocab_size != models[0].config.vocab_size) {
        return Status::InvalidArgument(dir, "has a vocabulary of " + std::to_string(m.config.vocab_size) + " tokens, " + first +
                                                " of " + std::to_string(models[0].config.vocab_size) +
                                                ": the systems must share a tokenizer");
      }
      models.push_back(std::move(m));
      systems.push_back({name, models.back().model.get(), nullptr, {{"model", dir}, {"adapter", nullptr}}});
    }
  }

  eval::CompareOptions o;
  o.samples = a.samples;
  o.max_new_tokens = a.max_new_tokens;
  o.sampling = a.sampling;
  o.stop = a.stop;
  o.stop_ids = ChatStopIds(models[0].eos_token_ids, encoder->end_of_turn_id());
  o.beta = beta;
  o.slots = std::max(a.slots, a.samples);
  o.progress = [](const std::string& line) { std::cerr << "\rtenet compare: " << line << "   " << std::flush; };
  std::cerr << "tenet compare: " << questions.size() << " questions x " << a.samples << " samples x " << systems.size()
            << " systems\n";
  TENET_ASSIGN_OR_RETURN(eval::Comparison c, eval::RunComparison(systems, questions, *encoder, o));
  std::cerr << "\n";
  if (!a.run.empty()) c.summary["run"] = a.run;
  if (!a.labels.empty()) {
    TENET_ASSIGN_OR_RETURN(c.summary["human"], HumanVerdict(a.labels, a.job, c.summary));
  }

  std::string lines;
  for (const json& q : c.questions) lines += q.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  const std::string jsonl = JoinPath(a.out, "comparison.jsonl"), summary = JoinPath(a.out, "summary.json"),
                    report = JoinPath(a.out, "report.html");
  TENET_RETURN_IF_ERROR(WriteFileAtomic(jsonl, lines));
  TENET_RETURN_IF_ERROR(WriteFileAtomic(summary, c.summary.dump(2, ' ', false, json::error_handler_t::replace) + "\n"));
  TENET_RETURN_IF_ERROR(WriteFileAtomic(report, eval::RenderComparisonReport(c.summary, c.questions, metrics)));
  json shown = {{"questions", questions.size()}, {"systems", systems.size()}, {"stats", c.summary["stats"]},
                {"comparison", jsonl}, {"summary", summary}, {"report", report}};
  std::cout << shown.dump(2) << "\n";
  return Status::OK();
}
}  // namespace

RunFn AddCompareCommand(CLI::App& sub) {
  auto a = std::make_shared<CompareArgs>();
  sub.add_option("--model", a->model, "Base model folder: compared with itself plus each --adapter (no merge needed)");
  sub.add_option("--adapter", a->adapters, "[NAME=]DIR: a PEFT LoRA adapter of --model to compare (repeatable; default names after, after2...)");
  sub.add_option("--before", a->before, "Model folder of the 'before' system (with --after)");
  sub.add_option("--after", a->afters, "[NAME=]DIR: a model folder to compare with --before (repeatable)");
  sub.add_option("--run", a->run, "Training run folder: its adapter (when no --adapter is given), beta, and training curves for the report");
  sub.add_option("--questions", a->questions, "Held-out questions: text (one per line) or JSONL {id, question|messages}");
  sub.add_option("--labels", a->labels, "Labeling database with a blind pairwise job of this comparison (with --job): the report gains the human verdict; "
                                        "without --model/--before, the report in --out is redone with it");
  sub.add_option("--job", a->job, "The pairwise job in --labels (tenet label job create --pairwise OUT/comparison.jsonl)");
  sub.add_option("--system", a->system, "File whose content is the system message (brand and values)");
  sub.add_option("--out", a->out, "Folder to write comparison.jsonl, summary.json and report.html into")->required();
  sub.add_option("--samples", a->samples, "Answers per question and system")->check(CLI::Range(1, 64))->capture_default_str();
  sub.add_option("--max-new-tokens", a->max_new_tokens, "Tokens per answer at most")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  AddSamplingFlags(sub, &a->sampling);
  sub.add_option("--seed", a->sampling.seed, "The same seeds for every system; same seed, same files")->capture_default_str();
  sub.add_option("--stop", a->stop, "Stop string (repeatable); the text is cut before it");
  sub.add_option("--beta", a->beta, "DPO beta of the implicit rewards (default: the run's, else 0.1; 0 = no scoring)")
      ->check(CLI::NonNegativeNumber);
  sub.add_option("--slots", a->slots, "Sequences decoded together")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the first model folder)");
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Writes into --out:
  comparison.jsonl  one line per question: {"id", "question", "messages", "answers": [{"system", "samples":
                    [{"text", "tokens", "finish_reason", "seed", "logp", "logp_per_token", "reward": {SYSTEM: r}}]}]}
  summary.json      what was compared, settings, per-system statistics
  report.html       one self-contained page (no network): summary, side-by-side answers, statistics,
                    implicit reward histogram, training curves of --run

Examples:
  tenet compare --model base/ --run runs/dpo1 --questions holdout.txt --system values.md --seed 3 --out reports/bank-v1/
  tenet compare --model base/ --adapter v1=runs/dpo1/adapter --adapter v2=runs/dpo2/adapter --questions holdout.txt --out reports/v1-v2/
  tenet compare --before base/ --after merged/ --questions holdout.txt --system values.md --out reports/bank-v1/
  tenet label job create --db labels.db --name bank-v1-ab --pairwise reports/bank-v1/comparison.jsonl --instructions ab.md
  tenet compare --out reports/bank-v1/ --labels labels.db --job bank-v1-ab      # the report gains the human verdict)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
