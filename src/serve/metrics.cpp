// Prometheus metrics. See tenet/serve/metrics.h.
#include "tenet/serve/metrics.h"

#include <algorithm>
#include <sstream>

namespace tenet::serve {

namespace {

const std::vector<double> kTtftBounds = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
const std::vector<double> kItlBounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5};
const std::vector<double> kE2eBounds = {0.1, 0.3, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600};

// A label value with Prometheus' escapes.
std::string Quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Metrics::Histogram::Observe(double v) {
  if (counts.empty()) counts.assign(bounds.size() + 1, 0);
  const size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
  ++counts[i];
  sum += v;
  ++count;
}

Metrics::PerModel& Metrics::Model(const std::string& name) {
  auto [it, inserted] = models_.try_emplace(name);
  if (inserted) {
    it->second.ttft.bounds = kTtftBounds;
    it->second.itl.bounds = kItlBounds;
    it->second.e2e.bounds = kE2eBounds;
  }
  return it->second;
}

void Metrics::ChoiceFinished(const std::string& model, const std::string& finish) {
  std::lock_guard<std::mutex> lock(mu_);
  ++Model(model).finished[finish];
}

void Metrics::RequestFinished(const std::string& model, int64_t prompt_tokens, int64_t generated_tokens, double e2e_s,
                              double ttft_s) {
  std::lock_guard<std::mutex> lock(mu_);
  PerModel& m = Model(model);
  m.prompt_tokens += prompt_tokens;
  m.generated_tokens += generated_tokens;
  m.e2e.Observe(e2e_s);
  if (ttft_s >= 0) m.ttft.Observe(ttft_s);
}

void Metrics::TokenGap(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Model(model).itl.Observe(seconds);
}

std::string Metrics::Render(const Engine::Load& load, int64_t in_flight) const {
  std::ostringstream o;
  o << "# HELP tenet:num_requests_running Requests admitted into the engine's batch.\n# TYPE tenet:num_requests_running gauge\n"
    << "tenet:num_requests_running " << load.running << "\n";
  o << "# HELP tenet:num_requests_waiting Requests queued for a free slot.\n# TYPE tenet:num_requests_waiting gauge\n"
    << "tenet:num_requests_waiting " << load.waiting << "\n";
  o << "# HELP tenet:num_requests_in_flight HTTP requests holding the engine (running, waiting or finishing).\n"
    << "# TYPE tenet:num_requests_in_flight gauge\ntenet:num_requests_in_flight " << in_flight << "\n";
  o << "# HELP tenet:kv_cache_usage_perc Share of the batch's KV-cache slots in use (0 to 1).\n# TYPE tenet:kv_cache_usage_perc gauge\n"
    << "tenet:kv_cache_usage_perc " << (load.slots > 0 ? static_cast<double>(load.active_slots) / static_cast<double>(load.slots) : 0.0)
    << "\n";
  std::lock_guard<std::mutex> lock(mu_);
  o << "# HELP tenet:request_success_total Finished choices by finish reason.\n# TYPE tenet:request_success_total counter\n";
  for (const auto& [name, m] : models_)
    for (const auto& [reason, n] : m.finished)
      o << "tenet:request_success_total{model_name=" << Quote(name) << ",finished_reason=" << Quote(reason) << "} " << n << "\n";
  o << "# HELP tenet:prompt_tokens_total Prompt tokens processed.\n# TYPE tenet:prompt_tokens_total counter\n";
  for (const auto& [name, m] : models_) o << "tenet:prompt_tokens_total{model_name=" << Quote(name) << "} " << m.prompt_tokens << "\n";
  o << "# HELP tenet:generation_tokens_total Tokens generated.\n# TYPE tenet:generation_tokens_total counter\n";
  for (const auto& [name, m] : models_) {
    o << "tenet:generation_tokens_total{model_name=" << Quote(name) << "} " << m.generated_tokens << "\n";
  }
  auto histogram = [&](const char* metric, const char* help, const Histogram PerModel::*h) {
    o << "# HELP " << metric << " " << help << "\n# TYPE " << metric << " histogram\n";
    for (const auto& [name, m] : models_) {
      const Histogram& x = m.*h;
      int64_t cumulative = 0;
      for (size_t i = 0; i <= x.bounds.size(); ++i) {
        cumulative += x.counts.empty() ? 0 : x.counts[i];
        o << metric << "_bucket{model_name=" << Quote(name) << ",le=";
        if (i < x.bounds.size()) {
          o << Quote([&] {
            std::ostringstream b;
            b << x.bounds[i];
            return b.str();
          }());
        } else {
          o << "\"+Inf\"";
        }
        o << "} " << cumulative << "\n";
      }
      o << metric << "_sum{model_name=" << Quote(name) << "} " << x.sum << "\n";
      o << metric << "_count{model_name=" << Quote(name) << "} " << x.count << "\n";
    }
  };
  histogram("tenet:time_to_first_token_seconds", "Time from the request to its first generated token.", &PerModel::ttft);
  histogram("tenet:inter_token_latency_seconds", "Time between two tokens of one choice.", &PerModel::itl);
  histogram("tenet:e2e_request_latency_seconds", "Time from the request to its last token.", &PerModel::e2e);
  return o.str();
}

}  // namespace tenet::serve
