// Leases, submissions, releases and skips. See tenet/label/tasks.h.
#include "tenet/label/tasks.h"

#include <algorithm>
#include <random>

#include "tenet/util/utf8.h"

namespace tenet::label {

using nlohmann::json;

namespace {

void ExpireLeases(Sql& db, int64_t now) {
  SQLite::Statement& q = db.Prepare("SELECT id, item_id FROM tasks WHERE state = 'leased' AND lease_expires_at <= ?");
  q.bind(1, now);
  std::vector<std::pair<int64_t, int64_t>> expired;
  while (q.executeStep()) expired.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getInt64());
  for (auto [task, item] : expired) {
    SQLite::Statement& t = db.Prepare("UPDATE tasks SET state = 'expired', ended_at = lease_expires_at WHERE id = ?");
    t.bind(1, task);
    t.exec();
    SQLite::Statement& i = db.Prepare("UPDATE items SET slots_free = slots_free + 1 WHERE id = ?");
    i.bind(1, item);
    i.exec();
  }
}

std::vector<int> ParseOrder(const std::string& text) {
  std::vector<int> out;
  for (const json& v : json::parse(text)) out.push_back(v.get<int>());
  return out;
}

Result<Task> LoadTask(Sql& db, int64_t task_id, int64_t now) {
  SQLite::Statement& q = db.Prepare("SELECT t.job_id, t.item_id, t.answer_order, t.leased_at, t.lease_expires_at, i.messages, i.responses "
                          "FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.id = ?");
  q.bind(1, task_id);
  if (!q.executeStep()) return Status::NotFound(Reason("task_unknown"), "no task with id " + std::to_string(task_id));
  Task t;
  t.id = task_id;
  const int64_t job_id = q.getColumn(0).getInt64();
  t.item_id = q.getColumn(1).getInt64();
  t.order = ParseOrder(q.getColumn(2).getString());
  t.started_at = q.getColumn(3).getInt64();
  t.lease_expires_at = q.getColumn(4).getInt64();
  t.messages = json::parse(q.getColumn(5).getString());
  t.responses = json::parse(q.getColumn(6).getString()).get<std::vector<std::string>>();
  q.reset();
  TENET_ASSIGN_OR_RETURN(t.job, LoadJob(db, job_id, now, /*with_counts=*/false));
  return t;
}

struct TaskRow {
  int64_t annotator_id = 0, job_id = 0, item_id = 0, lease_expires_at = 0, leased_at = 0;
  std::string state;
};

Result<TaskRow> LoadTaskRow(Sql& db, int64_t task_id, const User& user) {
  SQLite::Statement& q = db.Prepare("SELECT annotator_id, job_id, item_id, lease_expires_at, leased_at, state FROM tasks WHERE id = ?");
  q.bind(1, task_id);
  if (!q.executeStep()) return Status::NotFound(Reason("task_unknown"), "no task with id " + std::to_string(task_id));
  TaskRow r{q.getColumn(0).getInt64(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64(),
            q.getColumn(3).getInt64(), q.getColumn(4).getInt64(), q.getColumn(5).getString()};
  if (r.annotator_id != user.id) return Status::Conflict(Reason("not_your_task"), "this task belongs to another annotator");
  return r;
}

// A task the caller holds right now; Gone otherwise.
Status CheckHeld(const TaskRow& r, int64_t now) {
  if (r.state == "leased" && r.lease_expires_at > now) return Status::OK();
  if (r.state == "leased" || r.state == "expired") {
    return Status::Gone(Reason("lease_expired"), "the time for this task ran out and it went back to the pool; ask for the next task");
  }
  return Status::Gone(Reason("task_closed"), "this task was already " + r.state);
}

// Ends a held task without a submission (released or skipped): its slot goes back to the pool.
Status EndLease(Sql& db, int64_t task_id, const TaskRow& r, const char* state, const std::string& reason, int64_t now) {
  SQLite::Statement& t = db.Prepare("UPDATE tasks SET state = ?, ended_at = ?, skip_reason = ? WHERE id = ?");
  t.bind(1, state);
  t.bind(2, now);
  if (reason.empty()) t.bind(3); else t.bind(3, reason);
  t.bind(4, task_id);
  t.exec();
  SQLite::Statement& i = db.Prepare("UPDATE items SET slots_free = slots_free + 1 WHERE id = ?");
  i.bind(1, r.item_id);
  i.exec();
  return Status::OK();
}

}  // namespace

json ToJson(const Task& t) {
  json answers = json::array();
  for (int idx : t.order) answers.push_back({{"index", idx}, {"text", t.responses[idx]}});
  return {{"id", t.id},
          {"job",
           {{"id", t.job.id},
            {"name", t.job.name},
            {"instructions_md", t.job.instructions_md},
            {"dimensions", t.job.dimensions},
            {"allow_ties", t.job.allow_ties},
            {"kind", t.job.kind},
            {"offer_both_bad", t.job.offer_both_bad}}},
          {"item_id", t.item_id},
          {"messages", t.messages},
          {"answers", answers},
          {"started_at", t.started_at},
          {"lease_expires_at", t.lease_expires_at}};
}

Status ValidateRanks(const std::vector<std::vector<int>>& ranks, size_t dimensions, size_t answers, bool allow_ties) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(Reason("bad_ranking"), m); };
  if (ranks.size() != dimensions) {
    return bad("expected " + std::to_string(dimensions) + " ranking(s), one per dimension, got " + std::to_string(ranks.size()));
  }
  for (const std::vector<int>& r : ranks) {
    if (r.size() != answers) return bad("expected a rank for each of the " + std::to_string(answers) + " answers");
    std::vector<int> sorted = r;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      // Competition ranks: the i-th smallest is i+1, or equal to the one before it (a tie).
      const bool fresh = sorted[i] == static_cast<int>(i) + 1;
      const bool tie = i > 0 && sorted[i] == sorted[i - 1];
      if (tie && !allow_ties) return bad("this job does not allow ties: every answer needs its own rank 1.." + std::to_string(answers));
      if (!fresh && !tie) {
        return bad(allow_ties ? "ranks must be competition ranks: 1..n, tied answers sharing a rank (1, 1, 3)"
                              : "ranks must be a permutation of 1.." + std::to_string(answers));
      }
    }
  }
  return Status::OK();
}

