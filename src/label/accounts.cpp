// Users, teams, invitations, sessions and passwords. See tenet/label/accounts.h.
#include "tenet/label/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "tenet/label/tasks.h"
#include "tenet/util/utf8.h"

namespace tenet::label {

namespace {

void EnsureSodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string HashPassword(const std::string& password) {
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("out of memory hashing a password");
  }
  return out;
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  EnsureSodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// A hash of a password nobody has, verified when the email is unknown so that the answer takes
// about as long as for a known one.
const std::string& DummyHash() {
  static const std::string h = HashPassword(NewToken());
  return h;
}

bool ValidEmail(const std::string& e) {
  if (e.size() < 3 || e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == e.size() || e.find('@', at + 1) != std::string::npos) return false;
  if (!utf8::IsValid(e)) return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

bool ValidName(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max || !utf8::IsValid(s)) return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < ' ' || c == 0x7f; });
}

Status CheckPassword(const std::string& p) {
  if (p.size() < Accounts::kMinPasswordLength) {
    return Status::InvalidArgument(Reason("weak_password"), "the password needs at least " +
                                                        std::to_string(Accounts::kMinPasswordLength) + " characters");
  }
  if (p.size() > 1024) return Status::InvalidArgument(Reason("bad_password"), "the password is longer than 1024 bytes");
  return Status::OK();
}

std::vector<std::string> TeamsOf(Sql& db, int64_t user_id) {
  SQLite::Statement& st = db.Prepare(
                       "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ? "
                       "ORDER BY t.name");
  st.bind(1, user_id);
  std::vector<std::string> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getString());
  return out;
}

Result<int64_t> TeamId(Sql& db, const std::string& name, bool create, int64_t now) {
  SQLite::Statement& q = db.Prepare("SELECT id FROM teams WHERE name = ?");
  q.bind(1, name);
  if (q.executeStep()) return q.getColumn(0).getInt64();
  if (!create) return Status::NotFound(Reason("team_unknown"), "no team named '" + name + "'");
  if (!ValidName(name, 64)) return Status::InvalidArgument(Reason("bad_team"), "a team name is 1-64 printable characters");
  SQLite::Statement& ins = db.Prepare("INSERT INTO teams(name, created_at) VALUES (?, ?)");
  ins.bind(1, name);
  ins.bind(2, now);
  ins.exec();
  return db.getLastInsertRowid();
}

}  // namespace

Result<int64_t> EnsureTeam(Sql& db, const std::string& name, int64_t now) {
  return TeamId(db, name, /*create=*/true, now);
}

