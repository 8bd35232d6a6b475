// Generation engine: prefill-and-fork, batched decode, continuous batching. See
// tenet/generate/engine.h.
#include "tenet/generate/engine.h"

#include <algorithm>
#include <chrono>
#include <deque>

#include "tenet/model/kv_cache.h"

namespace tenet {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kPrefillChunk = 512;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Slot {
  bool active = false;
  size_t request = 0;
  int32_t sample = 0;
  std::unique_ptr<Sampler> sampler;
  std::vector<int32_t> generated;
  int32_t next = 0;  // the token fed at the next decode step
};

}  // namespace

const char* FinishReasonName(FinishReason r) { return r == FinishReason::kStop ? "stop" : "length"; }

Result<std::unique_ptr<Engine>> Engine::Create(LlamaForCausalLM& model, const EngineOptions& options) {
  if (options.slots < 1) return Status::InvalidArgument("engine", "slots must be at least 1");
  return std::unique_ptr<Engine>(new Engine(model, options));
}

Status Engine::Generate(const std::vector<GenerationRequest>& requests, const OnDone& on_done) {
  const ModelConfig& config = model_.config();
  const int64_t vocab = config.vocab_size;
  int64_t capacity = 1;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const std::string where = "request " + std::to_string(i);
    if (r.prompt.empty()) return Status::InvalidArgument(where, "empty prompt");
    if (r.n < 1 || r.n > options_.slots) {
      return Status::InvalidArgument(where, "n = " + std::to_string(r.n) + " must be in [1, slots = " +
                                                std::to_string(options_.slots) + "]");
    }
    if (r.max_new_tokens < 1) return Status::InvalidArgument(where, "max_new_tokens must be at least 1");
    const int64_t need = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
    if (need > config.max_position_embeddings) {
      return Status::InvalidArgument(where, std::to_string(r.prompt.size()) + " prompt tokens + " +
                                                std::to_string(r.max_new_tokens) + " new tokens exceed the model's " +
                                                std::to_string(config.max_position_embeddings) + " positions");
    }
    for (int32_t id : r.prompt) {
      if (id < 0 || id >= vocab) return Status::InvalidArgument(where, "token id " + std::to_string(id) + " outside the vocabulary");
    }
    Status s = ValidateSamplingParams(r.sampling);
    if (!s.ok()) return s.WithContext(where);
    capacity = std::max(capacity, need);
  }
  if (requests.empty()) return Status::OK();

  torch::NoGradGuard no_grad;
  const int64_t B = options_.slots;
  TENET_ASSIGN_OR_RETURN(KVCache cache, KVCache::Create(config, B, capacity, model_.dtype(), model_.device()));
  std::vector<Slot> slots(static_cast<size_t>(B));
  std::deque<size_t> waiting;
  for (size_t i = 0; i < requests.size(); ++i) waiting.push_back(i);

  // Records a new token for a slot; returns true if the sample is finished (and reports it).
  auto push = [&](Slot& s, int32_t token) {
    const auto& r = requests[s.request];
    bool stop = std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end();
    if (!stop) {
      s.generated.push_back(token);
      stop = r.stop_when && r.stop_when(s.generated);
    }
    const bool full = static_cast<int32_t>(s.generated.size()) >= r.max_new_tokens;
    if (!stop && !full) {
      s.next = token;
      return false;
    }
    on_done(s.request, s.sample, Completion{std::move(s.generated), stop ? FinishReason::kStop : FinishReason::kLength});
    s = Slot();
    return true;
  };

  // Prefills waiting requests into free slots while a whole request (all n samples) fits.
  auto admit = [&]() -> Status {
    while (!waiting.empty()) {
      const GenerationRequest& r = requests[waiting.front()];
      std::vector<int64_t> free;
      for (int64_t b = 0; b < B && static_cast<int32_t>(free.size()) < r.n; ++b)
        if (!slots[static_cast<size_t>(b)].active) free.push_back(b);
      if (static_cast<int32_t>(free.size()) < r.n) return Status::OK();
      const size_t ri = waiting.front();
      waiting.pop_front();
      const int64_t P = static_cast<int64_t>(r.prompt.size());
      auto start = Clock::now();
      TENET_ASSIGN_OR_RETURN(KVCache scratch, KVCache::Create(config, 1, P, model_.dtype(), model_.device()));
      // Chunked prefill: attention scores exist for at most kPrefillChunk x P positions at once, so
      // a long prompt costs O(P) memory instead of O(P^2).
      torch::Tensor last;
      for (int64_t begin = 0; begin < P; begin += kPrefillChunk) {
        const int64_t len = std::min(kPrefillChunk, P - begin);
        torch::Tensor ids = torch::tensor(std::vector<int64_t>(r.prompt.begin() + begin, r.prompt.begin() + begin + len),
                                          torch::kInt64)
                                .unsqueeze(0);
        TENET_ASSIGN_OR_RETURN(torch::Tensor hidden, model_.Hidden(ids, {}, {}, &scratch));  // (1, len, C)
        last = hidden.select(1, len - 1);
      }
      torch::Tensor logits = model_.Logits(last).to(torch::kFloat32).to(torch::kCPU).contiguous();  // (1, V)
      stats_.prefill_tokens += P;
      stats_.prefill_seconds += Since(start);
      for (int32_t i = 0; i < r.n; ++i) {
        const int64_t b = free[static_cast<size_t>(i)];
        TENET_RETURN_IF_ERROR(cache.CopyRow(scratch, 0, b, P));
        Slot& s = slots[static_cast<size_t>(b)];
        SamplingParams p = r.sampling;
        p.seed = r.sampling.seed + static_cast<uint64_t>(i);
        TENET_ASSIGN_OR_RETURN(s.sampler, Sampler::Create(p, static_cast<int32_t>(vocab)));
        s.sampler->AcceptPrompt(r.prompt);
        s.active = true;
        s.request = ri;
        s.sample = i;
        if (push(s, s.sampler->Sample(logits.data_ptr<float>()))) cache.SetLength(b, 0);
      }
    }
    return Status::OK();
  };

  TENET_RETURN_IF_ERROR(admit());
  std::vector<int64_t> step_ids(static_cast<size_t>(B));
  while (true) {
    std::vector<int64_t> active;
    for (int64_t b = 0; b < B; ++b) {
      const Slot& s = slots[static_cast<size_t>(b)];
      if (s.active) {
        active.push_back(b);
        step_ids[static_cast<size_t>(b)] = s.next;
      } else {
        cache.SetLength(b, 0);  // idle slots compute at position 0; their outputs are ignored
        step_ids[static_cast<size_t>(b)] = 0;
      }
    }
    if (active.empty()) break;
    auto start = Clock::now();
    torch::Tensor ids = torch::tensor(step_ids, torch::kInt64).unsqueeze(1);  // (B, 1)
    TENET_ASSIGN_OR_RETURN(torch::Tensor hidden, model_.Hidden(ids, {}, {}, &cache));  // (B, 1, C)
    torch::Tensor rows = torch::tensor(active, torch::kInt64).to(model_.device());
    torch::Tensor logits = model_.Logits(hidden.squeeze(1).index_select(0, rows))  // (A, V)
                               .to(torch::kFloat32)
                               .to(torch::kCPU)
                               .contiguous();
    const float* base = logits.data_ptr<float>();
    auto sample_start = Clock::now();
    // Rows sample in parallel (each slot owns its sampler and RNG, so the result does not depend
    // on the thread count); tokens are then recorded in slot order, since callbacks are serial.
    std::vector<int32_t> picked(active.size());
    at::parallel_for(0, static_cast<int64_t>(active.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        picked[static_cast<size_t>(k)] = slots[static_cast<size_t>(active[static_cast<size_t>(k)])].sampler->Sample(base + k * vocab);
      }
    });
    for (size_t k = 0; k < active.size(); ++k) {
      if (push(slots[static_cast<size_t>(active[k])], picked[k])) cache.SetLength(active[k], 0);
    }
    stats_.sample_seconds += Since(sample_start);
    stats_.decode_tokens += static_cast<int64_t>(active.size());
    stats_.decode_steps += 1;
    stats_.decode_seconds += Since(start);
    TENET_RETURN_IF_ERROR(admit());
  }
  return Status::OK();
}

}  // namespace tenet
