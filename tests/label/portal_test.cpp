// The portal's HTTP API on a real loopback server: every route, and the unhappy paths (wrong
// role, other team's job, expired lease, used/expired invitation, missing CSRF token, oversized
// and malformed bodies, rate-limited sign-in) answer the right status and change nothing.
#include "tenet/label/portal_server.h"

#include <httplib.h>

#include <thread>

#include "portal_fixture.h"

namespace tenet::label::testing {
namespace {

using nlohmann::json;

TEST_F(PortalTest, TheWholeLoopThroughTheApi) {
  Browser admin = Admin();
  EXPECT_EQ(admin.Post("/api/admin/teams", {{"name", "bank"}}).status, 200);
  const int64_t job = CreateJob(admin, "bank-v1", {{"teams", {"bank"}}, {"annotators_per_item", 2}});
  Browser ana = Invited(admin, "ana@example.com", "bank");
  Reply q = ana.Get("/api/queue");
  ASSERT_EQ(q.body["jobs"].size(), 1u);
  EXPECT_EQ(q.body["jobs"][0]["remaining"], 3);
  Reply next = ana.Post("/api/jobs/" + std::to_string(job) + "/next", json::object());
  ASSERT_EQ(next.status, 200) << next.raw;
  const json task = next.body["task"];
  EXPECT_EQ(task["answers"].size(), 3u);
  EXPECT_EQ(task["job"]["instructions_md"], "# Rank");
  // Rank by answer index: the answer shown first gets rank 1, and so on.
  std::vector<int> ranks(3);
  for (int pos = 0; pos < 3; ++pos) ranks[task["answers"][pos]["index"].get<int>()] = pos + 1;
  const std::string submit = "/api/tasks/" + std::to_string(task["id"].get<int64_t>()) + "/submit";
  Reply s = ana.Post(submit, {{"ranks", {ranks}}, {"comment", "fine"}, {"time_spent_ms", 1234}});
  ASSERT_EQ(s.status, 200) << s.raw;
  EXPECT_FALSE(s.body["duplicate"].get<bool>());
  Reply again = ana.Post(submit, {{"ranks", {ranks}}});
  EXPECT_EQ(again.status, 200);
  EXPECT_TRUE(again.body["duplicate"].get<bool>());
  EXPECT_EQ(again.body["submission_id"], s.body["submission_id"]);
  // Release and skip.
  Reply n2 = ana.Post("/api/jobs/" + std::to_string(job) + "/next", json::object());
  const std::string t2 = std::to_string(n2.body["task"]["id"].get<int64_t>());
  EXPECT_EQ(ana.Post("/api/tasks/" + t2 + "/release", json::object()).status, 200);
  Reply n3 = ana.Post("/api/jobs/" + std::to_string(job) + "/next", json::object());
  const std::string t3 = std::to_string(n3.body["task"]["id"].get<int64_t>());
  EXPECT_EQ(ana.Post("/api/tasks/" + t3 + "/skip", {{"reason", "unclear"}}).status, 200);
  // Admin views.
  Reply status = admin.Get("/api/admin/jobs/" + std::to_string(job) + "/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.body["submissions"], 1);
  EXPECT_EQ(status.body["annotators"][0]["skips"], 1);
  EXPECT_EQ(admin.Get("/api/admin/jobs").body["jobs"].size(), 1u);
  EXPECT_EQ(admin.Get("/api/admin/jobs/" + std::to_string(job) + "/preview").body["task"]["answers"].size(), 3u);
  Reply exp = admin.Get("/api/admin/jobs/" + std::to_string(job) + "/export?format=raw");
  ASSERT_EQ(exp.status, 200);
  auto raw = tenet::testing::ParseJsonLines(exp.body["files"]["annotations.jsonl"]);
  ASSERT_EQ(raw.size(), 2u);  // the submission and the skip
  EXPECT_EQ(raw[0]["ranks"]["Alignment with our values"], json(ranks));
  EXPECT_EQ(raw[0]["time_spent_ms"], 1234);
  Reply dpo = admin.Get("/api/admin/jobs/" + std::to_string(job) + "/export?format=dpo&pairs=all-pairs");
  EXPECT_EQ(tenet::testing::ParseJsonLines(dpo.body["files"]["train.jsonl"]).size(), 3u);
  EXPECT_EQ(admin.Get("/api/admin/teams").body["teams"][0]["members"], json({"ana@example.com"}));
  EXPECT_EQ(admin.Get("/api/admin/invitations").body["invitations"].size(), 1u);
  // Inviting someone who already has an account into another team adds them, without a link.
  Reply join = admin.Post("/api/admin/invitations", {{"email", "ana@example.com"}, {"team", "reviewers-2"}});
  ASSERT_EQ(join.status, 200) << join.raw;
  EXPECT_TRUE(join.body["added_to_team"].get<bool>());
  EXPECT_EQ(join.body["user"]["teams"], json({"bank", "reviewers-2"}));
  EXPECT_EQ(admin.Get("/api/admin/invitations").body["invitations"].size(), 1u);
  EXPECT_EQ(admin.Post("/api/admin/invitations", {{"email", "ana@example.com"}}).status, 409);  // no team: nothing to do
  Reply people = admin.Get("/api/admin/annotators");
  EXPECT_EQ(people.body["annotators"][0]["submissions"], 1);
  EXPECT_EQ(admin.Post("/api/admin/jobs/" + std::to_string(job) + "/pause", json::object()).body["job"]["state"], "paused");
  EXPECT_EQ(ana.Post("/api/jobs/" + std::to_string(job) + "/next", json::object()).code(), "job_paused");
  EXPECT_EQ(admin.Post("/api/admin/jobs/" + std::to_string(job) + "/resume", json::object()).body["job"]["state"], "active");
  // Sign out: the session is gone.
  EXPECT_EQ(ana.Post("/api/logout", json::object()).status, 200);
  EXPECT_EQ(ana.Get("/api/me").status, 401);
  // Sign in again with the password.
  Browser back(server_->port());
  back.SignIn(back.Post("/api/login", {{"email", "ana@example.com"}, {"password", "a long password"}}));
  EXPECT_EQ(back.Get("/api/me").body["user"]["email"], "ana@example.com");
}

TEST_F(PortalTest, WrongRoleOtherTeamAndNoSessionAreRefused) {
  Browser admin = Admin();
  const int64_t job = CreateJob(admin, "red-job", {{"teams", json::array()}});
  admin.Post("/api/admin/teams", {{"name", "red"}});
  const int64_t red = CreateJob(admin, "red-only", {{"teams", {"red"}}});
  Browser blue = Invited(admin, "blue@example.com", "blue");
  Browser anon(server_->port());
  for (const char* path : {"/api/admin/jobs", "/api/admin/teams", "/api/admin/invitations", "/api/admin/annotators"}) {
    EXPECT_EQ(blue.Get(path).status, 403) << path;
    EXPECT_EQ(anon.Get(path).status, 401) << path;
  }
  EXPECT_EQ(blue.Post("/api/admin/jobs", {{"name", "mine"}, {"responses_jsonl", ResponsesJsonl(1, 2)}}).status, 403);
  EXPECT_EQ(blue.Post("/api/admin/invitations", {{"email", "x@y.z"}}).status, 403);
  EXPECT_EQ(blue.Post("/api/admin/jobs/" + std::to_string(job) + "/pause", json::object()).status, 403);
  EXPECT_EQ(anon.Get("/api/queue").status, 401);
  EXPECT_EQ(anon.Post("/api/jobs/" + std::to_string(job) + "/next", json::object()).status, 401);
  Reply other = blue.Post("/api/jobs/" + std::to_string(red) + "/next", json::object());
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.code(), "forbidden");
  EXPECT_EQ(blue.Get("/api/queue").body["jobs"].size(), 1u);  // only the job open to everyone
  EXPECT_EQ(blue.Post("/api/jobs/999/next", json::object()).status, 404);
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM jobs"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM invitations"), 1);
  // Another annotator's task.
  Browser green = Invited(admin, "green@example.com", "");
  Reply t = green.Post("/api/jobs/" + std::to_string(job) + "/next", json::object());
  Reply steal = blue.Post("/api/tasks/" + std::to_string(t.body["task"]["id"].get<int64_t>()) + "/submit", {{"ranks", {{1, 2, 3}}}});
  EXPECT_EQ(steal.status, 409);
  EXPECT_EQ(Submissions(), 0);
}

