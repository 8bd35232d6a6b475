// Limits on failed sign-ins: at most `max_per_email` failures for one account and
// `max_per_client` from one client address within `window_s`. Kept in the labeling store (table
// login_failures), so a restart of the server does not forget them; an email is keyed as the
// account lookup matches it (ASCII case-insensitively), so A@X.TEST and a@x.test share one limit.
//
// Thread-safety: as LabelDb (any thread).
#pragma once

#include <cstdint>
#include <string>

#include "tenet/label/db.h"
#include "tenet/util/status.h"

namespace tenet::label {

struct LoginLimits {
  int max_per_email = 5;
  int max_per_client = 20;
  int64_t window_s = 15 * 60;
};

class LoginLimiter {
 public:
  LoginLimiter(LabelDb& db, LoginLimits limits) : db_(db), limits_(limits) {}

  static std::string EmailKey(const std::string& email);
  static std::string ClientKey(const std::string& address) { return "client:" + address; }

  // Whether a sign-in for `email` from `client` may be tried now.
  Result<bool> Allowed(const std::string& email, const std::string& client);
  // Records one failure under both keys (and forgets failures older than the window).
  Status RecordFailure(const std::string& email, const std::string& client);
  // A successful sign-in clears the account's failures (the client's stay).
  Status ClearEmail(const std::string& email);

 private:
  LabelDb& db_;
  const LoginLimits limits_;
};

}  // namespace tenet::label
