// The HTML report of `tenet compare`. See tenet/eval/report.h.
//
// Two steps: read the loosely typed JSON into the structs below (every field optional, a field of
// the wrong type is missing), then write the sections with html::Writer, which escapes all data.
// Charts are inline SVG in viewBox units; their styling lives in the style sheet (kStyle).
#include "tenet/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tenet/eval/html.h"

namespace tenet::eval {

namespace {

using html::Writer;
using nlohmann::json;

// ---------------------------------------------------------------- reading the inputs

const json* Field(const json* j, const char* key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}
std::optional<double> Num(const json* j) {
  if (j == nullptr || !j->is_number()) return std::nullopt;  // is_number is false for booleans
  const double v = j->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}
bool IsStr(const json* j) { return j != nullptr && j->is_string(); }
std::string Str(const json* j) { return IsStr(j) ? j->get<std::string>() : std::string(); }
// A string, or a number written back (question ids may be numbers).
std::string Label(const json* j) {
  if (auto v = Num(j)) return html::Shortest(*v);
  return Str(j);
}

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
  std::vector<std::pair<std::string, double>> finish;  // reason -> count
  std::optional<double> mean_reward;                   // under the policy
};

struct Report {
  const json* summary = nullptr;
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

size_t SystemIndex(Report* r, const std::string& name) {
  for (size_t i = 0; i < r->systems.size(); ++i) {
    if (r->systems[i].name == name) return i;
  }
  r->systems.push_back({name, "", ""});
  return r->systems.size() - 1;
}

Sample ReadSample(const json& s) {
  Sample out;
  out.text = Str(Field(&s, "text"));
  out.tokens = Num(Field(&s, "tokens"));
  out.finish_reason = Str(Field(&s, "finish_reason"));
  out.logp = Num(Field(&s, "logp"));
  out.logp_per_token = Num(Field(&s, "logp_per_token"));
  if (const json* rw = Field(&s, "reward"); rw != nullptr && rw->is_object()) {
    for (auto it = rw->begin(); it != rw->end(); ++it) {
      if (auto v = Num(&it.value())) out.reward.emplace_back(it.key(), *v);
    }
  }
  return out;
}

Row ReadRow(Report* r, const json& q) {
  Row row;
  row.id = Label(Field(&q, "id"));
  row.question = Str(Field(&q, "question"));
  if (const json* messages = Field(&q, "messages"); messages != nullptr && messages->is_array()) {
    std::vector<std::pair<std::string, std::string>> turns;
    for (const json& m : *messages) {
      std::string role = Str(Field(&m, "role")), content = Str(Field(&m, "content"));
      if (role == "system" && row.system_prompt.empty()) {
        row.system_prompt = std::move(content);
      } else if (role != "system") {
        turns.emplace_back(std::move(role), std::move(content));
      }
    }
    // The last user turn is the question itself; what comes before it is context.
    if (!turns.empty() && turns.back().first == "user") {
      if (row.question.empty()) row.question = turns.back().second;
      turns.pop_back();
    }
    row.context = std::move(turns);
  }
  if (const json* answers = Field(&q, "answers"); answers != nullptr && answers->is_array()) {
    for (const json& a : *answers) {
      if (!IsStr(Field(&a, "system"))) continue;
      const size_t index = SystemIndex(r, Str(Field(&a, "system")));
      if (row.samples.size() <= index) row.samples.resize(index + 1);
      if (const json* samples = Field(&a, "samples"); samples != nullptr && samples->is_array()) {
        for (const json& s : *samples) row.samples[index].push_back(ReadSample(s));
      }
    }
  }
  return row;
}

Stats ComputeStats(const Report& r, size_t system) {
  Stats st;
  std::vector<double> tokens, rewards;
  std::map<std::string, double> finish;
  double answers = 0;
  for (const Row& row : r.rows) {
    if (system >= row.samples.size()) continue;
    for (const Sample& s : row.samples[system]) {
      ++answers;
      if (s.tokens) tokens.push_back(*s.tokens);
      if (!s.finish_reason.empty()) finish[s.finish_reason] += 1;
      if (r.policy) {
        if (auto v = s.RewardUnder(r.PolicyName())) rewards.push_back(*v);
      }
    }
  }
  st.answers = answers;
  if (!tokens.empty()) {
    double sum = 0;
    for (double t : tokens) sum += t;
    st.mean_tokens = sum / static_cast<double>(tokens.size());
    std::sort(tokens.begin(), tokens.end());
    const size_t n = tokens.size();
    st.median_tokens = n % 2 ? tokens[n / 2] : (tokens[n / 2 - 1] + tokens[n / 2]) / 2;
    st.max_tokens = tokens.back();
  }
  st.finish.assign(finish.begin(), finish.end());
  if (!rewards.empty()) {
    double sum = 0;
    for (double v : rewards) sum += v;
    st.mean_reward = sum / static_cast<double>(rewards.size());
  }
  return st;
}

// summary.stats[name] where present, field by field, else what the answers give.
Stats ReadStats(const Report& r, size_t system) {
  Stats st = ComputeStats(r, system);
  const json* s = Field(Field(r.summary, "stats"), r.systems[system].name.c_str());
  if (s == nullptr || !s->is_object()) return st;
  if (auto v = Num(Field(s, "answers"))) st.answers = v;
  if (auto v = Num(Field(s, "mean_tokens"))) st.mean_tokens = v;
  if (auto v = Num(Field(s, "median_tokens"))) st.median_tokens = v;
  if (auto v = Num(Field(s, "max_tokens"))) st.max_tokens = v;
  if (const json* f = Field(s, "finish_reasons"); f != nullptr && f->is_object()) {
    st.finish.clear();
    for (auto it = f->begin(); it != f->end(); ++it) {
      if (auto v = Num(&it.value())) st.finish.emplace_back(it.key(), *v);
    }
  }
  if (r.policy) {
    if (auto v = Num(Field(Field(s, "mean_reward"), r.PolicyName().c_str()))) st.mean_reward = v;
  }
  return st;
}

// "stop" first, then "length", then the rest by name.
void SortFinish(std::vector<std::pair<std::string, double>>* finish) {
  auto rank = [](const std::string& k) { return k == "stop" ? 0 : k == "length" ? 1 : 2; };
  std::stable_sort(finish->begin(), finish->end(), [&](const auto& a, const auto& b) {
    if (rank(a.first) != rank(b.first)) return rank(a.first) < rank(b.first);
    return a.first < b.first;
  });
}

Report Read(const json& summary, const std::vector<json>& questions) {
  Report r;
  r.summary = &summary;
  if (const json* systems = Field(&summary, "systems"); systems != nullptr && systems->is_array()) {
    for (const json& s : *systems) {
      if (!IsStr(Field(&s, "name"))) continue;
      const size_t i = SystemIndex(&r, Str(Field(&s, "name")));
      r.systems[i].model = Str(Field(&s, "model"));
      r.systems[i].adapter = Str(Field(&s, "adapter"));
    }
  }
  for (const json& q : questions) r.rows.push_back(ReadRow(&r, q));
  for (Row& row : r.rows) {
    row.samples.resize(r.systems.size());
    for (const auto& s : row.samples) r.max_samples = std::max(r.max_samples, s.size());
  }
  if (r.systems.empty()) return r;
  const std::string reference = Str(Field(&summary, "reference"));
  for (size_t i = 0; i < r.systems.size(); ++i) {
    if (r.systems[i].name == reference) r.reference = i;
  }
  for (size_t i = 0; i < r.systems.size() && !r.policy; ++i) {
    if (i != r.reference) r.policy = i;
  }
  if (r.policy) {
    for (const Row& row : r.rows) {
      for (const auto& samples : row.samples) {
        for (const Sample& s : samples) r.has_rewards = r.has_rewards || s.RewardUnder(r.PolicyName()).has_value();
      }
    }
  }
  for (size_t i = 0; i < r.systems.size(); ++i) {
    r.stats.push_back(ReadStats(r, i));
    SortFinish(&r.stats.back().finish);
    if (r.stats.back().mean_reward) r.has_rewards = true;
  }
  if (!r.rows.empty()) {
    bool same = !r.rows[0].system_prompt.empty();
    for (const Row& row : r.rows) same = same && row.system_prompt == r.rows[0].system_prompt;
    if (same) r.shared_system_prompt = r.rows[0].system_prompt;
  }
  return r;
}

// ---------------------------------------------------------------- small pieces

constexpr const char* kSystemColors[] = {"#64748b", "#2563eb", "#d97706", "#059669", "#9333ea", "#db2777"};
const char* SystemColor(size_t i) { return kSystemColors[i % (sizeof kSystemColors / sizeof *kSystemColors)]; }

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

// A short line swatch for legends, solid or dashed, with the series' marker.
void Swatch(Writer& w, const char* color, bool dashed, bool bar = false) {
  w.Open("svg",
         {{"class", "sw"}, {"viewBox", "0 0 22 10"}, {"width", "22"}, {"height", "10"}, {"aria-hidden", "true"}});
  if (bar) {
    w.Empty("rect", {{"x", "3"}, {"y", "1"}, {"width", "16"}, {"height", "8"}, {"rx", "1.5"}, {"fill", color}});
  } else {
    w.Empty("line", {{"x1", "1"},
                     {"y1", "5"},
                     {"x2", "21"},
                     {"y2", "5"},
                     {"stroke", color},
                     {"stroke-width", "2"},
                     {"stroke-dasharray", dashed ? "4 3" : "none"}});
    w.Empty("circle", {{"cx", "11"},
                       {"cy", "5"},
                       {"r", "2.6"},
                       {"fill", dashed ? "#fff" : color},
                       {"stroke", color},
                       {"stroke-width", "1.5"}});
  }
  w.Close();
}

// ---------------------------------------------------------------- answer text

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Sentences of `text` as [begin, end) without surrounding whitespace: a sentence ends after
// . ! or ? (with any closing quotes or brackets) followed by whitespace, or at a line break.
// The split points are ASCII bytes, so pieces of valid UTF-8 stay valid.
std::vector<std::pair<size_t, size_t>> SplitSentences(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && IsSpace(t[i])) ++i;
    if (i == n) break;
    const size_t begin = i;
    size_t end = n;
    for (; i < n; ++i) {
      if (t[i] == '\n') {
        end = i;
        break;
      }
      if (t[i] == '.' || t[i] == '!' || t[i] == '?') {
        size_t j = i + 1;
        while (j < n && std::string_view(".!?\"')]").find(t[j]) != std::string_view::npos) ++j;
        if (j == n || IsSpace(t[j])) {
          end = j;
          break;
        }
        i = j - 1;
      }
    }
    i = end;
    size_t trimmed = end;
    while (trimmed > begin && IsSpace(t[trimmed - 1])) --trimmed;
    out.emplace_back(begin, trimmed);
  }
  return out;
}

