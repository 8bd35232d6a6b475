// Jobs and responses files. See tenet/label/jobs.h.
#include "tenet/label/jobs.h"

#include <algorithm>
#include <map>
#include <set>

#include "tenet/util/utf8.h"

namespace tenet::label {

using nlohmann::json;

namespace {

Status LineError(const std::string& where, size_t line, const std::string& msg) {
  return Status::InvalidArgument(Reason("bad_responses"), where + ":" + std::to_string(line) + ": " + msg);
}

std::vector<std::string> JsonStrings(const std::string& text) {
  std::vector<std::string> out;
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_array()) {
    for (const json& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

// The next line of `text` from `pos` that is not blank, without its line break (CRLF too);
// `line_no` counts every line. False at the end.
bool NextLine(std::string_view text, size_t& pos, size_t& line_no, std::string* line) {
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    *line = std::string(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (line->find_first_not_of(" \t") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<ResponseItem>> ParseResponses(std::string_view text, const std::string& where, size_t min_answers) {
  std::vector<ResponseItem> out;
  std::set<std::string> ids;
  size_t line_no = 0, pos = 0;
  std::string line;
  while (NextLine(text, pos, line_no, &line)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return LineError(where, line_no, "not valid JSON (or not valid UTF-8)");
    if (!j.is_object()) return LineError(where, line_no, "expected a JSON object");
    ResponseItem item;
    item.line = line;
    if (j.contains("id")) {
      if (j["id"].is_string()) item.source_id = j["id"].get<std::string>();
      else if (j["id"].is_number_integer()) item.source_id = std::to_string(j["id"].get<int64_t>());
      else return LineError(where, line_no, "\"id\" must be a string or an integer");
      if (item.source_id.empty()) return LineError(where, line_no, "\"id\" is empty");
    } else {
      item.source_id = "line" + std::to_string(line_no);
    }
    if (!ids.insert(item.source_id).second) return LineError(where, line_no, "duplicate id '" + item.source_id + "'");
    if (j.contains("messages")) {
      const json& m = j["messages"];
      if (!m.is_array() || m.empty()) return LineError(where, line_no, "\"messages\" must be a non-empty list");
      for (const json& msg : m) {
        if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() || !msg.contains("content") ||
            !msg["content"].is_string()) {
          return LineError(where, line_no, "each message needs string \"role\" and \"content\"");
        }
        const std::string role = msg["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant") {
          return LineError(where, line_no, "unknown message role '" + role + "'");
        }
      }
      if (m.back()["role"] != "user") return LineError(where, line_no, "the last message must be the user's question");
      item.messages = json::array();
      for (const json& msg : m) item.messages.push_back({{"role", msg["role"]}, {"content", msg["content"]}});
    } else if (j.contains("source")) {
      if (!j["source"].is_string() || j["source"].get<std::string>().empty()) {
        return LineError(where, line_no, "\"source\" must be a non-empty string");
      }
      item.messages = json::array({{{"role", "user"}, {"content", j["source"]}}});
    } else {
      return LineError(where, line_no, "needs \"messages\" (tenet generate) or \"source\" (manifest)");
    }
    if (!j.contains("responses") || !j["responses"].is_array()) {
      return LineError(where, line_no, "needs \"responses\": a list of answer strings");
    }
    for (const json& r : j["responses"]) {
      if (!r.is_string()) return LineError(where, line_no, "every response must be a string");
      if (r.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) {
        return LineError(where, line_no, "a response is empty");
      }
      item.responses.push_back(r.get<std::string>());
    }
    if (item.responses.size() < min_answers) {
      return LineError(where, line_no, min_answers == 2 ? "needs at least 2 responses to rank" : "needs a response");
    }
    if (item.responses.size() > kMaxAnswers) return LineError(where, line_no, "at most 26 responses per question");
    out.push_back(std::move(item));
  }
  if (out.empty()) return Status::InvalidArgument(Reason("bad_responses"), where + ": no questions in the file");
  return out;
}

Result<std::vector<ResponseItem>> ParseComparisonPairs(std::string_view text, const std::string& where) {
  std::vector<ResponseItem> out;
  std::set<std::string> ids;
  size_t line_no = 0, pos = 0;
  std::vector<std::string> systems;
  std::string line;
  while (NextLine(text, pos, line_no, &line)) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return LineError(where, line_no, "not a JSON object (or not valid UTF-8)");
    if (!j.contains("answers") || !j["answers"].is_array() || j["answers"].size() != 2) {
      return LineError(where, line_no, "needs \"answers\" of exactly two systems (a `tenet compare` line of two systems)");
    }
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> texts;
    for (const json& a : j["answers"]) {
      if (!a.is_object() || !a.contains("system") || !a["system"].is_string() || !a.contains("samples") || !a["samples"].is_array()) {
        return LineError(where, line_no, "each answer needs \"system\" and \"samples\"");
      }
      names.push_back(a["system"].get<std::string>());
      texts.emplace_back();
      for (const json& s : a["samples"]) {
        if (!s.is_object() || !s.contains("text") || !s["text"].is_string()) return LineError(where, line_no, "each sample needs \"text\"");
        texts.back().push_back(s["text"].get<std::string>());
      }
    }
    if (names[0] == names[1] || names[0].empty()) return LineError(where, line_no, "the two systems need two different names");
    if (systems.empty()) systems = names;
    if (names != systems) return LineError(where, line_no, "systems " + names[0] + ", " + names[1] + " differ from the first line's");
    if (texts[0].size() != texts[1].size() || texts[0].empty()) {
      return LineError(where, line_no, "the systems have " + std::to_string(texts[0].size()) + " and " + std::to_string(texts[1].size()) +
                                           " answers; a pair needs one of each");
    }
    for (size_t k = 0; k < texts[0].size(); ++k) {
      // The rest (id, messages, non-empty answers) as a responses line.
      json r = {{"responses", {texts[0][k], texts[1][k]}}};
      if (j.contains("id")) r["id"] = j["id"];
      if (j.contains("messages")) r["messages"] = j["messages"];
      auto parsed = ParseResponses(r.dump(), where + ":" + std::to_string(line_no));
      if (!parsed.ok()) return parsed.status();
      ResponseItem item = std::move(parsed->front());
      if (texts[0].size() > 1) item.source_id += "#" + std::to_string(k + 1);
      if (!ids.insert(item.source_id).second) return LineError(where, line_no, "duplicate id '" + item.source_id + "'");
      item.line = line;
      item.systems = names;
      out.push_back(std::move(item));
    }
  }
  if (out.empty()) return Status::InvalidArgument(Reason("bad_responses"), where + ": no questions in the file");
  return out;
}

Result<std::vector<ResponseItem>> PairResponses(const std::vector<ResponseItem>& a, const std::string& system_a,
                                                const std::vector<ResponseItem>& b, const std::string& system_b) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(Reason("bad_responses"), m); };
  if (system_a.empty() || system_a == system_b) return bad("the two systems need two different names");
  std::map<std::string, const ResponseItem*> by_id;
  for (const ResponseItem& it : b) by_id[it.source_id] = &it;
  if (a.size() != b.size()) {
    for (const ResponseItem& it : a)
      if (!by_id.count(it.source_id)) return bad("question '" + it.source_id + "' is answered by " + system_a + " only");
  }
  std::vector<ResponseItem> out;
  for (const ResponseItem& x : a) {
    auto it = by_id.find(x.source_id);
    if (it == by_id.end()) return bad("question '" + x.source_id + "' is answered by " + system_a + " only");
    const ResponseItem& y = *it->second;
    if (x.messages != y.messages) return bad("question '" + x.source_id + "' has different prompts in the two files");
    const size_t n = std::min(x.responses.size(), y.responses.size());
    for (size_t k = 0; k < n; ++k) {
      ResponseItem p;
      p.source_id = n > 1 ? x.source_id + "#" + std::to_string(k + 1) : x.source_id;
      p.messages = x.messages;
      p.responses = {x.responses[k], y.responses[k]};
      p.systems = {system_a, system_b};
      p.line = x.line;
      out.push_back(std::move(p));
    }
  }
  if (b.size() > a.size()) {
    std::set<std::string> in_a;
    for (const ResponseItem& x : a) in_a.insert(x.source_id);
    for (const ResponseItem& y : b)
      if (!in_a.count(y.source_id)) return bad("question '" + y.source_id + "' is answered by " + system_b + " only");
  }
  return out;
}

void MakePairwise(JobSpec& spec, bool offer_both_bad) {
  spec.kind = "pairwise";
  spec.offer_both_bad = offer_both_bad;
  spec.allow_ties = true;
  spec.shuffle = true;
  if (spec.dimensions == JobSpec{}.dimensions) spec.dimensions = {kPairwiseQuestion};
}

Status ValidateJobSpec(const JobSpec& s) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(Reason("bad_job"), m); };
  if (s.name.empty() || s.name.size() > 100) return bad("a job name is 1-100 characters");
  if (std::any_of(s.name.begin(), s.name.end(), [](unsigned char c) { return c < ' ' || c == 0x7f; })) {
    return bad("a job name has no control characters");
  }
  if (!utf8::IsValid(s.name)) return bad("the job name is not valid UTF-8");
  if (s.instructions_md.size() > 1 << 20) return bad("instructions are at most 1 MiB");
  if (const size_t at = utf8::FindInvalid(s.instructions_md); at != std::string::npos) {
    return bad("the instructions are not valid UTF-8 (byte " + std::to_string(at) + ")");
  }
  if (!utf8::IsValid(s.source_file)) return bad("the source file name is not valid UTF-8");
  for (const std::string& t : s.teams) {
    if (!utf8::IsValid(t)) return bad("a team name is not valid UTF-8");
  }
  if (s.dimensions.empty() || s.dimensions.size() > 8) return bad("a job ranks along 1-8 dimensions");
  std::set<std::string> seen;
  for (const std::string& d : s.dimensions) {
    if (d.empty() || d.size() > 200 || !utf8::IsValid(d)) return bad("a dimension name is 1-200 characters of UTF-8");
    if (!seen.insert(d).second) return bad("dimension '" + d + "' is listed twice");
  }
  if (s.annotators_per_item < 1 || s.annotators_per_item > 9) return bad("annotators per item must be 1-9");
  if (s.task_time_limit_s < 10 || s.task_time_limit_s > 7 * 24 * 3600) return bad("the task time limit must be 10 s to 7 days");
  if (s.lifetime_s < 0) return bad("the job lifetime must be positive");
  if (s.kind != "rank" && s.kind != "pairwise") return bad("a job's kind is rank or pairwise, not '" + s.kind + "'");
  if (s.kind == "pairwise") {
    if (s.dimensions.size() != 1) return bad("a pairwise job asks one question");
    if (!s.allow_ties || !s.shuffle) return bad("a pairwise job allows ties and shows the answers in a random order");
  } else if (s.offer_both_bad) {
    return bad("\"both bad\" is a pairwise verdict");
  }
  return Status::OK();
}

Result<int64_t> ParseDuration(const std::string& text) {
  const auto bad = Status::InvalidArgument(text, "expected a duration like 90s, 30m, 2h or 7d");
  if (text.empty()) return bad;
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    return bad;
  }
  const std::string unit = text.substr(used);
  int64_t mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "m") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else return bad;
  if (n <= 0 || n > (int64_t{1} << 40) / mult) return bad;
  return n * mult;
}

