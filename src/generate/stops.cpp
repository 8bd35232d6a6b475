// Stop ids, stop strings, system files. See tenet/generate/stops.h.
#include "tenet/generate/stops.h"

#include <algorithm>

#include "tenet/util/file.h"
#include "tenet/util/utf8.h"

namespace tenet {

std::vector<int32_t> ChatStopIds(const std::vector<int64_t>& eos_ids, std::optional<int32_t> end_of_turn) {
  std::vector<int32_t> ids(eos_ids.begin(), eos_ids.end());
  if (end_of_turn && std::find(ids.begin(), ids.end(), *end_of_turn) == ids.end()) ids.push_back(*end_of_turn);
  return ids;
}

Status ValidateStopStrings(const std::vector<std::string>& stops, const std::string& what) {
  for (const auto& s : stops) {
    if (s.empty() || !utf8::IsValid(s)) return Status::InvalidArgument(what, "must be non-empty valid UTF-8");
  }
  return Status::OK();
}

std::string CutAtStop(const std::string& text, const std::vector<std::string>& stops, bool* hit) {
  size_t cut = std::string::npos;
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  *hit = cut != std::string::npos;
  return *hit ? text.substr(0, cut) : text;
}

std::function<bool(const std::vector<int32_t>&)> StopWhen(const Tokenizer& tokenizer, std::vector<std::string> stops) {
  return [&tokenizer, stops = std::move(stops)](const std::vector<int32_t>& generated) {
    auto text = tokenizer.Decode(generated, /*skip_special=*/true);
    bool hit = false;
    if (text.ok()) CutAtStop(*text, stops, &hit);
    return hit;
  };
}

Result<std::string> ReadSystemFile(const std::string& path) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace tenet
