// Split / ByteLevel / Sequence pre-tokenizers. See tenet/tokenizer/pre_tokenizer.h.
#include "tenet/tokenizer/pre_tokenizer.h"

#include <utility>

namespace tenet {

namespace {

// GPT-2's pattern, which HF's ByteLevel pre-tokenizer applies when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

bool BoolField(const nlohmann::json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

Result<std::unique_ptr<PreTokenizer>> PreTokenizer::FromJson(const nlohmann::json& j, const std::string& origin) {
  std::unique_ptr<PreTokenizer> pt(new PreTokenizer());
  if (!j.is_null()) TENET_RETURN_IF_ERROR(pt->AddStep(j, "pre_tokenizer", origin));
  return pt;
}

Status PreTokenizer::AddStep(const nlohmann::json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Status::Corruption(origin, where + " must be an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array()) return Status::Corruption(origin, where + ".pretokenizers must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      TENET_RETURN_IF_ERROR(AddStep((*it)[i], where + ".pretokenizers[" + std::to_string(i) + "]", origin));
    }
    return Status::OK();
  }
  Step step;
  if (type == "Split") {
    // A Split after ByteLevel would see byte-level characters ('Ġ' for space); no known tokenizer
    // does that and our byte-space words could not honour it.
    if (byte_level_) return Status::Unimplemented(origin, where + ": Split after ByteLevel is not supported");
    if (BoolField(j, "invert", false)) return Status::Unimplemented(origin, where + ".invert: true is not supported");
    const std::string behavior = j.value("behavior", std::string("Isolated"));
    if (behavior == "Removed") {
      step.remove_matches = true;
    } else if (behavior != "Isolated") {
      return Status::Unimplemented(origin, where + ".behavior '" + behavior + "' is not supported (Isolated, Removed)");
    }
    auto pattern = j.find("pattern");
    if (pattern == j.end() || !pattern->is_object()) {
      return Status::Corruption(origin, where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    if (auto r = pattern->find("Regex"); r != pattern->end() && r->is_string()) {
      TENET_ASSIGN_OR_RETURN(step.regex, Regex::Compile(r->get<std::string>(), origin + ": " + where + ".pattern.Regex"));
    } else if (auto s = pattern->find("String"); s != pattern->end() && s->is_string()) {
      if (s->get<std::string>().empty()) return Status::Corruption(origin, where + ".pattern.String is empty");
      TENET_ASSIGN_OR_RETURN(step.regex,
                             Regex::CompileLiteral(s->get<std::string>(), origin + ": " + where + ".pattern.String"));
    } else {
      return Status::Corruption(origin, where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
  } else if (type == "ByteLevel") {
    if (byte_level_) return Status::Unimplemented(origin, where + ": a second ByteLevel is not supported");
    step.kind = Kind::kByteLevel;
    step.add_prefix_space = BoolField(j, "add_prefix_space", true);
    if (BoolField(j, "use_regex", true)) {
      TENET_ASSIGN_OR_RETURN(step.regex, Regex::Compile(kGpt2Pattern, "GPT-2 ByteLevel pattern"));
    }
    byte_level_ = true;
  } else {
    return Status::Unimplemented(origin, where + ".type '" + type +
                                             "' is not supported (Split, ByteLevel, Sequence)");
  }
  steps_.push_back(std::move(step));
  return Status::OK();
}

Status PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* words,
                           std::deque<std::string>* arena) const {
  if (text.empty()) return Status::OK();
  // Each step refines every piece produced by the previous one (HF's PreTokenizedString::split).
  std::vector<std::string_view> pieces{text};
  std::vector<std::string_view> next;
  std::vector<std::pair<size_t, size_t>> matches;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : pieces) {
      if (step.kind == Kind::kByteLevel && step.add_prefix_space && piece.front() != ' ') {
        // Built by append: `" " + std::string(piece)` trips GCC 12's -Wrestrict false positive.
        std::string& prefixed = arena->emplace_back();
        prefixed.reserve(piece.size() + 1);
        prefixed.push_back(' ');
        prefixed.append(piece);
        piece = prefixed;
      }
      if (step.regex == nullptr) {
        next.push_back(piece);
        continue;
      }
      matches.clear();
      TENET_RETURN_IF_ERROR(step.regex->FindAll(piece, &matches));
      size_t prev = 0;
      for (const auto& [start, end] : matches) {
        if (start > prev) next.push_back(piece.substr(prev, start - prev));
        if (!step.remove_matches) next.push_back(piece.substr(start, end - start));
        prev = end;
      }
      if (prev < piece.size()) next.push_back(piece.substr(prev));
    }
    pieces.swap(next);
  }
  words->insert(words->end(), pieces.begin(), pieces.end());
  return Status::OK();
}

}  // namespace tenet
