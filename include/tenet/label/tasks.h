// The annotator's work loop: next task (a lease on one item), submit, release, skip.
//
// Rules, all enforced inside one store transaction per call:
// - an annotator gets an item they have not submitted, skipped or currently hold; items they
//   released or let expire come back only after every untouched one;
// - an item is leased only while submissions + unexpired leases < annotators_per_item, so no
//   item ever gets more submissions than asked, whatever the number of racing annotators;
// - a lease lasts the job's task time limit; expired leases return to the pool (lazily, on the
//   next call that looks at the pool);
// - a submission is committed (fsynced) before Submit returns; submitting the same task again
//   returns the first submission and changes nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/label/accounts.h"
#include "tenet/label/db.h"
#include "tenet/label/jobs.h"

namespace tenet::label {

struct Task {
  int64_t id = 0;  // 0 for an admin's preview
  JobSummary job;
  int64_t item_id = 0;
  nlohmann::json messages;
  std::vector<int> order;  // display order: indices into `responses`
  std::vector<std::string> responses;
  int64_t started_at = 0;
  int64_t lease_expires_at = 0;
};
nlohmann::json ToJson(const Task& t);

struct Submission {
  std::vector<std::vector<int>> ranks;  // [dimension][answer index] = rank, 1 = best (ranking jobs)
  std::string comment;
  int64_t time_spent_ms = -1;  // as measured by the client; -1 = not given (server time is used)
};
struct SubmitResult {
  int64_t submission_id = 0;
  bool duplicate = false;
};

// InvalidArgument "bad_ranking" unless `ranks` has one list per dimension, one rank per answer,
// and each list is a permutation of 1..n (or, with ties, competition ranks: 1, 1, 3).
Status ValidateRanks(const std::vector<std::vector<int>>& ranks, size_t dimensions, size_t answers, bool allow_ties);

class Tasks {
 public:
  explicit Tasks(LabelDb& db) : db_(db) {}

  // The caller's unexpired task in this job if they hold one, else a new lease, else nullopt.
  // PermissionDenied "forbidden", Conflict "job_paused", Gone "job_ended", NotFound "job_unknown".
  Result<std::optional<Task>> Next(const User& user, int64_t job_id);
  // Conflict "not_your_task", Gone "lease_expired" / "task_closed", InvalidArgument "bad_ranking".
  Result<SubmitResult> Submit(const User& user, int64_t task_id, const Submission& s);
  // A pairwise task's verdict: "A", "B" (the answer shown first / second is better), "tie" or
  // "both_bad" (a tie, flagged; only where the job offers it), stored as ranks of the answers; `s`
  // gives the comment and time (its ranks must be empty). InvalidArgument "bad_verdict" otherwise,
  // and for a ranking task; the rest as Submit.
  Result<SubmitResult> SubmitVerdict(const User& user, int64_t task_id, const std::string& verdict, const Submission& s);
  Status Release(const User& user, int64_t task_id);
  Status Skip(const User& user, int64_t task_id, const std::string& reason);
  // What annotators see for the job's first item (answers in file order, no lease).
  Result<Task> Preview(int64_t job_id);

  struct QueueEntry {
    JobSummary job;
    int64_t remaining = 0;   // items this annotator can still get
    int64_t done_by_me = 0;  // their submissions
  };
  // Active jobs of the user's teams that still have work for them.
  Result<std::vector<QueueEntry>> Queue(const User& user);

 private:
  Result<SubmitResult> SubmitImpl(const User& user, int64_t task_id, const Submission& s, const std::string* verdict);
  LabelDb& db_;
};

// Inside a store callback: returns every unexpired lease of `annotator_id` to the pool.
void ReleaseLeasesOf(Sql& db, int64_t annotator_id, int64_t now);

}  // namespace tenet::label
