// Before/after comparison. See tenet/eval/comparison.h.
#include "tenet/eval/comparison.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include "tenet/generate/engine.h"
#include "tenet/generate/stops.h"
#include "tenet/model/logprobs.h"

namespace tenet::eval {

namespace {
using json = nlohmann::json;

struct Answer {
  std::string text;
  int64_t tokens = 0;
  std::string finish_reason;
  std::vector<double> logp;  // under each system, by system index; empty without scoring
  int64_t scored_tokens = 0;
};

// answers[system][question][sample]
using Answers = std::vector<std::vector<std::vector<Answer>>>;

std::string NowUtc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json SamplingJson(const SamplingParams& p) {
  return {{"temperature", p.temperature}, {"top_k", p.top_k}, {"top_p", p.top_p}, {"min_p", p.min_p},
          {"repetition_penalty", p.repetition_penalty}, {"presence_penalty", p.presence_penalty},
          {"frequency_penalty", p.frequency_penalty}, {"seed", p.seed}};
}

Status Validate(const std::vector<ComparedSystem>& systems, const std::vector<Question>& questions, const CompareOptions& o) {
  if (systems.size() < 2) return Status::InvalidArgument("compare", "needs at least two systems (before and after)");
  std::set<std::string> names;
  for (const auto& s : systems) {
    if (s.name.empty()) return Status::InvalidArgument("compare", "a system has no name");
    if (!names.insert(s.name).second) return Status::InvalidArgument("compare", "two systems are named '" + s.name + "'");
    if (s.model == nullptr) return Status::InvalidArgument("compare", "system '" + s.name + "' has no model");
  }
  if (questions.empty()) return Status::InvalidArgument("compare", "no questions");
  if (o.samples < 1) return Status::InvalidArgument("samples", "must be at least 1");
  if (o.max_new_tokens < 1) return Status::InvalidArgument("max_new_tokens", "must be at least 1");
  if (!(o.beta >= 0) || !std::isfinite(o.beta)) return Status::InvalidArgument("beta", "must be finite and >= 0");
  if (o.slots < o.samples) return Status::InvalidArgument("slots", "must be at least samples");
  if (o.score_batch < 1) return Status::InvalidArgument("score_batch", "must be at least 1");
  TENET_RETURN_IF_ERROR(ValidateSamplingParams(o.sampling));
  return ValidateStopStrings(o.stop, "stop");
}

// Generates every system's answers: one engine per model object, all its systems in one batch.
Status Generate(const std::vector<ComparedSystem>& systems, const std::vector<Question>& questions,
                const std::vector<std::vector<int32_t>>& prompts, const CompletionEncoder& encoder, const CompareOptions& o,
                Answers* answers) {
  const Tokenizer& tok = encoder.tokenizer();
  std::vector<LlamaForCausalLM*> models;
  for (const auto& s : systems)
    if (std::find(models.begin(), models.end(), s.model) == models.end()) models.push_back(s.model);
  for (LlamaForCausalLM* model : models) {
    std::vector<GenerationRequest> requests;
    std::vector<std::pair<size_t, size_t>> which;  // (system, question)
    for (size_t s = 0; s < systems.size(); ++s) {
      if (systems[s].model != model) continue;
      for (size_t q = 0; q < questions.size(); ++q) {
        GenerationRequest r;
        r.prompt = prompts[q];
        r.n = o.samples;
        r.max_new_tokens = o.max_new_tokens;
        r.sampling = o.sampling;
        r.sampling.seed = o.sampling.seed + 1000003ull * q;
        r.stop_ids = o.stop_ids;
        r.adapter = systems[s].adapter;
        if (!o.stop.empty()) r.stop_when = StopWhen(tok, o.stop);
        requests.push_back(std::move(r));
        which.emplace_back(s, q);
      }
    }
    EngineOptions eo;
    eo.slots = std::max(o.slots, o.samples);
    TENET_ASSIGN_OR_RETURN(auto engine, Engine::Create(*model, eo));
    size_t done = 0;
    const size_t total = requests.size() * static_cast<size_t>(o.samples);
    Status decode_status;
    auto on_done = [&](size_t r, int32_t k, Completion c) {
      auto [s, q] = which[r];
      Answer& a = (*answers)[s][q][static_cast<size_t>(k)];
      auto text = tok.Decode(c.ids, /*skip_special=*/true);
      if (!text.ok()) {
        if (decode_status.ok()) decode_status = text.status();
        return;
      }
      bool hit = false;
      a.text = CutAtStop(*text, o.stop, &hit);
      a.tokens = static_cast<int64_t>(c.ids.size());
      a.finish_reason = hit ? "stop" : FinishReasonName(c.finish);
      if (o.progress && (++done % 16 == 0 || done == total)) {
        o.progress("generated " + std::to_string(done) + "/" + std::to_string(total) + " answers");
      }
    };
    TENET_RETURN_IF_ERROR(engine->Generate(requests, on_done));
    TENET_RETURN_IF_ERROR(decode_status);
  }
  return Status::OK();
}

// Log-prob of every answer under every system, as DPO scores a completion.
Status Score(const std::vector<ComparedSystem>& systems, const std::vector<Question>& questions,
             const CompletionEncoder& encoder, const CompareOptions& o, Answers* answers) {
  struct Item {
    Answer* answer;
    ScoredSequence seq;
  };
  std::vector<Item> items;
  for (auto& per_system : *answers) {
    for (size_t q = 0; q < per_system.size(); ++q) {
      for (Answer& a : per_system[q]) {
        TENET_ASSIGN_OR_RETURN(PromptCompletionIds ids, encoder.EncodeChat(questions[q].messages, a.text));
        Item it{&a, {}};
        it.seq.prompt_len = static_cast<int64_t>(ids.prompt.size());
        it.seq.ids.assign(ids.prompt.begin(), ids.prompt.end());
        it.seq.ids.insert(it.seq.ids.end(), ids.completion.begin(), ids.completion.end());
        a.scored_tokens = static_cast<int64_t>(ids.completion.size());
        a.logp.assign(systems.size(), 0.0);
        items.push_back(std::move(it));
      }
    }
  }
  // Similar lengths together: less padding per forward pass.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.seq.ids.size() < b.seq.ids.size(); });
  const size_t batch = static_cast<size_t>(o.score_batch);
  size_t done = 0;
  for (size_t s = 0; s < systems.size(); ++s) {
    for (size_t i = 0; i < items.size(); i += batch) {
      const size_t n = std::min(batch, items.size() - i);
      std::vector<ScoredSequence> seqs;
      for (size_t j = 0; j < n; ++j) seqs.push_back(items[i + j].seq);
      RowAdapters rows;
      rows.rows.assign(n, systems[s].adapter.get());
      const AdapterChoice choice = AdapterChoice::Rows(systems[s].adapter ? &rows : nullptr);
      auto scores = ScoreSequences(*systems[s].model, seqs, choice);
      if (!scores.ok()) return scores.status().WithContext("scoring under '" + systems[s].name + "'");
      for (size_t j = 0; j < n; ++j) items[i + j].answer->logp[s] = (*scores)[j].logp;
      done += n;
    }
    if (o.progress) o.progress("scored " + std::to_string(done) + "/" + std::to_string(items.size() * systems.size()) + " answers");
  }
  return Status::OK();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

json ComparisonStats(const std::vector<std::string>& systems, const std::vector<json>& questions) {
  json stats = json::object();
  for (const std::string& name : systems) {
    std::vector<double> tokens;
    std::map<std::string, int64_t> finish;
    std::map<std::string, std::pair<double, int64_t>> reward;  // policy -> (sum, count)
    for (const json& q : questions) {
      if (!q.contains("answers") || !q["answers"].is_array()) continue;
      for (const json& a : q["answers"]) {
        if (a.value("system", "") != name || !a.contains("samples") || !a["samples"].is_array()) continue;
        for (const json& s : a["samples"]) {
          if (s.contains("tokens") && s["tokens"].is_number()) tokens.push_back(s["tokens"].get<double>());
          if (s.contains("finish_reason") && s["finish_reason"].is_string()) ++finish[s["finish_reason"].get<std::string>()];
          if (s.contains("reward") && s["reward"].is_object()) {
            for (const auto& [policy, r] : s["reward"].items()) {
              if (!r.is_number()) continue;
              reward[policy].first += r.get<double>();
              ++reward[policy].second;
            }
          }
        }
      }
    }
    json st = {{"answers", tokens.size()}, {"finish_reasons", finish}};
    double sum = 0, max = 0;
    for (double t : tokens) sum += t, max = std::max(max, t);
    st["mean_tokens"] = tokens.empty() ? 0.0 : sum / static_cast<double>(tokens.size());
    st["median_tokens"] = Median(tokens);
    st["max_tokens"] = max;
    if (!reward.empty()) {
      json mr = json::object();
      for (const auto& [policy, sc] : reward) mr[policy] = sc.first / static_cast<double>(sc.second);
      st["mean_reward"] = mr;
    }
    stats[name] = st;
  }
  return stats;
}

Result<Comparison> RunComparison(const std::vector<ComparedSystem>& systems, const std::vector<Question>& questions,
                                 const CompletionEncoder& encoder, const CompareOptions& o) {
  TENET_RETURN_IF_ERROR(Validate(systems, questions, o));
  // Every prompt first: a question that does not fit fails before any work.
  std::vector<std::vector<int32_t>> prompts;
  for (const Question& q : questions) {
    auto ids = encoder.EncodeChatPrompt(q.messages);
    if (!ids.ok()) return ids.status().WithContext("question " + q.id);
    for (const auto& s : systems) {
      const int64_t limit = s.model->config().max_position_embeddings;
      if (static_cast<int64_t>(ids->size()) + o.max_new_tokens > limit) {
        return Status::InvalidArgument("question " + q.id, std::to_string(ids->size()) + " prompt tokens + max_new_tokens " +
                                                               std::to_string(o.max_new_tokens) + " exceed the context of '" +
                                                               s.name + "' (" + std::to_string(limit) + " tokens)");
      }
    }
    prompts.push_back(std::move(ids).value());
  }
  Answers answers(systems.size(), std::vector<std::vector<Answer>>(questions.size(), std::vector<Answer>(static_cast<size_t>(o.samples))));
  TENET_RETURN_IF_ERROR(Generate(systems, questions, prompts, encoder, o, &answers));
  const bool scored = o.beta > 0;
  if (scored) TENET_RETURN_IF_ERROR(Score(systems, questions, encoder, o, &answers));

  Comparison out;
  for (size_t q = 0; q < questions.size(); ++q) {
    json line = {{"id", questions[q].id}, {"messages", questions[q].messages}};
    const json& messages = questions[q].messages;
    line["question"] = messages.empty() ? "" : messages.back().value("content", "");
    json per_system = json::array();
    for (size_t s = 0; s < systems.size(); ++s) {
      json samples = json::array();
      for (size_t k = 0; k < answers[s][q].size(); ++k) {
        const Answer& a = answers[s][q][k];
        json j = {{"text", a.text}, {"tokens", a.tokens}, {"finish_reason", a.finish_reason},
                  {"seed", o.sampling.seed + 1000003ull * q + k}};
        if (scored) {
          j["logp"] = a.logp[s];
          j["logp_per_token"] = a.logp[s] / static_cast<double>(std::max<int64_t>(a.scored_tokens, 1));
          json reward = json::object();
          for (size_t p = 1; p < systems.size(); ++p) reward[systems[p].name] = o.beta * (a.logp[p] - a.logp[0]);
          j["reward"] = reward;
        }
        samples.push_back(j);
      }
      per_system.push_back({{"system", systems[s].name}, {"samples", samples}});
    }
    line["answers"] = per_system;
    out.questions.push_back(std::move(line));
  }
  std::vector<std::string> names;
  json described = json::array();
  for (const auto& s : systems) {
    names.push_back(s.name);
    json d = s.description.is_object() ? s.description : json::object();
    d["name"] = s.name;
    described.push_back(d);
  }
  out.summary = {{"tool", "tenet compare"},
                 {"created", NowUtc()},
                 {"questions", questions.size()},
                 {"samples", o.samples},
                 {"max_new_tokens", o.max_new_tokens},
                 {"sampling", SamplingJson(o.sampling)},
                 {"stop", o.stop},
                 {"beta", scored ? json(o.beta) : json(nullptr)},
                 {"reference", systems[0].name},
                 {"systems", described},
                 {"stats", ComparisonStats(names, out.questions)},
                 {"run", nullptr},
                 {"human", nullptr}};
  return out;
}

}  // namespace tenet::eval
