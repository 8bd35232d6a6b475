// The labeling service's store: one SQLite file (WAL, synchronous=FULL, foreign keys on) behind one
// connection and one mutex. Every read and write runs under the mutex; every write is one
// IMMEDIATE transaction that is committed (and fsynced) before Write() returns, so an acknowledged
// change survives kill -9 and power loss.
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

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "tenet/util/status.h"

namespace tenet::label {

class LabelDb {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds

  // Opens or creates `path` and brings its schema up to date. InvalidArgument when the file is not
  // a Tenet labeling database (or is newer than this build understands).
  static Result<std::unique_ptr<LabelDb>> Open(const std::string& path);

  const std::string& path() const { return path_; }
  int64_t Now() const { return clock_(); }
  void SetClock(Clock clock) { clock_ = std::move(clock); }

  // Runs `fn(db)` (returning Status or Result<T>) under the lock, in one IMMEDIATE transaction,
  // committed only when it returns OK. SQLite exceptions become Internal errors; nothing is kept.
  template <typename F>
  auto Write(F&& fn) -> std::invoke_result_t<F, SQLite::Database&> {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
      auto r = fn(*db_);
      if (StatusOf(r).ok()) tx.commit();
      return r;
    } catch (const SQLite::Exception& e) {
      return Status::Internal("database", e.what());
    }
  }
  // Runs `fn(db)` under the lock without a write transaction (one consistent reader).
  template <typename F>
  auto Read(F&& fn) -> std::invoke_result_t<F, SQLite::Database&> {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::DEFERRED);
      return fn(*db_);
    } catch (const SQLite::Exception& e) {
      return Status::Internal("database", e.what());
    }
  }

 private:
  LabelDb() = default;
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) { return r.status(); }

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::mutex mu_;
  Clock clock_;
};

// Small helpers for statements.
std::string ColumnText(const SQLite::Statement& st, int i);  // "" for NULL

}  // namespace tenet::label
