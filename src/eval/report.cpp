// The HTML report of `tenet compare`: the page and its sections. See tenet/eval/report.h.
//
// Two steps: read the loosely typed JSON into structs (report_data.h: every field optional, a
// field of the wrong type is missing), then write the sections with html::Writer, which escapes
// all data. Charts are inline SVG (report_charts.h), answer text is split, marked and clamped by
// report_text.h; their styling lives in the style sheet (report_style.h).
#include "tenet/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "report_charts.h"
#include "report_data.h"
#include "report_style.h"
#include "report_text.h"
#include "tenet/eval/html.h"

namespace tenet::eval {

namespace report_detail {
namespace {

using html::Writer;
using nlohmann::json;

// ---------------------------------------------------------------- small pieces

void OpenSection(Writer& w, const char* id, std::string_view title) {
  w.Open("section", {{"id", id}});
  w.Element("h2", title);
}
void Note(Writer& w, std::string_view text) { w.Element("p", {{"class", "note"}}, text); }

std::string Plural(double n, std::string_view one, std::string_view many) {
  const bool whole = n == std::floor(n) && std::fabs(n) < 9e15;
  std::string out = whole ? html::Integer(static_cast<int64_t>(n)) : html::Pretty(n, 1);
  out += ' ';
  out += n == 1 ? one : many;
  return out;
}

// A count or token figure: whole numbers without decimals.
std::string Count(double n, int decimals = 1) {
  if (n == std::floor(n) && std::fabs(n) < 9e15) return html::Integer(static_cast<int64_t>(n));
  return html::Pretty(n, decimals);
}

std::string PValue(double p) {
  if (p < 0.001) return "p < 0.001";
  return "p = " + html::Fixed(p, p < 0.01 ? 3 : 2);
}

void Chip(Writer& w, const char* cls, std::string_view text, std::string_view title = {}) {
  if (title.empty()) {
    w.Element("span", {{"class", cls}}, text);
  } else {
    w.Element("span", {{"class", cls}, {"title", std::string(title)}}, text);
  }
}

// ---------------------------------------------------------------- sections

void HumanCard(Writer& w, const Report& r) {
  const Human h = ReadHuman(r);
  if (h.j == nullptr) {
    w.Open("div", {{"class", "card empty"}});
    w.Element("div", {{"class", "label"}}, "Human preference");
    w.Element("div", {{"class", "kpi"}}, "Not evaluated");
    w.Element("p", "No blind human evaluation is attached to this comparison.");
    w.Close();
    return;
  }
  const auto win_rate = Num(Field(h.j, "win_rate")), low = Num(Field(h.j, "low")), high = Num(Field(h.j, "high"));
  const auto p = Num(Field(h.j, "p_value")), votes = Num(Field(h.j, "votes"));
  w.Open("div", {{"class", "card human"}});
  w.Open("div", {{"class", "label"}});
  w.Text("Human preference · ");
  w.Element("span", {{"class", "as-is"}}, h.challenger + " vs " + h.baseline);
  w.Close();
  w.Open("div", {{"class", "kpi"}});
  w.Text(win_rate ? html::Percent(*win_rate, 0) : "–");
  w.Element("small", "win rate");
  w.Close();
  if (low && high) w.Element("p", "95% interval " + html::Percent(*low, 0) + " – " + html::Percent(*high, 0));
  if (h.wins || h.ties || h.losses) {
    const double wins = h.wins.value_or(0), ties = h.ties.value_or(0), losses = h.losses.value_or(0);
    const double n = wins + ties + losses;
    if (n > 0) {
      w.Open("div", {{"class", "wtl"}, {"aria-hidden", "true"}});
      w.Empty("span", {{"class", "w"}, {"style", "width:" + html::Fixed(100 * wins / n, 2) + "%"}});
      w.Empty("span", {{"class", "t"}, {"style", "width:" + html::Fixed(100 * ties / n, 2) + "%"}});
      w.Empty("span", {{"class", "l"}, {"style", "width:" + html::Fixed(100 * losses / n, 2) + "%"}});
      w.Close();
    }
    std::string line;
    if (h.wins) line += Plural(*h.wins, "win", "wins");
    if (h.ties) line += (line.empty() ? "" : " · ") + Plural(*h.ties, "tie", "ties");
    if (h.losses) line += (line.empty() ? "" : " · ") + Plural(*h.losses, "loss", "losses");
    w.Element("p", {{"class", "small"}}, line + " for " + h.challenger);
  }
  std::string facts;
  if (p) facts += PValue(*p) + " (sign test)";
  if (votes) facts += (facts.empty() ? "" : " · ") + Plural(*votes, "vote", "votes");
  if (const json* job = Field(h.j, "job"); IsStr(job)) facts += (facts.empty() ? "job " : " · job ") + Str(job);
  if (!facts.empty()) w.Element("p", {{"class", "small"}}, facts);
  if (p) {
    if (*p >= 0.05) {
      Chip(w, "chip", "No significant preference at 5%");
    } else if (win_rate && *win_rate != 0.5) {
      const std::string& winner = *win_rate > 0.5 ? h.challenger : h.baseline;
      Chip(w, *win_rate > 0.5 ? "chip pos" : "chip neg", winner + " preferred, significant at 5%");
    } else {
      Chip(w, "chip", "Significant difference at 5%");
    }
  }
  // Further challengers of a multi-system evaluation.
  if (const json* wins = Field(h.j, "wins"); wins != nullptr && wins->is_object()) {
    for (auto it = wins->begin(); it != wins->end(); ++it) {
      if (it.key() == h.challenger) continue;
      std::string line = it.key() + ": ";
      if (auto v = Num(&it.value())) line += Plural(*v, "win", "wins");
      if (auto v = CountFor(Field(h.j, "ties"), it.key())) line += " · " + Plural(*v, "tie", "ties");
      if (auto v = CountFor(Field(h.j, "losses"), it.key())) line += " · " + Plural(*v, "loss", "losses");
      w.Element("p", {{"class", "small"}}, line + " vs " + h.baseline);
    }
  }
  w.Close();
}

// Mean reward under the policy of one system's answers to one question (its samples).
std::optional<double> QuestionReward(const Report& r, const Row& row, size_t system) {
  double sum = 0;
  int n = 0;
  for (const Sample& s : row.samples[system]) {
    if (auto v = s.RewardUnder(r.PolicyName())) sum += *v, ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

void RewardCard(Writer& w, const Report& r) {
  if (!r.has_rewards) {
    w.Open("div", {{"class", "card empty"}});
    w.Element("div", {{"class", "label"}}, "Implicit reward");
    w.Element("div", {{"class", "kpi"}}, "Not scored");
    w.Element("p", "The answers were not scored, so there are no implicit DPO rewards.");
    w.Close();
    return;
  }
  const std::string& policy = r.PolicyName();
  const auto beta = Num(Field(r.summary, "beta"));
  w.Open("div", {{"class", "card"}});
  w.Open("div", {{"class", "label"}});
  w.Text("Implicit reward under ");
  w.Element("span", {{"class", "as-is"}}, policy + (beta ? " · β = " + html::Shortest(*beta) : std::string()));
  w.Close();
  const auto& ref_mean = r.stats[r.reference].mean_reward;
  const auto& pol_mean = r.stats[*r.policy].mean_reward;
  if (ref_mean && pol_mean) {
    w.Open("div", {{"class", "kpi"}});
    w.Text(html::Signed(*pol_mean - *ref_mean, 2));
    w.Element("small", "mean difference");
    w.Close();
  }
  std::string means;
  for (size_t i = 0; i < r.systems.size(); ++i) {
    if (!r.stats[i].mean_reward) continue;
    means += (means.empty() ? "" : " · ") + r.systems[i].name + " " + html::Signed(*r.stats[i].mean_reward, 2);
  }
  w.Element("p", "Mean per answer: " + means);
  int higher = 0, compared = 0;
  for (const Row& row : r.rows) {
    const auto a = QuestionReward(r, row, *r.policy), b = QuestionReward(r, row, r.reference);
    if (a && b) ++compared, higher += *a > *b;
  }
  if (compared > 0 && r.policy != r.reference) {
    w.Element("p", {{"class", "small"}},
              "DPO prefers " + policy + "’s answer on " + html::Integer(higher) + " of " +
                  Plural(compared, "question", "questions") + " (higher implicit reward).");
  }
  w.Close();
}

void LengthCard(Writer& w, const Report& r) {
  w.Open("div", {{"class", "card"}});
  w.Element("div", {{"class", "label"}}, "Answer length · mean tokens");
  w.Open("div", {{"class", "kpi"}});
  std::string kpi;
  for (size_t i = 0; i < r.systems.size() && i < 4; ++i) {
    kpi += (i ? " → " : "") + (r.stats[i].mean_tokens ? html::Pretty(*r.stats[i].mean_tokens, 0) : "–");
  }
  w.Text(kpi);
  w.Close();
  std::string names;
  for (size_t i = 0; i < r.systems.size() && i < 4; ++i) names += (i ? " → " : "") + r.systems[i].name;
  w.Element("p", names);
  std::string cut;
  for (size_t i = 0; i < r.systems.size(); ++i) {
    double length = 0;
    for (const auto& [reason, n] : r.stats[i].finish) length += reason == "length" ? n : 0;
    cut += (i ? " · " : "") + r.systems[i].name + " " + Count(length);
  }
  const auto max_new = Num(Field(r.summary, "max_new_tokens"));
  w.Element(
      "p", {{"class", "small"}},
      "Cut at " + (max_new ? "the " + Count(*max_new) + "-token limit" : std::string("the token limit")) + ": " + cut);
  w.Close();
}

void WriteSettings(Writer& w, const Report& r) {
  // Sampling settings in a fixed reading order, then any others; neutral values say "off".
  static constexpr std::pair<const char*, double> kOrder[] = {{"temperature", NAN},
                                                              {"top_p", 1},
                                                              {"top_k", 0},
                                                              {"min_p", 0},
                                                              {"repetition_penalty", 1},
                                                              {"presence_penalty", 0},
                                                              {"frequency_penalty", 0},
                                                              {"seed", NAN}};
  std::vector<std::pair<std::string, std::string>> items;
  if (auto v = Num(Field(r.summary, "max_new_tokens"))) items.emplace_back("max new tokens", Count(*v));
  if (auto v = Num(Field(r.summary, "samples"))) items.emplace_back("samples per question", Count(*v));
  const json* sampling = Field(r.summary, "sampling");
  auto value_text = [](const json& v, double neutral) -> std::string {
    if (auto n = Num(&v)) return html::Shortest(*n) + (*n == neutral ? " (off)" : "");
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_null()) return "–";
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  for (const auto& [key, neutral] : kOrder) {
    if (const json* v = Field(sampling, key)) {
      std::string text = value_text(*v, neutral);
      if (std::string_view(key) == "temperature" && Num(v) == 0.0) text += " (greedy)";
      items.emplace_back(key, text);
    }
  }
  if (sampling != nullptr && sampling->is_object()) {
    for (auto it = sampling->begin(); it != sampling->end(); ++it) {
      bool known = false;
      for (const auto& [key, neutral] : kOrder) known = known || it.key() == key;
      if (!known) items.emplace_back(it.key(), value_text(it.value(), NAN));
    }
  }
  if (const json* stop = Field(r.summary, "stop"); stop != nullptr && stop->is_array() && !stop->empty()) {
    std::string text;
    for (const json& s : *stop) text += (text.empty() ? "" : ", ") + ("“" + Str(&s) + "”");
    items.emplace_back("stop strings", text);
  }
  if (const json* beta = Field(r.summary, "beta")) {
    items.emplace_back("β (DPO)", beta->is_null() ? std::string("not scored") : value_text(*beta, NAN));
  }
  if (items.empty()) return;
  w.Element("h3", "Generation settings");
  w.Open("dl", {{"class", "settings"}});
  for (const auto& [k, v] : items) {
    w.Open("div");
    w.Element("dt", k);
    w.Element("dd", v);
    w.Close();
  }
  w.Close();
}

void WriteSummary(Writer& w, const Report& r) {
  OpenSection(w, "summary", "Summary");
  w.Open("div", {{"class", "cards"}});
  HumanCard(w, r);
  RewardCard(w, r);
  if (!r.systems.empty()) LengthCard(w, r);
  w.Close();

  w.Element("h3", "Systems compared");
  w.Open("table", {{"class", "systems"}});
  w.Open("thead");
  w.Open("tr");
  for (const char* h : {"System", "Role", "Model", "Adapter"}) w.Element("th", h);
  w.Close();
  w.Close();
  w.Open("tbody");
  for (size_t i = 0; i < r.systems.size(); ++i) {
    const System& s = r.systems[i];
    w.Open("tr");
    w.Open("td", {{"class", "name"}});
    Swatch(w, SystemColor(i), false, true);
    w.Text(s.name);
    w.Close();
    w.Open("td");
    if (i == r.reference) Chip(w, "chip", "DPO reference");
    if (r.policy == i && r.has_rewards) Chip(w, "chip accent", "rewards plotted under this policy");
    w.Close();
    w.Element("td", {{"class", "path"}}, s.model.empty() ? "–" : s.model);
    w.Element("td", {{"class", "path"}}, s.adapter.empty() ? "none (base weights)" : s.adapter);
    w.Close();
  }
  w.Close();
  w.Close();
  WriteSettings(w, r);
  if (!r.shared_system_prompt.empty()) {
    w.Element("h3", "System prompt (the same for every question)");
    w.Open("div", {{"class", "prompt"}});
    WriteText(w, r.shared_system_prompt, "");
    w.Close();
  }
  w.Close();
}

void WriteStatistics(Writer& w, const Report& r) {
  OpenSection(w, "statistics", "Per-system statistics");
  Note(w,
       "Lengths in tokens of every answer (all samples). A finish reason “length” means the answer hit the token limit "
       "and was cut off.");
  w.Open("table", {{"class", "stats"}});
  w.Open("thead");
  w.Open("tr");
  w.Element("th", "System");
  for (const char* h : {"Answers", "Mean tokens", "Median", "Max"}) w.Element("th", {{"class", "num"}}, h);
  w.Element("th", {{"class", "finish"}}, "Finish reasons");
  if (r.has_rewards) w.Element("th", {{"class", "num"}}, "Mean reward under " + r.PolicyName());
  w.Close();
  w.Close();
  w.Open("tbody");
  for (size_t i = 0; i < r.systems.size(); ++i) {
    const Stats& st = r.stats[i];
    w.Open("tr");
    w.Open("td", {{"class", "name"}});
    Swatch(w, SystemColor(i), false, true);
    w.Text(r.systems[i].name);
    w.Close();
    auto cell = [&](const std::optional<double>& v) { w.Element("td", {{"class", "num"}}, v ? Count(*v) : "–"); };
    cell(st.answers);
    cell(st.mean_tokens);
    cell(st.median_tokens);
    cell(st.max_tokens);
    w.Open("td", {{"class", "finish"}});
    double total = 0;
    for (const auto& [reason, n] : st.finish) total += n;
    if (total > 0) {
      w.Open("div", {{"class", "bar"}, {"aria-hidden", "true"}});
      for (const auto& [reason, n] : st.finish) {
        const char* cls = reason == "stop" ? "fr-stop" : reason == "length" ? "fr-length" : "fr-other";
        w.Empty("span", {{"class", cls}, {"style", "width:" + html::Fixed(100 * n / total, 2) + "%"}});
      }
      w.Close();
    }
    std::string text;
    for (const auto& [reason, n] : st.finish) text += (text.empty() ? "" : " · ") + reason + " " + Count(n);
    w.Element("div", {{"class", "small"}}, text.empty() ? "–" : text);
    w.Close();
    if (r.has_rewards) w.Element("td", {{"class", "num"}}, st.mean_reward ? html::Signed(*st.mean_reward, 3) : "–");
    w.Close();
  }
  w.Close();
  w.Close();
  w.Close();
}

void WriteRewards(Writer& w, const Report& r) {
  OpenSection(w, "rewards", "Implicit reward distribution");
  std::vector<HistogramGroup> groups;
  if (r.has_rewards) {
    for (size_t i = 0; i < r.systems.size(); ++i) {
      std::vector<double> values;
      for (const Row& row : r.rows) {
        for (const Sample& s : row.samples[i]) {
          if (auto v = s.RewardUnder(r.PolicyName()); v && Plottable(*v)) values.push_back(*v);
        }
      }
      if (!values.empty()) groups.push_back({r.systems[i].name, SystemColor(i), std::move(values)});
    }
  }
  if (groups.empty()) {
    Note(w,
         "No implicit rewards in this comparison (the answers were not scored), so there is no distribution to show.");
    w.Close();
    return;
  }
  const std::string& policy = r.PolicyName();
  const std::string& reference = r.systems[r.reference].name;
  Note(w, "The implicit reward of an answer y is β (log π_" + policy + "(y|x) − log π_" + reference +
              "(y|x)) (Rafailov et al. 2023, DPO): how much more likely training under " + policy +
              " made that answer. It measures what the policy learned to prefer, not quality. If training worked, " +
              policy + "’s answers lie to the right of " + reference + "’s.");
  Histogram(w, groups, "implicit reward under " + policy);
  w.Close();
}

void WriteTraining(Writer& w, const std::vector<json>& metrics) {
  OpenSection(w, "training", "Training curves");
  auto series = [&](const char* key, std::string label, const char* color, bool dashed) {
    Series s{key, std::move(label), color, dashed, {}};
    for (const auto& [step, v] : MetricPoints(metrics, key)) {
      if (Plottable(step) && Plottable(v)) s.points.emplace_back(step, v);
    }
    std::stable_sort(s.points.begin(), s.points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return s;
  };
  constexpr const char* kTrain = "#2563eb";
  constexpr const char* kEval = "#ea580c";
  constexpr const char* kChosen = "#16a34a";
  constexpr const char* kRejected = "#dc2626";
  // DPO's loss starts at ln 2 (zero margins); other objectives (SFT) have no such line.
  const std::optional<double> ln2 = HasRewardMetrics(metrics) ? std::optional<double>(std::log(2.0)) : std::nullopt;
  struct Chart {
    LineChartSpec spec;
    std::vector<Series> series;
  };
  std::vector<Chart> charts = {
      {{"Loss", "loss", ln2, "ln 2 (untrained)", false, 3},
       {series("loss", "train", kTrain, false), series("eval_loss", "eval", kEval, true)}},
      {{"Reward accuracy", "accuracy", 0.5, "chance", true, 3},
       {series("rewards/accuracies", "train", kTrain, false), series("eval_rewards/accuracies", "eval", kEval, true)}},
      {{"Reward margin (chosen − rejected)", "margin", 0.0, "0", false, 3},
       {series("rewards/margins", "train", kTrain, false), series("eval_rewards/margins", "eval", kEval, true)}},
      {{"Rewards of chosen and rejected answers", "reward", 0.0, "0", false, 3},
       {series("rewards/chosen", "chosen (train)", kChosen, false),
        series("rewards/rejected", "rejected (train)", kRejected, false),
        series("eval_rewards/chosen", "chosen (eval)", kChosen, true),
        series("eval_rewards/rejected", "rejected (eval)", kRejected, true)}},
      {{"Token accuracy", "accuracy", std::nullopt, "", true, 3},
       {series("mean_token_accuracy", "train", kTrain, false),
        series("eval_mean_token_accuracy", "eval", kEval, true)}},
  };
  bool any = false;
  for (const Chart& c : charts) {
    for (const Series& s : c.series) any = any || !s.points.empty();
  }
  if (!any) {
    Note(w, metrics.empty()
                ? "No training metrics were given (no run, or its metrics.jsonl is empty)."
                : "The training metrics hold nothing to plot (no numeric step with a loss, accuracy or reward).");
    w.Close();
    return;
  }
  Note(w,
       "From the run’s metrics.jsonl, per optimizer step: training batches (solid) and evaluations on the run’s "
       "test split (dashed). Legends show the last value.");
  w.Open("div", {{"class", "charts"}});
  for (const Chart& c : charts) {
    bool has = false;
    for (const Series& s : c.series) has = has || !s.points.empty();
    if (has) LineChart(w, c.spec, c.series);
  }
  w.Close();
  w.Close();
}

void WriteAnswers(Writer& w, const Report& r) {
  OpenSection(w, "answers", "Answers side by side");
  if (r.rows.empty() || r.systems.empty()) {
    Note(w, "No questions in this comparison.");
    w.Close();
    return;
  }
  const bool highlight = r.systems.size() >= 2;
  w.Open("p", {{"class", "note"}});
  w.Text(r.max_samples > 1 ? "The first sample of each system, further samples below it. " : "One row per question. ");
  w.Text("Long answers are cut short; “Show all” opens them, and printing shows them whole.");
  if (highlight) {
    w.Text(" ");
    w.Element("mark", {{"class", "new"}}, "Highlighted");
    w.Text(": sentences not in " + r.systems[0].name + "’s answer, where the two share some.");
  }
  w.Close();
  w.Open("table", {{"class", "answers"}});
  w.Open("colgroup");
  w.Empty("col", {{"class", "qcol"}});
  for (size_t i = 0; i < r.systems.size(); ++i) w.Empty("col");
  w.Close();
  w.Open("thead");
  w.Open("tr");
  w.Element("th", "Question");
  for (size_t i = 0; i < r.systems.size(); ++i) {
    w.Open("th");
    Swatch(w, SystemColor(i), false, true);
    w.Text(r.systems[i].name);
    if (!r.systems[i].adapter.empty()) w.Element("div", {{"class", "sub path"}}, r.systems[i].adapter);
    w.Close();
  }
  w.Close();
  w.Close();
  w.Open("tbody");
  for (size_t q = 0; q < r.rows.size(); ++q) {
    const Row& row = r.rows[q];
    w.Open("tr", {{"id", "q" + std::to_string(q + 1)}});
    w.Open("td", {{"class", "q"}});
    w.Element("div", {{"class", "qid"}}, std::to_string(q + 1) + (row.id.empty() ? "" : " · " + row.id));
    if (r.shared_system_prompt.empty() && !row.system_prompt.empty()) {
      w.Open("div", {{"class", "ctx"}});
      w.Element("div", {{"class", "role"}}, "system");
      WriteText(w, row.system_prompt, "");
      w.Close();
    }
    for (const auto& [role, content] : row.context) {
      w.Open("div", {{"class", "ctx"}});
      w.Element("div", {{"class", "role"}}, role);
      WriteText(w, content, "(empty)");
      w.Close();
    }
    WriteText(w, row.question, "(no question text)");
    w.Close();
    std::unordered_set<std::string> known;
    if (highlight && !row.samples[0].empty()) known = SentenceSet(row.samples[0][0].text);
    for (size_t i = 0; i < r.systems.size(); ++i) {
      w.Open("td");
      const auto& samples = row.samples[i];
      if (samples.empty()) w.Element("div", {{"class", "text none"}}, "no answer");
      for (size_t k = 0; k < samples.size(); ++k) {
        const Sample& s = samples[k];
        w.Open("div", {{"class", "sample"}});
        w.Open("div", {{"class", "meta"}});
        if (samples.size() > 1) Chip(w, "chip label", "sample " + std::to_string(k + 1));
        if (s.tokens) {
          std::string title;
          if (s.logp) title = "log p " + html::Pretty(*s.logp, 2) + " under " + r.systems[i].name;
          if (s.logp_per_token)
            title += (title.empty() ? "" : ", ") + html::Pretty(*s.logp_per_token, 3) + " per token";
          Chip(w, "chip", Plural(*s.tokens, "token", "tokens"), title);
        }
        if (!s.finish_reason.empty()) {
          const bool cut = s.finish_reason == "length";
          Chip(w, cut ? "chip warn" : "chip", s.finish_reason, cut ? "hit the token limit: the answer is cut off" : "");
        }
        for (const auto& [policy, value] : s.reward) {
          Chip(w, value >= 0 ? "chip pos" : "chip neg",
               (s.reward.size() == 1 ? std::string("reward ") : "reward (" + policy + ") ") + html::Signed(value, 2),
               "implicit DPO reward under " + policy + ": β (log π_" + policy + " − log π_ref) of this answer");
        }
        w.Close();
        WriteText(w, s.text, "(empty answer)", i > 0 && k == 0 ? &known : nullptr);
        w.Close();
      }
      w.Close();
    }
    w.Close();
  }
  w.Close();
  w.Close();
  w.Close();
}

std::string Render(const json& summary, const std::vector<json>& questions, const std::vector<json>& metrics) {
  const Report r = ReadReport(summary, questions);
  std::string names;
  for (size_t i = 0; i < r.systems.size(); ++i) names += (i ? " vs " : "") + r.systems[i].name;
  if (names.empty()) names = "Comparison";

  Writer w;
  w.Raw("<!DOCTYPE html>\n");
  w.Open("html", {{"lang", "en"}});
  w.Open("head");
  w.Empty("meta", {{"charset", "utf-8"}});
  w.Empty("meta", {{"http-equiv", "Content-Security-Policy"},
                   {"content", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"}});
  w.Empty("meta", {{"name", "referrer"}, {"content", "no-referrer"}});
  w.Empty("meta", {{"name", "viewport"}, {"content", "width=device-width, initial-scale=1"}});
  w.Empty("meta", {{"name", "color-scheme"}, {"content", "light"}});
  w.Empty("meta", {{"name", "generator"}, {"content", "tenet compare"}});
  w.Element("title", names + " · Tenet comparison");
  w.Open("style");
  w.Raw(StyleSheet());
  w.Close();
  w.Close();  // head
  w.Open("body");
  w.Open("div", {{"class", "page"}});

  w.Open("header", {{"class", "top"}});
  w.Element("div", {{"class", "eyebrow"}}, "Tenet · before/after comparison");
  w.Element("h1", names);
  std::string lede;
  const auto n_questions = Num(Field(&summary, "questions"));
  lede += Plural(n_questions.value_or(static_cast<double>(r.rows.size())), "question", "questions");
  const auto n_samples = Num(Field(&summary, "samples"));
  lede += " · " +
          Plural(n_samples.value_or(static_cast<double>(std::max<size_t>(r.max_samples, 1))), "sample", "samples") +
          " per system";
  if (const json* created = Field(&summary, "created"); IsStr(created)) lede += " · created " + Str(created);
  if (const json* run = Field(&summary, "run"); IsStr(run)) lede += " · run " + Str(run);
  w.Element("p", {{"class", "lede"}}, lede);
  w.Open("nav", {{"class", "toc"}});
  w.Element("a", {{"href", "#summary"}}, "Summary");
  w.Element("a", {{"href", "#statistics"}}, "Statistics");
  w.Element("a", {{"href", "#rewards"}}, "Implicit rewards");
  w.Element("a", {{"href", "#training"}}, "Training");
  w.Element("a", {{"href", "#answers"}}, "Answers");
  w.Close();
  w.Close();  // header

  WriteSummary(w, r);
  WriteStatistics(w, r);
  WriteRewards(w, r);
  WriteTraining(w, metrics);
  WriteAnswers(w, r);

  w.Element("footer", "Made by tenet compare. Self-contained: no scripts, no network access.");
  w.Close();  // .page
  w.Close();  // body
  w.Close();  // html
  std::string out = w.Finish();
  out += '\n';
  return out;
}

}  // namespace
}  // namespace report_detail

std::string RenderComparisonReport(const nlohmann::json& summary, const std::vector<nlohmann::json>& questions,
                                   const std::vector<nlohmann::json>& metrics) {
  return report_detail::Render(summary, questions, metrics);
}

}  // namespace tenet::eval
