// Failed sign-in limits in the labeling store. See tenet/label/rate_limiter.h.
#include "tenet/label/rate_limiter.h"

#include <cctype>

namespace tenet::label {

std::string LoginLimiter::EmailKey(const std::string& email) {
  std::string key = "email:" + email;
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // as COLLATE NOCASE
  return key;
}

Result<bool> LoginLimiter::Allowed(const std::string& email, const std::string& client) {
  const int64_t since = db_.Now() - limits_.window_s;
  return db_.Read([&](Sql& db) -> Result<bool> {
    SQLite::Statement& q = db.Prepare("SELECT count(*) FROM login_failures WHERE key = ? AND at > ?");
    auto count = [&](const std::string& key) {
      q.reset();
      q.bind(1, key);
      q.bind(2, since);
      q.executeStep();
      return q.getColumn(0).getInt64();
    };
    return count(EmailKey(email)) < limits_.max_per_email && count(ClientKey(client)) < limits_.max_per_client;
  });
}

Status LoginLimiter::RecordFailure(const std::string& email, const std::string& client) {
  const int64_t now = db_.Now();
  return db_.WriteUnsynced([&](Sql& db) -> Status {
    SQLite::Statement& prune = db.Prepare("DELETE FROM login_failures WHERE at <= ?");
    prune.bind(1, now - limits_.window_s);
    prune.exec();
    SQLite::Statement& ins = db.Prepare("INSERT INTO login_failures(key, at) VALUES (?, ?), (?, ?)");
    ins.bind(1, EmailKey(email));
    ins.bind(2, now);
    ins.bind(3, ClientKey(client));
    ins.bind(4, now);
    ins.exec();
    return Status::OK();
  });
}

Status LoginLimiter::ClearEmail(const std::string& email) {
  return db_.WriteUnsynced([&](Sql& db) -> Status {
    SQLite::Statement& del = db.Prepare("DELETE FROM login_failures WHERE key = ?");
    del.bind(1, EmailKey(email));
    del.exec();
    return Status::OK();
  });
}

}  // namespace tenet::label