void ReleaseLeasesOf(Sql& db, int64_t annotator_id, int64_t now) {
  SQLite::Statement& q = db.Prepare("SELECT id, item_id FROM tasks WHERE annotator_id = ? AND state = 'leased' AND lease_expires_at > ?");
  q.bind(1, annotator_id);
  q.bind(2, now);
  std::vector<std::pair<int64_t, int64_t>> held;
  while (q.executeStep()) held.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getInt64());
  for (auto [task, item] : held) {
    TaskRow r;
    r.item_id = item;
    (void)EndLease(db, task, r, "released", "", now);
  }
}

Result<std::optional<Task>> Tasks::Next(const User& user, int64_t job_id) {
  // Not fsynced: a lease lost to a power cut only returns its item to the pool. The next fsynced
  // commit (a submission) makes it durable with everything before it.
  return db_.WriteUnsynced([&](Sql& db) -> Result<std::optional<Task>> {
    const int64_t now = db_.Now();
    TENET_ASSIGN_OR_RETURN(JobSummary job, LoadJob(db, job_id, now, /*with_counts=*/false));
    TENET_RETURN_IF_ERROR(CheckJobAccess(db, job, user));
    if (job.state == "ended") return Status::Gone(Reason("job_ended"), "job '" + job.name + "' has ended");
    if (job.state == "paused") return Status::Conflict(Reason("job_paused"), "job '" + job.name + "' is paused; try again later");
    ExpireLeases(db, now);
    {
      SQLite::Statement& held = db.Prepare("SELECT id FROM tasks WHERE annotator_id = ? AND job_id = ? AND state = 'leased' LIMIT 1");
      held.bind(1, user.id);
      held.bind(2, job_id);
      if (held.executeStep()) {
        const int64_t id = held.getColumn(0).getInt64();
        held.reset();
        TENET_ASSIGN_OR_RETURN(Task t, LoadTask(db, id, now));
        return std::optional<Task>(std::move(t));
      }
    }
    // Untouched items first, then ones this annotator released or let expire.
    int64_t item_id = 0;
    for (const char* sql :
         {"SELECT i.id, i.responses FROM items i WHERE i.job_id = ? AND i.slots_free > 0 AND NOT EXISTS "
          "(SELECT 1 FROM tasks t WHERE t.item_id = i.id AND t.annotator_id = ?) ORDER BY i.id LIMIT 1",
          "SELECT i.id, i.responses FROM items i WHERE i.job_id = ? AND i.slots_free > 0 AND NOT EXISTS "
          "(SELECT 1 FROM tasks t WHERE t.item_id = i.id AND t.annotator_id = ? AND t.state IN ('leased', 'submitted', 'skipped')) "
          "ORDER BY i.id LIMIT 1"}) {
      SQLite::Statement& q = db.Prepare(sql);
      q.bind(1, job_id);
      q.bind(2, user.id);
      if (q.executeStep()) {
        item_id = q.getColumn(0).getInt64();
        break;
      }
    }
    if (item_id == 0) return std::optional<Task>();
    SQLite::Statement& n = db.Prepare("SELECT json_array_length(responses) FROM items WHERE id = ?");
    n.bind(1, item_id);
    n.executeStep();
    std::vector<int> order(n.getColumn(0).getInt());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    if (job.shuffle) {
      thread_local std::mt19937_64 rng = [] {
        std::random_device rd;
        return std::mt19937_64((static_cast<uint64_t>(rd()) << 32) ^ rd());
      }();
      std::shuffle(order.begin(), order.end(), rng);
    }
    SQLite::Statement& ins = db.Prepare("INSERT INTO tasks(job_id, item_id, annotator_id, state, answer_order, leased_at, lease_expires_at) "
                              "VALUES (?, ?, ?, 'leased', ?, ?, ?)");
    ins.bind(1, job_id);
    ins.bind(2, item_id);
    ins.bind(3, user.id);
    ins.bind(4, json(order).dump());
    ins.bind(5, now);
    ins.bind(6, now + job.task_time_limit_s);
    ins.exec();
    const int64_t task_id = db.getLastInsertRowid();
    SQLite::Statement& up = db.Prepare("UPDATE items SET slots_free = slots_free - 1 WHERE id = ? AND slots_free > 0");
    up.bind(1, item_id);
    if (up.exec() != 1) return Status::Internal("label store", "an item was leased beyond its annotators");
    TENET_ASSIGN_OR_RETURN(Task t, LoadTask(db, task_id, now));
    return std::optional<Task>(std::move(t));
  });
}

