// Preference data loading. See tenet/data/preferences.h.
#include "tenet/data/preferences.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <tuple>

#include "tenet/data/jsonl.h"
#include "tenet/data/split.h"
#include "tenet/util/file.h"

namespace tenet {
namespace {
using json = nlohmann::json;

// {"chosen": [msgs], "rejected": [msgs]} without "prompt": the shared leading messages.
Status SplitImplicitPrompt(const json& r, json* prompt, json* chosen, json* rejected) {
  const json& c = r["chosen"];
  const json& x = r["rejected"];
  if (!c.is_array() || !x.is_array() || c.size() < 2 || c.size() != x.size()) {
    return Status::InvalidArgument("record", "needs \"prompt\" (or chosen/rejected as full conversations of equal length)");
  }
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    if (c[i] != x[i]) return Status::InvalidArgument("record", "chosen and rejected conversations differ before their last message");
  }
  *prompt = json(c.begin(), c.end() - 1);
  *chosen = json::array({c.back()});
  *rejected = json::array({x.back()});
  return Status::OK();
}

void Cut(std::vector<int32_t>& ids, size_t keep, bool keep_end) {
  if (ids.size() <= keep) return;
  if (keep_end) {
    ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
  } else {
    ids.resize(keep);
  }
}

}  // namespace

Result<Truncation> ParseTruncation(const std::string& name) {
  if (name == "keep-end") return Truncation::kKeepEnd;
  if (name == "keep-start") return Truncation::kKeepStart;
  return Status::InvalidArgument("--truncation", "must be keep-end or keep-start, got \"" + name + "\"");
}

json PreferenceReport::ToJson() const {
  return {{"records", records},     {"kept", kept}, {"duplicates_dropped", duplicates}, {"identical_dropped", identical},
          {"prompts_truncated", prompts_truncated}, {"completions_truncated", completions_truncated}};
}

std::string PreferenceReport::Summary() const {
  std::ostringstream o;
  o << records << " records, " << kept << " pairs kept";
  if (duplicates) o << ", " << duplicates << " duplicates dropped";
  if (identical) o << ", " << identical << " with chosen == rejected dropped";
  if (prompts_truncated) o << ", " << prompts_truncated << " prompts truncated";
  if (completions_truncated) o << ", " << completions_truncated << " completions truncated";
  return o.str();
}

Result<std::vector<PreferencePair>> LoadPreferenceFile(const std::string& path, const CompletionEncoder& encoder,
                                                       const PreferenceOptions& options, PreferenceReport* report) {
  if (options.max_length < 2) return Status::InvalidArgument("--max-length", "must be >= 2");
  const size_t max_len = static_cast<size_t>(options.max_length);
  const size_t prompt_floor =
      static_cast<size_t>(options.max_prompt_length > 0 ? std::min(options.max_prompt_length, options.max_length - 1)
                                                        : options.max_length / 2);
  std::vector<PreferencePair> out;
  std::set<std::tuple<std::vector<int32_t>, std::vector<int32_t>, std::vector<int32_t>>> seen;
  TENET_RETURN_IF_ERROR(ForEachJsonlObject(path, [&](const json& r, const std::string& where, int64_t n) -> Status {
    ++report->records;
    for (const char* key : {"chosen", "rejected"}) {
      if (!r.contains(key)) return Status::InvalidArgument(where, std::string("missing \"") + key + "\"");
    }
    json prompt, chosen = r["chosen"], rejected = r["rejected"];
    if (r.contains("prompt")) {
      prompt = r["prompt"];
    } else {
      Status s = SplitImplicitPrompt(r, &prompt, &chosen, &rejected);
      if (!s.ok()) return s.WithContext(where);
    }
    auto c = EncodeRecord(encoder, json{{"prompt", prompt}, {"completion", chosen}});
    if (!c.ok()) return c.status().WithContext(where + " (chosen)");
    auto x = EncodeRecord(encoder, json{{"prompt", prompt}, {"completion", rejected}});
    if (!x.ok()) return x.status().WithContext(where + " (rejected)");
    PreferencePair p{std::move(c->prompt), std::move(c->completion), std::move(x->completion), n};
    if (p.prompt.empty()) return Status::InvalidArgument(where, "the prompt has no tokens (nothing to condition on)");
    if (p.chosen == p.rejected) {
      ++report->identical;
      return Status::OK();
    }
    if (!seen.emplace(p.prompt, p.chosen, p.rejected).second) {
      ++report->duplicates;
      return Status::OK();
    }
    const size_t longer = std::max(p.chosen.size(), p.rejected.size());
    if (p.prompt.size() + longer > max_len) {
      const size_t budget = std::max(max_len > longer ? max_len - longer : 0, prompt_floor);
      if (p.prompt.size() > budget) {
        Cut(p.prompt, budget, options.truncation == Truncation::kKeepEnd);
        ++report->prompts_truncated;
      }
      const size_t room = max_len - p.prompt.size();
      if (p.chosen.size() > room || p.rejected.size() > room) {
        Cut(p.chosen, room, false);
        Cut(p.rejected, room, false);
        ++report->completions_truncated;
      }
      if (p.chosen == p.rejected) {  // truncation can make them equal
        ++report->identical;
        return Status::OK();
      }
    }
    ++report->kept;
    out.push_back(std::move(p));
    return Status::OK();
  }));
  return out;
}

Result<PreferenceSplit> LoadPreferences(const std::string& path, const CompletionEncoder& encoder,
                                        const PreferenceOptions& options, double test_fraction, uint64_t split_seed) {
  if (!(test_fraction >= 0 && test_fraction < 1)) return Status::InvalidArgument("--test-fraction", "must be in [0, 1)");
  PreferenceSplit split;
  if (IsDirectory(path)) {
    if (test_fraction > 0) {
      return Status::InvalidArgument("--test-fraction", "cannot split a folder: it already has train.jsonl/test.jsonl");
    }
    split.train_source = path + "/train.jsonl";
    TENET_ASSIGN_OR_RETURN(split.train, LoadPreferenceFile(split.train_source, encoder, options, &split.report));
    if (FileExists(path + "/test.jsonl")) {
      split.test_source = path + "/test.jsonl";
      TENET_ASSIGN_OR_RETURN(split.test, LoadPreferenceFile(split.test_source, encoder, options, &split.report));
    }
  } else {
    split.train_source = path;
    TENET_ASSIGN_OR_RETURN(std::vector<PreferencePair> all, LoadPreferenceFile(path, encoder, options, &split.report));
    if (test_fraction > 0) {
      std::vector<std::vector<int32_t>> keys;
      for (const auto& p : all) keys.push_back(p.prompt);
      const std::vector<bool> held_out = HeldOutByGroup(keys, test_fraction, split_seed);
      split.test_source = path + " (test split)";
      for (size_t i = 0; i < all.size(); ++i) (held_out[i] ? split.test : split.train).push_back(std::move(all[i]));
    } else {
      split.train = std::move(all);
    }
  }
  if (split.train.empty()) return Status::InvalidArgument(split.train_source, "holds no usable training pairs");
  return split;
}

}  // namespace tenet
