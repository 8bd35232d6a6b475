// Results of blind pairwise human evaluation (`tenet label results`): wins, ties and losses per
// system, the win rate of the second system with ties as half and a Wilson 95% interval, a
// two-sided sign test over the decisive votes, per-question majorities with every vote,
// per-annotator counts and agreement with the majority, position bias (how often the answer shown
// as A wins), and, over several jobs with more than two systems, Bradley-Terry scores with
// bootstrap intervals (eval/statistics.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet::eval {

struct PairwiseVote {
  std::string question, annotator;
  std::string shown_a, shown_b;  // systems in the order the annotator saw them
  std::string winner;            // a system, or "" for a tie
  bool both_bad = false;
};

// One job's results: `systems` = its two systems (the win rate is the second's against the first:
// the "after" of a comparison). InvalidArgument for a vote naming another system.
Result<nlohmann::json> SummarizePairwise(const std::vector<std::string>& systems, const std::vector<PairwiseVote>& votes);

// Bradley-Terry scores over the votes of several jobs (any systems), with `rounds` bootstrap
// resamples from `seed`: [{"system", "score", "low", "high"}] best first.
Result<nlohmann::json> PairwiseScores(const std::vector<PairwiseVote>& votes, int rounds = 1000, uint64_t seed = 0);

}  // namespace tenet::eval
