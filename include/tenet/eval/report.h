// The self-contained HTML report of `tenet compare`: answers of two or more systems (the model
// before and after alignment, or several adapters) side by side, their statistics, the DPO
// implicit rewards of the answers, the human verdict when there is one, and the training curves.
// One file that opens offline in any browser and prints: no scripts, no network (a strict
// Content-Security-Policy forbids anything but the inline style sheet), SVG charts inline.
//
// Not here: generating or scoring the answers (cli/compare), the statistics of human votes
// (eval/statistics.h), reading the files (the caller parses summary.json, comparison.jsonl and
// metrics.jsonl; their fields are described in docs/formats.md).
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tenet::eval {

// One complete HTML5 document (UTF-8) from:
// - `summary`: summary.json of `tenet compare` (tool, created, questions, samples, max_new_tokens,
//   sampling, beta, reference, systems [{name, model, adapter}], stats {system: {answers,
//   mean_tokens, median_tokens, max_tokens, finish_reasons, mean_reward {policy: r}}}, run, human
//   {job, systems, wins, ties, losses, win_rate, low, high, p_value, votes} or null);
// - `questions`: comparison.jsonl, one object per question in order ({id, question, messages,
//   answers [{system, samples [{text, tokens, finish_reason, logp, logp_per_token,
//   reward {policy: r}}]}]});
// - `metrics`: the training run's metrics.jsonl (one object per optimizer step, "eval_"-prefixed
//   keys for evaluations), possibly empty.
// Sections: summary (verdict cards, systems, sampling), per-system statistics, implicit reward
// histogram, training curves, answers side by side. A section without data (no rewards, no
// metrics) says so in one sentence instead.
//
// Never fails on the data: every field is optional, a field of the wrong type counts as missing,
// systems named only in `questions` are added after those of the summary, metric lines without a
// numeric "step" are skipped. All text from the inputs (answers, questions, names, paths) is
// escaped; invalid UTF-8 in it shows as U+FFFD. Throws only std::bad_alloc. The document is about
// the size of the answer texts plus 20 KB, plus about 200 bytes per plotted metric point.
std::string RenderComparisonReport(const nlohmann::json& summary, const std::vector<nlohmann::json>& questions,
                                   const std::vector<nlohmann::json>& metrics);

}  // namespace tenet::eval
