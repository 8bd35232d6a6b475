// The report's inputs read into structs. See report_data.h.
#include "report_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

using nlohmann::json;

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
std::string Label(const json* j) {
  if (auto v = Num(j)) return html::Shortest(*v);
  return Str(j);
}

namespace {

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

}  // namespace

Report ReadReport(const json& summary, const std::vector<json>& questions) {
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

std::vector<std::pair<double, double>> MetricPoints(const std::vector<json>& metrics, const char* key) {
  std::vector<std::pair<double, double>> points;
  for (const json& m : metrics) {
    const auto step = Num(Field(&m, "step"));
    const auto v = Num(Field(&m, key));
    if (step && v) points.emplace_back(*step, *v);
  }
  return points;
}

bool HasRewardMetrics(const std::vector<json>& metrics) {
  for (const json& m : metrics) {
    if (!m.is_object()) continue;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it.key().rfind("rewards/", 0) == 0 || it.key().rfind("eval_rewards/", 0) == 0) return true;
    }
  }
  return false;
}

}  // namespace tenet::eval::report_detail
