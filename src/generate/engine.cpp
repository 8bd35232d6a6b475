// Generation engine: prefill-and-fork, batched decode, continuous batching, cancellation. See
// tenet/generate/engine.h.
#include "tenet/generate/engine.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "tenet/model/kv_cache.h"

namespace tenet {

namespace {

using Clock = std::chrono::steady_clock;


double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The log-softmax of one logits row (fp32 `row` or bf16 `row16`) at `token`, and its `k` largest
// entries, best first (ties to the lower id). In double: a 128k-entry sum loses nothing.
void TokenLogprobs(const float* row, const uint16_t* row16, int64_t vocab, int32_t token, int32_t k, GenerationEvent* e) {
  auto at = [&](int64_t i) {
    return row != nullptr ? row[i] : std::bit_cast<float>(static_cast<uint32_t>(row16[i]) << 16);
  };
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) max = std::max(max, at(i));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(at(i)) - max);
  const double log_z = max + std::log(sum);
  auto lp = [&](int64_t i) { return static_cast<float>(static_cast<double>(at(i)) - log_z); };
  e->logprob = lp(token);
  e->top_logprobs.clear();
  if (k <= 0) return;
  // better(a, b): a ranks above b. As the heap's order it keeps the worst kept entry in front.
  std::vector<std::pair<float, int32_t>> best;
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  for (int64_t i = 0; i < vocab; ++i) {
    const std::pair<float, int32_t> c{at(i), static_cast<int32_t>(i)};
    if (static_cast<int32_t>(best.size()) < k) {
      best.push_back(c);
      std::push_heap(best.begin(), best.end(), better);
    } else if (better(c, best.front())) {
      std::pop_heap(best.begin(), best.end(), better);
      best.back() = c;
      std::push_heap(best.begin(), best.end(), better);
    }
  }
  std::sort(best.begin(), best.end(), better);
  for (const auto& [v, id] : best) e->top_logprobs.push_back({id, lp(id)});
}

struct Slot {
  bool active = false;
  uint64_t request = 0;
  int32_t sample = 0;
  std::unique_ptr<Sampler> sampler;
  std::vector<int32_t> generated;
  int32_t next = 0;  // the token fed at the next decode step
};

}  // namespace

// A request being prefilled, one chunk per step while other sequences decode.
struct Prefill {
  uint64_t request = 0;
  std::vector<int64_t> slots;  // reserved for its samples
  std::optional<KVCache> scratch;
  int64_t done = 0;            // prompt tokens prefilled
  torch::Tensor last;          // the last chunk's final hidden state (1, C)
};

struct Engine::State {
  std::optional<KVCache> cache;  // allocated at the first Step
  std::vector<Slot> slots;
  std::optional<Prefill> prefill;
  std::deque<std::pair<uint64_t, GenerationRequest>> waiting;
  std::map<uint64_t, GenerationRequest> running;  // admitted requests (by id) with unfinished samples
  std::map<uint64_t, int32_t> unfinished;         // samples left per admitted request
  std::set<uint64_t> cancelled;
  uint64_t next_id = 0;
};

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "length";
}

Engine::Engine(LlamaForCausalLM& model, const EngineOptions& options)
    : model_(model), options_(options), state_(std::make_unique<State>()) {
  state_->slots.resize(static_cast<size_t>(options.slots));
}

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Create(LlamaForCausalLM& model, const EngineOptions& options) {
  if (options.slots < 1) return Status::InvalidArgument("engine", "slots must be at least 1");
  if (options.max_context < 0) return Status::InvalidArgument("engine", "max_context must not be negative");
  if (options.prefill_chunk < 1) return Status::InvalidArgument("engine", "prefill_chunk must be at least 1");
  EngineOptions o = options;
  if (o.max_context == 0) o.max_context = std::min<int64_t>(model.config().max_position_embeddings, 4096);
  o.max_context = std::min(o.max_context, model.config().max_position_embeddings);
  return std::unique_ptr<Engine>(new Engine(model, o));
}