// Whitespace runs to one space, ASCII lower case: what counts as "the same sentence".
std::string NormalizeSentence(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::unordered_set<std::string> SentenceSet(std::string_view text) {
  std::unordered_set<std::string> out;
  for (auto [b, e] : SplitSentences(text)) out.insert(NormalizeSentence(text.substr(b, e - b)));
  return out;
}

// The text with each sentence not in `known` inside <mark class="new">.
// Nothing is marked when no sentence is shared: a wholly different answer gains nothing from it.
void WriteHighlighted(Writer& w, std::string_view text, const std::unordered_set<std::string>& known) {
  const auto sentences = SplitSentences(text);
  bool shared = false;
  for (auto [b, e] : sentences) shared = shared || known.count(NormalizeSentence(text.substr(b, e - b))) > 0;
  if (!shared) {
    w.Text(text);
    return;
  }
  size_t pos = 0;
  for (auto [b, e] : sentences) {
    w.Text(text.substr(pos, b - pos));
    const std::string_view sentence = text.substr(b, e - b);
    const std::string key = NormalizeSentence(sentence);
    if (key.size() >= 3 && known.count(key) == 0) {
      w.Element("mark", {{"class", "new"}}, sentence);
    } else {
      w.Text(sentence);
    }
    pos = e;
  }
  w.Text(text.substr(pos));
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A block of model or user text (pre-wrapped). Long text is clamped to a few lines, with a
// <details> toggle before it in the markup (shown after it by CSS order) that lifts the clamp:
// no script, and print CSS shows the whole text.
void WriteText(Writer& w, std::string_view text, const char* empty_label,
               const std::unordered_set<std::string>* known = nullptr) {
  if (text.empty()) {
    w.Element("div", {{"class", "text none"}}, empty_label);
    return;
  }
  const bool long_text = text.size() > 900 || std::count(text.begin(), text.end(), '\n') > 14;
  if (long_text) {
    w.Open("div", {{"class", "clamp"}});
    w.Open("details", {{"class", "more"}});
    w.Open("summary");
    w.Element("span", {{"class", "show"}},
              "Show all " + html::Integer(static_cast<int64_t>(CodePoints(text))) + " characters");
    w.Element("span", {{"class", "hide"}}, "Show less");
    w.Close();
    w.Close();
  }
  w.Open("div", {{"class", long_text ? "text long" : "text"}});
  if (known != nullptr && !known->empty()) {
    WriteHighlighted(w, text, *known);
  } else {
    w.Text(text);
  }
  w.Close();
  if (long_text) w.Close();
}

// ---------------------------------------------------------------- charts

// Charts leave out values beyond this magnitude (no metric or reward is near it; it keeps the
// axis arithmetic finite and exact enough).
constexpr double kPlotLimit = 1e12;
bool Plottable(double v) { return std::fabs(v) <= kPlotLimit; }

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 0;
  double Map(double v, double from, double to) const { return from + (v - lo) / (hi - lo) * (to - from); }
};

double NiceStep(double raw, bool integer) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  if (integer) step = std::max(step, 1.0);
  return step;
}

