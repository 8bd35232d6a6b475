// Pairwise evaluation results. See tenet/eval/pairwise.h.
#include "tenet/eval/pairwise.h"

#include <algorithm>
#include <map>

#include "tenet/eval/statistics.h"

namespace tenet::eval {

namespace {
using json = nlohmann::json;

// The majority winner among votes ("" = tie): the system with more wins; ties abstain.
std::string MajorityOf(const std::vector<const PairwiseVote*>& votes, const std::vector<std::string>& systems) {
  int64_t first = 0, second = 0;
  for (const PairwiseVote* v : votes) {
    if (v->winner == systems[0]) ++first;
    if (v->winner == systems[1]) ++second;
  }
  return first > second ? systems[0] : second > first ? systems[1] : "";
}

json ProportionJson(const Proportion& p) { return {{"estimate", p.estimate}, {"low", p.low}, {"high", p.high}}; }
}  // namespace

Result<json> SummarizePairwise(const std::vector<std::string>& systems, const std::vector<PairwiseVote>& votes) {
  if (systems.size() != 2 || systems[0] == systems[1]) return Status::InvalidArgument("systems", "a pairwise job compares two systems");
  int64_t wins = 0, losses = 0, ties = 0, both_bad = 0, a_wins = 0, decisive = 0;
  std::map<std::string, std::vector<const PairwiseVote*>> by_question;
  std::vector<std::string> question_order;
  for (const PairwiseVote& v : votes) {
    for (const std::string* s : {&v.shown_a, &v.shown_b}) {
      if (*s != systems[0] && *s != systems[1]) return Status::InvalidArgument("votes", "a vote shows system '" + *s + "'");
    }
    if (!v.winner.empty() && v.winner != systems[0] && v.winner != systems[1]) {
      return Status::InvalidArgument("votes", "a vote prefers system '" + v.winner + "'");
    }
    if (v.winner == systems[1]) ++wins;
    else if (v.winner == systems[0]) ++losses;
    else ++ties;
    both_bad += v.both_bad;
    if (!v.winner.empty()) {
      ++decisive;
      a_wins += v.winner == v.shown_a;
    }
    if (!by_question.count(v.question)) question_order.push_back(v.question);
    by_question[v.question].push_back(&v);
  }
  json out = {{"systems", systems}, {"votes", votes.size()}};
  out["wins"] = {{systems[1], wins}, {systems[0], losses}};
  out["ties"] = ties;
  out["both_bad"] = both_bad;
  out["win_rate"] = ProportionJson(WinRate(static_cast<double>(wins), static_cast<double>(ties), static_cast<double>(losses)));
  out["win_rate"]["system"] = systems[1];
  out["p_value"] = SignTestP(wins, losses);
  out["position_bias"] = {{"a_wins", a_wins}, {"decisive", decisive},
                          {"a_win_rate", decisive ? static_cast<double>(a_wins) / static_cast<double>(decisive) : 0.5}};
  // Per question: the majority and every vote; per annotator: agreement with the majority of
  // questions with two or more votes.
  json questions = json::array();
  std::map<std::string, std::pair<int64_t, int64_t>> agree;  // annotator -> (agreeing, comparable)
  std::map<std::string, int64_t> counts;
  int64_t majority_wins = 0, majority_losses = 0, majority_ties = 0;
  for (const std::string& q : question_order) {
    const auto& vs = by_question[q];
    const std::string majority = MajorityOf(vs, systems);
    (majority == systems[1] ? majority_wins : majority == systems[0] ? majority_losses : majority_ties) += 1;
    json list = json::array();
    for (const PairwiseVote* v : vs) {
      list.push_back({{"annotator", v->annotator}, {"winner", v->winner.empty() ? json(nullptr) : json(v->winner)},
                      {"shown_a", v->shown_a}, {"both_bad", v->both_bad}});
      ++counts[v->annotator];
      if (vs.size() >= 2) {
        auto& [ok, n] = agree[v->annotator];
        ++n;
        ok += v->winner == majority;
      }
    }
    questions.push_back({{"question", q}, {"majority", majority.empty() ? json(nullptr) : json(majority)}, {"votes", list}});
  }
  out["questions"] = questions;
  out["by_question"] = {{systems[1], majority_wins}, {systems[0], majority_losses}, {"tie", majority_ties}};
  json annotators = json::array();
  for (const auto& [who, n] : counts) {
    json a = {{"annotator", who}, {"votes", n}};
    auto it = agree.find(who);
    a["agreement_with_majority"] = it == agree.end() || it->second.second == 0
                                       ? json(nullptr)
                                       : json(static_cast<double>(it->second.first) / static_cast<double>(it->second.second));
    annotators.push_back(a);
  }
  out["annotators"] = annotators;
  return out;
}

Result<json> PairwiseScores(const std::vector<PairwiseVote>& votes, int rounds, uint64_t seed) {
  std::vector<std::string> systems;
  auto index = [&](const std::string& s) {
    auto it = std::find(systems.begin(), systems.end(), s);
    if (it != systems.end()) return static_cast<int>(it - systems.begin());
    systems.push_back(s);
    return static_cast<int>(systems.size() - 1);
  };
  std::vector<PairVote> pv;
  for (const PairwiseVote& v : votes) {
    PairVote p{index(v.shown_a), index(v.shown_b), 0.5};
    if (v.winner == v.shown_a) p.a_score = 1;
    else if (v.winner == v.shown_b) p.a_score = 0;
    else if (!v.winner.empty()) return Status::InvalidArgument("votes", "a vote prefers system '" + v.winner + "', which it did not show");
    pv.push_back(p);
  }
  TENET_ASSIGN_OR_RETURN(std::vector<BtScore> scores, BradleyTerry(systems, pv, rounds, seed));
  std::sort(scores.begin(), scores.end(), [](const BtScore& a, const BtScore& b) { return a.score > b.score; });
  json out = json::array();
  for (const BtScore& s : scores) out.push_back({{"system", s.system}, {"score", s.score}, {"low", s.low}, {"high", s.high}});
  return out;
}

}  // namespace tenet::eval
