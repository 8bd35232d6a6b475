// kill -9 of `tenet label serve` while 20 annotators submit: after a restart every acknowledged
// submission is in the database, none is there twice, no item has more than it asked for, and a
// task whose answer was lost in the crash can be submitted again safely (idempotent).
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "label_fixture.h"

namespace tenet::label::testing {
namespace {

using nlohmann::json;
using tenet::testing::RunCommand;
using tenet::testing::ShellQuote;

// Starts the server in the background; returns its pid and port (0 on failure).
std::pair<pid_t, int> StartServer(const std::string& db, const std::string& log) {
  const auto r = RunCommand(ShellQuote(tenet::testing::TenetBin()) + " label serve --db " + ShellQuote(db) +
                            " --port 0 > " + ShellQuote(log) + " 2>&1 & echo $!");
  const pid_t pid = std::atoi(r.out.c_str());
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      const std::string key = "listening on http://127.0.0.1:";
      if (line.rfind(key, 0) == 0) return {pid, std::atoi(line.c_str() + key.size())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {pid, 0};
}

struct Client {
  std::string cookie, csrf;
  httplib::Headers Headers() const { return {{"Cookie", "tenet_session=" + cookie}, {"X-CSRF-Token", csrf}}; }
};

using DurabilityTest = LabelStoreTest;

TEST_F(DurabilityTest, EveryAcknowledgedSubmissionSurvivesKill9) {
  constexpr int kClients = 20;
  now_ = static_cast<int64_t>(std::time(nullptr));  // the server process runs on the real clock
  JobSummary job = MakeJob("durable", 3000, 4, 3);
  std::vector<Client> clients(kClients);
  {
    Accounts accounts(*db_);
    for (int i = 0; i < kClients; ++i) {
      auto inv = accounts.Invite("d" + std::to_string(i) + "@x.org", "", 3600);
      auto s = accounts.AcceptInvitation(inv->second, "D", "a long password");
      ASSERT_TRUE(s.ok());
      clients[i] = {s->token, s->session.csrf_token};
    }
  }
  db_.reset();  // the server process owns the file now; the test reopens it after the crash
  const std::string db_path = dir_ + "/labels.db";
  auto [pid, port] = StartServer(db_path, dir_ + "/serve1.log");
  ASSERT_GT(port, 0) << "server did not start";

  std::mutex mu;
  std::map<int64_t, int64_t> acked;  // task id -> submission id
  std::vector<int64_t> in_flight(kClients, 0);
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client http("127.0.0.1", port);
      http.set_read_timeout(5, 0);
      while (!stop) {
        auto next = http.Post("/api/jobs/" + std::to_string(job.id) + "/next", clients[c].Headers(), "{}", "application/json");
        if (!next || next->status != 200) return;
        const json task = json::parse(next->body)["task"];
        if (task.is_null()) return;
        const int64_t id = task["id"];
        in_flight[c] = id;
        std::vector<int> ranks(task["answers"].size());
        for (size_t p = 0; p < ranks.size(); ++p) ranks[task["answers"][p]["index"].get<int>()] = static_cast<int>(p) + 1;
        auto sub = http.Post("/api/tasks/" + std::to_string(id) + "/submit", clients[c].Headers(),
                             json({{"ranks", {ranks}}}).dump(), "application/json");
        if (!sub || sub->status != 200) return;
        const json body = json::parse(sub->body);
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_FALSE(body["duplicate"].get<bool>());
        acked[id] = body["submission_id"];
        in_flight[c] = 0;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GT(acked.size(), 50u) << "too few submissions before the crash to mean anything";

  // Restart: the server comes back on the same file and the lost answers can be resent.
  auto [pid2, port2] = StartServer(db_path, dir_ + "/serve2.log");
  ASSERT_GT(port2, 0);
  httplib::Client http("127.0.0.1", port2);
  int resent = 0;
  for (int c = 0; c < kClients; ++c) {
    if (in_flight[c] == 0) continue;
    auto task = http.Post("/api/jobs/" + std::to_string(job.id) + "/next", clients[c].Headers(), "{}", "application/json");
    ASSERT_TRUE(task && task->status == 200);
    const json t = json::parse(task->body)["task"];
    std::vector<int> ranks(t["answers"].size());
    for (size_t p = 0; p < ranks.size(); ++p) ranks[p] = static_cast<int>(p) + 1;
    auto sub = http.Post("/api/tasks/" + std::to_string(in_flight[c]) + "/submit", clients[c].Headers(),
                         json({{"ranks", {ranks}}}).dump(), "application/json");
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->status, 200) << sub->body;  // first submission, or the committed one echoed back
    ++resent;
  }
  kill(pid2, SIGTERM);

  auto db = LabelDb::Open(db_path);
  ASSERT_TRUE(db.ok());
  db_ = std::move(db).value();
  for (const auto& [task, submission] : acked) {
    EXPECT_EQ(Count("SELECT count(*) FROM submissions WHERE id = " + std::to_string(submission) +
                    " AND task_id = " + std::to_string(task)),
              1)
        << "acknowledged submission " << submission << " is missing";
  }
  EXPECT_GE(Count("SELECT count(*) FROM submissions"), static_cast<int64_t>(acked.size()));
  EXPECT_LE(Count("SELECT count(*) FROM submissions"), static_cast<int64_t>(acked.size()) + kClients);
  EXPECT_EQ(Count("SELECT count(*) FROM (SELECT 1 FROM submissions GROUP BY item_id, annotator_id HAVING count(*) > 1)"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM items WHERE n_submitted > 3"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM items i WHERE n_submitted != (SELECT count(*) FROM submissions s WHERE s.item_id = i.id)"), 0);
  auto ok = db_->Read([](Sql& d) -> Result<std::string> { return d.raw().execAndGet("PRAGMA integrity_check").getString(); });
  EXPECT_EQ(*ok, "ok");
  std::cerr << "acknowledged before kill -9: " << acked.size() << ", resent after restart: " << resent << "\n";
  waitpid(pid2, nullptr, 0);
}

}  // namespace
}  // namespace tenet::label::testing
