// The generation engine: N samples per prompt from one prefill, batched decoding across sequences
// of different lengths with continuous batching (a finished sequence's slot is refilled with the
// next waiting one), stop ids and length limits.
//
// Shape legend: B slots (sequences decoded together), P prompt tokens, C hidden, V vocab.
//
// How a request runs: its prompt is prefilled once (B = 1, in chunks of 512 tokens so memory stays
// linear in the prompt length) into a scratch cache, the prompt's
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
};

enum class FinishReason { kStop, kLength };
const char* FinishReasonName(FinishReason r);  // "stop" / "length"

struct Completion {
  std::vector<int32_t> ids;  // generated tokens, without the stop token
  FinishReason finish = FinishReason::kLength;
};

struct EngineOptions {
  int32_t slots = 16;  // sequences decoded together; each request's n must fit
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

  // Called when sample `sample` of request `request` finishes.
  using OnDone = std::function<void(size_t request, int32_t sample, Completion completion)>;

  // Runs every request to completion. Requests are validated first (InvalidArgument naming the
  // request: empty prompt, n outside [1, slots], max_new_tokens < 1, prompt + max_new_tokens beyond
  // max_position_embeddings, bad sampling params); then nothing is generated if one is invalid.
  Status Generate(const std::vector<GenerationRequest>& requests, const OnDone& on_done);

  const EngineStats& stats() const { return stats_; }

 private:
  Engine(LlamaForCausalLM& model, const EngineOptions& options) : model_(model), options_(options) {}
  LlamaForCausalLM& model_;
  EngineOptions options_;
  EngineStats stats_;
};

}  // namespace tenet
