// Turning a job's rankings into files: DPO preference pairs (TRL conversational JSONL, split
// train/test by prompt), a Ground Truth-style output manifest, and a raw dump of every annotation.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tenet/label/annotations.h"

namespace tenet::label {

struct ExportOptions {
  std::string format = "dpo";      // dpo | manifest | raw
  std::string pairs = "best-worst";  // best-worst | all-pairs | best-vs-rest
  size_t dimension = 0;            // which ranking dimension the pairs follow
  double test_fraction = 0.0;      // [0, 1)
  uint64_t seed = 0;
  double min_agreement = 0.0;  // skip items whose Kendall's W is below (items with one annotator have none and are kept)
  bool skip_ties = false;      // skip items whose consolidated ranking has any tie
};
// InvalidArgument "bad_export" for unknown names or out-of-range values.
Status ValidateExportOptions(const ExportOptions& o, size_t dimensions);

struct ExportResult {
  std::map<std::string, std::string> files;  // name → content (train.jsonl, test.jsonl | output.manifest | annotations.jsonl)
  nlohmann::json report;                     // counts: items, pairs, skipped by reason
};

// DPO: per item, the consolidated (Borda) ranking of `dimension`; the prompt is the item's
// messages (system + user), chosen/rejected one assistant message each:
//   best-worst   one pair: a top answer vs a bottom answer (ties broken by file order)
//   all-pairs    every pair of answers with different consolidated ranks (InstructGPT)
//   best-vs-rest a top answer vs every answer ranked below it
// Items without submissions are left out. Items go to train or test as a whole, by a seeded hash
// of the prompt, so no prompt is in both. Pairwise jobs export the same way: the answer the
// annotators preferred (by majority) is chosen; items without a preference are skipped as ties.
Result<ExportResult> Export(const JobAnnotations& a, const ExportOptions& o);

}  // namespace tenet::label
