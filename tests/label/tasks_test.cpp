// The annotator work loop against a real SQLite file: who gets which item, leases and their
// expiry, release, skip, idempotent submissions, access rules, and racing annotators.
#include "tenet/label/tasks.h"

#include <thread>

#include "label_fixture.h"

namespace tenet::label::testing {
namespace {

using TasksTest = LabelStoreTest;

TEST_F(TasksTest, LeasesNeverExceedAnnotatorsPerItemAndAHeldTaskComesBack) {
  JobSummary job = MakeJob("j", 2, 3, /*per_item=*/2);
  User a = Annotator("a@x.org"), b = Annotator("b@x.org"), c = Annotator("c@x.org");
  Tasks tasks(*db_);
  auto ta = tasks.Next(a, job.id), tb = tasks.Next(b, job.id), tc = tasks.Next(c, job.id);
  ASSERT_TRUE(ta.ok() && tb.ok() && tc.ok());
  EXPECT_EQ((*ta)->item_id, (*tb)->item_id);  // two leases fill item 1
  EXPECT_NE((*tc)->item_id, (*ta)->item_id);  // so c gets item 2
  auto again = tasks.Next(a, job.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->id, (*ta)->id);  // a still holds their task
  EXPECT_EQ((*ta)->lease_expires_at, now_ + 1800);
  EXPECT_EQ(Count("SELECT count(*) FROM tasks"), 3);
}

TEST_F(TasksTest, AnswersAreShuffledPerAnnotatorAndTheOrderIsRecorded) {
  JobSummary job = MakeJob("j", 1, 8, 9);
  std::set<std::vector<int>> orders;
  for (int i = 0; i < 6; ++i) {
    auto t = Tasks(*db_).Next(Annotator("p" + std::to_string(i) + "@x.org"), job.id);
    ASSERT_TRUE(t.ok() && t->has_value());
    std::vector<int> sorted = (*t)->order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
    orders.insert((*t)->order);
  }
  EXPECT_GT(orders.size(), 1u);  // 6 shuffles of 8 answers: all equal with probability (1/8!)^5
  JobSpec fixed;
  fixed.shuffle = false;
  JobSummary plain = MakeJob("plain", 1, 4, 1, fixed);
  auto t = Tasks(*db_).Next(Annotator("q@x.org"), plain.id);
  EXPECT_EQ((*t)->order, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(TasksTest, AnExpiredLeaseGoesBackToThePoolAndCannotBeSubmitted) {
  JobSummary job = MakeJob("j", 1, 3, 1);
  User a = Annotator("a@x.org"), b = Annotator("b@x.org");
  Tasks tasks(*db_);
  auto ta = tasks.Next(a, job.id);
  ASSERT_TRUE(ta.ok() && ta->has_value());
  EXPECT_FALSE(tasks.Next(b, job.id)->has_value());  // the only slot is leased
  now_ += 1801;
  auto tb = tasks.Next(b, job.id);
  ASSERT_TRUE(tb.ok() && tb->has_value());
  EXPECT_EQ((*tb)->item_id, (*ta)->item_id);
  auto late = tasks.Submit(a, (*ta)->id, {Ranks({1, 2, 3}), "", 10});
  EXPECT_EQ(late.status().code(), Status::Code::kGone);
  EXPECT_EQ(late.status().reason(), "lease_expired");
  EXPECT_EQ(Count("SELECT count(*) FROM submissions"), 0);
  EXPECT_TRUE(tasks.Submit(b, (*tb)->id, {Ranks({1, 2, 3}), "", 10}).ok());
  EXPECT_EQ(Count("SELECT n_submitted FROM items"), 1);
}

TEST_F(TasksTest, SubmitValidatesRanksAndIsIdempotent) {
  JobSummary job = MakeJob("j", 1, 3, 1);
  User a = Annotator("a@x.org"), b = Annotator("b@x.org");
  Tasks tasks(*db_);
  auto t = tasks.Next(a, job.id);
  ASSERT_TRUE(t.ok());
  const int64_t id = (*t)->id;
  for (auto bad : std::vector<std::vector<std::vector<int>>>{{}, {{1, 2}}, {{1, 1, 3}}, {{0, 1, 2}}, {{1, 2, 4}}, {{1, 2, 3}, {1, 2, 3}}}) {
    auto r = tasks.Submit(a, id, {bad, "", 5});
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << nlohmann::json(bad).dump();
  }
  EXPECT_EQ(tasks.Submit(b, id, {Ranks({1, 2, 3}), "", 5}).status().code(), Status::Code::kConflict);  // not b's
  EXPECT_EQ(Count("SELECT count(*) FROM submissions"), 0);
  now_ += 7;
  auto first = tasks.Submit(a, id, {Ranks({3, 1, 2}), "clear", 4000});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate);
  auto second = tasks.Submit(a, id, {Ranks({1, 2, 3}), "changed my mind", 1});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->submission_id, first->submission_id);
  EXPECT_EQ(Count("SELECT count(*) FROM submissions"), 1);
  EXPECT_EQ(Count("SELECT time_spent_ms FROM submissions"), 4000);
  EXPECT_EQ(Count("SELECT count(*) FROM submissions WHERE ranks = '[[3,1,2]]' AND comment = 'clear'"), 1);
  EXPECT_FALSE(tasks.Next(a, job.id)->has_value());  // nothing left for a
}

TEST_F(TasksTest, TiesOnlyWhereTheJobAllowsThem) {
  JobSpec spec;
  spec.allow_ties = true;
  JobSummary job = MakeJob("j", 1, 4, 1, spec);
  User a = Annotator("a@x.org");
  auto t = Tasks(*db_).Next(a, job.id);
  EXPECT_EQ(Tasks(*db_).Submit(a, (*t)->id, {Ranks({1, 1, 2, 4}), "", 1}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(Tasks(*db_).Submit(a, (*t)->id, {Ranks({1, 1, 3, 3}), "", 1}).ok());
}

TEST_F(TasksTest, ReleasedItemsComeBackLastAndSkippedItemsNever) {
  JobSummary job = MakeJob("j", 3, 2, 1);
  User a = Annotator("a@x.org");
  Tasks tasks(*db_);
  auto t1 = tasks.Next(a, job.id);
  const int64_t item1 = (*t1)->item_id;
  ASSERT_TRUE(tasks.Release(a, (*t1)->id).ok());
  EXPECT_EQ(tasks.Release(a, (*t1)->id).code(), Status::Code::kGone);  // already released
  auto t2 = tasks.Next(a, job.id);
  EXPECT_NE((*t2)->item_id, item1);  // an untouched item first
  ASSERT_TRUE(tasks.Skip(a, (*t2)->id, "I cannot judge finance questions").ok());
  EXPECT_EQ(tasks.Skip(a, (*t2)->id, "").code(), Status::Code::kInvalidArgument);
  auto t3 = tasks.Next(a, job.id);
  ASSERT_TRUE(tasks.Submit(a, (*t3)->id, {Ranks({1, 2}), "", 1}).ok());
  auto t4 = tasks.Next(a, job.id);
  ASSERT_TRUE(t4->has_value());
  EXPECT_EQ((*t4)->item_id, item1);  // the released one comes back
  ASSERT_TRUE(tasks.Submit(a, (*t4)->id, {Ranks({2, 1}), "", 1}).ok());
  EXPECT_FALSE(tasks.Next(a, job.id)->has_value());  // the skipped one never does
  EXPECT_EQ(Count("SELECT count(*) FROM tasks WHERE state = 'skipped' AND skip_reason LIKE 'I cannot%'"), 1);
}

TEST_F(TasksTest, PausedEndedAndOtherTeamsJobsAreRefused) {
  Accounts(*db_).CreateTeam("red");
  JobSpec red;
  red.teams = {"red"};
  JobSummary job = MakeJob("red-job", 2, 2, 1, red);
  User blue = Annotator("blue@x.org", "blue"), redu = Annotator("red@x.org", "red");
  Tasks tasks(*db_);
  EXPECT_EQ(tasks.Next(blue, job.id).status().code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(tasks.Queue(blue)->empty());
  ASSERT_EQ(tasks.Queue(redu)->size(), 1u);
  ASSERT_TRUE(Jobs(*db_).SetPaused(job.id, true).ok());
  EXPECT_EQ(tasks.Next(redu, job.id).status().code(), Status::Code::kConflict);
  EXPECT_TRUE(tasks.Queue(redu)->empty());
  ASSERT_TRUE(Jobs(*db_).SetPaused(job.id, false).ok());
  EXPECT_TRUE(tasks.Next(redu, job.id).ok());
  JobSpec short_lived;
  short_lived.lifetime_s = 60;
  JobSummary brief = MakeJob("brief", 1, 2, 1, short_lived);
  now_ += 61;
  EXPECT_EQ(tasks.Next(redu, brief.id).status().code(), Status::Code::kGone);
  EXPECT_EQ(Jobs(*db_).Get(brief.id)->state, "ended");
  EXPECT_EQ(tasks.Next(redu, 999).status().code(), Status::Code::kNotFound);
}

TEST_F(TasksTest, DeactivatingAnAnnotatorSignsThemOutAndFreesTheirLeases) {
  JobSummary job = MakeJob("j", 1, 2, 1);
  User a = Annotator("a@x.org"), b = Annotator("b@x.org");
  Tasks tasks(*db_);
  ASSERT_TRUE(tasks.Next(a, job.id)->has_value());
  EXPECT_FALSE(tasks.Next(b, job.id)->has_value());
  ASSERT_TRUE(Accounts(*db_).SetActive(a.id, false).ok());
  EXPECT_FALSE(Accounts(*db_).Authenticate(session_tokens_["a@x.org"]).ok());
  EXPECT_EQ(Accounts(*db_).Login("a@x.org", "correct horse battery").status().code(), Status::Code::kUnauthenticated);
  EXPECT_TRUE(tasks.Next(b, job.id)->has_value());
  ASSERT_TRUE(Accounts(*db_).SetActive(a.id, true).ok());
  EXPECT_TRUE(Accounts(*db_).Login("a@x.org", "correct horse battery").ok());
}

TEST_F(TasksTest, RacingAnnotatorsNeverOverfillAnItem) {
  constexpr int kItems = 30, kPerItem = 3, kAnnotators = 10;
  JobSummary job = MakeJob("race", kItems, 3, kPerItem);
  std::vector<User> users;
  for (int i = 0; i < kAnnotators; ++i) users.push_back(Annotator("r" + std::to_string(i) + "@x.org"));
  std::atomic<int> acknowledged{0}, errors{0};
  std::vector<std::thread> threads;
  for (const User& u : users) {
    threads.emplace_back([&, u] {
      Tasks tasks(*db_);
      for (;;) {
        auto t = tasks.Next(u, job.id);
        if (!t.ok()) { ++errors; return; }
        if (!t->has_value()) return;
        auto s = tasks.Submit(u, (*t)->id, {Ranks({1, 2, 3}), "", 1});
        if (!s.ok() || s->duplicate) { ++errors; return; }
        ++acknowledged;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(acknowledged.load(), kItems * kPerItem);
  EXPECT_EQ(Count("SELECT count(*) FROM submissions"), kItems * kPerItem);
  EXPECT_EQ(Count("SELECT count(*) FROM items WHERE n_submitted != 3"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT item_id FROM submissions GROUP BY item_id HAVING count(*) > 3)"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT 1 FROM submissions GROUP BY item_id, annotator_id HAVING count(*) > 1)"), 0);
}

TEST_F(TasksTest, ResponsesFilesAreCheckedLineByLine) {
  auto bad = [](const std::string& text) {
    auto r = ParseResponses(text, "r.jsonl");
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_NE(bad("").find("no questions"), std::string::npos);
  EXPECT_NE(bad("{\"id\":\"a\",\"source\":\"q\",\"responses\":[\"x\",\"y\"]}\nnot json\n").find("r.jsonl:2"), std::string::npos);
  EXPECT_NE(bad("{\"source\":\"q\",\"responses\":[\"x\"]}").find("at least 2"), std::string::npos);
  EXPECT_NE(bad("{\"source\":\"q\",\"responses\":[\"x\",\" \"]}").find("empty"), std::string::npos);
  EXPECT_NE(bad("{\"source\":\"q\",\"responses\":[\"x\",3]}").find("string"), std::string::npos);
  EXPECT_NE(bad("{\"responses\":[\"x\",\"y\"]}").find("needs \"messages\""), std::string::npos);
  EXPECT_NE(bad("{\"id\":\"a\",\"source\":\"q\",\"responses\":[\"x\",\"y\"]}\n{\"id\":\"a\",\"source\":\"q\",\"responses\":[\"x\",\"y\"]}").find("duplicate id"),
            std::string::npos);
  EXPECT_NE(bad("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}],\"responses\":[\"x\",\"y\"]}").find("last message"),
            std::string::npos);
  EXPECT_NE(bad("{\"source\":\"q\",\"responses\":[\"\xff\xfe\",\"y\"]}").find("UTF-8"), std::string::npos);
  auto ok = ParseResponses("{\"source\":\"Hi\",\"responses\":[\"x\",\"y\"]}\n\n", "m.manifest");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].source_id, "line1");
  EXPECT_EQ((*ok)[0].messages, nlohmann::json::parse(R"([{"role":"user","content":"Hi"}])"));
}

TEST_F(TasksTest, InvitationsWorkOnceAndExpire) {
  Accounts accounts(*db_);
  auto inv = accounts.Invite("new@x.org", "team", 60);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(accounts.AcceptInvitation(inv->second, "New", "short").status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(accounts.PeekInvitation(inv->second).ok());  // a failed accept uses nothing
  ASSERT_TRUE(accounts.AcceptInvitation(inv->second, "New", "long enough password").ok());
  EXPECT_EQ(accounts.AcceptInvitation(inv->second, "New", "long enough password").status().code(), Status::Code::kGone);
  EXPECT_EQ(accounts.Invite("new@x.org", "", 60).status().code(), Status::Code::kConflict);
  auto later = accounts.Invite("late@x.org", "", 60);
  now_ += 61;
  EXPECT_EQ(accounts.PeekInvitation(later->second).status().code(), Status::Code::kGone);
  EXPECT_EQ(accounts.AcceptInvitation(later->second, "Late", "long enough password").status().code(), Status::Code::kGone);
  EXPECT_EQ(accounts.PeekInvitation("nonsense").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(accounts.Invite("not-an-email", "", 60).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE role = 'annotator'"), 1);
  EXPECT_TRUE(accounts.Login("NEW@x.org", "long enough password").ok());  // emails ignore case
  EXPECT_EQ(accounts.Login("new@x.org", "wrong password!").status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(accounts.Login("nobody@x.org", "long enough password").status().code(), Status::Code::kUnauthenticated);
  // Stored: an argon2id hash, and no token in clear.
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM invitations WHERE length(token_hash) = 32"), 2);
}

}  // namespace
}  // namespace tenet::label::testing
