// The server's metrics in Prometheus' text format (GET /metrics), names prefixed "tenet:" and
// labelled by model (the base or an adapter), after vLLM's: request counts by finish reason,
// prompt and generated tokens, and histograms of time to first token, time between tokens and
// end-to-end latency; the engine's load (requests running and waiting, slots in use) as gauges.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tenet/generate/engine.h"

namespace tenet::serve {

class Metrics {
 public:
  // One finished choice of a request (finish: "stop", "length" or "abort").
  void ChoiceFinished(const std::string& model, const std::string& finish);
  // One finished request: its token counts and latencies (ttft_s < 0: no token was generated).
  void RequestFinished(const std::string& model, int64_t prompt_tokens, int64_t generated_tokens, double e2e_s, double ttft_s);
  // The time between two tokens of one choice.
  void TokenGap(const std::string& model, double seconds);

  // The exposition text. `in_flight`: HTTP requests holding the engine.
  std::string Render(const Engine::Load& load, int64_t in_flight) const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<int64_t> counts;  // per bucket (not cumulative); the last is +Inf
    double sum = 0;
    int64_t count = 0;
    void Observe(double v);
  };
  struct PerModel {
    std::map<std::string, int64_t> finished;  // by finish reason
    int64_t prompt_tokens = 0, generated_tokens = 0;
    Histogram ttft, itl, e2e;
  };
  PerModel& Model(const std::string& name);  // REQUIRES(mu_)

  mutable std::mutex mu_;
  std::map<std::string, PerModel> models_;  // GUARDED_BY(mu_)
};

}  // namespace tenet::serve
