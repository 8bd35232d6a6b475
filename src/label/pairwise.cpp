// Pairwise votes, unblinded. See tenet/label/pairwise.h.
#include "tenet/label/pairwise.h"

#include <nlohmann/json.hpp>

#include "tenet/label/jobs.h"

namespace tenet::label {

using nlohmann::json;

std::vector<eval::PairwiseVote> ToEvalVotes(const PairwiseJobVotes& votes) {
  std::vector<eval::PairwiseVote> out;
  for (const auto& r : votes.votes) out.push_back({r.question, r.annotator, r.shown_a, r.shown_b, r.winner, r.both_bad});
  return out;
}

Result<json> PairwiseResults(LabelDb& db, const std::string& job_name) {
  TENET_ASSIGN_OR_RETURN(PairwiseJobVotes votes, LoadPairwiseVotes(db, job_name));
  if (votes.systems.size() != 2) return Status::Corruption("label store", "pairwise job '" + job_name + "' without its two systems");
  TENET_ASSIGN_OR_RETURN(json r, eval::SummarizePairwise(votes.systems, ToEvalVotes(votes)));
  r["job"] = job_name;
  return r;
}

Result<PairwiseJobVotes> LoadPairwiseVotes(LabelDb& db, const std::string& job_name) {
  TENET_ASSIGN_OR_RETURN(JobSummary job, Jobs(db).GetByName(job_name));
  if (job.kind != "pairwise") {
    return Status::InvalidArgument(Reason("not_pairwise"), "job '" + job_name + "' ranks answers; it is not a pairwise job");
  }
  return db.Read([&](Sql& sql) -> Result<PairwiseJobVotes> {
    PairwiseJobVotes out;
    out.job = job.name;
    SQLite::Statement& q = sql.Prepare(
        "SELECT i.source_id, i.systems, u.email, t.answer_order, s.ranks, s.both_bad, s.comment "
        "FROM submissions s JOIN items i ON i.id = s.item_id JOIN tasks t ON t.id = s.task_id JOIN users u ON u.id = s.annotator_id "
        "WHERE s.job_id = ? ORDER BY i.position, s.id");
    q.bind(1, job.id);
    while (q.executeStep()) {
      const json systems = json::parse(q.getColumn(1).getString(), nullptr, false);
      const json order = json::parse(q.getColumn(3).getString(), nullptr, false);
      const json ranks = json::parse(q.getColumn(4).getString(), nullptr, false);
      if (!systems.is_array() || systems.size() != 2 || !order.is_array() || order.size() != 2 || !ranks.is_array() ||
          ranks.size() != 1 || !ranks[0].is_array() || ranks[0].size() != 2) {
        return Status::Corruption("label store", "a pairwise submission of job '" + job.name + "' is malformed");
      }
      PairwiseVoteRow v;
      v.question = q.getColumn(0).getString();
      v.annotator = q.getColumn(2).getString();
      v.shown_a = systems[order[0].get<size_t>()].get<std::string>();
      v.shown_b = systems[order[1].get<size_t>()].get<std::string>();
      const int r0 = ranks[0][0].get<int>(), r1 = ranks[0][1].get<int>();
      if (r0 < r1) v.winner = systems[0].get<std::string>();
      if (r1 < r0) v.winner = systems[1].get<std::string>();
      v.both_bad = q.getColumn(5).getInt() != 0;
      v.comment = q.getColumn(6).getString();
      if (out.systems.empty()) out.systems = systems.get<std::vector<std::string>>();
      out.votes.push_back(std::move(v));
    }
    if (out.systems.empty()) {
      SQLite::Statement& s = sql.Prepare("SELECT systems FROM items WHERE job_id = ? LIMIT 1");
      s.bind(1, job.id);
      if (s.executeStep()) {
        const json systems = json::parse(s.getColumn(0).getString(), nullptr, false);
        if (systems.is_array()) out.systems = systems.get<std::vector<std::string>>();
      }
    }
    return out;
  });
}

}  // namespace tenet::label
