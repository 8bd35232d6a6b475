// How chat requests end, shared by `tenet generate`, `tenet chat` and `tenet serve`: the stop ids
// (the model's EOS ids plus the chat template's end-of-turn token), stop strings (the text ends
// right before the first one), and the system-message file as the commands read it.
//
// Thread-safety: pure functions; the StopWhen hook only reads the tokenizer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/status.h"

namespace tenet {

// The model's EOS ids, plus `end_of_turn` (CompletionEncoder::end_of_turn_id) when a chat prompt.
std::vector<int32_t> ChatStopIds(const std::vector<int64_t>& eos_ids, std::optional<int32_t> end_of_turn);

// InvalidArgument naming `what` unless every stop string is non-empty valid UTF-8 (a valid needle
// matches only at a character boundary, so cutting there keeps the text valid UTF-8).
Status ValidateStopStrings(const std::vector<std::string>& stops, const std::string& what);

// `text` cut before the first occurrence of any stop string; `hit` says whether one occurred.
std::string CutAtStop(const std::string& text, const std::vector<std::string>& stops, bool* hit);

// The engine hook (GenerationRequest::stop_when) that ends a sample once its decoded text holds a
// stop string. `tokenizer` must outlive the request.
std::function<bool(const std::vector<int32_t>&)> StopWhen(const Tokenizer& tokenizer, std::vector<std::string> stops);

// A system-message file's text without its trailing line breaks.
Result<std::string> ReadSystemFile(const std::string& path);

}  // namespace tenet
