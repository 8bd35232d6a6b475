// serving.properties. See tenet/serve/serving_properties.h.
#include "tenet/serve/serving_properties.h"

#include <algorithm>
#include <map>

#include "tenet/util/utf8.h"

namespace tenet::serve {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\f')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\f')) s.remove_suffix(1);
  return s;
}

// DJL's keys and the flags they stand for ("" = accepted and ignored).
const std::map<std::string, std::string, std::less<>>& DjlKeys() {
  static const std::map<std::string, std::string, std::less<>> keys = {
      {"option.model_id", "model"},
      {"option.dtype", "dtype"},
      {"option.max_rolling_batch_size", "max-batch"},
      {"option.max_model_len", "max-model-len"},
      {"engine", ""},
      {"option.rolling_batch", ""},
      {"option.entryPoint", ""},
      {"option.tensor_parallel_degree", ""},
  };
  return keys;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ParseServingProperties(std::string_view text, const std::string& origin,
                                                                               const std::vector<std::string>& known_flags) {
  if (size_t bad = utf8::FindInvalid(text); bad != std::string_view::npos) {
    return Status::InvalidArgument(origin, "is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  std::vector<std::pair<std::string, std::string>> out;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const std::string where = origin + ":" + std::to_string(line_no);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    if (line.back() == '\\') return Status::InvalidArgument(where, "continued lines are not supported");
    const size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) return Status::InvalidArgument(where, "expected key=value");
    const std::string key(Trim(line.substr(0, sep)));
    const std::string value(Trim(line.substr(sep + 1)));
    if (key.empty()) return Status::InvalidArgument(where, "empty key");
    std::string flag;
    if (auto it = DjlKeys().find(key); it != DjlKeys().end()) {
      if (it->second.empty()) continue;
      flag = it->second;
    } else if (key.rfind("tenet.", 0) == 0 &&
               std::find(known_flags.begin(), known_flags.end(), key.substr(6)) != known_flags.end() && key.substr(6) != "config") {
      flag = key.substr(6);
    } else {
      return Status::InvalidArgument(where, "unknown key '" + key + "' (option.model_id, option.dtype, option.max_rolling_batch_size, "
                                            "option.max_model_len, or tenet.<flag> for a flag of tenet serve)");
    }
    if (value.empty()) return Status::InvalidArgument(where, "key '" + key + "' has no value");
    if (flag == "dtype") {
      // DJL's spellings.
      static const std::map<std::string, std::string, std::less<>> kDtypes = {
          {"fp32", "float32"}, {"bf16", "bfloat16"}, {"fp16", "float16"}, {"float32", "float32"}, {"bfloat16", "bfloat16"},
          {"float16", "float16"}, {"auto", ""}};
      auto d = kDtypes.find(value);
      if (d == kDtypes.end()) return Status::InvalidArgument(where, "option.dtype '" + value + "' is not fp32, bf16, fp16 or auto");
      if (d->second.empty()) continue;
      out.emplace_back(flag, d->second);
      continue;
    }
    out.emplace_back(flag, value);
  }
  return out;
}

}  // namespace tenet::serve
