// HTTP layer of the labeling portal. See tenet/label/portal_server.h and docs/label-api.md.
#include "tenet/label/portal_server.h"

#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "tenet/http/json_api.h"
#include "tenet/label/accounts.h"
#include "tenet/label/annotations.h"
#include "tenet/label/export.h"
#include "tenet/label/pairwise.h"
#include "tenet/label/jobs.h"
#include "tenet/label/rate_limiter.h"
#include "tenet/label/report.h"
#include "tenet/label/tasks.h"
#include "tenet/label/web_assets.h"

namespace tenet::label {

using nlohmann::json;
using http::Fields;
using http::RequireArray;
using http::SendError;
using http::SendJson;

namespace {

constexpr const char* kCookie = "tenet_session";
constexpr size_t kSmallBody = 1u << 20;
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

std::string CookieToken(const httplib::Request& req) {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kCookie) + "=";
  size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    if (cookies.compare(pos, key.size(), key) == 0) {
      const size_t start = pos + key.size();
      const size_t end = cookies.find(';', start);
      return cookies.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos = cookies.find(';', pos);
    if (pos == std::string::npos) break;
  }
  return "";
}

// Secure when the portal is reached over HTTPS through a reverse proxy (plain HTTP on loopback
// cannot carry a Secure cookie).
void SetSessionCookie(const httplib::Request& req, httplib::Response& res, const std::string& token) {
  const bool https = req.get_header_value("X-Forwarded-Proto") == "https";
  res.set_header("Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(Accounts::kSessionLifetimeS) + (https ? "; Secure" : ""));
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

json SessionJson(const Session& s) { return {{"user", ToJson(s.user)}, {"csrf_token", s.csrf_token}}; }

std::string Mime(const std::string& name) {
  auto ends = [&](const char* ext) { return name.size() > strlen(ext) && name.compare(name.size() - strlen(ext), strlen(ext), ext) == 0; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

void SecurityHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
}

// Query numbers: the whole value must be the number, within the range (no "1e3x", no "-1" wrapping).
Result<double> QueryNumber(const httplib::Request& q, const char* key, double lo, double hi) {
  const std::string v = q.get_param_value(key);
  char* end = nullptr;
  errno = 0;
  const double d = v.empty() ? 0 : std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !(d >= lo && d <= hi)) {
    return Status::InvalidArgument(Reason("bad_query"), std::string(key) + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return d;
}

Result<uint64_t> QueryInteger(const httplib::Request& q, const char* key, uint64_t hi) {
  const std::string v = q.get_param_value(key);
  errno = 0;
  const bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  const unsigned long long u = digits ? std::strtoull(v.c_str(), nullptr, 10) : 0;
  if (!digits || errno != 0 || u > hi) {
    return Status::InvalidArgument(Reason("bad_query"), std::string(key) + " must be an integer from 0 to " + std::to_string(hi));
  }
  return static_cast<uint64_t>(u);
}

int64_t ToId(const std::string& s) {
  try {
    return std::stoll(s);
  } catch (...) {
    return -1;
  }
}

}  // namespace

struct PortalServer::Impl {
  LabelDb& db;
  PortalOptions opt;
  Accounts accounts{db};
  Jobs jobs{db};
  Tasks tasks{db};
  LoginLimiter logins;
  http::LogFn log;  // options.log, or stderr
  http::GuardedServer svr;
  int port = 0;

  static http::LogFn LogTo(http::LogFn log) {
    if (log) return log;
    return [](const std::string& line) { std::cerr << "tenet label serve: " << line << std::endl; };
  }
  Impl(LabelDb& d, PortalOptions o) : db(d), opt(o), logins(d, o.login), log(LogTo(o.log)), svr(o.http, log) {}

  enum class Access { kPublic, kSignedIn, kAdmin };
  struct Call {
    const httplib::Request& req;
    httplib::Response& res;
    std::optional<Session> session;
    json body;
    const User& user() const { return session->user; }
  };
  using ApiFn = std::function<Result<json>(Call&)>;

  void Api(bool post, const std::string& pattern, Access access, size_t max_body, ApiFn fn) {
    auto handler = [this, post, access, max_body, fn](const httplib::Request& req, httplib::Response& res) {
      Call call{req, res, std::nullopt, json::object()};
      if (post) {
        if (req.body.size() > max_body) return SendError(res, 413, "too_large", "the request body is larger than " + std::to_string(max_body) + " bytes");
        if (!http::IsJsonMediaType(req.get_header_value("Content-Type"))) return SendError(res, 415, "not_json", "send the body as application/json");
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty() && origin != "http://" + req.get_header_value("Host") && origin != "https://" + req.get_header_value("Host")) {
          return SendError(res, 403, "bad_origin", "cross-site requests are refused");
        }
        if (!req.body.empty()) {
          call.body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
          if (call.body.is_discarded() || !call.body.is_object()) {
            return SendError(res, 400, "bad_json", "the body must be a JSON object");
          }
        }
      }
      if (access != Access::kPublic) {
        Result<Session> s = accounts.Authenticate(CookieToken(req));
        if (!s.ok()) return SendError(res, s.status());
        call.session = std::move(s).value();
        if (access == Access::kAdmin && call.session->user.role != "admin") {
          return SendError(res, 403, "forbidden", "this needs the admin");
        }
        if (post && !SameSecret(req.get_header_value("X-CSRF-Token"), call.session->csrf_token)) {
          return SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token header; reload the page");
        }
      }
      try {
        Result<json> r = fn(call);
        if (!r.ok()) {
          if (http::HttpStatusOf(r.status()) == 500) log(req.method + " " + req.path + " failed: " + r.status().ToString());
          return SendError(res, r.status());
        }
        SendJson(res, 200, r.value());
      } catch (const http::FieldError& e) {
        SendError(res, 400, "bad_field", e.what());
      }
    };
    if (post) svr.Post(pattern, handler); else svr.Get(pattern, handler);
  }

  void Page(const std::string& pattern, const std::string& file) {
    svr.Get(pattern, [file](const httplib::Request&, httplib::Response& res) {
      const WebAsset* a = FindWebAsset(file);
      if (!a) return SendError(res, 404, "not_found", "no page " + file);
      SecurityHeaders(res);
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(a->content), "text/html; charset=utf-8");
    });
  }

  Result<json> Login(Call& c) {
    const Fields f(c.body);
    const std::string email = f.String("email"), password = f.String("password");
    TENET_ASSIGN_OR_RETURN(bool allowed, logins.Allowed(email, c.req.remote_addr));
    if (!allowed) return Status::ResourceExhausted(Reason("rate_limited"), "too many failed sign-ins; wait 15 minutes");
    Result<NewSession> s = accounts.Login(email, password);
    if (!s.ok()) {
      if (s.status().code() == Status::Code::kUnauthenticated) TENET_RETURN_IF_ERROR(logins.RecordFailure(email, c.req.remote_addr));
      return s.status();
    }
    TENET_RETURN_IF_ERROR(logins.ClearEmail(email));
    SetSessionCookie(c.req, c.res, s->token);
    return SessionJson(s->session);
  }

  Result<json> CreateJob(Call& c) {
    JobSpec spec;
    const Fields f(c.body);
    spec.name = f.String("name");
    spec.instructions_md = f.String("instructions_md", "");
    if (f.Has("dimensions")) spec.dimensions = f.Strings("dimensions");
    spec.allow_ties = f.Bool("allow_ties", false);
    spec.annotators_per_item = static_cast<int>(f.Int("annotators_per_item", 1, 9, 3));
    spec.task_time_limit_s = f.Int("task_time_limit_s", 10, 7 * 24 * 3600, 1800);
    if (f.Has("lifetime_s")) spec.lifetime_s = f.Int("lifetime_s", 1, int64_t{100} * 365 * 24 * 3600);
    spec.shuffle = f.Bool("shuffle", true);
    if (f.Has("teams")) spec.teams = f.Strings("teams");
    spec.source_file = f.String("source_file", "upload");
    const std::string kind = f.String("kind", "rank");
    if (kind == "pairwise") MakePairwise(spec, f.Bool("offer_both_bad", false));
    else spec.kind = kind;  // ValidateJobSpec names a wrong one
    if (kind != "pairwise" && f.Has("offer_both_bad")) {
      return Status::InvalidArgument(Reason("bad_job"), "\"offer_both_bad\" goes with \"kind\": \"pairwise\"");
    }
    TENET_RETURN_IF_ERROR(ValidateJobSpec(spec));
    TENET_ASSIGN_OR_RETURN(auto items, kind == "pairwise" ? PairwiseItems(f) : ParseResponses(f.String("responses_jsonl"), "responses"));
    TENET_ASSIGN_OR_RETURN(JobSummary j, jobs.Create(spec, items));
    return json{{"job", ToJson(j)}};
  }

  // A pairwise job's items: "comparison_jsonl" (a `tenet compare` comparison.jsonl with two
  // systems), or "sides": [{"system", "responses_jsonl"}, {...}] (two responses files with the same
  // question ids).
  static Result<std::vector<ResponseItem>> PairwiseItems(const Fields& f) {
    if (f.Has("comparison_jsonl") == f.Has("sides")) {
      return Status::InvalidArgument(Reason("bad_job"), "a pairwise job takes \"comparison_jsonl\" or two \"sides\", not both");
    }
    if (f.Has("comparison_jsonl")) return ParseComparisonPairs(f.String("comparison_jsonl"), "comparison file");
    const json& sides = f.Required("sides");
    RequireArray(sides, "sides", 2);
    if (sides.size() != 2) return Status::InvalidArgument(Reason("bad_job"), "\"sides\" holds two responses files");
    std::vector<std::vector<ResponseItem>> parsed;
    std::vector<std::string> names;
    for (size_t k = 0; k < 2; ++k) {
      const std::string where = "sides[" + std::to_string(k) + "]";
      const Fields side(sides[k], where);
      names.push_back(side.String("system"));
      TENET_ASSIGN_OR_RETURN(auto items, ParseResponses(side.String("responses_jsonl"), where + ".responses_jsonl", 1));
      parsed.push_back(std::move(items));
    }
    return PairResponses(parsed[0], names[0], parsed[1], names[1]);
  }

  Result<json> ExportJob(Call& c, int64_t id) {
    ExportOptions o;
    const auto& q = c.req;
    if (q.has_param("format")) o.format = q.get_param_value("format");
    if (q.has_param("pairs")) o.pairs = q.get_param_value("pairs");
    if (q.has_param("test_fraction")) {
      TENET_ASSIGN_OR_RETURN(o.test_fraction, QueryNumber(q, "test_fraction", 0, 1));
    }
    if (q.has_param("seed")) {
      TENET_ASSIGN_OR_RETURN(o.seed, QueryInteger(q, "seed", UINT64_MAX));
    }
    if (q.has_param("min_agreement")) {
      TENET_ASSIGN_OR_RETURN(o.min_agreement, QueryNumber(q, "min_agreement", 0, 1));
    }
    if (q.has_param("dimension")) {
      TENET_ASSIGN_OR_RETURN(o.dimension, QueryInteger(q, "dimension", 7));
    }
    if (q.has_param("skip_ties")) o.skip_ties = q.get_param_value("skip_ties") == "1" || q.get_param_value("skip_ties") == "true";
    TENET_ASSIGN_OR_RETURN(JobAnnotations a, LoadJobAnnotations(db, id));
    TENET_ASSIGN_OR_RETURN(ExportResult r, Export(a, o));
    return json{{"files", r.files}, {"report", r.report}};
  }

  static Result<int64_t> PathId(const Call& c, size_t i = 1) {
    const int64_t id = ToId(c.req.matches[i]);
    if (id < 0) return Status::NotFound(Reason("not_found"), "no such id");
    return id;
  }

  void Routes() {
    constexpr size_t kSmall = kSmallBody;
    // Sign-in and invitations.
    Api(true, "/api/login", Access::kPublic, kSmall, [this](Call& c) { return Login(c); });
    Api(true, "/api/logout", Access::kSignedIn, kSmall, [this](Call& c) -> Result<json> {
      TENET_RETURN_IF_ERROR(accounts.Logout(CookieToken(c.req)));
      c.res.set_header("Set-Cookie", std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      return json::object();
    });
    Api(false, "/api/me", Access::kSignedIn, 0, [](Call& c) -> Result<json> { return SessionJson(*c.session); });
    Api(false, R"(/api/invitations/([A-Za-z0-9_-]{1,100}))", Access::kPublic, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(Invitation inv, accounts.PeekInvitation(c.req.matches[1]));
      return json{{"email", inv.email}, {"team", inv.team}, {"expires_at", inv.expires_at}};
    });
    Api(true, R"(/api/invitations/([A-Za-z0-9_-]{1,100})/accept)", Access::kPublic, kSmall, [this](Call& c) -> Result<json> {
      const Fields f(c.body);
      TENET_ASSIGN_OR_RETURN(NewSession s, accounts.AcceptInvitation(c.req.matches[1], f.String("name"), f.String("password")));
      SetSessionCookie(c.req, c.res, s.token);
      return SessionJson(s.session);
    });
    // Annotators.
    Api(false, "/api/queue", Access::kSignedIn, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(auto q, tasks.Queue(c.user()));
      json jobs_json = json::array();
      for (const auto& e : q) {
        jobs_json.push_back({{"id", e.job.id},
                             {"name", e.job.name},
                             {"remaining", e.remaining},
                             {"done_by_me", e.done_by_me},
                             {"total_items", e.job.items},
                             {"annotators_per_item", e.job.annotators_per_item},
                             {"task_time_limit_s", e.job.task_time_limit_s}});
      }
      return json{{"jobs", jobs_json}};
    });
    Api(true, R"(/api/jobs/(\d+)/next)", Access::kSignedIn, kSmall, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_ASSIGN_OR_RETURN(auto t, tasks.Next(c.user(), id));
      return json{{"task", t ? ToJson(*t) : json(nullptr)}};
    });
    Api(true, R"(/api/tasks/(\d+)/submit)", Access::kSignedIn, kSmall, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      const Fields f(c.body);
      Submission s;
      const bool pairwise = f.Has("verdict");
      const json& dims = pairwise && !f.Has("ranks") ? json::array() : f.Required("ranks");
      http::RequireArray(dims, "ranks", 8);
      for (size_t d = 0; d < dims.size(); ++d) {
        const std::string name = "ranks[" + std::to_string(d) + "]";
        const json& row = dims[d];
        http::RequireArray(row, name, 64);
        std::vector<int>& out = s.ranks.emplace_back();
        for (size_t i = 0; i < row.size(); ++i) out.push_back(static_cast<int>(http::AsInt(row[i], name + "[" + std::to_string(i) + "]", 1, 64)));
      }
      s.comment = f.String("comment", "");
      if (f.Has("time_spent_ms")) s.time_spent_ms = f.Int("time_spent_ms", 0, int64_t{365} * 24 * 3600 * 1000);
      TENET_ASSIGN_OR_RETURN(SubmitResult r, pairwise ? tasks.SubmitVerdict(c.user(), id, f.String("verdict"), s) : tasks.Submit(c.user(), id, s));
      return json{{"submission_id", r.submission_id}, {"duplicate", r.duplicate}};
    });
    Api(true, R"(/api/tasks/(\d+)/release)", Access::kSignedIn, kSmall, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_RETURN_IF_ERROR(tasks.Release(c.user(), id));
      return json::object();
    });
    Api(true, R"(/api/tasks/(\d+)/skip)", Access::kSignedIn, kSmall, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_RETURN_IF_ERROR(tasks.Skip(c.user(), id, Fields(c.body).String("reason")));
      return json::object();
    });
    // Admin: jobs.
    Api(false, "/api/admin/jobs", Access::kAdmin, 0, [this](Call&) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(auto list, jobs.List());
      json out = json::array();
      for (const JobSummary& j : list) out.push_back(ToJson(j));
      return json{{"jobs", out}};
    });
    Api(true, "/api/admin/jobs", Access::kAdmin, opt.http.max_body_bytes, [this](Call& c) { return CreateJob(c); });
    for (const char* action : {"pause", "resume"}) {
      const bool pause = std::string(action) == "pause";
      Api(true, std::string(R"(/api/admin/jobs/(\d+)/)") + action, Access::kAdmin, kSmall, [this, pause](Call& c) -> Result<json> {
        TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
        TENET_ASSIGN_OR_RETURN(JobSummary j, jobs.SetPaused(id, pause));
        return json{{"job", ToJson(j)}};
      });
    }
    Api(false, R"(/api/admin/jobs/(\d+)/results)", Access::kAdmin, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_ASSIGN_OR_RETURN(JobSummary j, jobs.Get(id));
      return PairwiseResults(db, j.name);
    });
    Api(false, R"(/api/admin/jobs/(\d+)/status)", Access::kAdmin, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_ASSIGN_OR_RETURN(JobAnnotations a, LoadJobAnnotations(db, id));
      return JobStatusJson(a);
    });
    Api(false, R"(/api/admin/jobs/(\d+)/preview)", Access::kAdmin, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      TENET_ASSIGN_OR_RETURN(Task t, tasks.Preview(id));
      return json{{"task", ToJson(t)}};
    });
    Api(false, R"(/api/admin/jobs/(\d+)/export)", Access::kAdmin, 0, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
      return ExportJob(c, id);
    });
    // Admin: people.
    Api(false, "/api/admin/teams", Access::kAdmin, 0, [this](Call&) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(auto teams, accounts.ListTeams());
      json out = json::array();
      for (const Team& t : teams) out.push_back({{"id", t.id}, {"name", t.name}, {"members", t.members}});
      return json{{"teams", out}};
    });
    Api(true, "/api/admin/teams", Access::kAdmin, kSmall, [this](Call& c) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(Team t, accounts.CreateTeam(Fields(c.body).String("name")));
      return json{{"team", {{"id", t.id}, {"name", t.name}, {"members", t.members}}}};
    });
    Api(false, "/api/admin/invitations", Access::kAdmin, 0, [this](Call&) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(auto list, accounts.ListInvitations());
      json out = json::array();
      for (const Invitation& i : list) out.push_back(ToJson(i));
      return json{{"invitations", out}};
    });
    Api(true, "/api/admin/invitations", Access::kAdmin, kSmall, [this](Call& c) -> Result<json> {
      const Fields f(c.body);
      const std::string email = f.String("email"), team = f.String("team", "");
      if (!team.empty()) {  // someone who already has an account just joins the team
        TENET_ASSIGN_OR_RETURN(auto existing, accounts.AddExistingToTeam(email, team));
        if (existing) return json{{"added_to_team", true}, {"user", ToJson(*existing)}};
      }
      TENET_ASSIGN_OR_RETURN(auto inv, accounts.Invite(email, team,
                                                       f.Int("expires_in_s", 1, 365 * 24 * 3600, 7 * 24 * 3600)));
      return json{{"invitation", ToJson(inv.first)}, {"link", "/invite/" + inv.second}};
    });
    Api(false, "/api/admin/annotators", Access::kAdmin, 0, [this](Call&) -> Result<json> {
      TENET_ASSIGN_OR_RETURN(auto rows, accounts.ListAnnotators());
      json out = json::array();
      for (const auto& r : rows) {
        json u = ToJson(r.user);
        u["submissions"] = r.submissions;
        out.push_back(u);
      }
      return json{{"annotators", out}};
    });
    for (const char* action : {"deactivate", "activate"}) {
      const bool active = std::string(action) == "activate";
      Api(true, std::string(R"(/api/admin/annotators/(\d+)/)") + action, Access::kAdmin, kSmall, [this, active](Call& c) -> Result<json> {
        TENET_ASSIGN_OR_RETURN(int64_t id, PathId(c));
        TENET_ASSIGN_OR_RETURN(User u, accounts.SetActive(id, active));
        return json{{"user", ToJson(u)}};
      });
    }
    // One-time admin sign-in link.
    svr.Get(R"(/signin/([A-Za-z0-9_-]{1,100}))", [this](const httplib::Request& req, httplib::Response& res) {
      SecurityHeaders(res);
      res.set_header("Cache-Control", "no-store");
      Result<NewSession> s = accounts.UseSigninLink(req.matches[1]);
      if (!s.ok()) {
        res.status = http::HttpStatusOf(s.status());
        res.set_content("<!doctype html><meta charset=utf-8><title>Sign-in link</title><p>This sign-in link cannot be used: it was "
                        "already used, has expired or is not valid. Run <code>tenet label admin-link</code> for a new one.",
                        "text/html; charset=utf-8");
        return;
      }
      SetSessionCookie(req, res, s->token);
      res.status = 303;
      res.set_header("Location", "/admin");
    });
    // Pages and static files.
    Page("/", "index.html");
    Page("/login", "login.html");
    Page(R"(/invite/([A-Za-z0-9_-]{1,100}))", "invite.html");
    Page(R"(/task/(\d+))", "task.html");
    Page("/admin", "admin.html");
    Page(R"(/admin/jobs/(\d+))", "admin-job.html");
    Page(R"(/admin/jobs/(\d+)/preview)", "task.html");
    svr.Get(R"(/static/([A-Za-z0-9._-]{1,100}))", [](const httplib::Request& req, httplib::Response& res) {
      const std::string name = req.matches[1];
      const WebAsset* a = name.find(".html") == std::string::npos ? FindWebAsset(name) : nullptr;
      if (!a) return SendError(res, 404, "not_found", "no file " + name);
      SecurityHeaders(res);
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(a->content), Mime(name).c_str());
    });
    svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) return SendError(res, 413, "too_large", "the request body is too large");
      if (res.status == 404) {
        return SendError(res, 404, "not_found", "no route " + req.method + " " + req.path);
      }
      SendError(res, res.status, "error", "request failed");
    });
  }
};

