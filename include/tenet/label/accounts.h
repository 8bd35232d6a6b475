// People of the labeling service: the admin (requester), annotators, teams, one-time invitation
// and sign-in links, sessions with their CSRF tokens, and passwords (argon2id, libsodium).
//
// Secrets (session, invitation and sign-in tokens) are 256-bit random values shown once; the
// store keeps only their BLAKE2b hashes. Password hashing runs outside the store's lock.
// Errors use the Status codes of tenet/util/status.h with a short machine code as the first
// part of the message (e.g. Gone "invitation_used: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/label/db.h"

namespace tenet::label {

struct User {
  int64_t id = 0;
  std::string email;
  std::string name;
  std::string role;  // "admin" | "annotator"
  bool active = true;
  std::vector<std::string> teams;
};
nlohmann::json ToJson(const User& u);

struct Session {  // a signed-in user
  User user;
  std::string csrf_token;
};
struct NewSession {  // what sign-in returns: the cookie's token, shown once
  std::string token;
  Session session;
};

struct Team {
  int64_t id = 0;
  std::string name;
  std::vector<std::string> members;  // emails
};

struct Invitation {
  int64_t id = 0;
  std::string email;
  std::string team;  // "" = no team
  int64_t expires_at = 0;
  int64_t used_at = 0;  // 0 = not used
};
nlohmann::json ToJson(const Invitation& inv);

// A fresh 256-bit secret, base64url without padding (43 characters).
std::string NewToken();

class Accounts {
 public:
  explicit Accounts(LabelDb& db) : db_(db) {}

  static constexpr int64_t kSessionLifetimeS = 7 * 24 * 3600;
  static constexpr size_t kMinPasswordLength = 10;

  // The admin account ("admin@localhost", no password: it signs in by one-time links). Created on
  // first call.
  Result<User> EnsureAdmin();
  // A one-time sign-in link token for `user_id`, valid for `ttl_s` seconds.
  Result<std::string> CreateSigninLink(int64_t user_id, int64_t ttl_s);
  // Gone "signin_used"/"signin_expired", NotFound "signin_unknown".
  Result<NewSession> UseSigninLink(const std::string& token);

  // Unauthenticated "bad_credentials" for an unknown email, a wrong password or an inactive user
  // (the same answer and about the same time for each).
  Result<NewSession> Login(const std::string& email, const std::string& password);
  // The session for a cookie token; Unauthenticated "signed_out" when unknown or expired.
  Result<Session> Authenticate(const std::string& token);
  Status Logout(const std::string& token);

  Result<Team> CreateTeam(const std::string& name);
  Result<std::vector<Team>> ListTeams();

  // An invitation to `email` (joining `team` when not empty; the team is created if missing).
  // Returns the token: the link is /invite/<token>. Conflict "user_exists" when the email already
  // has an account.
  Result<std::pair<Invitation, std::string>> Invite(const std::string& email, const std::string& team, int64_t ttl_s);
  // For someone who already has an account: adds them to `team` (created if missing; nothing
  // changes if they are in it) and returns them. nullopt when `email` has no account.
  Result<std::optional<User>> AddExistingToTeam(const std::string& email, const std::string& team);
  Result<std::vector<Invitation>> ListInvitations();
  // NotFound "invitation_unknown", Gone "invitation_used" / "invitation_expired".
  Result<Invitation> PeekInvitation(const std::string& token);
  // Creates the annotator, marks the invitation used and signs them in, in one transaction.
  Result<NewSession> AcceptInvitation(const std::string& token, const std::string& name, const std::string& password);

  struct AnnotatorRow {
    User user;
    int64_t submissions = 0;
  };
  Result<std::vector<AnnotatorRow>> ListAnnotators();
  // Deactivating signs the user out everywhere and returns their leased tasks to the pool.
  Result<User> SetActive(int64_t user_id, bool active);

 private:
  Result<NewSession> StartSession(Sql& db, int64_t user_id);
  LabelDb& db_;
};

// Inside a store callback: the id of team `name`, created if missing (InvalidArgument "bad_team"
// for an empty or overlong name).
Result<int64_t> EnsureTeam(Sql& db, const std::string& name, int64_t now);
// Reads a user (with teams) inside a store callback; NotFound "user_unknown".
Result<User> LoadUser(Sql& db, int64_t user_id);
// The BLAKE2b-256 hash the store keeps for a token.
std::string HashToken(const std::string& token);

}  // namespace tenet::label
