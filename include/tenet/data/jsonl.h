// Reading JSONL data files one object at a time, with errors that name file:line.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tenet/util/status.h"

namespace tenet {

// Calls fn(record, where = "path:line") for every non-blank line of `path`, in order, and stops at
// the first error fn returns. A line that is not valid JSON (or not valid UTF-8) or not an object
// is an InvalidArgument naming path:line; a missing file is NotFound.
Status ForEachJsonlObject(const std::string& path,
                          const std::function<Status(const nlohmann::json& record, const std::string& where, int64_t line)>& fn);

}  // namespace tenet