std::string NewToken() {
  EnsureSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::string HashToken(const std::string& token) {
  EnsureSodium();
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

nlohmann::json ToJson(const User& u) {
  return {{"id", u.id}, {"email", u.email}, {"name", u.name}, {"role", u.role}, {"active", u.active}, {"teams", u.teams}};
}

nlohmann::json ToJson(const Invitation& inv) {
  nlohmann::json j = {{"id", inv.id}, {"email", inv.email}, {"team", inv.team}, {"expires_at", inv.expires_at}};
  j["used_at"] = inv.used_at ? nlohmann::json(inv.used_at) : nlohmann::json(nullptr);
  return j;
}

Result<User> LoadUser(Sql& db, int64_t user_id) {
  SQLite::Statement& st = db.Prepare("SELECT id, email, name, role, active FROM users WHERE id = ?");
  st.bind(1, user_id);
  if (!st.executeStep()) return Status::NotFound(Reason("user_unknown"), "no user with id " + std::to_string(user_id));
  User u;
  u.id = st.getColumn(0).getInt64();
  u.email = st.getColumn(1).getString();
  u.name = st.getColumn(2).getString();
  u.role = st.getColumn(3).getString();
  u.active = st.getColumn(4).getInt() != 0;
  u.teams = TeamsOf(db, u.id);
  return u;
}

Result<NewSession> Accounts::StartSession(Sql& db, int64_t user_id) {
  NewSession s;
  s.token = NewToken();
  s.session.csrf_token = NewToken();
  const int64_t now = db_.Now();
  SQLite::Statement& ins = db.Prepare("INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
  const std::string h = HashToken(s.token);
  ins.bind(1, h.data(), static_cast<int>(h.size()));
  ins.bind(2, user_id);
  ins.bind(3, s.session.csrf_token);
  ins.bind(4, now);
  ins.bind(5, now + kSessionLifetimeS);
  ins.exec();
  TENET_ASSIGN_OR_RETURN(s.session.user, LoadUser(db, user_id));
  return s;
}

Result<User> Accounts::EnsureAdmin() {
  return db_.Write([&](Sql& db) -> Result<User> {
    SQLite::Statement& q = db.Prepare("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1");
    if (q.executeStep()) return LoadUser(db, q.getColumn(0).getInt64());
    SQLite::Statement& ins = db.Prepare("INSERT INTO users(email, name, role, created_at) VALUES ('admin@localhost', 'Admin', 'admin', ?)");
    ins.bind(1, db_.Now());
    ins.exec();
    return LoadUser(db, db.getLastInsertRowid());
  });
}

Result<std::string> Accounts::CreateSigninLink(int64_t user_id, int64_t ttl_s) {
  const std::string token = NewToken();
  TENET_RETURN_IF_ERROR(db_.Write([&](Sql& db) -> Status {
    SQLite::Statement& ins = db.Prepare("INSERT INTO signin_links(token_hash, user_id, expires_at) VALUES (?, ?, ?)");
    const std::string h = HashToken(token);
    ins.bind(1, h.data(), static_cast<int>(h.size()));
    ins.bind(2, user_id);
    ins.bind(3, db_.Now() + ttl_s);
    ins.exec();
    return Status::OK();
  }));
  return token;
}

Result<NewSession> Accounts::UseSigninLink(const std::string& token) {
  return db_.Write([&](Sql& db) -> Result<NewSession> {
    SQLite::Statement& q = db.Prepare("SELECT user_id, expires_at, used_at FROM signin_links WHERE token_hash = ?");
    const std::string h = HashToken(token);
    q.bind(1, h.data(), static_cast<int>(h.size()));
    if (!q.executeStep()) return Status::NotFound(Reason("signin_unknown"), "this sign-in link is not valid");
    const int64_t user_id = q.getColumn(0).getInt64();
    if (!q.getColumn(2).isNull()) return Status::Gone(Reason("signin_used"), "this sign-in link was already used");
    if (q.getColumn(1).getInt64() <= db_.Now()) return Status::Gone(Reason("signin_expired"), "this sign-in link has expired");
    q.reset();
    SQLite::Statement& use = db.Prepare("UPDATE signin_links SET used_at = ? WHERE token_hash = ?");
    use.bind(1, db_.Now());
    use.bind(2, h.data(), static_cast<int>(h.size()));
    use.exec();
    return StartSession(db, user_id);
  });
}

Result<NewSession> Accounts::Login(const std::string& email, const std::string& password) {
  struct Found {
    int64_t id = 0;
    std::string hash;
    bool active = false;
  };
  TENET_ASSIGN_OR_RETURN(Found f, db_.Read([&](Sql& db) -> Result<Found> {
    SQLite::Statement& q = db.Prepare("SELECT id, password_hash, active FROM users WHERE email = ?");
    q.bind(1, email);
    Found out;
    if (q.executeStep()) {
      out.id = q.getColumn(0).getInt64();
      out.hash = ColumnText(q, 1);
      out.active = q.getColumn(2).getInt() != 0;
    }
    return out;
  }));
  const bool ok = VerifyPassword(f.hash.empty() ? DummyHash() : f.hash, password) && !f.hash.empty() && f.active;
  if (!ok) return Status::Unauthenticated(Reason("bad_credentials"), "wrong email or password");
  return db_.Write([&](Sql& db) { return StartSession(db, f.id); });
}

Result<Session> Accounts::Authenticate(const std::string& token) {
  if (token.empty()) return Status::Unauthenticated(Reason("signed_out"), "please sign in");
  return db_.Read([&](Sql& db) -> Result<Session> {
    SQLite::Statement& q = db.Prepare("SELECT s.user_id, s.csrf_token, s.expires_at, u.active FROM sessions s JOIN users u ON u.id = s.user_id "
                            "WHERE s.token_hash = ?");
    const std::string h = HashToken(token);
    q.bind(1, h.data(), static_cast<int>(h.size()));
    if (!q.executeStep() || q.getColumn(2).getInt64() <= db_.Now() || q.getColumn(3).getInt() == 0) {
      return Status::Unauthenticated(Reason("signed_out"), "please sign in");
    }
    Session s;
    s.csrf_token = q.getColumn(1).getString();
    TENET_ASSIGN_OR_RETURN(s.user, LoadUser(db, q.getColumn(0).getInt64()));
    return s;
  });
}

Status Accounts::Logout(const std::string& token) {
  return db_.Write([&](Sql& db) -> Status {
    SQLite::Statement& del = db.Prepare("DELETE FROM sessions WHERE token_hash = ?");
    const std::string h = HashToken(token);
    del.bind(1, h.data(), static_cast<int>(h.size()));
    del.exec();
    return Status::OK();
  });
}

Result<Team> Accounts::CreateTeam(const std::string& name) {
  return db_.Write([&](Sql& db) -> Result<Team> {
    SQLite::Statement& q = db.Prepare("SELECT 1 FROM teams WHERE name = ?");
    q.bind(1, name);
    if (q.executeStep()) return Status::Conflict(Reason("team_exists"), "a team named '" + name + "' already exists");
    TENET_ASSIGN_OR_RETURN(int64_t id, TeamId(db, name, /*create=*/true, db_.Now()));
    return Team{id, name, {}};
  });
}

Result<std::vector<Team>> Accounts::ListTeams() {
  return db_.Read([&](Sql& db) -> Result<std::vector<Team>> {
    std::vector<Team> out;
    SQLite::Statement& q = db.Prepare("SELECT id, name FROM teams ORDER BY name");
    while (q.executeStep()) out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), {}});
    for (Team& t : out) {
      SQLite::Statement& m = db.Prepare("SELECT u.email FROM users u JOIN team_members m ON m.user_id = u.id WHERE m.team_id = ? ORDER BY u.email");
      m.bind(1, t.id);
      while (m.executeStep()) t.members.push_back(m.getColumn(0).getString());
    }
    return out;
  });
}