json ToJson(const JobSummary& j) {
  return {{"id", j.id},
          {"kind", j.kind},
          {"offer_both_bad", j.offer_both_bad},
          {"name", j.name},
          {"state", j.state},
          {"dimensions", j.dimensions},
          {"allow_ties", j.allow_ties},
          {"annotators_per_item", j.annotators_per_item},
          {"task_time_limit_s", j.task_time_limit_s},
          {"expires_at", j.expires_at ? json(j.expires_at) : json(nullptr)},
          {"shuffle", j.shuffle},
          {"teams", j.teams},
          {"created_at", j.created_at},
          {"items", j.items},
          {"submissions", j.submissions},
          {"needed", j.items * j.annotators_per_item},
          {"complete_items", j.complete_items}};
}

Result<JobSummary> LoadJob(Sql& db, int64_t id, int64_t now, bool with_counts) {
  SQLite::Statement& q = db.Prepare("SELECT id, name, state, instructions_md, dimensions, allow_ties, annotators_per_item, "
                          "task_time_limit_s, COALESCE(expires_at, 0), shuffle, created_at, kind, offer_both_bad FROM jobs WHERE id = ?");
  q.bind(1, id);
  if (!q.executeStep()) return Status::NotFound(Reason("job_unknown"), "no job with id " + std::to_string(id));
  JobSummary j;
  j.id = q.getColumn(0).getInt64();
  j.name = q.getColumn(1).getString();
  j.state = q.getColumn(2).getString();
  j.instructions_md = q.getColumn(3).getString();
  j.dimensions = JsonStrings(q.getColumn(4).getString());
  j.allow_ties = q.getColumn(5).getInt() != 0;
  j.annotators_per_item = q.getColumn(6).getInt();
  j.task_time_limit_s = q.getColumn(7).getInt64();
  j.expires_at = q.getColumn(8).getInt64();
  j.shuffle = q.getColumn(9).getInt() != 0;
  j.created_at = q.getColumn(10).getInt64();
  j.kind = q.getColumn(11).getString();
  j.offer_both_bad = q.getColumn(12).getInt() != 0;
  if (j.expires_at && j.expires_at <= now) j.state = "ended";
  SQLite::Statement& t = db.Prepare("SELECT t.name FROM teams t JOIN job_teams jt ON jt.team_id = t.id WHERE jt.job_id = ? ORDER BY t.name");
  t.bind(1, id);
  while (t.executeStep()) j.teams.push_back(t.getColumn(0).getString());
  if (!with_counts) return j;
  SQLite::Statement& c = db.Prepare("SELECT count(*), COALESCE(sum(n_submitted), 0), COALESCE(sum(n_submitted >= ?), 0) FROM items WHERE job_id = ?");
  c.bind(1, j.annotators_per_item);
  c.bind(2, id);
  c.executeStep();
  j.items = c.getColumn(0).getInt64();
  j.submissions = c.getColumn(1).getInt64();
  j.complete_items = c.getColumn(2).getInt64();
  return j;
}

