// Private to src/eval (the report of tenet/eval/report.h): the inputs of the comparison report,
// summary.json, comparison.jsonl and metrics.jsonl, read from loosely typed JSON into the structs
// the sections and charts draw. Every field is optional and a field of the wrong type counts as
// missing, so nothing here fails on the data.
//
// Not here: any HTML (report.cpp, report_charts.h), the file formats themselves (docs/formats.md).
//
// Ownership: a Report points into the summary it was read from (`summary`), which must outlive
// it; everything else is copied. Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tenet::eval::report_detail {

// ---------------------------------------------------------------- loose JSON access

// j[key] when j is an object holding key, else nullptr (also for j == nullptr).
const nlohmann::json* Field(const nlohmann::json* j, const char* key);
// A finite number (not a boolean), else nullopt.
std::optional<double> Num(const nlohmann::json* j);
bool IsStr(const nlohmann::json* j);
// The string, or "" when j is not one.
std::string Str(const nlohmann::json* j);
// A string, or a number written back (question ids may be numbers); "" otherwise.
std::string Label(const nlohmann::json* j);

// ---------------------------------------------------------------- comparison and summary

struct Sample {
  std::string text;
  std::optional<double> tokens;
  std::string finish_reason;
  std::optional<double> logp, logp_per_token;
  std::vector<std::pair<std::string, double>> reward;  // policy system -> implicit reward, in file order
  std::optional<double> RewardUnder(const std::string& policy) const {
    for (const auto& [name, r] : reward) {
      if (name == policy) return r;
    }
    return std::nullopt;
  }
};

struct Row {
  std::string id, question, system_prompt;
  std::vector<std::pair<std::string, std::string>> context;  // earlier turns: role, content
  std::vector<std::vector<Sample>> samples;                  // per system index
};

struct System {
  std::string name, model, adapter;
};

struct Stats {
  std::optional<double> answers, mean_tokens, median_tokens, max_tokens;
  std::vector<std::pair<std::string, double>> finish;  // reason -> count; "stop", "length", then by name
  std::optional<double> mean_reward;                   // under the policy
};

struct Report {
  const nlohmann::json* summary = nullptr;
  std::vector<System> systems;
  size_t reference = 0;          // index of the DPO reference (the first system when not named)
  std::optional<size_t> policy;  // the first other system: whose rewards the report plots
  bool has_rewards = false;      // some answer has a reward under the policy
  std::vector<Row> rows;
  std::vector<Stats> stats;          // per system
  std::string shared_system_prompt;  // when every question has the same one
  size_t max_samples = 0;

  const std::string& PolicyName() const { return systems[*policy].name; }
};

// The systems of the summary, then those named only in `questions`; one Row per question, its
// samples resized to every system; statistics per system from summary.stats where present, field
// by field, else computed from the answers. Keeps a pointer to `summary`.
Report ReadReport(const nlohmann::json& summary, const std::vector<nlohmann::json>& questions);

// The human verdict (summary.human) of `challenger` against `baseline`; j is nullptr when there is
// none. The pair comes from human.systems, else the first key of human.wins (or the policy) against
// the reference.
struct Human {
  const nlohmann::json* j = nullptr;
  std::string challenger, baseline;
  std::optional<double> wins, ties, losses;
};
Human ReadHuman(const Report& r);

// A count for `system` from a number or a {system: n} object.
std::optional<double> CountFor(const nlohmann::json* j, const std::string& system);

// ---------------------------------------------------------------- metrics

// (step, metrics[i][key]) of every line where both are numbers, in file order.
std::vector<std::pair<double, double>> MetricPoints(const std::vector<nlohmann::json>& metrics, const char* key);
// Whether some line holds a DPO reward ("rewards/..." or "eval_rewards/...").
bool HasRewardMetrics(const std::vector<nlohmann::json>& metrics);

}  // namespace tenet::eval::report_detail
