// Fuzz target: `tenet compare`'s comparison.jsonl as `label job create --pairwise` reads it
// (label::ParseComparisonPairs), and the report that renders the same lines (eval/report.h).
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tenet/eval/report.h"
#include "tenet/label/jobs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)tenet::label::ParseComparisonPairs(text, "comparison.jsonl");
  // The report takes any JSON values: every line that parses is one question.
  std::vector<nlohmann::json> questions;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    nlohmann::json j = nlohmann::json::parse(text.substr(pos, end - pos), nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) questions.push_back(std::move(j));
    pos = end + 1;
  }
  const nlohmann::json summary = questions.empty() ? nlohmann::json::object() : questions.front();
  (void)tenet::eval::RenderComparisonReport(summary, questions, questions);
  return 0;
}
