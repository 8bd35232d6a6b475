// Before/after comparison on held-out questions (step 8 of the loop, ../shared/PRODUCT.md): every
// system answers the same questions with the same sampling settings and the same seeds, and every
// answer is scored under every system's model, which gives its implicit DPO reward under each
// trained policy (Rafailov et al. 2023, arXiv 2305.18290, section 5):
//
//   reward_s(y | x) = beta * (log pi_s(y | x) - log pi_ref(y | x))     ref = the first system
//
// Systems on the same model object (the base, and the base with each adapter) generate in one
// engine batch, each row applying its own adapter (model/row_lora.h); systems on other model
// objects (merged folders) run after them. An answer's log-prob is that of its text as DPO training
// scores a completion (data/completion_encoder.h: the text's tokens plus the end-of-turn token), so
// the rewards are on the scale of the training run's rewards/chosen and rewards/rejected.
//
// Output: comparison.jsonl lines and summary.json (docs/formats.md "Comparison"), which
// eval/report.h turns into report.html.
//
// Thread-safety: RunComparison runs forward passes on the systems' models; nothing else may use
// them meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/data/completion_encoder.h"
#include "tenet/data/questions.h"
#include "tenet/generate/sampler.h"
#include "tenet/model/llama.h"
#include "tenet/model/row_lora.h"

namespace tenet::eval {

struct ComparedSystem {
  std::string name;                              // "before", "after", ...: unique, non-empty
  LlamaForCausalLM* model = nullptr;             // not owned; must outlive the call
  std::shared_ptr<const ServedAdapter> adapter;  // null: the model alone
  nlohmann::json description;                    // what the summary says it is: {"model", "adapter"}
};

struct CompareOptions {
  int32_t samples = 1;            // answers per question and system
  int32_t max_new_tokens = 256;
  // Question i, sample k of every system draws with seed sampling.seed + 1000003 * i + k (as
  // `tenet generate` does), so systems differ only by their models.
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings: the text is cut before the first
  std::vector<int32_t> stop_ids;  // the model's EOS ids and the template's end of turn
  // > 0: score every answer under every system and report rewards; 0: no scoring.
  double beta = 0.1;
  int32_t slots = 16;             // sequences decoded together per engine
  int32_t score_batch = 8;        // answers per scoring forward pass
  // Called with one line of progress now and then (stderr in the CLI); may be empty.
  std::function<void(const std::string&)> progress;
};

struct Comparison {
  nlohmann::json summary;                 // summary.json
  std::vector<nlohmann::json> questions;  // comparison.jsonl, one per question in input order
};

// Runs the comparison. InvalidArgument for fewer than two systems, duplicate or empty names, a
// system without a model, samples or max_new_tokens < 1, bad sampling params, or a question whose
// prompt plus max_new_tokens exceeds a model's context (naming the question). Model errors are
// returned.
Result<Comparison> RunComparison(const std::vector<ComparedSystem>& systems, const std::vector<Question>& questions,
                                 const CompletionEncoder& encoder, const CompareOptions& options);

// Per-system statistics of comparison lines (answers, tokens, finish reasons, mean rewards): what
// summary["stats"] holds.
nlohmann::json ComparisonStats(const std::vector<std::string>& systems, const std::vector<nlohmann::json>& questions);

}  // namespace tenet::eval
