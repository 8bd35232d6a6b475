// JSONL reading. See tenet/data/jsonl.h.
#include "tenet/data/jsonl.h"

#include <sstream>

#include "tenet/util/file.h"

namespace tenet {

Status ForEachJsonlObject(const std::string& path,
                          const std::function<Status(const nlohmann::json&, const std::string&, int64_t)>& fn) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::istringstream lines(text);
  std::string line;
  for (int64_t n = 1; std::getline(lines, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (r.is_discarded()) return Status::InvalidArgument(where, "not valid JSON (or not valid UTF-8)");
    if (!r.is_object()) return Status::InvalidArgument(where, "must be a JSON object");
    TENET_RETURN_IF_ERROR(fn(r, where, n));
  }
  return Status::OK();
}

}  // namespace tenet