PortalServer::PortalServer(LabelDb& db, PortalOptions options) : impl_(std::make_unique<Impl>(db, options)) { impl_->Routes(); }

PortalServer::~PortalServer() { Stop(); }

Status PortalServer::Bind(const std::string& host, int port) {
  if (impl_->opt.http.allowed_hosts.empty() && http::IsLoopbackHost(host)) {
    std::vector<std::string> names = http::LoopbackHostNames();
    if (std::find(names.begin(), names.end(), host) == names.end()) names.push_back(host);
    impl_->svr.set_allowed_hosts(names);
  }
  if (port == 0) {
    impl_->port = impl_->svr.bind_to_any_port(host);
    if (impl_->port <= 0) return Status::IOError(host, "cannot bind to any port");
  } else {
    if (!impl_->svr.bind_to_port(host, port)) {
      return Status::IOError(host + ":" + std::to_string(port), "cannot listen (address in use or not available)");
    }
    impl_->port = port;
  }
  return Status::OK();
}

int PortalServer::port() const { return impl_->port; }

Status PortalServer::Run() {
  if (!impl_->svr.listen_after_bind()) return Status::IOError("portal", "the server stopped with an error");
  return Status::OK();
}

void PortalServer::Stop() { impl_->svr.Stop(); }

void PortalServer::ServeSocket(int fd) { impl_->svr.ServeSocket(fd); }

const http::GuardedServer& PortalServer::http() const { return impl_->svr; }

}  // namespace tenet::label
