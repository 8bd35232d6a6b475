// Token sampling as a chain of small units (llama.cpp's design: src/llama-sampling.cpp), each
// with name / apply / accept / reset, applied in a fixed order to one row of logits:
//
//   penalties (repetition, presence, frequency) -> temperature -> top-k -> top-p -> min-p -> draw
//
// Units and their sources:
//   repetition   CTRL (Keskar et al. 2019, arXiv 1909.05858) as Hugging Face applies it: a seen
//                token's logit is divided by the penalty if positive, multiplied if negative;
//                "seen" = prompt + generated tokens.
//   presence /   OpenAI's API semantics: logit -= presence * [count > 0] + frequency * count, over
//   frequency    generated tokens only.
//   temperature  logits / T; T == 0 means greedy (argmax, ties to the lowest id), no randomness.
//   top-k        keep the k largest (Fan et al. 2018); 0 = off.
//   top-p        nucleus (Holtzman et al. 2019, arXiv 1904.09751): keep the smallest set of most
//                likely tokens whose probability mass reaches p; always keeps at least one; 1 = off.
//   min-p        (Nguyen et al. 2024, arXiv 2407.01082): keep tokens with p >= min_p * p_max; 0 = off.
// Every sequence owns its sampler and its RNG (seeded from SamplingParams::seed), so a sequence's
// output depends only on its seed and its logits, never on what else is in the batch.
//
// Not thread-safe: one Sampler per sequence. Logits are a plain float row, so sampling costs no
// tensor dispatch per token.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tenet/util/status.h"

namespace tenet {

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy
  int32_t top_k = 0;                // 0 = off
  float top_p = 1.0f;               // 1 = off; (0, 1]
  float min_p = 0.0f;               // 0 = off; [0, 1)
  float repetition_penalty = 1.0f;  // 1 = off; > 0
  float presence_penalty = 0.0f;    // 0 = off; [-2, 2] as in OpenAI's API
  float frequency_penalty = 0.0f;   // 0 = off; [-2, 2]
  uint64_t seed = 0;
};

// InvalidArgument naming the parameter when a value is out of range (NaN included).
Status ValidateSamplingParams(const SamplingParams& p);

// The candidates a unit works on: token ids with their (possibly modified) logits. Units may
// reorder, drop or rescale entries; `sorted` says whether logits are in descending order.
struct Candidates {
  std::vector<int32_t> ids;
  std::vector<float> logits;
  bool sorted = false;
};

class SamplerUnit {
 public:
  virtual ~SamplerUnit() = default;
  virtual const char* name() const = 0;
  virtual void Apply(Candidates& c) = 0;
  // Called with every token appended to the sequence (prompt tokens first, then generated ones).
  virtual void Accept(int32_t /*token*/, bool /*generated*/) {}
  virtual void Reset() {}
};

class Sampler {
 public:
  // Builds the chain for `params` (units that are off are left out). InvalidArgument as above.
  static Result<std::unique_ptr<Sampler>> Create(const SamplingParams& params, int32_t vocab_size);

  // Feeds the prompt so that repetition penalty sees it (presence/frequency ignore it).
  void AcceptPrompt(const std::vector<int32_t>& prompt_ids);
  // Picks the next token from `logits` (vocab_size floats) and accepts it.
  int32_t Sample(const float* logits);
  // The same from bf16 logits (raw bits, vocab_size of them): widened to fp32 (exact) while the row
  // is copied into the scratch buffer, so a bf16 model never materializes a (B, V) fp32 copy.
  int32_t SampleBf16(const uint16_t* logits);
  // Forgets accepted tokens and re-seeds the RNG.
  void Reset();
  // Names of the active units in order, e.g. {"penalties", "temperature", "top-p", "dist"}.
  std::vector<std::string> unit_names() const;

 private:
  Sampler() = default;
  template <typename T>
  int32_t SampleRow(const T* logits);
  SamplingParams params_;
  int32_t vocab_size_ = 0;
  std::vector<std::unique_ptr<SamplerUnit>> units_;
  std::mt19937_64 rng_;
  bool whole_row_ = false;  // greedy or temperature only: a whole-row kernel instead of the chain
};

}  // namespace tenet
