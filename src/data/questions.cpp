// Question files and the resumable responses file. See tenet/data/questions.h.
#include "tenet/data/questions.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "tenet/data/completion_encoder.h"
#include "tenet/util/file.h"

namespace tenet {

namespace {
using json = nlohmann::json;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}
}  // namespace

Result<std::vector<Question>> LoadQuestions(const std::string& path, const std::string& system_prompt) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  bool jsonl = false;
  for (const auto& l : lines) {
    std::string t = Trim(l);
    if (!t.empty()) {
      jsonl = t[0] == '{';
      break;
    }
  }
  json system = system_prompt.empty() ? json(nullptr) : json{{"role", "system"}, {"content", system_prompt}};
  std::vector<Question> out;
  std::set<std::string> ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(i + 1);
    std::string t = Trim(lines[i]);
    if (t.empty() || (!jsonl && t[0] == '#')) continue;
    Question q;
    if (!jsonl) {
      q.id = "q" + std::to_string(i + 1);
      q.messages = json::array();
      if (!system.is_null()) q.messages.push_back(system);
      q.messages.push_back({{"role", "user"}, {"content", t}});
    } else {
      json r = json::parse(t, nullptr, /*allow_exceptions=*/false);
      if (r.is_discarded() || !r.is_object()) return Status::InvalidArgument(where, "not a JSON object");
      if (!r.contains("id") || !(r["id"].is_string() || r["id"].is_number_integer())) {
        return Status::InvalidArgument(where, "needs an \"id\" (string or integer)");
      }
      q.id = r["id"].is_string() ? r["id"].get<std::string>() : std::to_string(r["id"].get<int64_t>());
      if (r.contains("messages")) {
        TENET_RETURN_IF_ERROR(ValidateMessages(r["messages"], where));
        q.messages = r["messages"];
        if (!system.is_null() && q.messages[0]["role"] != "system") q.messages.insert(q.messages.begin(), system);
      } else if (r.contains("question") && r["question"].is_string() && !Trim(r["question"].get<std::string>()).empty()) {
        q.messages = json::array();
        if (!system.is_null()) q.messages.push_back(system);
        q.messages.push_back({{"role", "user"}, {"content", r["question"]}});
      } else {
        return Status::InvalidArgument(where, "needs a non-empty \"question\" string or \"messages\"");
      }
    }
    if (!ids.insert(q.id).second) return Status::InvalidArgument(where, "duplicate id \"" + q.id + "\"");
    out.push_back(std::move(q));
  }
  if (out.empty()) return Status::InvalidArgument(path, "holds no questions");
  return out;
}

Result<std::unique_ptr<ResponsesFile>> ResponsesFile::Open(const std::string& path, bool resume) {
  std::unique_ptr<ResponsesFile> f(new ResponsesFile());
  f->path_ = path;
  if (FileExists(path)) {
    TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    if (!text.empty() && !resume) {
      return Status::InvalidArgument(path, "exists and is not empty (use --resume to continue it, or remove it)");
    }
    // Keep whole lines only: a run killed mid-write leaves at most one torn last line.
    size_t keep = text.rfind('\n');
    keep = keep == std::string::npos ? 0 : keep + 1;
    if (keep != text.size() && ::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
      return Status::IOError(path, std::string("cannot cut the torn last line: ") + std::strerror(errno));
    }
    std::istringstream in(text.substr(0, keep));
    size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      json r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object() || !r.contains("id") || !r["id"].is_string()) {
        return Status::Corruption(path + ":" + std::to_string(n), "not a responses line written by tenet generate");
      }
      f->done_.insert(r["id"].get<std::string>());
    }
  }
  f->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (f->fd_ < 0) return Status::IOError(path, std::string("cannot open for appending: ") + std::strerror(errno));
  return f;
}

ResponsesFile::~ResponsesFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status ResponsesFile::Append(const json& line) {
  std::string s = line.dump() + "\n";
  // One write() of the whole line: with O_APPEND a crash can only lose or tear the last line.
  ssize_t n = ::write(fd_, s.data(), s.size());
  if (n != static_cast<ssize_t>(s.size())) return Status::IOError(path_, "short write");
  if (::fsync(fd_) != 0) return Status::IOError(path_, std::string("fsync failed: ") + std::strerror(errno));
  return Status::OK();
}

}  // namespace tenet