// An axis covering [lo, hi] extended to round ticks, about `target` of them.
// Inputs are finite and within ±kPlotLimit (see Plottable).
Axis NiceAxis(double lo, double hi, int target, bool integer = false) {
  // A range too narrow for its magnitude (or empty) is widened, so that lo / step stays small.
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-6)) {
    const double pad = lo != 0 ? std::fabs(lo) * 0.5 : 1;
    lo -= pad, hi += pad;
  }
  const double step = NiceStep((hi - lo) / target, integer);
  Axis a;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  a.lo = first * step;
  a.hi = last * step;
  const int count = static_cast<int>(std::clamp(last - first, 0.0, 200.0));
  for (int k = 0; k <= count; ++k) a.ticks.push_back((first + k) * step);
  a.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return a;
}

struct Frame {  // the plot area inside the SVG's viewBox
  double width, height, left, right, top, bottom;
  double X0() const { return left; }
  double X1() const { return width - right; }
  double Y0() const { return height - bottom; }  // the baseline (SVG y grows downwards)
  double Y1() const { return top; }
};

void OpenSvg(Writer& w, const Frame& f, std::string_view label) {
  w.Open("svg", {{"class", "plot"},
                 {"viewBox", "0 0 " + html::Fixed(f.width, 0) + " " + html::Fixed(f.height, 0)},
                 {"role", "img"},
                 {"aria-label", std::string(label)}});
}

