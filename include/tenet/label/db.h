// The labeling service's store: one SQLite file (WAL, synchronous=FULL, foreign keys on).
// - Writes go through one writer connection behind one mutex; each is one IMMEDIATE transaction
//   committed (and fsynced) before Write() returns, so an acknowledged change survives kill -9 and
//   power loss.
// - Reads use a small pool of read-only connections: WAL lets them run beside the writer, so a
//   session check or an admin's status page never waits for (or holds up) the task loop's writes.
// Each connection keeps its prepared statements.
//
// Thread-safety: all methods are safe to call from many threads. The clock is replaceable for
// tests (lease expiry, invitation expiry) and must be set before other threads use the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "tenet/util/status.h"

namespace tenet::label {

// One SQLite connection with its cache of prepared statements and its lock.
struct Connection {
  std::unique_ptr<SQLite::Database> db;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements;
  std::vector<SQLite::Statement*> used;  // in the current transaction
  std::mutex mu;
  void ResetStatements();
};

// The connection as store callbacks see it. Statements are compiled once per connection and kept
// (compiling costs about 8x running the small queries of the task loop); Prepare hands one back
// reset, with its bindings cleared. A statement stays valid until the callback returns; one SQL
// text cannot be used twice at the same time.
class Sql {
 public:
  explicit Sql(Connection& c) : c_(c) {}
  SQLite::Statement& Prepare(const std::string& sql);
  int64_t getLastInsertRowid() const { return c_.db->getLastInsertRowid(); }
  SQLite::Database& raw() { return *c_.db; }

 private:
  Connection& c_;
};

class LabelDb {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds
  static constexpr size_t kReaders = 4;

  // Opens or creates `path` and brings its schema up to date. InvalidArgument when the file is not
  // a Tenet labeling database (or is newer than this build understands).
  static Result<std::unique_ptr<LabelDb>> Open(const std::string& path);

  const std::string& path() const { return path_; }
  int64_t Now() const { return clock_(); }
  void SetClock(Clock clock) { clock_ = std::move(clock); }

  // Runs `fn(sql)` (returning Status or Result<T>) on the writer, in one IMMEDIATE transaction,
  // committed (and fsynced) only when it returns OK. SQLite exceptions become Internal errors;
  // nothing is kept.
  template <typename F>
  auto Write(F&& fn) -> std::invoke_result_t<F, Sql&> {
    return Transact(writer_, std::forward<F>(fn), SQLite::TransactionBehavior::IMMEDIATE, /*fsync=*/true);
  }
  // As Write, but the commit is not fsynced (synchronous=NORMAL for this transaction): it survives
  // a crash of the process, and reaches the disk with the next fsynced commit; a power cut may lose
  // it. For leases, which a loss only returns to the pool, never for submissions.
  template <typename F>
  auto WriteUnsynced(F&& fn) -> std::invoke_result_t<F, Sql&> {
    return Transact(writer_, std::forward<F>(fn), SQLite::TransactionBehavior::IMMEDIATE, /*fsync=*/false);
  }
  // Runs `fn(sql)` on a read-only connection in one read transaction (a consistent snapshot of
  // everything committed so far).
  template <typename F>
  auto Read(F&& fn) -> std::invoke_result_t<F, Sql&> {
    return Transact(PickReader(), std::forward<F>(fn), SQLite::TransactionBehavior::DEFERRED, /*fsync=*/true);
  }

 private:
  LabelDb() = default;
  Connection& PickReader();

  template <typename F>
  auto Transact(Connection& c, F&& fn, SQLite::TransactionBehavior behavior, bool fsync) -> std::invoke_result_t<F, Sql&> {
    std::lock_guard<std::mutex> lock(c.mu);
    try {
      if (!fsync) c.db->exec("PRAGMA synchronous=NORMAL");
      struct Restore {  // runs after the transaction ends, also on exceptions
        Connection& c;
        bool fsync;
        ~Restore() {
          c.ResetStatements();
          if (!fsync) c.db->tryExec("PRAGMA synchronous=FULL");
        }
      };
      Restore restore{c, fsync};
      SQLite::Transaction tx(*c.db, behavior);
      Sql sql(c);
      auto r = fn(sql);
      if (StatusOf(r).ok()) {
        c.ResetStatements();
        tx.commit();
      }
      return r;
    } catch (const SQLite::Exception& e) {
      return Status::Internal("database", e.what());
    }
  }
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) { return r.status(); }

  std::string path_;
  Connection writer_;
  std::vector<std::unique_ptr<Connection>> readers_;
  Clock clock_;

};

// Small helpers for statements.
std::string ColumnText(const SQLite::Statement& st, int i);  // "" for NULL

}  // namespace tenet::label
