// Opening the labeling store and its schema. See tenet/label/db.h.
#include "tenet/label/db.h"

#include <atomic>
#include <ctime>

namespace tenet::label {

namespace {

// Version 1: the first release. Version 2 adds login_failures (sign-in limits that survive a
// restart); a version 1 store is migrated in place when opened.
constexpr int kSchemaVersion = 3;

// Items keep two counters so that the next-task query is an index walk: `n_submitted`, and
// `slots_free` = annotators_per_item - submitted - unexpired leases.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('admin', 'annotator')),
  password_hash TEXT,
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);
CREATE TABLE team_members (
  team_id INTEGER NOT NULL REFERENCES teams(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (team_id, user_id)
);
CREATE TABLE invitations (
  id INTEGER PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE,
  email TEXT NOT NULL COLLATE NOCASE,
  team_id INTEGER REFERENCES teams(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  user_id INTEGER REFERENCES users(id)
);
CREATE TABLE signin_links (
  token_hash BLOB PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  instructions_md TEXT NOT NULL,
  dimensions TEXT NOT NULL,
  allow_ties INTEGER NOT NULL,
  annotators_per_item INTEGER NOT NULL CHECK (annotators_per_item BETWEEN 1 AND 9),
  task_time_limit_s INTEGER NOT NULL CHECK (task_time_limit_s > 0),
  expires_at INTEGER,
  shuffle INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'paused')),
  source_file TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE TABLE job_teams (
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  team_id INTEGER NOT NULL REFERENCES teams(id),
  PRIMARY KEY (job_id, team_id)
);
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  position INTEGER NOT NULL,
  source_id TEXT NOT NULL,
  messages TEXT NOT NULL,
  responses TEXT NOT NULL,
  source_line TEXT NOT NULL,
  n_submitted INTEGER NOT NULL DEFAULT 0,
  slots_free INTEGER NOT NULL,
  UNIQUE (job_id, position)
);
CREATE INDEX items_open ON items(job_id, id) WHERE slots_free > 0;
CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  item_id INTEGER NOT NULL REFERENCES items(id),
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('leased', 'submitted', 'released', 'skipped', 'expired')),
  answer_order TEXT NOT NULL,
  leased_at INTEGER NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  ended_at INTEGER,
  skip_reason TEXT
);
CREATE INDEX tasks_item_annotator ON tasks(item_id, annotator_id);
CREATE INDEX tasks_annotator ON tasks(annotator_id, job_id, state);
CREATE INDEX tasks_leases ON tasks(lease_expires_at) WHERE state = 'leased';
CREATE TABLE submissions (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL UNIQUE REFERENCES tasks(id),
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  item_id INTEGER NOT NULL REFERENCES items(id),
  annotator_id INTEGER NOT NULL REFERENCES users(id),
  ranks TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  time_spent_ms INTEGER NOT NULL,
  submitted_at INTEGER NOT NULL,
  UNIQUE (item_id, annotator_id)
);
CREATE INDEX submissions_job ON submissions(job_id, item_id);
)sql" /* then kMigrations */;

// What version 2 adds to version 1.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE login_failures (key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX login_failures_key ON login_failures(key, at);
)sql";

// What version 3 adds: blind pairwise jobs (two systems' answers per item; the systems are never
// sent to annotators) and the "both bad" verdict.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'rank' CHECK (kind IN ('rank', 'pairwise'));
ALTER TABLE jobs ADD COLUMN offer_both_bad INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN systems TEXT;
ALTER TABLE submissions ADD COLUMN both_bad INTEGER NOT NULL DEFAULT 0;
)sql";

// Each step brings version i to i + 1; all run in the opening transaction, so a store is either
// upgraded whole or not at all.
constexpr const char* kMigrations[] = {nullptr, kSchemaV2, kSchemaV3};

}  // namespace

SQLite::Statement& Sql::Prepare(const std::string& sql) {
  auto& slot = c_.statements[sql];
  if (!slot) {
    slot = std::make_unique<SQLite::Statement>(*c_.db, sql);
  } else {
    slot->reset();
    slot->clearBindings();
  }
  c_.used.push_back(slot.get());
  return *slot;
}

void Connection::ResetStatements() {
  for (SQLite::Statement* st : used) st->reset();
  used.clear();
}

Connection& LabelDb::PickReader() {
  // A free reader if there is one; otherwise wait on one picked by thread.
  for (auto& r : readers_) {
    if (r->mu.try_lock()) {
      r->mu.unlock();
      return *r;
    }
  }
  static std::atomic<size_t> next{0};
  return *readers_[next++ % readers_.size()];
}

std::string ColumnText(const SQLite::Statement& st, int i) {
  const SQLite::Column c = st.getColumn(i);
  return c.isNull() ? std::string() : c.getString();
}

Result<std::unique_ptr<LabelDb>> LabelDb::Open(const std::string& path) {
  std::unique_ptr<LabelDb> out(new LabelDb());
  out->path_ = path;
  out->clock_ = [] { return static_cast<int64_t>(std::time(nullptr)); };
  try {
    out->writer_.db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Database& db = *out->writer_.db;
    db.setBusyTimeout(10000);  // another process (the CLI beside a running server) may hold the write lock
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=FULL");
    db.exec("PRAGMA foreign_keys=ON");
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    const bool has_meta = db.tableExists("meta");
    if (!has_meta) {
      SQLite::Statement any(db, "SELECT count(*) FROM sqlite_master");
      any.executeStep();
      if (any.getColumn(0).getInt() != 0) {
        return Status::InvalidArgument(path, "not a Tenet labeling database (it has other tables)");
      }
      db.exec(kSchema);
      for (int v = 1; v < kSchemaVersion; ++v) db.exec(kMigrations[v]);
      SQLite::Statement v(db, "INSERT INTO meta(key, value) VALUES ('schema_version', ?)");
      v.bind(1, std::to_string(kSchemaVersion));
      v.exec();
    } else {
      SQLite::Statement v(db, "SELECT value FROM meta WHERE key = 'schema_version'");
      if (!v.executeStep()) return Status::InvalidArgument(path, "labeling database without a schema version");
      const int version = std::atoi(v.getColumn(0).getString().c_str());
      v.reset();
      if (version >= 1 && version < kSchemaVersion) {
        for (int from = version; from < kSchemaVersion; ++from) db.exec(kMigrations[from]);
        SQLite::Statement up(db, "UPDATE meta SET value = ? WHERE key = 'schema_version'");
        up.bind(1, std::to_string(kSchemaVersion));
        up.exec();
      } else if (version != kSchemaVersion) {
        return Status::InvalidArgument(path, "labeling database schema version " + std::to_string(version) +
                                                 "; this build reads version " + std::to_string(kSchemaVersion));
      }
    }
    tx.commit();
    for (size_t i = 0; i < kReaders; ++i) {
      auto r = std::make_unique<Connection>();
      r->db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY);
      r->db->setBusyTimeout(10000);
      out->readers_.push_back(std::move(r));
    }
  } catch (const SQLite::Exception& e) {
    return Status::InvalidArgument(path, std::string("cannot open the labeling database: ") + e.what());
  }
  return out;
}

}  // namespace tenet::label