TEST_F(PortalTest, CsrfBodiesAndLeasesAreChecked) {
  Browser admin = Admin();
  const int64_t job = CreateJob(admin, "j", {{"task_time_limit_s", 60}});
  Browser ana = Invited(admin, "ana@example.com", "");
  const std::string next = "/api/jobs/" + std::to_string(job) + "/next";
  Reply no_csrf = ana.Post(next, json::object(), /*csrf=*/false);
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(no_csrf.code(), "csrf");
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 0);
  Reply t = ana.Post(next, json::object());
  const std::string submit = "/api/tasks/" + std::to_string(t.body["task"]["id"].get<int64_t>()) + "/submit";
  EXPECT_EQ(ana.PostRaw(submit, "{\"ranks\": [[1,2", "application/json").code(), "bad_json");
  EXPECT_EQ(ana.PostRaw(submit, "[1,2,3]", "application/json").code(), "bad_json");
  EXPECT_EQ(ana.PostRaw(submit, "{\"ranks\": [[1,2,3]]}", "text/plain").status, 415);
  EXPECT_EQ(ana.Post(submit, {{"ranks", "first"}}).code(), "bad_field");
  EXPECT_EQ(ana.Post(submit, json::object()).status, 400);
  EXPECT_EQ(ana.Post(submit, {{"ranks", {{1, 1, 2}}}}).code(), "bad_ranking");
  Reply big = ana.Post(submit, {{"ranks", {{1, 2, 3}}}, {"comment", std::string(2 << 20, 'x')}});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Submissions(), 0);
  Reply huge = admin.PostRaw("/api/admin/jobs", std::string(70 << 20, ' '), "application/json");
  EXPECT_EQ(huge.status, 413);
  now_ += 61;  // the lease runs out
  Reply late = ana.Post(submit, {{"ranks", {{1, 2, 3}}}});
  EXPECT_EQ(late.status, 410);
  EXPECT_EQ(late.code(), "lease_expired");
  EXPECT_EQ(Submissions(), 0);
  EXPECT_EQ(ana.Get("/api/nothing-here").status, 404);
}