Status Engine::Validate(const GenerationRequest& r, int64_t capacity, const std::string& where) const {
  if (r.prompt.empty()) return Status::InvalidArgument(where, "empty prompt");
  if (r.n < 1 || r.n > options_.slots) {
    return Status::InvalidArgument(where, "n = " + std::to_string(r.n) + " must be in [1, slots = " +
                                                  std::to_string(options_.slots) + "]");
  }
  if (r.max_new_tokens < 1) return Status::InvalidArgument(where, "max_new_tokens must be at least 1");
  const int64_t need = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
  if (need > model_.config().max_position_embeddings) {
    return Status::InvalidArgument(where, std::to_string(r.prompt.size()) + " prompt tokens + " +
                                                  std::to_string(r.max_new_tokens) + " new tokens exceed the model's " +
                                                  std::to_string(model_.config().max_position_embeddings) + " positions");
  }
  if (need > capacity) {
    return Status::InvalidArgument(where, std::to_string(need) + " tokens exceed this engine's context of " +
                                                  std::to_string(capacity) + " (EngineOptions::max_context)");
  }
  for (int32_t id : r.prompt) {
    if (id < 0 || id >= model_.config().vocab_size) {
      return Status::InvalidArgument(where, "token id " + std::to_string(id) + " outside the vocabulary");
    }
  }
  return ValidateSamplingParams(r.sampling).WithContext(where);
}

Result<uint64_t> Engine::Add(GenerationRequest request) {
  const int64_t capacity = state_->cache ? state_->cache->capacity() : options_.max_context;
  TENET_RETURN_IF_ERROR(Validate(request, capacity, "request"));
  const uint64_t id = state_->next_id++;
  state_->waiting.emplace_back(id, std::move(request));
  return id;
}

void Engine::Cancel(uint64_t request) {
  State& st = *state_;
  auto it = std::find_if(st.waiting.begin(), st.waiting.end(), [&](const auto& w) { return w.first == request; });
  if (it != st.waiting.end() || st.running.count(request)) st.cancelled.insert(request);
}

bool Engine::idle() const { return state_->waiting.empty() && state_->running.empty(); }

Engine::Load Engine::load() const {
  Load l;
  l.waiting = static_cast<int64_t>(state_->waiting.size());
  l.running = static_cast<int64_t>(state_->running.size());
  l.slots = options_.slots;
  for (const Slot& s : state_->slots) l.active_slots += s.active ? 1 : 0;
  return l;
}

