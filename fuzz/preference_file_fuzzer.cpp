// Fuzz target: a DPO preference file (JSONL: prompt/chosen/rejected as text or messages) through
// LoadPreferenceFile with Meta's Llama 3 tokenizer and chat template, truncation included.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fuzz_util.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/preferences.h"
#include "tenet/tokenizer/tokenizer.h"

namespace {
std::unique_ptr<tenet::Tokenizer> tokenizer;
std::unique_ptr<tenet::CompletionEncoder> encoder;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto tok = tenet::Tokenizer::Load(tenet::fuzz::Llama3TokenizerDir());
  if (!tok.ok()) {
    std::fprintf(stderr, "preference_file fuzzer: %s (run scripts/setup)\n", tok.status().ToString().c_str());
    std::exit(1);
  }
  tokenizer = std::move(tok).value();
  encoder = std::move(tenet::CompletionEncoder::Create(*tokenizer)).value();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tenet::fuzz::WriteInput("pairs.jsonl", data, size);
  tenet::PreferenceOptions options;
  options.max_length = 48;
  options.truncation = (size % 2) ? tenet::Truncation::kKeepEnd : tenet::Truncation::kKeepStart;
  tenet::PreferenceReport report;
  (void)tenet::LoadPreferenceFile(path, *encoder, options, &report);
  return 0;
}