Status CheckJobAccess(Sql& db, const JobSummary& job, const User& user) {
  if (user.role == "admin" || job.teams.empty()) return Status::OK();
  SQLite::Statement& q = db.Prepare("SELECT 1 FROM job_teams jt JOIN team_members m ON m.team_id = jt.team_id "
                          "WHERE jt.job_id = ? AND m.user_id = ? LIMIT 1");
  q.bind(1, job.id);
  q.bind(2, user.id);
  if (q.executeStep()) return Status::OK();
  return Status::PermissionDenied(Reason("forbidden"), "this job is not assigned to your team");
}

Result<JobSummary> Jobs::Create(const JobSpec& spec, const std::vector<ResponseItem>& items) {
  TENET_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (items.empty()) return Status::InvalidArgument(Reason("bad_responses"), "the job has no questions");
  for (const ResponseItem& it : items) {
    const bool pair = it.responses.size() == 2 && it.systems.size() == 2;
    if ((spec.kind == "pairwise") != pair || (!pair && !it.systems.empty())) {
      return Status::InvalidArgument(Reason("bad_responses"), "item " + it.source_id + (spec.kind == "pairwise"
                                                                  ? ": a pairwise item has two answers, each with its system"
                                                                  : ": only pairwise items name systems"));
    }
  }
  return db_.Write([&](Sql& db) -> Result<JobSummary> {
    const int64_t now = db_.Now();
    SQLite::Statement& exists = db.Prepare("SELECT 1 FROM jobs WHERE name = ?");
    exists.bind(1, spec.name);
    if (exists.executeStep()) return Status::Conflict(Reason("job_exists"), "a job named '" + spec.name + "' already exists");
    std::vector<int64_t> team_ids;
    for (const std::string& t : spec.teams) {
      TENET_ASSIGN_OR_RETURN(int64_t id, EnsureTeam(db, t, now));
      team_ids.push_back(id);
    }
    SQLite::Statement& ins = db.Prepare("INSERT INTO jobs(name, instructions_md, dimensions, allow_ties, annotators_per_item, "
                              "task_time_limit_s, expires_at, shuffle, state, source_file, created_at, kind, offer_both_bad) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)");
    ins.bind(1, spec.name);
    ins.bind(2, spec.instructions_md);
    ins.bind(3, json(spec.dimensions).dump());
    ins.bind(4, spec.allow_ties ? 1 : 0);
    ins.bind(5, spec.annotators_per_item);
    ins.bind(6, spec.task_time_limit_s);
    if (spec.lifetime_s > 0) ins.bind(7, now + spec.lifetime_s); else ins.bind(7);
    ins.bind(8, spec.shuffle ? 1 : 0);
    ins.bind(9, spec.source_file);
    ins.bind(10, now);
    ins.bind(11, spec.kind);
    ins.bind(12, spec.offer_both_bad ? 1 : 0);
    ins.exec();
    const int64_t job_id = db.getLastInsertRowid();
    for (int64_t t : team_ids) {
      SQLite::Statement& jt = db.Prepare("INSERT INTO job_teams(job_id, team_id) VALUES (?, ?)");
      jt.bind(1, job_id);
      jt.bind(2, t);
      jt.exec();
    }
    SQLite::Statement& item = db.Prepare("INSERT INTO items(job_id, position, source_id, messages, responses, source_line, slots_free, systems) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (size_t i = 0; i < items.size(); ++i) {
      item.reset();
      item.bind(1, job_id);
      item.bind(2, static_cast<int64_t>(i));
      item.bind(3, items[i].source_id);
      item.bind(4, items[i].messages.dump());
      item.bind(5, json(items[i].responses).dump());
      item.bind(6, items[i].line);
      item.bind(7, spec.annotators_per_item);
      if (items[i].systems.empty()) item.bind(8); else item.bind(8, json(items[i].systems).dump());
      item.exec();
    }
    return LoadJob(db, job_id, now);
  });
}

