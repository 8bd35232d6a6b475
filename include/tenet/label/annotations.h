// Reading a job's annotations back: every item with its submissions (and skips), the input the
// status page, the agreement figures and every export start from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/label/agreement.h"
#include "tenet/label/db.h"
#include "tenet/label/jobs.h"

namespace tenet::label {

struct Annotation {
  int64_t submission_id = 0;  // 0 for a skip
  int64_t task_id = 0;
  int64_t annotator_id = 0;
  std::string annotator_email;
  std::string annotator_name;
  std::vector<Ranking> ranks;  // per dimension; empty for a skip
  std::vector<int> answer_order;
  std::string comment;
  std::string skip_reason;
  int64_t leased_at = 0;
  int64_t ended_at = 0;
  int64_t time_spent_ms = 0;
};

struct ItemAnnotations {
  int64_t item_id = 0;
  std::string source_id;
  nlohmann::json messages;
  std::vector<std::string> responses;
  std::string source_line;
  std::vector<Annotation> submissions;  // in submission order
  std::vector<Annotation> skips;
  // The rankings of dimension `d`, one per submission.
  std::vector<Ranking> RankingsOf(size_t d) const;
};

struct JobAnnotations {
  JobSummary job;
  std::vector<ItemAnnotations> items;  // in file order
};

Result<JobAnnotations> LoadJobAnnotations(LabelDb& db, int64_t job_id);

}  // namespace tenet::label
