// Shared set-up for the labeling tests: a fresh store with a controllable clock, annotators made
// through real invitations, and jobs from generated responses files.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "tenet/label/accounts.h"
#include "tenet/label/db.h"
#include "tenet/label/jobs.h"
#include "tenet/label/tasks.h"
#include "test_util.h"

namespace tenet::label::testing {

// `n` questions with `answers` answers each, as `tenet generate` writes them.
inline std::string ResponsesJsonl(int n, int answers, const std::string& prefix = "q") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    nlohmann::json line = {{"id", prefix + std::to_string(i)},
                           {"messages", {{{"role", "system"}, {"content", "Be the bank."}},
                                         {{"role", "user"}, {"content", "Question " + std::to_string(i)}}}}};
    for (int k = 0; k < answers; ++k) line["responses"].push_back("answer " + std::to_string(i) + "." + std::to_string(k));
    out += line.dump() + "\n";
  }
  return out;
}

class LabelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tenet::testing::ScratchDir();
    auto db = LabelDb::Open(dir_ + "/labels.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    db_->SetClock([this] { return now_.load(); });
  }

  // An annotator who accepted a real invitation (optionally into `team`).
  User Annotator(const std::string& email, const std::string& team = "") {
    Accounts accounts(*db_);
    auto inv = accounts.Invite(email, team, 3600);
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    auto s = accounts.AcceptInvitation(inv->second, "Name of " + email, "correct horse battery");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    session_tokens_[email] = s->token;
    return s->session.user;
  }

  JobSummary MakeJob(const std::string& name, int items, int answers, int per_item, JobSpec spec = {}) {
    spec.name = name;
    spec.instructions_md = "# Rank";
    spec.annotators_per_item = per_item;
    auto parsed = ParseResponses(ResponsesJsonl(items, answers, name + "-q"), "test.jsonl");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto j = Jobs(*db_).Create(spec, *parsed);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return *j;
  }

  int64_t Count(const std::string& sql) {
    auto r = db_->Read([&](Sql& db) -> Result<int64_t> {
      SQLite::Statement& q = db.Prepare(sql);
      q.executeStep();
      return q.getColumn(0).getInt64();
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }

  std::string dir_;
  std::unique_ptr<LabelDb> db_;
  std::atomic<int64_t> now_{1'700'000'000};
  std::map<std::string, std::string> session_tokens_;
};

// The identity ranking 1..n (answer i gets rank i+1).
inline std::vector<std::vector<int>> Ranks(std::vector<int> r) { return {std::move(r)}; }

}  // namespace tenet::label::testing