Result<std::vector<JobSummary>> Jobs::List() {
  return db_.Read([&](Sql& db) -> Result<std::vector<JobSummary>> {
    std::vector<int64_t> ids;
    SQLite::Statement& q = db.Prepare("SELECT id FROM jobs ORDER BY id");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    std::vector<JobSummary> out;
    for (int64_t id : ids) {
      TENET_ASSIGN_OR_RETURN(JobSummary j, LoadJob(db, id, db_.Now()));
      out.push_back(std::move(j));
    }
    return out;
  });
}

Result<JobSummary> Jobs::Get(int64_t id) {
  return db_.Read([&](Sql& db) { return LoadJob(db, id, db_.Now()); });
}

Result<JobSummary> Jobs::GetByName(const std::string& name) {
  return db_.Read([&](Sql& db) -> Result<JobSummary> {
    SQLite::Statement& q = db.Prepare("SELECT id FROM jobs WHERE name = ?");
    q.bind(1, name);
    if (!q.executeStep()) return Status::NotFound(Reason("job_unknown"), "no job named '" + name + "'");
    return LoadJob(db, q.getColumn(0).getInt64(), db_.Now());
  });
}

Result<JobSummary> Jobs::SetPaused(int64_t id, bool paused) {
  return db_.Write([&](Sql& db) -> Result<JobSummary> {
    TENET_ASSIGN_OR_RETURN(JobSummary j, LoadJob(db, id, db_.Now()));
    if (j.state == "ended") return Status::Gone(Reason("job_ended"), "job '" + j.name + "' has ended");
    SQLite::Statement& up = db.Prepare("UPDATE jobs SET state = ? WHERE id = ?");
    up.bind(1, paused ? "paused" : "active");
    up.bind(2, id);
    up.exec();
    return LoadJob(db, id, db_.Now());
  });
}

}  // namespace tenet::label
