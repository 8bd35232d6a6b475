// Named model shapes for `tenet model init` and deterministic random weights, so that tests and
// benchmarks build real HF folders locally instead of downloading weights.
//
// Presets (all Llama 3.1-style: rope_theta 500000, llama3 rope scaling, rms_norm_eps 1e-5):
//   tiny   2 layers, hidden 64,  4 heads, 2 kv heads, intermediate 192
//   small  4 layers, hidden 256, 8 heads, 2 kv heads, intermediate 768
//   bench  8 layers, hidden 512, 8 heads, 2 kv heads, intermediate 1536
#pragma once

#include <string>
#include <vector>

#include "tenet/io/model_config.h"
#include "tenet/model/llama.h"

namespace tenet {

std::vector<std::string> PresetNames();
// InvalidArgument for an unknown preset name (listing the known ones) or vocab_size <= 0.
Result<ModelConfig> PresetConfig(const std::string& preset, int64_t vocab_size);

// Weights drawn like HF's _init_weights: normal(0, std) for matrices and embeddings, ones for
// norms, zeros for biases; one CPU generator seeded with `seed`, drawn in ExpectedTensors order,
// so the same seed gives the same model on every machine.
WeightSource RandomWeights(uint64_t seed, double std = 0.02);

}  // namespace tenet
