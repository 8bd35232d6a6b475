// SFT data loading. See tenet/data/sft_data.h.
#include "tenet/data/sft_data.h"

#include <set>
#include <sstream>

#include "tenet/data/jsonl.h"
#include "tenet/data/split.h"
#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;

void Append(SftExample& e, const std::vector<int32_t>& ids, bool loss) {
  for (int32_t id : ids) {
    e.loss.push_back(loss && !e.ids.empty() ? 1 : 0);
    e.ids.push_back(id);
  }
}

// {"messages": [...]}: context and completion segments for every assistant turn.
Result<SftExample> EncodeConversation(const CompletionEncoder& encoder, const json& messages) {
  TENET_RETURN_IF_ERROR(ValidateMessages(messages, "messages"));
  SftExample e;
  bool any = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i]["role"] != "assistant") continue;
    if (i == 0) return Status::InvalidArgument("messages", "start with an assistant turn (nothing to condition on)");
    const json context(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
    auto enc = encoder.EncodeChat(context, messages[i]["content"].get<std::string>());
    if (!enc.ok()) return enc.status().WithContext("assistant turn " + std::to_string(i));
    if (enc->prompt.size() < e.ids.size() || !std::equal(e.ids.begin(), e.ids.end(), enc->prompt.begin())) {
      return Status::InvalidArgument("messages", "the chat template renders the turns before message " + std::to_string(i) +
                                                     " differently once later turns follow; split the conversation");
    }
    Append(e, std::vector<int32_t>(enc->prompt.begin() + static_cast<std::ptrdiff_t>(e.ids.size()), enc->prompt.end()), false);
    Append(e, enc->completion, true);
    any = true;
  }
  if (!any) return Status::InvalidArgument("messages", "has no assistant turn to learn from");
  return e;
}

}  // namespace

json SftReport::ToJson() const {
  return {{"records", records},     {"kept", kept}, {"duplicates_dropped", duplicates}, {"truncated", truncated},
          {"empty_after_truncation_dropped", empty_after_truncation}, {"loss_tokens", loss_tokens}};
}

std::string SftReport::Summary() const {
  std::ostringstream o;
  o << records << " records, " << kept << " kept (" << loss_tokens << " completion tokens)";
  if (duplicates) o << ", " << duplicates << " duplicates dropped";
  if (truncated) o << ", " << truncated << " truncated";
  if (empty_after_truncation) o << ", " << empty_after_truncation << " dropped (no completion left after truncation)";
  return o.str();
}

Result<std::vector<SftExample>> LoadSftFile(const std::string& path, const CompletionEncoder& encoder, int64_t max_length,
                                            SftReport* report) {
  if (max_length < 2) return Status::InvalidArgument("--max-length", "must be >= 2");
  std::vector<SftExample> out;
  std::set<std::vector<int32_t>> seen_ids;
  TENET_RETURN_IF_ERROR(ForEachJsonlObject(path, [&](const json& r, const std::string& where, int64_t n) -> Status {
    ++report->records;
    SftExample e;
    if (r.contains("messages") && !r.contains("completion")) {
      auto enc = EncodeConversation(encoder, r["messages"]);
      if (!enc.ok()) return enc.status().WithContext(where);
      e = std::move(*enc);
    } else {
      auto enc = EncodeRecord(encoder, r);
      if (!enc.ok()) return enc.status().WithContext(where);
      if (enc->prompt.empty()) return Status::InvalidArgument(where, "the prompt has no tokens (nothing to condition on)");
      Append(e, enc->prompt, false);
      Append(e, enc->completion, true);
    }
    e.line = n;
    if (!seen_ids.insert(e.ids).second) {
      ++report->duplicates;
      return Status::OK();
    }
    if (static_cast<int64_t>(e.ids.size()) > max_length) {
      e.ids.resize(static_cast<size_t>(max_length));
      e.loss.resize(static_cast<size_t>(max_length));
      ++report->truncated;
    }
    int64_t loss_tokens = 0;
    for (uint8_t l : e.loss) loss_tokens += l;
    if (loss_tokens == 0) {
      ++report->empty_after_truncation;
      return Status::OK();
    }
    report->loss_tokens += loss_tokens;
    ++report->kept;
    out.push_back(std::move(e));
    return Status::OK();
  }));
  return out;
}

Result<SftSplit> LoadSft(const std::string& path, const CompletionEncoder& encoder, int64_t max_length, double test_fraction,
                         uint64_t split_seed) {
  if (!(test_fraction >= 0 && test_fraction < 1)) return Status::InvalidArgument("--test-fraction", "must be in [0, 1)");
  SftSplit split;
  std::string train_source = path;
  if (IsDirectory(path)) {
    if (test_fraction > 0) return Status::InvalidArgument("--test-fraction", "cannot split a folder: it already has train.jsonl/test.jsonl");
    train_source = path + "/train.jsonl";
    TENET_ASSIGN_OR_RETURN(split.train, LoadSftFile(train_source, encoder, max_length, &split.report));
    if (FileExists(path + "/test.jsonl")) {
      TENET_ASSIGN_OR_RETURN(split.test, LoadSftFile(path + "/test.jsonl", encoder, max_length, &split.report));
    }
  } else {
    TENET_ASSIGN_OR_RETURN(std::vector<SftExample> all, LoadSftFile(path, encoder, max_length, &split.report));
    std::vector<std::vector<int32_t>> keys;
    for (const auto& e : all) {
      size_t first = 0;
      while (first < e.loss.size() && !e.loss[first]) ++first;
      keys.emplace_back(e.ids.begin(), e.ids.begin() + static_cast<std::ptrdiff_t>(first));
    }
    const std::vector<bool> held_out = HeldOutByGroup(keys, test_fraction, split_seed);
    for (size_t i = 0; i < all.size(); ++i) (held_out[i] ? split.test : split.train).push_back(std::move(all[i]));
  }
  if (split.train.empty()) return Status::InvalidArgument(train_source, "holds no usable training examples");
  return split;
}

}  // namespace tenet
