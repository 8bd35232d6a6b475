// The votes of a blind pairwise job, unblinded: which system each annotator preferred, and which
// system they saw as "A" (for position bias). eval/pairwise.h turns them into win rates and
// scores.
//
// Thread-safety: as LabelDb (reads only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/eval/pairwise.h"
#include "tenet/label/db.h"

namespace tenet::label {

struct PairwiseVoteRow {
  std::string question;   // the item's source id
  std::string annotator;  // email
  std::string shown_a, shown_b;  // the systems in the order the annotator saw them
  std::string winner;     // a system, or "" for a tie
  bool both_bad = false;
  std::string comment;
};

struct PairwiseJobVotes {
  std::string job;
  std::vector<std::string> systems;  // the two systems, as in the job's source
  std::vector<PairwiseVoteRow> votes;  // by item, then submission
};

// InvalidArgument "not_pairwise" for a ranking job; NotFound "job_unknown".
Result<PairwiseJobVotes> LoadPairwiseVotes(LabelDb& db, const std::string& job_name);

// The votes in eval's terms (eval/pairwise.h).
std::vector<eval::PairwiseVote> ToEvalVotes(const PairwiseJobVotes& votes);
// A pairwise job's results (eval::SummarizePairwise) with "job": what `tenet label results` prints
// and the admin page shows. Errors as LoadPairwiseVotes.
Result<nlohmann::json> PairwiseResults(LabelDb& db, const std::string& job_name);

}  // namespace tenet::label