Result<std::pair<Invitation, std::string>> Accounts::Invite(const std::string& email, const std::string& team, int64_t ttl_s) {
  if (!ValidEmail(email)) return Status::InvalidArgument(Reason("bad_email"), "'" + email + "' is not an email address");
  if (ttl_s <= 0 || ttl_s > 365LL * 24 * 3600) return Status::InvalidArgument(Reason("bad_expiry"), "an invitation lasts between 1 second and 1 year");
  const std::string token = NewToken();
  return db_.Write([&](Sql& db) -> Result<std::pair<Invitation, std::string>> {
    SQLite::Statement& u = db.Prepare("SELECT 1 FROM users WHERE email = ?");
    u.bind(1, email);
    if (u.executeStep()) return Status::Conflict(Reason("user_exists"), email + " already has an account");
    const int64_t now = db_.Now();
    std::optional<int64_t> team_id;
    if (!team.empty()) {
      TENET_ASSIGN_OR_RETURN(team_id, TeamId(db, team, /*create=*/true, now));
    }
    SQLite::Statement& ins = db.Prepare("INSERT INTO invitations(token_hash, email, team_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)");
    const std::string h = HashToken(token);
    ins.bind(1, h.data(), static_cast<int>(h.size()));
    ins.bind(2, email);
    if (team_id) ins.bind(3, *team_id); else ins.bind(3);
    ins.bind(4, now);
    ins.bind(5, now + ttl_s);
    ins.exec();
    Invitation inv{db.getLastInsertRowid(), email, team, now + ttl_s, 0};
    return std::make_pair(inv, token);
  });
}

Result<std::optional<User>> Accounts::AddExistingToTeam(const std::string& email, const std::string& team) {
  return db_.Write([&](Sql& db) -> Result<std::optional<User>> {
    SQLite::Statement& u = db.Prepare("SELECT id FROM users WHERE email = ?");
    u.bind(1, email);
    if (!u.executeStep()) return std::optional<User>();
    const int64_t user_id = u.getColumn(0).getInt64();
    TENET_ASSIGN_OR_RETURN(int64_t team_id, TeamId(db, team, /*create=*/true, db_.Now()));
    SQLite::Statement& m = db.Prepare("INSERT OR IGNORE INTO team_members(team_id, user_id) VALUES (?, ?)");
    m.bind(1, team_id);
    m.bind(2, user_id);
    m.exec();
    TENET_ASSIGN_OR_RETURN(User user, LoadUser(db, user_id));
    return std::optional<User>(std::move(user));
  });
}

Result<std::vector<Invitation>> Accounts::ListInvitations() {
  return db_.Read([&](Sql& db) -> Result<std::vector<Invitation>> {
    std::vector<Invitation> out;
    SQLite::Statement& q = db.Prepare("SELECT i.id, i.email, COALESCE(t.name, ''), i.expires_at, COALESCE(i.used_at, 0) FROM invitations i "
                            "LEFT JOIN teams t ON t.id = i.team_id ORDER BY i.id DESC");
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                     q.getColumn(3).getInt64(), q.getColumn(4).getInt64()});
    }
    return out;
  });
}

