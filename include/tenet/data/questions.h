// Question files for `tenet generate`: plain text (one question per line; blank lines and lines
// starting with '#' are skipped) or JSONL ({"id", "question"} or {"id", "messages"}). Also the
// responses file those questions produce: JSONL written one whole line per write, so a killed run
// leaves at most a torn last line, which a resumed run cuts off before appending.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet {

struct Question {
  std::string id;          // given, or "q<line number>" for text files
  nlohmann::json messages;  // [{"role": "user", "content": ...}] (+ system when given)
};

// Reads `path`; a file whose first non-blank line starts with '{' is JSONL. `system_prompt`, when
// not empty, becomes a leading system message (JSONL "messages" keep their own system message if
// they have one). InvalidArgument naming file:line for bad lines, duplicate ids, or no questions.
Result<std::vector<Question>> LoadQuestions(const std::string& path, const std::string& system_prompt);

// Append-only JSONL output. Not thread-safe.
class ResponsesFile {
 public:
  // Opens `path` for appending. With `resume`, reads the ids already written (cutting a torn
  // last line); without it, refuses an existing non-empty file (InvalidArgument: use --resume or
  // remove it).
  static Result<std::unique_ptr<ResponsesFile>> Open(const std::string& path, bool resume);
  ~ResponsesFile();
  const std::set<std::string>& done_ids() const { return done_; }
  // Writes one line (with a single write call) and fsyncs it.
  Status Append(const nlohmann::json& line);

 private:
  ResponsesFile() = default;
  std::string path_;
  int fd_ = -1;
  std::set<std::string> done_;
};

}  // namespace tenet
