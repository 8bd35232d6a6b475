// Supervised fine-tuning data: JSONL records tokenized with TRL's prompt/completion rule
// (completion_encoder.h), with a loss mask that covers completion tokens only.
//
// Records (one JSON object per line):
//   {"prompt": str | [messages], "completion": str | [{"role": "assistant", ...}]}   prompt-completion
//   {"messages": [...]}    conversational: the loss covers every assistant turn (its content and
//                          end-of-turn token); system, user and tool turns and the template's
//                          headers are context only
// For a conversation, turn i's context is the template rendered over messages[0, i) with the
// generation prompt; it must extend the tokens of the earlier turns exactly (true for Llama 3,
// ChatML, Mistral), or the record is rejected naming the turn.
// Malformed records are errors naming file:line; exact duplicates are dropped and counted; a
// sequence over max_length is cut at the end (TRL's SFT truncation) and counted, and one left with
// no completion token is dropped and counted.
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

struct SftExample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> loss;  // 1 where ids[t] is a completion token to learn (never at t = 0)
  int64_t line = 0;
};

struct SftReport {
  int64_t records = 0, kept = 0, duplicates = 0, truncated = 0, empty_after_truncation = 0;
  int64_t loss_tokens = 0;
  nlohmann::json ToJson() const;
  std::string Summary() const;
};

Result<std::vector<SftExample>> LoadSftFile(const std::string& path, const CompletionEncoder& encoder, int64_t max_length,
                                            SftReport* report);

struct SftSplit {
  std::vector<SftExample> train, test;
  SftReport report;
};

// A folder (train.jsonl [+ test.jsonl]) or one file split by test_fraction, grouped by the context
// before the first completion token (data/split.h).
Result<SftSplit> LoadSft(const std::string& path, const CompletionEncoder& encoder, int64_t max_length,
                         double test_fraction, uint64_t split_seed);

}  // namespace tenet
