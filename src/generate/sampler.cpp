// Sampler: validates SamplingParams, builds the unit chain (sampler_units.h) and runs it on one
// row of logits per token. See include/tenet/generate/sampler.h for the semantics.
//
// Not for: the units' math (sampler_units.cpp), batching or tensors (the caller hands us a row).
#include "tenet/generate/sampler.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <sstream>

#include "sampler_rows.h"
#include "sampler_units.h"

namespace tenet {
namespace {

std::string Show(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// InvalidArgument("<name>", "must be <range>, got <value>") unless ok.
Status Check(bool ok, const char* name, const char* range, double value) {
  if (ok) return Status::OK();
  return Status::InvalidArgument(name, std::string("must be ") + range + ", got " + Show(value));
}

}  // namespace

Status ValidateSamplingParams(const SamplingParams& p) {
  // Written as "x in range" so that NaN (which fails every comparison) is rejected too.
  TENET_RETURN_IF_ERROR(Check(std::isfinite(p.temperature) && p.temperature >= 0.0f, "temperature",
                              "finite and >= 0 (0 = greedy)", p.temperature));
  TENET_RETURN_IF_ERROR(Check(p.top_k >= 0, "top_k", ">= 0 (0 = off)", p.top_k));
  TENET_RETURN_IF_ERROR(Check(p.top_p > 0.0f && p.top_p <= 1.0f, "top_p", "in (0, 1] (1 = off)", p.top_p));
  TENET_RETURN_IF_ERROR(Check(p.min_p >= 0.0f && p.min_p < 1.0f, "min_p", "in [0, 1) (0 = off)", p.min_p));
  TENET_RETURN_IF_ERROR(Check(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0f,
                              "repetition_penalty", "finite and > 0 (1 = off)", p.repetition_penalty));
  TENET_RETURN_IF_ERROR(Check(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f, "presence_penalty",
                              "in [-2, 2] (0 = off)", p.presence_penalty));
  TENET_RETURN_IF_ERROR(Check(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f, "frequency_penalty",
                              "in [-2, 2] (0 = off)", p.frequency_penalty));
  return Status::OK();
}

Result<std::unique_ptr<Sampler>> Sampler::Create(const SamplingParams& params, int32_t vocab_size) {
  TENET_RETURN_IF_ERROR(ValidateSamplingParams(params));
  if (vocab_size <= 0) {
    return Status::InvalidArgument("vocab_size", "must be > 0, got " + std::to_string(vocab_size));
  }
  std::unique_ptr<Sampler> s(new Sampler());
  s->params_ = params;
  s->vocab_size_ = vocab_size;
  s->rng_.seed(params.seed);

  namespace u = sampler_units;
  // Greedy or a plain draw (temperature only) needs no candidate list: SampleRow runs a whole-row
  // kernel on the logits instead of the chain (same result; the units stay for unit_names()).
  s->whole_row_ = params.repetition_penalty == 1.0f && params.presence_penalty == 0.0f &&
                  params.frequency_penalty == 0.0f && params.top_k == 0 && params.top_p == 1.0f &&
                  params.min_p == 0.0f;
  if (params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f) {
    s->units_.push_back(u::MakePenalties(params.repetition_penalty, params.presence_penalty,
                                         params.frequency_penalty, vocab_size));
  }
  if (params.temperature == 0.0f) {
    // Greedy ignores the truncation units: they never remove the argmax (top-k keeps the best,
    // top-p and min-p always keep the most likely token), so running them would only cost time.
    s->units_.push_back(u::MakeGreedy());
  } else {
    if (params.temperature != 1.0f) s->units_.push_back(u::MakeTemperature(params.temperature));
    if (params.top_k > 0) s->units_.push_back(u::MakeTopK(params.top_k));
    if (params.top_p < 1.0f) s->units_.push_back(u::MakeTopP(params.top_p));
    if (params.min_p > 0.0f) s->units_.push_back(u::MakeMinP(params.min_p));
    s->units_.push_back(u::MakeDist(&s->rng_));
  }
  return s;
}

void Sampler::AcceptPrompt(const std::vector<int32_t>& prompt_ids) {
  for (int32_t id : prompt_ids) {
    for (auto& unit : units_) unit->Accept(id, /*generated=*/false);
  }
}

namespace {
// The row as fp32 bits: float input as is, bf16 widened (the 16 bits are a float's upper half).
inline uint32_t RowBits(const float* x, size_t i) { return std::bit_cast<uint32_t>(x[i]); }
inline uint32_t RowBits(const uint16_t* x, size_t i) { return static_cast<uint32_t>(x[i]) << 16; }
}  // namespace

template <typename T>
int32_t Sampler::SampleRow(const T* logits) {
  // logits (V) -> one token id. The scratch row is per thread, not per sampler: a batch of samplers
  // on one thread then reuses one cache-resident buffer instead of streaming through one each.
  namespace u = sampler_units;
  const size_t vocab = static_cast<size_t>(vocab_size_);
  if (whole_row_) {
    const float t = params_.temperature;
    return static_cast<int32_t>(t == 0.0f ? u::RowArgMax(logits, vocab) : u::RowDraw(logits, vocab, t, u::Uniform53(rng_)));
  }
  thread_local Candidates c;
  c.ids.resize(vocab);
  c.logits.resize(vocab);
  std::iota(c.ids.begin(), c.ids.end(), 0);
  // NaN means "no information about this token": treat it as impossible (-inf) rather than let it
  // poison every comparison and sum downstream.
  // (An integer test on the bits, not std::isnan, so that GCC vectorizes the copy.)
  constexpr uint32_t kMinusInfBits = 0xff800000u;
  for (size_t i = 0; i < vocab; ++i) {
    const uint32_t bits = RowBits(logits, i);
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    c.logits[i] = std::bit_cast<float>(nan ? kMinusInfBits : bits);
  }
  c.sorted = false;

  for (auto& unit : units_) unit->Apply(c);
  const int32_t token = c.ids[0];  // the terminal unit (greedy or dist) leaves exactly one
  for (auto& unit : units_) unit->Accept(token, /*generated=*/true);
  return token;
}

int32_t Sampler::Sample(const float* logits) { return SampleRow(logits); }
int32_t Sampler::SampleBf16(const uint16_t* logits) { return SampleRow(logits); }

void Sampler::Reset() {
  for (auto& unit : units_) unit->Reset();
  rng_.seed(params_.seed);
}

std::vector<std::string> Sampler::unit_names() const {
  std::vector<std::string> names;
  names.reserve(units_.size());
  for (const auto& unit : units_) names.emplace_back(unit->name());
  return names;
}

}  // namespace tenet