TEST_F(PortalTest, InvitationsAndSignInAreProtected) {
  Browser admin = Admin();
  Reply inv = admin.Post("/api/admin/invitations", {{"email", "ana@example.com"}, {"expires_in_s", 60}});
  const std::string token = inv.body["link"].get<std::string>().substr(8);
  Browser anon(server_->port());
  EXPECT_EQ(anon.Get("/api/invitations/" + token).body["email"], "ana@example.com");
  EXPECT_EQ(anon.Post("/api/invitations/" + token + "/accept", {{"name", "Ana"}, {"password", "short"}}).code(), "weak_password");
  anon.SignIn(anon.Post("/api/invitations/" + token + "/accept", {{"name", "Ana"}, {"password", "a long password"}}));
  Browser again(server_->port());
  Reply reused = again.Post("/api/invitations/" + token + "/accept", {{"name", "Eve"}, {"password", "another long one"}});
  EXPECT_EQ(reused.status, 410);
  EXPECT_EQ(reused.code(), "invitation_used");
  Reply late = admin.Post("/api/admin/invitations", {{"email", "bo@example.com"}, {"expires_in_s", 60}});
  now_ += 61;
  Reply expired = again.Post("/api/invitations/" + late.body["link"].get<std::string>().substr(8) + "/accept",
                             {{"name", "Bo"}, {"password", "a long password"}});
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(expired.code(), "invitation_expired");
  EXPECT_EQ(again.Get("/api/invitations/not-a-token").status, 404);
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE role = 'annotator'"), 1);
  // Five wrong passwords for one email, then even the right one is refused for a while.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(again.Post("/api/login", {{"email", "ana@example.com"}, {"password", "wrong password"}}).status, 401);
  }
  Reply limited = again.Post("/api/login", {{"email", "ana@example.com"}, {"password", "a long password"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_TRUE(limited.set_cookie.empty());
  now_ += 15 * 60 + 1;
  EXPECT_EQ(again.Post("/api/login", {{"email", "ana@example.com"}, {"password", "a long password"}}).status, 200);
  // Deactivation signs Ana out at once.
  const int64_t ana_id = anon.Get("/api/me").body["user"]["id"];
  EXPECT_EQ(admin.Post("/api/admin/annotators/" + std::to_string(ana_id) + "/deactivate", json::object()).status, 200);
  EXPECT_EQ(anon.Get("/api/me").status, 401);
  EXPECT_EQ(again.Post("/api/login", {{"email", "ana@example.com"}, {"password", "a long password"}}).status, 401);
  Reply back = admin.Post("/api/admin/annotators/" + std::to_string(ana_id) + "/activate", json::object());
  EXPECT_TRUE(back.body["user"]["active"].get<bool>());
  EXPECT_EQ(again.Post("/api/login", {{"email", "ana@example.com"}, {"password", "a long password"}}).status, 200);
  EXPECT_EQ(admin.Post("/api/admin/annotators/999/deactivate", json::object()).status, 404);
}

TEST_F(PortalTest, PagesAreServedWithAStrictContentSecurityPolicy) {
  httplib::Client c("127.0.0.1", server_->port());
  for (const char* path : {"/", "/login", "/invite/abc", "/task/1", "/admin", "/admin/jobs/1", "/admin/jobs/1/preview"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_NE(res->get_header_value("Content-Type").find("text/html"), std::string::npos) << path;
    EXPECT_NE(res->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer");
  }
  auto js = c.Get("/static/api.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_NE(js->get_header_value("Content-Type").find("javascript"), std::string::npos);
  EXPECT_EQ(c.Get("/static/..%2Fetc%2Fpasswd")->status, 404);
  EXPECT_EQ(c.Get("/static/index.html")->status, 404);
  EXPECT_EQ(c.Get("/signin/not-a-token")->status, 404);
}

// A pairwise job through the API: the annotator's task names no system, a verdict is taken, and
// only the admin sees the unblinded results.
TEST_F(PortalTest, PairwiseVerdictsAndTheAdminsResults) {
  Browser admin = Admin();
  const std::string line =
      R"({"id": "q1", "messages": [{"role": "user", "content": "Q"}], "answers": [{"system": "sysAlpha", "samples": [{"text": "alpha"}]}, )"
      R"({"system": "sysBeta", "samples": [{"text": "beta"}]}]})";
  auto items = ParseComparisonPairs(line + "\n", "c.jsonl");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  JobSpec spec;
  spec.kind = "pairwise";
  spec.name = "ab";
  spec.allow_ties = true;
  spec.annotators_per_item = 1;
  auto job = Jobs(*db_).Create(spec, *items);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const std::string id = std::to_string(job->id);
  Browser ana = Invited(admin, "ana@example.com", "");
  Reply next = ana.Post("/api/jobs/" + id + "/next", json::object());
  ASSERT_EQ(next.status, 200) << next.raw;
  EXPECT_EQ(next.raw.find("sysAlpha"), std::string::npos) << next.raw;
  EXPECT_EQ(next.body["task"]["job"]["kind"], "pairwise");
  const std::string submit = "/api/tasks/" + std::to_string(next.body["task"]["id"].get<int64_t>()) + "/submit";
  EXPECT_EQ(ana.Post(submit, {{"ranks", {{1, 2}}}}).code(), "bad_verdict");
  EXPECT_EQ(ana.Post(submit, {{"verdict", "both_bad"}}).code(), "bad_verdict");  // not offered
  EXPECT_EQ(ana.Post(submit, {{"verdict", 1}}).status, 400);
  // "A" is the answer shown first: whichever system that was wins.
  const std::string first = next.body["task"]["answers"][0]["text"];
  ASSERT_EQ(ana.Post(submit, {{"verdict", "A"}, {"comment", "clearer"}}).status, 200);
  EXPECT_EQ(ana.Get("/api/admin/jobs/" + id + "/results").status, 403);
  Reply r = admin.Get("/api/admin/jobs/" + id + "/results");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["votes"], 1);
  EXPECT_EQ(r.body["wins"][first == "alpha" ? "sysAlpha" : "sysBeta"], 1);
  EXPECT_EQ(r.body["questions"][0]["votes"][0]["annotator"], "ana@example.com");
  const int64_t ranked = CreateJob(admin, "ranked");
  EXPECT_EQ(admin.Get("/api/admin/jobs/" + std::to_string(ranked) + "/results").code(), "not_pairwise");
}

// The admin creates blind A/B jobs through the API, from a comparison file or from two responses
// files, as `tenet label job create --pairwise` does; wrong combinations are one 400 each and
// create nothing.
TEST_F(PortalTest, AdminCreatesPairwiseJobsFromAComparisonOrTwoResponsesFiles) {
  Browser admin = Admin();
  const std::string comparison =
      R"({"id": "q1", "messages": [{"role": "user", "content": "Q1"}], "answers": [{"system": "base", "samples": [{"text": "a1"}]}, )"
      R"({"system": "v2", "samples": [{"text": "b1"}]}]})"
      "\n"
      R"({"id": "q2", "messages": [{"role": "user", "content": "Q2"}], "answers": [{"system": "base", "samples": [{"text": "a2"}]}, )"
      R"({"system": "v2", "samples": [{"text": "b2"}]}]})"
      "\n";
  Reply made = admin.Post("/api/admin/jobs", {{"name", "ab"},
                                              {"kind", "pairwise"},
                                              {"comparison_jsonl", comparison},
                                              {"offer_both_bad", true},
                                              {"annotators_per_item", 1}});
  ASSERT_EQ(made.status, 200) << made.raw;
  EXPECT_EQ(made.body["job"]["kind"], "pairwise");
  EXPECT_EQ(made.body["job"]["items"], 2);
  EXPECT_TRUE(made.body["job"]["offer_both_bad"].get<bool>());
  EXPECT_TRUE(made.body["job"]["allow_ties"].get<bool>());
  EXPECT_EQ(made.body["job"]["dimensions"], json({"Which answer is better?"}));
  // The annotator gets the blind A/B task and may answer "both bad".
  Browser ana = Invited(admin, "ana@example.com", "");
  const std::string id = std::to_string(made.body["job"]["id"].get<int64_t>());
  Reply next = ana.Post("/api/jobs/" + id + "/next", json::object());
  ASSERT_EQ(next.status, 200) << next.raw;
  EXPECT_EQ(next.raw.find("\"v2\""), std::string::npos) << next.raw;
  const std::string submit = "/api/tasks/" + std::to_string(next.body["task"]["id"].get<int64_t>()) + "/submit";
  EXPECT_EQ(ana.Post(submit, {{"verdict", "both_bad"}}).status, 200);
  EXPECT_EQ(admin.Get("/api/admin/jobs/" + id + "/results").body["both_bad"], 1);

  auto responses = [](const std::string& a, const std::string& b) {
    std::string out;
    for (const auto& [id, answer] : {std::pair{"q1", a}, std::pair{"q2", b}}) {
      out += json{{"id", id}, {"messages", {{{"role", "user"}, {"content", std::string("Q") + id[1]}}}}, {"responses", {answer}}}.dump() + "\n";
    }
    return out;
  };
  const json sides = {{{"system", "base"}, {"responses_jsonl", responses("a1", "a2")}},
                      {{"system", "v2"}, {"responses_jsonl", responses("b1", "b2")}}};
  Reply two = admin.Post("/api/admin/jobs", {{"name", "ab-files"}, {"kind", "pairwise"}, {"sides", sides}, {"dimensions", {"More helpful?"}}});
  ASSERT_EQ(two.status, 200) << two.raw;
  EXPECT_EQ(two.body["job"]["items"], 2);
  EXPECT_EQ(two.body["job"]["dimensions"], json({"More helpful?"}));

  // Unhappy paths: each a 400 with its reason, and no job made.
  const size_t jobs_before = admin.Get("/api/admin/jobs").body["jobs"].size();
  auto refused = [&](json body) {
    body["name"] = "refused";
    return admin.Post("/api/admin/jobs", body);
  };
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"comparison_jsonl", comparison}, {"sides", sides}}).code(), "bad_job");
  EXPECT_EQ(refused({{"kind", "pairwise"}}).code(), "bad_job");
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"sides", {sides[0]}}}).code(), "bad_job");
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"sides", {sides[0], {{"system", "v2"}, {"responses_jsonl", responses("b1", "b2").substr(0, 40)}}}}}).status, 400);
  json other_ids = sides;
  other_ids[1]["responses_jsonl"] = R"({"id": "q9", "messages": [{"role": "user", "content": "Q9"}], "responses": ["x"]})";
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"sides", other_ids}}).code(), "bad_responses");
  json same_name = sides;
  same_name[1]["system"] = "base";
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"sides", same_name}}).code(), "bad_responses");
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"sides", "base"}}).status, 400);
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"comparison_jsonl", R"({"id": "q1", "answers": []})"}}).status, 400);
  EXPECT_EQ(refused({{"kind", "pairwise"}, {"comparison_jsonl", comparison}, {"dimensions", {"one", "two"}}}).code(), "bad_job");
  EXPECT_EQ(refused({{"kind", "vote"}, {"responses_jsonl", responses("a", "b")}}).code(), "bad_job");
  EXPECT_EQ(refused({{"responses_jsonl", responses("a", "b")}, {"offer_both_bad", true}}).code(), "bad_job");
  EXPECT_EQ(admin.Get("/api/admin/jobs").body["jobs"].size(), jobs_before);
}

}  // namespace
}  // namespace tenet::label::testing