Result<bool> Engine::Step(const Sink& sink) {
  State& st = *state_;
  if (idle()) return false;
  c10::InferenceMode inference;  // no autograd bookkeeping per op (cheaper than NoGradGuard); the cache is made here too
  const ModelConfig& config = model_.config();
  const int64_t vocab = config.vocab_size;
  const int64_t B = options_.slots;
  if (!st.cache) {
    TENET_ASSIGN_OR_RETURN(st.cache, KVCache::Create(config, B, options_.max_context, model_.dtype(), model_.device()));
  }
  KVCache& cache = *st.cache;

  auto finish = [&](int64_t b, FinishReason reason) {
    Slot& s = st.slots[static_cast<size_t>(b)];
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::kFinish;
    e.request = s.request;
    e.sample = s.sample;
    e.finish = reason;
    e.ids = std::move(s.generated);
    const uint64_t rid = s.request;
    s = Slot();
    cache.SetLength(b, 0);
    if (--st.unfinished[rid] == 0) {
      st.unfinished.erase(rid);
      st.running.erase(rid);
      st.cancelled.erase(rid);
    }
    sink(e);
  };
  // Records a sampled token; ends the sample on a stop id, a stop hook, or its length limit.
  // `row`/`row16`: the logits it was drawn from (fp32 or bf16), for the log-probabilities.
  auto push = [&](int64_t b, int32_t token, const float* row, const uint16_t* row16) {
    Slot& s = st.slots[static_cast<size_t>(b)];
    const GenerationRequest& r = st.running.at(s.request);
    const bool stop_id = std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end();
    if (stop_id) return finish(b, FinishReason::kStop);
    s.generated.push_back(token);
    GenerationEvent e;
    e.request = s.request;
    e.sample = s.sample;
    e.token = token;
    if (r.logprobs >= 0) TokenLogprobs(row, row16, vocab, token, r.logprobs, &e);
    sink(e);
    if (r.stop_when && r.stop_when(s.generated)) return finish(b, FinishReason::kStop);
    if (static_cast<int32_t>(s.generated.size()) >= r.max_new_tokens) return finish(b, FinishReason::kLength);
    s.next = token;
  };

  // Cancellations: running samples end now; queued requests report their samples as cancelled.
  for (int64_t b = 0; b < B; ++b) {
    const Slot& s = st.slots[static_cast<size_t>(b)];
    if (s.active && st.cancelled.count(s.request)) finish(b, FinishReason::kCancelled);
  }
  for (auto it = st.waiting.begin(); it != st.waiting.end();) {
    if (!st.cancelled.count(it->first)) {
      ++it;
      continue;
    }
    for (int32_t k = 0; k < it->second.n; ++k) {
      GenerationEvent e;
      e.kind = GenerationEvent::Kind::kFinish;
      e.request = it->first;
      e.sample = k;
      e.finish = FinishReason::kCancelled;
      sink(e);
    }
    st.cancelled.erase(it->first);
    it = st.waiting.erase(it);
  }

  // A request cancelled during its prefill ends here; its reserved slots are free again.
  if (st.prefill && st.cancelled.count(st.prefill->request)) {
    const uint64_t rid = st.prefill->request;
    for (int32_t k = 0; k < st.running.at(rid).n; ++k) {
      GenerationEvent e;
      e.kind = GenerationEvent::Kind::kFinish;
      e.request = rid;
      e.sample = k;
      e.finish = FinishReason::kCancelled;
      sink(e);
    }
    st.running.erase(rid);
    st.unfinished.erase(rid);
    st.cancelled.erase(rid);
    st.prefill.reset();
  }

  // Admission: waiting requests (in order) get their n slots reserved and are prefilled in chunks
  // of prefill_chunk tokens (attention scores for at most prefill_chunk x P positions at once, so
  // a long prompt costs O(P) memory). While other sequences decode, one chunk runs per step, so a
  // long prompt delays their next token by one chunk, not by its whole prefill; with nothing
  // decoding, chunks run back to back.
  bool decoding = false;
  for (const Slot& s : st.slots) decoding |= s.active;
  while (true) {
    if (!st.prefill) {
      if (st.waiting.empty()) break;
      const GenerationRequest& r = st.waiting.front().second;
      std::vector<int64_t> free;
      for (int64_t b = 0; b < B && static_cast<int32_t>(free.size()) < r.n; ++b)
        if (!st.slots[static_cast<size_t>(b)].active) free.push_back(b);
      if (static_cast<int32_t>(free.size()) < r.n) break;
      const uint64_t rid = st.waiting.front().first;
      st.running.emplace(rid, std::move(st.waiting.front().second));
      st.waiting.pop_front();
      st.unfinished[rid] = st.running.at(rid).n;
      st.prefill.emplace();
      st.prefill->request = rid;
      st.prefill->slots = std::move(free);
      const int64_t P = static_cast<int64_t>(st.running.at(rid).prompt.size());
      TENET_ASSIGN_OR_RETURN(st.prefill->scratch, KVCache::Create(config, 1, P, model_.dtype(), model_.device()));
    }
    Prefill& pf = *st.prefill;
    const uint64_t rid = pf.request;
    const GenerationRequest& req = st.running.at(rid);
    const int64_t P = static_cast<int64_t>(req.prompt.size());
    auto start = Clock::now();
    const int64_t begin = pf.done, len = std::min<int64_t>(options_.prefill_chunk, P - begin);
    torch::Tensor ids =
        torch::tensor(std::vector<int64_t>(req.prompt.begin() + begin, req.prompt.begin() + begin + len), torch::kInt64).unsqueeze(0);
    // Only the chunk's last position needs a hidden state (the last layer skips the others).
    const RowAdapters one{{req.adapter.get()}};
    TENET_ASSIGN_OR_RETURN(torch::Tensor hidden, model_.Hidden(ids, {}, {}, &*pf.scratch, len - 1, AdapterChoice::Rows(req.adapter ? &one : nullptr)));  // (1, 1, C)
    pf.last = hidden.select(1, 0);
    pf.done += len;
    stats_.prefill_tokens += len;
    stats_.prefill_seconds += Since(start);
    if (pf.done < P) {
      if (decoding) break;  // the decoding sequences get their token; the next chunk runs next step
      continue;
    }
    start = Clock::now();
    torch::Tensor logits = model_.Logits(pf.last).to(torch::kFloat32).to(torch::kCPU).contiguous();  // (1, V)
    stats_.prefill_seconds += Since(start);
    for (int32_t i = 0; i < req.n; ++i) {
      const int64_t b = pf.slots[static_cast<size_t>(i)];
      TENET_RETURN_IF_ERROR(cache.CopyRow(*pf.scratch, 0, b, P));
      Slot& s = st.slots[static_cast<size_t>(b)];
      SamplingParams p = req.sampling;
      p.seed = req.sampling.seed + static_cast<uint64_t>(i);
      TENET_ASSIGN_OR_RETURN(s.sampler, Sampler::Create(p, static_cast<int32_t>(vocab)));
      s.sampler->AcceptPrompt(req.prompt);
      s.active = true;
      s.request = rid;
      s.sample = i;
      push(b, s.sampler->Sample(logits.data_ptr<float>()), logits.data_ptr<float>(), nullptr);
    }
    st.prefill.reset();
    decoding = true;  // its samples decode from now on: a next long prompt interleaves with them
  }

  // Decoding slots are kept packed at the front: a finished slot's place goes to the last decoding
  // one (its cache row copied once), so each step runs only the rows that decode, not every slot.
  // Slots reserved for a prompt being prefilled are left alone.
  auto reserved = [&](int64_t b) {
    return st.prefill && std::find(st.prefill->slots.begin(), st.prefill->slots.end(), b) != st.prefill->slots.end();
  };
  for (int64_t dst = 0, src = B - 1; dst < src;) {
    if (st.slots[static_cast<size_t>(dst)].active || reserved(dst)) {
      ++dst;
      continue;
    }
    if (!st.slots[static_cast<size_t>(src)].active) {
      --src;
      continue;
    }
    TENET_RETURN_IF_ERROR(cache.CopyRow(cache, src, dst, cache.lengths_of(src)));
    st.slots[static_cast<size_t>(dst)] = std::move(st.slots[static_cast<size_t>(src)]);
    st.slots[static_cast<size_t>(src)] = Slot();
    cache.SetLength(src, 0);
    ++dst;
    --src;
  }
  int64_t A = 0;  // decoding slots: [0, A)
  while (A < B && st.slots[static_cast<size_t>(A)].active) ++A;
  std::vector<int64_t> active;
  for (int64_t b = A; b < B; ++b) {
    if (st.slots[static_cast<size_t>(b)].active) active.push_back(b);  // behind a reserved slot: rides along below
  }
  const int64_t rows_run = active.empty() ? A : active.back() + 1;
  active.clear();
  std::vector<int64_t> step_ids(static_cast<size_t>(std::max<int64_t>(rows_run, 1)), 0);
  RowAdapters adapters;
  adapters.rows.assign(step_ids.size(), nullptr);
  for (int64_t b = 0; b < rows_run; ++b) {
    const Slot& s = st.slots[static_cast<size_t>(b)];
    if (s.active) {
      active.push_back(b);
      step_ids[static_cast<size_t>(b)] = s.next;
      adapters.rows[static_cast<size_t>(b)] = st.running.at(s.request).adapter.get();
    } else if (!reserved(b)) {
      cache.SetLength(b, 0);
    }
  }
  if (active.empty()) return !idle();
  auto start = Clock::now();
  torch::Tensor ids = torch::tensor(step_ids, torch::kInt64).unsqueeze(1);  // (R, 1): the first R slots
  cache.SetActiveRows(rows_run);
  auto stepped = model_.Hidden(ids, {}, {}, &cache, 0, AdapterChoice::Rows(adapters.any() ? &adapters : nullptr));  // (R, 1, C)
  cache.SetActiveRows(B);
  TENET_ASSIGN_OR_RETURN(torch::Tensor hidden, std::move(stepped));
  torch::Tensor rows = torch::tensor(active, torch::kInt64).to(model_.device());
  // (A, V) logits on the CPU. bf16 rows go to the samplers as they are (they widen each row while
  // copying it anyway): a (32, 128k) fp32 copy per step cost more than the samplers themselves.
  torch::Tensor logits = model_.Logits(hidden.squeeze(1).index_select(0, rows)).to(torch::kCPU);
  if (logits.scalar_type() != torch::kBFloat16) logits = logits.to(torch::kFloat32);
  logits = logits.contiguous();
  const bool bf16 = logits.scalar_type() == torch::kBFloat16;
  const float* base = bf16 ? nullptr : logits.data_ptr<float>();
  const uint16_t* base16 = bf16 ? reinterpret_cast<const uint16_t*>(logits.data_ptr<at::BFloat16>()) : nullptr;
  auto sample_start = Clock::now();
  // Rows sample in parallel (each slot owns its sampler and RNG, so the result does not depend on
  // the thread count); tokens are then recorded in slot order, since the sink is serial.
  // A parallel region only where there is real work per thread (about 64k logits): for small
  // vocabularies it costs more than it saves, and idle OpenMP workers spin on the cores that the
  // callers' threads need.
  std::vector<int32_t> picked(active.size());
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(vocab, 1));
  at::parallel_for(0, static_cast<int64_t>(active.size()), grain, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      Sampler& sampler = *st.slots[static_cast<size_t>(active[static_cast<size_t>(k)])].sampler;
      picked[static_cast<size_t>(k)] = bf16 ? sampler.SampleBf16(base16 + k * vocab) : sampler.Sample(base + k * vocab);
    }
  });
  for (size_t k = 0; k < active.size(); ++k) {
    const int64_t off = static_cast<int64_t>(k) * vocab;
    push(active[k], picked[k], bf16 ? nullptr : base + off, bf16 ? base16 + off : nullptr);
  }
  stats_.sample_seconds += Since(sample_start);
  stats_.decode_tokens += static_cast<int64_t>(active.size());
  stats_.decode_steps += 1;
  stats_.decode_seconds += Since(start);
  return true;
}