Result<SubmitResult> Tasks::Submit(const User& user, int64_t task_id, const Submission& s) {
  return SubmitImpl(user, task_id, s, nullptr);
}

Result<SubmitResult> Tasks::SubmitVerdict(const User& user, int64_t task_id, const std::string& verdict, const Submission& s) {
  if (!s.ranks.empty()) return Status::InvalidArgument(Reason("bad_verdict"), "a verdict comes without ranks");
  return SubmitImpl(user, task_id, s, &verdict);
}

Result<SubmitResult> Tasks::SubmitImpl(const User& user, int64_t task_id, const Submission& s, const std::string* verdict) {
  if (s.comment.size() > 10000) return Status::InvalidArgument(Reason("bad_comment"), "a comment is at most 10000 bytes");
  if (!utf8::IsValid(s.comment)) return Status::InvalidArgument(Reason("bad_comment"), "the comment is not valid UTF-8");
  return db_.Write([&](Sql& db) -> Result<SubmitResult> {
    const int64_t now = db_.Now();
    TENET_ASSIGN_OR_RETURN(TaskRow r, LoadTaskRow(db, task_id, user));
    if (r.state == "submitted") {
      SQLite::Statement& q = db.Prepare("SELECT id FROM submissions WHERE task_id = ?");
      q.bind(1, task_id);
      if (!q.executeStep()) return Status::Internal("label store", "a submitted task without its submission");
      return SubmitResult{q.getColumn(0).getInt64(), true};
    }
    TENET_RETURN_IF_ERROR(CheckHeld(r, now));
    TENET_ASSIGN_OR_RETURN(JobSummary job, LoadJob(db, r.job_id, now, /*with_counts=*/false));
    SQLite::Statement& n = db.Prepare("SELECT json_array_length(responses), n_submitted FROM items WHERE id = ?");
    n.bind(1, r.item_id);
    n.executeStep();
    const size_t answers = static_cast<size_t>(n.getColumn(0).getInt());
    if (n.getColumn(1).getInt() >= job.annotators_per_item) {
      return Status::Internal("label store", "an item would get more submissions than asked");
    }
    n.reset();
    std::vector<std::vector<int>> ranks = s.ranks;
    bool both_bad = false;
    if (job.kind == "pairwise") {
      auto bad = [](const std::string& m) { return Status::InvalidArgument(Reason("bad_verdict"), m); };
      if (verdict == nullptr) return bad("a pairwise task takes a verdict (A, B, tie or both_bad), not ranks");
      SQLite::Statement& o = db.Prepare("SELECT answer_order FROM tasks WHERE id = ?");
      o.bind(1, task_id);
      o.executeStep();
      const std::vector<int> order = json::parse(o.getColumn(0).getString()).get<std::vector<int>>();
      o.reset();
      if (order.size() != 2 || answers != 2) return Status::Internal("label store", "a pairwise task without two answers");
      std::vector<int> r(2, 1);
      if (*verdict == "A") {
        r[static_cast<size_t>(order[1])] = 2;
      } else if (*verdict == "B") {
        r[static_cast<size_t>(order[0])] = 2;
      } else if (*verdict == "both_bad") {
        if (!job.offer_both_bad) return bad("this job does not offer \"both bad\"");
        both_bad = true;
      } else if (*verdict != "tie") {
        return bad("the verdict is A, B, tie" + std::string(job.offer_both_bad ? " or both_bad" : "") + ", not '" + *verdict + "'");
      }
      ranks = {r};
    } else if (verdict != nullptr) {
      return Status::InvalidArgument(Reason("bad_verdict"), "a ranking task takes ranks, not a verdict");
    }
    TENET_RETURN_IF_ERROR(ValidateRanks(ranks, job.dimensions.size(), answers, job.allow_ties));
    const int64_t server_ms = (now - r.leased_at) * 1000;
    const int64_t spent = s.time_spent_ms >= 0 && s.time_spent_ms <= server_ms + 5000 ? s.time_spent_ms : server_ms;
    SQLite::Statement& ins = db.Prepare("INSERT INTO submissions(task_id, job_id, item_id, annotator_id, ranks, comment, time_spent_ms, submitted_at, both_bad) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, task_id);
    ins.bind(2, r.job_id);
    ins.bind(3, r.item_id);
    ins.bind(4, user.id);
    ins.bind(5, json(ranks).dump());
    ins.bind(6, s.comment);
    ins.bind(7, spent);
    ins.bind(8, now);
    ins.bind(9, both_bad ? 1 : 0);
    ins.exec();
    const int64_t submission_id = db.getLastInsertRowid();
    SQLite::Statement& t = db.Prepare("UPDATE tasks SET state = 'submitted', ended_at = ? WHERE id = ?");
    t.bind(1, now);
    t.bind(2, task_id);
    t.exec();
    SQLite::Statement& i = db.Prepare("UPDATE items SET n_submitted = n_submitted + 1 WHERE id = ?");
    i.bind(1, r.item_id);
    i.exec();
    return SubmitResult{submission_id, false};
  });
}

Status Tasks::Release(const User& user, int64_t task_id) {
  return db_.Write([&](Sql& db) -> Status {
    const int64_t now = db_.Now();
    TENET_ASSIGN_OR_RETURN(TaskRow r, LoadTaskRow(db, task_id, user));
    TENET_RETURN_IF_ERROR(CheckHeld(r, now));
    return EndLease(db, task_id, r, "released", "", now);
  });
}

Status Tasks::Skip(const User& user, int64_t task_id, const std::string& reason) {
  if (reason.empty() || reason.size() > 2000 || !utf8::IsValid(reason)) {
    return Status::InvalidArgument(Reason("bad_reason"), "say why you skip (1-2000 bytes of UTF-8)");
  }
  return db_.Write([&](Sql& db) -> Status {
    const int64_t now = db_.Now();
    TENET_ASSIGN_OR_RETURN(TaskRow r, LoadTaskRow(db, task_id, user));
    TENET_RETURN_IF_ERROR(CheckHeld(r, now));
    return EndLease(db, task_id, r, "skipped", reason, now);
  });
}

Result<Task> Tasks::Preview(int64_t job_id) {
  return db_.Read([&](Sql& db) -> Result<Task> {
    const int64_t now = db_.Now();
    Task t;
    TENET_ASSIGN_OR_RETURN(t.job, LoadJob(db, job_id, now, /*with_counts=*/false));
    SQLite::Statement& q = db.Prepare("SELECT id, messages, responses FROM items WHERE job_id = ? ORDER BY id LIMIT 1");
    q.bind(1, job_id);
    if (!q.executeStep()) return Status::NotFound(Reason("job_empty"), "the job has no items");
    t.item_id = q.getColumn(0).getInt64();
    t.messages = json::parse(q.getColumn(1).getString());
    t.responses = json::parse(q.getColumn(2).getString()).get<std::vector<std::string>>();
    for (size_t i = 0; i < t.responses.size(); ++i) t.order.push_back(static_cast<int>(i));
    t.started_at = now;
    t.lease_expires_at = now + t.job.task_time_limit_s;
    return t;
  });
}

Result<std::vector<Tasks::QueueEntry>> Tasks::Queue(const User& user) {
  return db_.Read([&](Sql& db) -> Result<std::vector<QueueEntry>> {
    const int64_t now = db_.Now();
    std::vector<int64_t> ids;
    SQLite::Statement& q = db.Prepare("SELECT id FROM jobs WHERE state = 'active' ORDER BY id");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    std::vector<QueueEntry> out;
    for (int64_t id : ids) {
      QueueEntry e;
      TENET_ASSIGN_OR_RETURN(e.job, LoadJob(db, id, now));
      if (e.job.state != "active" || !CheckJobAccess(db, e.job, user).ok()) continue;
      SQLite::Statement& r = db.Prepare("SELECT count(*) FROM items i WHERE i.job_id = ? AND i.n_submitted < ? AND NOT EXISTS "
                              "(SELECT 1 FROM tasks t WHERE t.item_id = i.id AND t.annotator_id = ? AND t.state IN ('submitted', 'skipped'))");
      r.bind(1, id);
      r.bind(2, e.job.annotators_per_item);
      r.bind(3, user.id);
      r.executeStep();
      e.remaining = r.getColumn(0).getInt64();
      SQLite::Statement& d = db.Prepare("SELECT count(*) FROM submissions WHERE job_id = ? AND annotator_id = ?");
      d.bind(1, id);
      d.bind(2, user.id);
      d.executeStep();
      e.done_by_me = d.getColumn(0).getInt64();
      if (e.remaining > 0) out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace tenet::label
