// Ranking jobs: a responses file (one question with N answers per line) turned into items, with
// the instructions and rules annotators work under. Jobs are visible to the teams assigned to
// them (every annotator when none is).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/label/accounts.h"
#include "tenet/label/db.h"

namespace tenet::label {

// One line of a responses file: `tenet generate` output ({"id", "messages", "responses"}) or a
// Ground Truth-style manifest line ({"source", "responses"} with an optional "id").
struct ResponseItem {
  std::string source_id;    // "id", or "line<N>"
  nlohmann::json messages;  // system + user messages (a manifest's source becomes one user message)
  std::vector<std::string> responses;
  std::string line;  // the input line as given (the manifest export repeats it)
  // Pairwise jobs: the system that wrote each response (responses.size() == 2). Kept in the store,
  // never sent to annotators.
  std::vector<std::string> systems;
};
constexpr size_t kMaxAnswers = 26;  // shown as A..Z
// InvalidArgument naming `where`:line for malformed JSON, missing or wrong keys, fewer than
// `min_answers` (2 to rank; 1 for one side of a pairwise job) or more than 26 answers, empty
// answers, duplicate ids, or an empty file.
Result<std::vector<ResponseItem>> ParseResponses(std::string_view text, const std::string& where, size_t min_answers = 2);

// Blind pairwise items from a `tenet compare` comparison.jsonl with exactly two systems: one item
// per question and sample index (source id "<id>" for one sample, "<id>#<k>" for several).
// InvalidArgument naming `where`:line for malformed lines, a number of systems other than two,
// sides with different sample counts, empty answers, duplicate ids, or no questions.
Result<std::vector<ResponseItem>> ParseComparisonPairs(std::string_view text, const std::string& where);
// Blind pairwise items from two responses files (ParseResponses' formats) with the same question
// ids: response k of `a` against response k of `b`, for k below the smaller count. InvalidArgument
// when the id sets differ (naming an id found on one side only).
Result<std::vector<ResponseItem>> PairResponses(const std::vector<ResponseItem>& a, const std::string& system_a,
                                                const std::vector<ResponseItem>& b, const std::string& system_b);

struct JobSpec {
  std::string kind = "rank";  // rank | pairwise (two answers, "which is better?", ties allowed, always shuffled)
  bool offer_both_bad = false;  // pairwise: annotators may answer "both bad" (a tie, flagged)
  std::string name;
  std::string instructions_md;
  std::vector<std::string> dimensions = {"Alignment with our values"};
  bool allow_ties = false;
  int annotators_per_item = 3;      // 1-9
  int64_t task_time_limit_s = 1800;  // a lease's length
  int64_t lifetime_s = 0;            // 0 = the job never ends
  bool shuffle = true;               // answers in a random order per annotator (recorded)
  std::vector<std::string> teams;    // empty = every annotator
  std::string source_file;           // for the record
};
// InvalidArgument "bad_job" for a spec outside these ranges.
Status ValidateJobSpec(const JobSpec& spec);

// The question a pairwise job asks when none is given.
inline constexpr char kPairwiseQuestion[] = "Which answer is better?";
// Makes `spec` a pairwise job: kind "pairwise", ties allowed (a tie is a verdict), the answers
// always in a random order per annotator, and kPairwiseQuestion unless a question was given
// (`dimensions` other than the ranking default).
void MakePairwise(JobSpec& spec, bool offer_both_bad);

struct JobSummary {
  int64_t id = 0;
  std::string kind = "rank";
  bool offer_both_bad = false;
  std::string name;
  std::string state;  // active | paused | ended
  std::string instructions_md;
  std::vector<std::string> dimensions;
  bool allow_ties = false;
  int annotators_per_item = 0;
  int64_t task_time_limit_s = 0;
  int64_t expires_at = 0;  // 0 = never
  bool shuffle = true;
  std::vector<std::string> teams;
  int64_t created_at = 0;
  int64_t items = 0;
  int64_t submissions = 0;
  int64_t complete_items = 0;
};
nlohmann::json ToJson(const JobSummary& j);  // without the instructions (they can be long)

// "90s", "30m", "2h", "7d" or plain seconds. InvalidArgument otherwise or when not positive.
Result<int64_t> ParseDuration(const std::string& text);

class Jobs {
 public:
  explicit Jobs(LabelDb& db) : db_(db) {}
  // Conflict "job_exists" for a taken name. Teams that do not exist yet are created (as
  // `label invite --team` does), so a job can be set up before its annotators are invited.
  Result<JobSummary> Create(const JobSpec& spec, const std::vector<ResponseItem>& items);
  Result<std::vector<JobSummary>> List();
  Result<JobSummary> Get(int64_t id);                   // NotFound "job_unknown"
  Result<JobSummary> GetByName(const std::string& name);  // NotFound "job_unknown"
  Result<JobSummary> SetPaused(int64_t id, bool paused);

 private:
  LabelDb& db_;
};

// Inside a store callback: the job's summary; NotFound "job_unknown". Without `with_counts` the
// progress fields (items, submissions, complete_items) stay 0: counting scans the job's items,
// which the per-task hot path does not need.
Result<JobSummary> LoadJob(Sql& db, int64_t id, int64_t now, bool with_counts = true);
// PermissionDenied "forbidden" unless `user` is the admin or in one of the job's teams (or the
// job has no teams).
Status CheckJobAccess(Sql& db, const JobSummary& job, const User& user);

}  // namespace tenet::label