Status Engine::Generate(const std::vector<GenerationRequest>& requests, const OnDone& on_done) {
  int64_t need = 1;
  for (const auto& r : requests) need = std::max<int64_t>(need, static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens);
  // Before the first step the cache can be sized to exactly these requests.
  const int64_t capacity = state_->cache ? state_->cache->capacity() : std::min(need, model_.config().max_position_embeddings);
  for (size_t i = 0; i < requests.size(); ++i) {
    TENET_RETURN_IF_ERROR(Validate(requests[i], capacity, "request " + std::to_string(i)));
  }
  if (!state_->cache) options_.max_context = capacity;
  std::map<uint64_t, size_t> index;
  for (size_t i = 0; i < requests.size(); ++i) {
    TENET_ASSIGN_OR_RETURN(uint64_t id, Add(requests[i]));
    index[id] = i;
  }
  Sink sink = [&](const GenerationEvent& e) {
    if (e.kind != GenerationEvent::Kind::kFinish) return;
    auto it = index.find(e.request);
    if (it != index.end()) on_done(it->second, e.sample, Completion{e.ids, e.finish});
  };
  while (true) {
    TENET_ASSIGN_OR_RETURN(bool more, Step(sink));
    if (!more) break;
  }
  return Status::OK();
}

}  // namespace tenet
