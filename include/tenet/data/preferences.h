// Preference data for DPO: TRL's JSONL records, tokenized with the TRL prompt/completion rule
// (completion_encoder.h), cleaned, truncated to a length budget and split into train/test.
//
// Records (one JSON object per line):
//   {"prompt": str, "chosen": str, "rejected": str}                                  standard
//   {"prompt": [messages], "chosen": [{"role": "assistant", ...}], "rejected": [...]} conversational
//   {"chosen": [messages...], "rejected": [messages...]}    implicit prompt: the shared leading
//                                                            messages are the prompt
// A malformed record (not JSON, invalid UTF-8, a missing or mistyped key, a prompt with no
// tokens) is an error naming file:line: a training set with broken lines is better fixed than
// silently shrunk. Records that carry no signal are dropped and counted: exact duplicates and a
// chosen equal to its rejected.
//
// Truncation (TRL's max_length / max_prompt_length / truncation_mode): when prompt + the longer
// completion exceeds max_length, the prompt is cut to max(max_length - longer completion,
// max_prompt_length) tokens, keeping its end (keep-end, TRL's default: the question sits at the
// end of a chat prompt) or its start; then completions are cut to what is left, keeping their
// start. Every cut is counted.
//
// Split: a folder holds train.jsonl and optionally test.jsonl; a single file is split by prompt
// (all pairs of one prompt land on the same side) into round(test_fraction * prompts) test
// prompts, chosen by a seeded hash of the prompt tokens: the same file and seed always give the
// same split, whatever the line order.
//
// Thread-safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tenet/data/completion_encoder.h"
#include "tenet/util/status.h"

namespace tenet {

enum class Truncation { kKeepEnd, kKeepStart };
// "keep-end" | "keep-start".
Result<Truncation> ParseTruncation(const std::string& name);

struct PreferenceOptions {
  int64_t max_length = 1024;       // prompt + completion tokens per side
  int64_t max_prompt_length = 0;   // floor for a truncated prompt; 0 = max_length / 2
  Truncation truncation = Truncation::kKeepEnd;
};

struct PreferencePair {
  std::vector<int32_t> prompt, chosen, rejected;
  int64_t line = 0;  // 1-based line in its file
};

struct PreferenceReport {
  int64_t records = 0;               // non-blank lines read
  int64_t kept = 0;
  int64_t duplicates = 0;            // dropped: same prompt, chosen and rejected as an earlier record
  int64_t identical = 0;             // dropped: chosen == rejected
  int64_t prompts_truncated = 0;
  int64_t completions_truncated = 0; // pairs with a chosen or rejected cut
  nlohmann::json ToJson() const;
  std::string Summary() const;       // one line for stderr
};

// Reads and encodes one JSONL file. Errors as above.
Result<std::vector<PreferencePair>> LoadPreferenceFile(const std::string& path, const CompletionEncoder& encoder,
                                                       const PreferenceOptions& options, PreferenceReport* report);

struct PreferenceSplit {
  std::vector<PreferencePair> train, test;
  PreferenceReport report;  // over everything read
  std::string train_source, test_source;
};

// A folder (train.jsonl [+ test.jsonl]; test_fraction must then be 0) or one file split by
// test_fraction in [0, 1). InvalidArgument when the training side ends up empty.
Result<PreferenceSplit> LoadPreferences(const std::string& path, const CompletionEncoder& encoder,
                                        const PreferenceOptions& options, double test_fraction, uint64_t split_seed);

}  // namespace tenet