// Horizontal grid lines with y tick labels, the x axis line, x tick labels and axis titles.
void DrawAxes(Writer& w, const Frame& f, const Axis& x, const Axis& y, std::string_view x_title,
              std::string_view y_title, const std::vector<double>& x_ticks) {
  for (double t : y.ticks) {
    const std::string py = html::Fixed(y.Map(t, f.Y0(), f.Y1()), 1);
    w.Empty(
        "line",
        {{"class", "grid"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", py}, {"y2", py}});
    w.Element(
        "text",
        {{"class", "tick"}, {"x", html::Fixed(f.X0() - 6, 1)}, {"y", py}, {"text-anchor", "end"}, {"dy", "0.32em"}},
        html::Pretty(t, y.decimals));
  }
  const std::string base = html::Fixed(f.Y0(), 1);
  w.Empty(
      "line",
      {{"class", "axis"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", base}, {"y2", base}});
  for (double t : x_ticks) {
    const std::string px = html::Fixed(x.Map(t, f.X0(), f.X1()), 1);
    w.Empty("line", {{"class", "axis"}, {"x1", px}, {"x2", px}, {"y1", base}, {"y2", html::Fixed(f.Y0() + 4, 1)}});
    w.Element("text", {{"class", "tick"}, {"x", px}, {"y", html::Fixed(f.Y0() + 16, 1)}, {"text-anchor", "middle"}},
              html::Pretty(t, x.decimals));
  }
  w.Element("text",
            {{"class", "axis-title"},
             {"x", html::Fixed((f.X0() + f.X1()) / 2, 1)},
             {"y", html::Fixed(f.height - 4, 1)},
             {"text-anchor", "middle"}},
            x_title);
  const std::string cy = html::Fixed((f.Y0() + f.Y1()) / 2, 1);
  w.Element("text",
            {{"class", "axis-title"},
             {"x", "12"},
             {"y", cy},
             {"text-anchor", "middle"},
             {"transform", "rotate(-90 12 " + cy + ")"}},
            y_title);
}

struct Series {
  std::string key;  // the metrics.jsonl key, shown under the chart's title
  std::string label;
  const char* color;
  bool dashed;                                    // evaluation series: dashed line, hollow markers
  std::vector<std::pair<double, double>> points;  // (step, value), by step
};

// Markers (one <circle class="pt"> per point) up to this many points per series; above, the
// path's vertices alone carry the data.
constexpr size_t kMaxMarkers = 400;

struct LineChartSpec {
  const char* title;
  const char* y_title;
  std::optional<double> ref;  // a dashed horizontal reference line
  const char* ref_label;
  bool unit_interval;  // the y axis covers [0, 1] at least
  int value_decimals;
};

void LineChart(Writer& w, const LineChartSpec& spec, const std::vector<Series>& series) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  }
  if (spec.unit_interval) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 1.0);
  if (spec.ref && yhi > ylo) ylo = std::min(ylo, *spec.ref), yhi = std::max(yhi, *spec.ref);
  const Frame f{480, 250, 52, 14, 12, 38};
  const Axis x = NiceAxis(xlo, xhi, 6, true), y = NiceAxis(ylo, yhi, 5);

  w.Open("figure", {{"class", "chart"}});
  w.Element("h3", spec.title);
  std::string keys;
  for (const Series& s : series) {
    if (!s.points.empty()) keys += (keys.empty() ? "" : " · ") + s.key;
  }
  w.Element("div", {{"class", "keys"}}, keys);
  w.Open("div", {{"class", "legend"}});
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    w.Open("span");
    Swatch(w, s.color, s.dashed);
    w.Text(s.label);
    w.Element("span", {{"class", "last"}}, " " + html::Pretty(s.points.back().second, spec.value_decimals));
    w.Close();
  }
  w.Close();
  OpenSvg(w, f, spec.title);
  DrawAxes(w, f, x, y, "optimizer step", spec.y_title, x.ticks);
  if (spec.ref) {
    const std::string py = html::Fixed(y.Map(*spec.ref, f.Y0(), f.Y1()), 1);
    w.Empty("line",
            {{"class", "ref"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", py}, {"y2", py}});
    w.Element("text",
              {{"class", "ref-label"},
               {"x", html::Fixed(f.X1() - 2, 1)},
               {"y", py},
               {"dy", "-0.4em"},
               {"text-anchor", "end"}},
              spec.ref_label);
  }
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    std::string d;
    for (auto [px, py] : s.points) {
      d += d.empty() ? "M" : " L";
      d += html::Fixed(x.Map(px, f.X0(), f.X1()), 1) + " " + html::Fixed(y.Map(py, f.Y0(), f.Y1()), 1);
    }
    w.Empty("path", {{"class", s.dashed ? "line eval" : "line"}, {"d", d}, {"stroke", s.color}});
    if (s.points.size() > kMaxMarkers) continue;
    for (auto [px, py] : s.points) {
      w.Open("circle", {{"class", "pt"},
                        {"cx", html::Fixed(x.Map(px, f.X0(), f.X1()), 1)},
                        {"cy", html::Fixed(y.Map(py, f.Y0(), f.Y1()), 1)},
                        {"r", s.dashed ? "3.2" : "2.4"},
                        {"fill", s.dashed ? "#fff" : s.color},
                        {"stroke", s.color}});
      w.Element("title", s.label + ", step " + html::Pretty(px, 0) + ": " + html::Pretty(py, 4));
      w.Close();
    }
  }
  w.Close();  // svg
  w.Close();  // figure
}

// Grouped-bar histogram of several groups' values on shared bins.
void Histogram(Writer& w, const std::vector<std::pair<size_t, std::vector<double>>>& groups, const Report& r,
               std::string_view x_title) {
  double lo = INFINITY, hi = -INFINITY;
  size_t largest = 0, total = 0;
  for (const auto& [system, values] : groups) {
    for (double v : values) lo = std::min(lo, v), hi = std::max(hi, v);
    largest = std::max(largest, values.size());
    total += values.size();
  }
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-6)) {
    const double pad = std::max(std::fabs(lo) * 0.1, 0.05);
    lo -= pad, hi += pad;
  }
  // Sturges' rule or the square root, whichever gives more bins, within 6..30; round widths.
  const double target = std::clamp(
      std::max(std::log2(static_cast<double>(largest)) + 1, std::sqrt(static_cast<double>(largest))), 6.0, 30.0);
  const double step = NiceStep((hi - lo) / target, false);
  const double start = std::floor(lo / step) * step;
  const size_t bins = static_cast<size_t>(std::clamp(std::floor((hi - start) / step), 0.0, 63.0)) + 1;
  std::vector<std::vector<int>> counts(groups.size(), std::vector<int>(bins, 0));
  int max_count = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (double v : groups[g].second) {
      const double k = std::floor((v - start) / step);
      const size_t bin = static_cast<size_t>(std::clamp(k, 0.0, static_cast<double>(bins - 1)));
      max_count = std::max(max_count, ++counts[g][bin]);
    }
  }
  const Frame f{900, 310, 52, 14, 26, 40};
  Axis x;
  x.lo = start, x.hi = start + static_cast<double>(bins) * step;
  const Axis y = NiceAxis(0, max_count, 5, true);
  const Axis xt = NiceAxis(x.lo, x.hi, 8);
  x.decimals = xt.decimals;
  std::vector<double> x_ticks;
  for (double t : xt.ticks) {
    if (t >= x.lo - step * 1e-6 && t <= x.hi + step * 1e-6) x_ticks.push_back(t);
  }

  w.Open("figure", {{"class", "chart wide"}});
  w.Open("div", {{"class", "legend"}});
  for (const auto& [system, values] : groups) {
    double sum = 0;
    for (double v : values) sum += v;
    w.Open("span");
    Swatch(w, SystemColor(system), false, true);
    w.Text(r.systems[system].name + " answers");
    w.Element("span", {{"class", "last"}},
              " n = " + html::Integer(static_cast<int64_t>(values.size())) + ", mean " +
                  html::Signed(sum / static_cast<double>(values.size()), 2));
    w.Close();
  }
  w.Close();
  OpenSvg(w, f, "Histogram of implicit rewards, " + html::Integer(static_cast<int64_t>(total)) + " answers");
  DrawAxes(w, f, x, y, x_title, "answers", x_ticks);
  const double bin_width = (f.X1() - f.X0()) / static_cast<double>(bins);
  const double gap = bin_width * 0.12;  // between bins; a bin's bars touch
  const double bar_width = (bin_width - 2 * gap) / static_cast<double>(groups.size());
  for (size_t b = 0; b < bins; ++b) {
    const double edge = start + static_cast<double>(b) * step;
    for (size_t g = 0; g < groups.size(); ++g) {
      const double top = y.Map(counts[g][b], f.Y0(), f.Y1());
      w.Open("rect",
             {{"class", "bar"},
              {"x",
               html::Fixed(f.X0() + static_cast<double>(b) * bin_width + gap + static_cast<double>(g) * bar_width, 2)},
              {"y", html::Fixed(top, 2)},
              {"width", html::Fixed(bar_width, 2)},
              {"height", html::Fixed(f.Y0() - top, 2)},
              {"fill", SystemColor(groups[g].first)}});
      w.Element("title", r.systems[groups[g].first].name + ": " + Plural(counts[g][b], "answer", "answers") + " in [" +
                             html::Pretty(edge, x.decimals + 1) + ", " + html::Pretty(edge + step, x.decimals + 1) +
                             ")");
      w.Close();
    }
  }
  // Each group's mean as a dashed vertical line over a white halo (visible across its own bars),
  // labelled above the plot: the lowest mean to the left of its line, the others to the right.
  std::vector<std::pair<double, size_t>> means;
  for (const auto& [system, values] : groups) {
    double sum = 0;
    for (double v : values) sum += v;
    means.emplace_back(sum / static_cast<double>(values.size()), system);
  }
  std::sort(means.begin(), means.end());
  for (size_t i = 0; i < means.size(); ++i) {
    const auto [mean, system] = means[i];
    const double px = x.Map(mean, f.X0(), f.X1());
    const std::string sx = html::Fixed(px, 1), y0 = html::Fixed(f.Y0(), 1), y1 = html::Fixed(f.Y1() - 4, 1);
    w.Empty("line", {{"class", "mean-halo"}, {"x1", sx}, {"x2", sx}, {"y1", y0}, {"y2", y1}});
    w.Empty("line",
            {{"class", "mean"}, {"x1", sx}, {"x2", sx}, {"y1", y0}, {"y2", y1}, {"stroke", SystemColor(system)}});
    const bool left = i == 0 && means.size() > 1;
    w.Element("text",
              {{"class", "mean-label"},
               {"x", html::Fixed(px + (left ? -4 : 4), 1)},
               {"y", html::Fixed(f.Y1() - 6, 1)},
               {"text-anchor", left ? "end" : "start"},
               {"fill", SystemColor(system)}},
              "mean " + r.systems[system].name + " " + html::Signed(mean, 2));
  }
  w.Close();  // svg
  w.Close();  // figure
}

// ---------------------------------------------------------------- sections

struct Human {
  const json* j = nullptr;
  std::string challenger, baseline;
  std::optional<double> wins, ties, losses;
};

// A count for `system` from a number or a {system: n} object.
std::optional<double> CountFor(const json* j, const std::string& system) {
  if (auto v = Num(j)) return v;
  return Num(Field(j, system.c_str()));
}

Human ReadHuman(const Report& r) {
  Human h;
  h.j = Field(r.summary, "human");
  if (h.j == nullptr || !h.j->is_object()) {
    h.j = nullptr;
    return h;
  }
  if (const json* s = Field(h.j, "systems"); s != nullptr && s->is_array() && s->size() >= 2) {
    h.baseline = Label(&(*s)[0]);
    h.challenger = Label(&(*s)[1]);
  }
  if (h.challenger.empty()) {
    if (const json* wins = Field(h.j, "wins"); wins != nullptr && wins->is_object() && !wins->empty()) {
      h.challenger = wins->begin().key();
    } else if (r.policy) {
      h.challenger = r.PolicyName();
    }
  }
  if (h.baseline.empty() && !r.systems.empty()) h.baseline = r.systems[r.reference].name;
  h.wins = CountFor(Field(h.j, "wins"), h.challenger);
  h.ties = CountFor(Field(h.j, "ties"), h.challenger);
  h.losses = CountFor(Field(h.j, "losses"), h.challenger);
  return h;
}

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
  std::vector<std::pair<size_t, std::vector<double>>> groups;
  if (r.has_rewards) {
    for (size_t i = 0; i < r.systems.size(); ++i) {
      std::vector<double> values;
      for (const Row& row : r.rows) {
        for (const Sample& s : row.samples[i]) {
          if (auto v = s.RewardUnder(r.PolicyName()); v && Plottable(*v)) values.push_back(*v);
        }
      }
      if (!values.empty()) groups.emplace_back(i, std::move(values));
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
  Histogram(w, groups, r, "implicit reward under " + policy);
  w.Close();
}

void WriteTraining(Writer& w, const std::vector<json>& metrics) {
  OpenSection(w, "training", "Training curves");
  auto series = [&](const char* key, std::string label, const char* color, bool dashed) {
    Series s{key, std::move(label), color, dashed, {}};
    for (const json& m : metrics) {
      const auto step = Num(Field(&m, "step"));
      const auto v = Num(Field(&m, key));
      if (step && v && Plottable(*step) && Plottable(*v)) s.points.emplace_back(*step, *v);
    }
    std::stable_sort(s.points.begin(), s.points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return s;
  };
  constexpr const char* kTrain = "#2563eb";
  constexpr const char* kEval = "#ea580c";
  constexpr const char* kChosen = "#16a34a";
  constexpr const char* kRejected = "#dc2626";
  // DPO's loss starts at ln 2 (zero margins); other objectives (SFT) have no such line.
  bool dpo = false;
  for (const json& m : metrics) {
    if (!m.is_object()) continue;
    for (auto it = m.begin(); it != m.end() && !dpo; ++it) {
      dpo = it.key().rfind("rewards/", 0) == 0 || it.key().rfind("eval_rewards/", 0) == 0;
    }
  }
  const std::optional<double> ln2 = dpo ? std::optional<double>(std::log(2.0)) : std::nullopt;
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

// The style sheet. System font stack, tabular figures, light cards; print: black on white, no
// clamps, no toggles, rows and charts kept whole where they fit.
constexpr char kStyle[] = R"css(
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--soft:#f8fafc;--bg:#f4f5f7;--accent:#2563eb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","DejaVu Sans",sans-serif;font-variant-numeric:tabular-nums}
.page{max-width:1360px;margin:0 auto;padding:28px 28px 40px}
header.top{margin:4px 0 18px}
.eyebrow{font-size:12px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;color:var(--accent)}
h1{font-size:28px;line-height:1.2;margin:6px 0;font-weight:700;letter-spacing:-.01em;overflow-wrap:anywhere}
h2{font-size:19px;line-height:1.3;margin:0 0 4px;font-weight:650}
h3{font-size:14px;margin:22px 0 8px;font-weight:650}
figure h3{margin:0 0 2px}
.lede{color:var(--muted);margin:0;overflow-wrap:anywhere}
nav.toc{display:flex;flex-wrap:wrap;gap:6px;margin-top:14px}
nav.toc a{font-size:13px;color:#374151;text-decoration:none;background:#fff;border:1px solid var(--line);border-radius:999px;padding:3px 12px}
nav.toc a:hover{border-color:#9ca3af;color:#111827}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:22px 24px;margin:0 0 18px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
p.note{color:var(--muted);font-size:13.5px;margin:2px 0 14px;max-width:92ch}
.small{font-size:12.5px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(270px,1fr));gap:14px;margin:12px 0 6px}
.card{border:1px solid var(--line);border-radius:10px;padding:14px 16px;background:var(--soft);overflow-wrap:anywhere}
.card .label{font-size:11.5px;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.card .label .as-is{text-transform:none;letter-spacing:.01em}
.card .kpi{font-size:30px;font-weight:700;line-height:1.15;margin:6px 0 4px;letter-spacing:-.01em}
.card .kpi small{font-size:13px;font-weight:500;color:var(--muted);margin-left:8px;letter-spacing:0}
.card p{margin:4px 0 0;font-size:13.5px;color:#374151}
.card p.small{color:var(--muted);font-size:12.5px}
.card .chip{margin-top:8px}
.card.empty .kpi{color:#9ca3af;font-size:22px;margin:10px 0 6px}
.wtl{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eef0f3;margin:8px 0 4px}
.wtl .w{background:#2563eb}.wtl .t{background:#cbd5e1}.wtl .l{background:#64748b}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:11.5px;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;border-bottom:1px solid var(--line)}
.num{text-align:right}
td.num{white-space:nowrap}
td.name{font-weight:600;white-space:nowrap}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px;overflow-wrap:anywhere}
td.finish{min-width:140px}
div.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eef0f3;margin:6px 0 3px;max-width:260px}
.fr-stop{background:#10b981}.fr-length{background:#f59e0b}.fr-other{background:#a78bfa}
svg.sw{vertical-align:-1px;margin-right:6px;flex:none}
dl.settings{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:0}
dl.settings div{border:1px solid var(--line);border-radius:8px;padding:6px 10px;background:var(--soft)}
dl.settings dt{font-size:11.5px;color:var(--muted)}
dl.settings dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.prompt{border-left:3px solid var(--line);padding:2px 0 2px 12px;font-size:14px;color:#374151}
.chip{display:inline-block;font-size:11.5px;line-height:19px;padding:0 8px;border-radius:999px;background:#f1f5f9;color:#334155;white-space:nowrap;margin-right:4px}
.chip.warn{background:#fef3c7;color:#92400e}
.chip.pos{background:#dcfce7;color:#166534}
.chip.neg{background:#fee2e2;color:#991b1b}
.chip.accent{background:#dbeafe;color:#1e40af}
.chip.label{background:#fff;border:1px solid var(--line);line-height:17px}
table.answers{table-layout:fixed}
table.answers col.qcol{width:24%}
table.answers thead th{position:sticky;top:0;background:#fff;z-index:2;box-shadow:inset 0 -1px 0 var(--line);font-size:12px}
table.answers th .sub{text-transform:none;letter-spacing:0;font-weight:400;font-size:11.5px;margin-top:2px}
table.answers td{padding:14px 12px;border-bottom:1px solid var(--line);font-size:14px}
table.answers tbody tr:nth-child(even) td{background:#fcfcfd}
td.q .text{font-weight:600;color:#111827}
.qid{font-size:12px;color:var(--muted);font-weight:600;margin-bottom:4px}
.ctx{font-size:13px;color:#4b5563;border-left:3px solid var(--line);padding-left:8px;margin-bottom:8px}
.ctx .role{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:700}
.text{white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}
.text.none{color:#9ca3af;font-style:italic}
.sample+.sample{margin-top:12px;padding-top:12px;border-top:1px dashed var(--line)}
.meta{margin:0 0 6px;line-height:22px}
mark.new{background:#dbeafe;color:inherit;border-radius:2px;box-shadow:0 0 0 1px #dbeafe}
.clamp{display:flex;flex-direction:column}
.clamp>.more{order:2;margin-top:4px}
.text.long{max-height:17em;overflow:hidden;-webkit-mask-image:linear-gradient(#000 60%,transparent);mask-image:linear-gradient(#000 60%,transparent)}
.more[open]+.text.long{max-height:none;-webkit-mask-image:none;mask-image:none}
.more>summary{list-style:none;cursor:pointer;font-size:12.5px;font-weight:600;color:var(--accent);display:inline-block}
.more>summary::-webkit-details-marker{display:none}
.more>summary:hover{text-decoration:underline}
.more[open] .show,.more:not([open]) .hide{display:none}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:10px;padding:12px 14px 8px}
figure.chart.wide{padding:10px 14px 8px}
svg.plot{display:block;width:100%;height:auto;overflow:visible}
.keys{font:11.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;color:#9ca3af;margin:1px 0 4px;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:2px 16px;font-size:12.5px;color:#374151;margin:2px 0 6px}
.legend>span{display:inline-flex;align-items:center;white-space:nowrap}
.legend .last{color:var(--muted);margin-left:4px}
svg.plot .grid{stroke:#eef0f3;stroke-width:1}
svg.plot .axis{stroke:#9ca3af;stroke-width:1}
svg.plot text{font-size:11px;fill:#6b7280}
svg.plot text.axis-title{font-size:11.5px;fill:#4b5563}
svg.plot .ref{stroke:#9ca3af;stroke-width:1;stroke-dasharray:3 3}
svg.plot text.ref-label{font-size:10px;fill:#9ca3af}
svg.plot .line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
svg.plot .line.eval{stroke-dasharray:6 4;stroke-width:1.8}
svg.plot .pt{stroke-width:1.5}
svg.plot .bar{opacity:.9}
svg.plot .mean{stroke-width:1.5;stroke-dasharray:5 4}
svg.plot .mean-halo{stroke:#fff;stroke-width:4}
svg.plot text.mean-label{font-size:11px;font-weight:600}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:8px}
@media (max-width:760px){.page{padding:16px 12px}section{padding:16px 14px}.charts{grid-template-columns:1fr}table.answers col.qcol{width:30%}}
@media print{
@page{margin:12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;color:#000;font-size:10pt}
.page{max-width:none;padding:0}
nav.toc,.more{display:none}
section{border:0;border-radius:0;box-shadow:none;padding:0;margin:0 0 9mm}
.text.long{max-height:none;-webkit-mask-image:none;mask-image:none}
table.answers thead th{position:static;box-shadow:none}
thead{display:table-header-group}
tr,.card,figure.chart,.sample,dl.settings div{break-inside:avoid}
h2,h3{break-after:avoid}
.card,figure.chart,dl.settings div{border-color:#bbb;background:#fff}
table.answers tbody tr:nth-child(even) td{background:#fff}
td,th,.card p,.legend,.prompt,.ctx,td.q .text{color:#000}
p.note,.small,.qid,.lede,.keys{color:#333}
.charts{grid-template-columns:1fr 1fr}
}
)css";

}  // namespace

std::string RenderComparisonReport(const json& summary, const std::vector<json>& questions,
                                   const std::vector<json>& metrics) {
  const Report r = Read(summary, questions);
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
  w.Raw(kStyle);
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

}  // namespace tenet::eval
