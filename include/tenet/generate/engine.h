// The generation engine: N samples per prompt from one prefill, batched decoding across sequences
// of different lengths with continuous batching (a finished sequence's slot is refilled with the
// next waiting one), stop ids and length limits.
//
// Shape legend: B slots (sequences decoded together), P prompt tokens, C hidden, V vocab.
//
// How a request runs: its prompt is prefilled once (B = 1, in chunks of prefill_chunk tokens so
// memory stays linear in the prompt length, one chunk per step while others decode) into a
// scratch cache, the prompt's
// keys/values are copied into N free slots (the samples fork from the same prefix), each sample
// draws its first token from the same last-position logits with its own sampler (seed + i), then
// all active slots decode one token per step in one forward pass. Idle slots ride along at
// position 0 and their outputs are ignored.
//
// Thread-safety: an Engine is used by one thread at a time (the serving issue puts a request queue
// in front of it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tenet/generate/sampler.h"
#include "tenet/model/llama.h"

namespace tenet {

struct GenerationRequest {
  std::vector<int32_t> prompt;    // token ids, at least one
  int32_t n = 1;                  // samples forked from one prefill
  int32_t max_new_tokens = 256;   // >= 1
  SamplingParams sampling;        // sample i draws with seed sampling.seed + i
  std::vector<int32_t> stop_ids;  // generating any of these ends the sample ("stop"); not kept
  // Optional: called with a sample's tokens after each new one; true ends it ("stop", token kept).
  // How callers implement stop strings (they own the detokenizer). Must not throw.
  std::function<bool(const std::vector<int32_t>& generated)> stop_when;
  // >= 0: every token event carries the token's log-probability under the model (log-softmax of
  // the raw logits, before penalties and temperature, as vLLM reports them) and the `logprobs`
  // most likely tokens with theirs. -1: none (no extra pass over the logits).
  int32_t logprobs = -1;
  // A LoRA adapter for this request alone (model/row_lora.h), or null: the base model. Requests
  // for different adapters decode in the same batch.
  std::shared_ptr<const ServedAdapter> adapter;
};

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0;
};

enum class FinishReason { kStop, kLength, kCancelled };
const char* FinishReasonName(FinishReason r);  // "stop" / "length" / "cancelled"

struct Completion {
  std::vector<int32_t> ids;  // generated tokens, without the stop token
  FinishReason finish = FinishReason::kLength;
};

struct EngineOptions {
  int32_t slots = 16;       // sequences decoded together; each request's n must fit
  int64_t max_context = 0;  // per-slot capacity (prompt + new tokens); 0 = the model's
                            // max_position_embeddings capped at 4096. Generate() sizes it to its
                            // requests instead when the engine has not started.
  int32_t prefill_chunk = 256;  // prompt tokens per prefill pass; while other sequences decode, one
                                // pass runs per step, bounding the stall a long prompt causes them
};

// What Step() reports: a token of a running sample, or the end of a sample.
struct GenerationEvent {
  enum class Kind { kToken, kFinish } kind = Kind::kToken;
  uint64_t request = 0;  // the id Add() returned
  int32_t sample = 0;
  int32_t token = -1;    // kToken: the new token (stop tokens are not reported)
  FinishReason finish = FinishReason::kLength;  // kFinish
  std::vector<int32_t> ids;                     // kFinish: every generated token of the sample
  float logprob = 0;                            // kToken, when the request asked for logprobs
  std::vector<TokenLogprob> top_logprobs;       // kToken: the request's `logprobs` most likely, best first
};

struct EngineStats {
  int64_t prefill_tokens = 0, decode_tokens = 0, decode_steps = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  double sample_seconds = 0;  // part of decode_seconds spent in samplers (CPU, per row)
};

class Engine {
 public:
  // The model must outlive the engine. InvalidArgument for slots < 1.
  static Result<std::unique_ptr<Engine>> Create(LlamaForCausalLM& model, const EngineOptions& options);

  // Checks a request against this engine (what Add checks) without queueing it. Reads only
  // immutable state, so it may run on any thread while another thread steps the engine.
  Status Check(const GenerationRequest& request) const { return Validate(request, options_.max_context, "request"); }
  // Validates a request and queues it; returns its id. InvalidArgument naming the problem: empty
  // prompt, n outside [1, slots], max_new_tokens < 1, prompt + max_new_tokens beyond the context,
  // a token outside the vocabulary, bad sampling params.
  Result<uint64_t> Add(GenerationRequest request);
  // Cancels a queued or running request: each unfinished sample ends with kCancelled at the next
  // Step. Unknown or finished ids are ignored.
  void Cancel(uint64_t request);
  // Admits queued requests into free slots (prefill + fork) and decodes one token for every
  // running sample, reporting tokens and finishes to `sink` in slot order. Returns false when
  // nothing was queued or running.
  using Sink = std::function<void(const GenerationEvent&)>;
  Result<bool> Step(const Sink& sink);
  bool idle() const;
  // What the engine holds now: requests queued and admitted, slots decoding.
  struct Load {
    int64_t waiting = 0, running = 0, active_slots = 0, slots = 0;
  };
  Load load() const;

  // Called when sample `sample` of request `request` (index into the vector) finishes.
  using OnDone = std::function<void(size_t request, int32_t sample, Completion completion)>;
  // Runs every request to completion. All are validated first: if one is invalid nothing runs.
  Status Generate(const std::vector<GenerationRequest>& requests, const OnDone& on_done);

  const EngineStats& stats() const { return stats_; }
  ~Engine();

  struct State;

 private:
  Engine(LlamaForCausalLM& model, const EngineOptions& options);
  Status Validate(const GenerationRequest& r, int64_t capacity, const std::string& where) const;
  LlamaForCausalLM& model_;
  EngineOptions options_;
  EngineStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace tenet