namespace {
// Reads the invitation of `token` and checks it is still usable.
Result<std::pair<Invitation, std::optional<int64_t>>> FindInvitation(Sql& db, const std::string& token, int64_t now) {
  SQLite::Statement& q = db.Prepare("SELECT i.id, i.email, COALESCE(t.name, ''), i.expires_at, COALESCE(i.used_at, 0), i.team_id "
                          "FROM invitations i LEFT JOIN teams t ON t.id = i.team_id WHERE i.token_hash = ?");
  const std::string h = HashToken(token);
  q.bind(1, h.data(), static_cast<int>(h.size()));
  if (!q.executeStep()) return Status::NotFound(Reason("invitation_unknown"), "this invitation link is not valid");
  Invitation inv{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                 q.getColumn(3).getInt64(), q.getColumn(4).getInt64()};
  std::optional<int64_t> team_id;
  if (!q.getColumn(5).isNull()) team_id = q.getColumn(5).getInt64();
  if (inv.used_at) return Status::Gone(Reason("invitation_used"), "this invitation was already used; sign in instead");
  if (inv.expires_at <= now) return Status::Gone(Reason("invitation_expired"), "this invitation has expired; ask for a new one");
  return std::make_pair(inv, team_id);
}
}  // namespace

Result<Invitation> Accounts::PeekInvitation(const std::string& token) {
  return db_.Read([&](Sql& db) -> Result<Invitation> {
    TENET_ASSIGN_OR_RETURN(auto found, FindInvitation(db, token, db_.Now()));
    return found.first;
  });
}

Result<NewSession> Accounts::AcceptInvitation(const std::string& token, const std::string& name, const std::string& password) {
  if (!ValidName(name, 100)) return Status::InvalidArgument(Reason("bad_name"), "a name is 1-100 printable characters");
  TENET_RETURN_IF_ERROR(CheckPassword(password));
  TENET_RETURN_IF_ERROR(PeekInvitation(token).status());  // fail fast before the slow hash
  const std::string hash = HashPassword(password);
  return db_.Write([&](Sql& db) -> Result<NewSession> {
    const int64_t now = db_.Now();
    TENET_ASSIGN_OR_RETURN(auto found, FindInvitation(db, token, now));  // again: another accept may have won
    const Invitation& inv = found.first;
    SQLite::Statement& u = db.Prepare("SELECT 1 FROM users WHERE email = ?");
    u.bind(1, inv.email);
    if (u.executeStep()) return Status::Conflict(Reason("user_exists"), inv.email + " already has an account");
    SQLite::Statement& ins = db.Prepare("INSERT INTO users(email, name, role, password_hash, created_at) VALUES (?, ?, 'annotator', ?, ?)");
    ins.bind(1, inv.email);
    ins.bind(2, name);
    ins.bind(3, hash);
    ins.bind(4, now);
    ins.exec();
    const int64_t user_id = db.getLastInsertRowid();
    if (found.second) {
      SQLite::Statement& m = db.Prepare("INSERT INTO team_members(team_id, user_id) VALUES (?, ?)");
      m.bind(1, *found.second);
      m.bind(2, user_id);
      m.exec();
    }
    SQLite::Statement& use = db.Prepare("UPDATE invitations SET used_at = ?, user_id = ? WHERE id = ?");
    use.bind(1, now);
    use.bind(2, user_id);
    use.bind(3, inv.id);
    use.exec();
    return StartSession(db, user_id);
  });
}

Result<std::vector<Accounts::AnnotatorRow>> Accounts::ListAnnotators() {
  return db_.Read([&](Sql& db) -> Result<std::vector<AnnotatorRow>> {
    std::vector<int64_t> ids;
    SQLite::Statement& q = db.Prepare("SELECT id FROM users WHERE role = 'annotator' ORDER BY id");
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    std::vector<AnnotatorRow> out;
    for (int64_t id : ids) {
      AnnotatorRow row;
      TENET_ASSIGN_OR_RETURN(row.user, LoadUser(db, id));
      SQLite::Statement& c = db.Prepare("SELECT count(*) FROM submissions WHERE annotator_id = ?");
      c.bind(1, id);
      c.executeStep();
      row.submissions = c.getColumn(0).getInt64();
      out.push_back(std::move(row));
    }
    return out;
  });
}

Result<User> Accounts::SetActive(int64_t user_id, bool active) {
  return db_.Write([&](Sql& db) -> Result<User> {
    TENET_ASSIGN_OR_RETURN(User u, LoadUser(db, user_id));
    if (u.role == "admin") return Status::Conflict(Reason("is_admin"), "the admin account cannot be deactivated");
    SQLite::Statement& up = db.Prepare("UPDATE users SET active = ? WHERE id = ?");
    up.bind(1, active ? 1 : 0);
    up.bind(2, user_id);
    up.exec();
    if (!active) {
      SQLite::Statement& del = db.Prepare("DELETE FROM sessions WHERE user_id = ?");
      del.bind(1, user_id);
      del.exec();
      ReleaseLeasesOf(db, user_id, db_.Now());
    }
    return LoadUser(db, user_id);
  });
}

}  // namespace tenet::label
