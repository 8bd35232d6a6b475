// Loading a job's annotations. See tenet/label/annotations.h.
#include "tenet/label/annotations.h"

#include <map>

namespace tenet::label {

using nlohmann::json;

std::vector<Ranking> ItemAnnotations::RankingsOf(size_t d) const {
  std::vector<Ranking> out;
  for (const Annotation& a : submissions) {
    if (d < a.ranks.size()) out.push_back(a.ranks[d]);
  }
  return out;
}

Result<JobAnnotations> LoadJobAnnotations(LabelDb& db, int64_t job_id) {
  return db.Read([&](Sql& sql) -> Result<JobAnnotations> {
    JobAnnotations out;
    TENET_ASSIGN_OR_RETURN(out.job, LoadJob(sql, job_id, db.Now()));
    std::map<int64_t, size_t> index;
    SQLite::Statement& items = sql.Prepare("SELECT id, source_id, messages, responses, source_line FROM items WHERE job_id = ? ORDER BY position");
    items.bind(1, job_id);
    while (items.executeStep()) {
      ItemAnnotations it;
      it.item_id = items.getColumn(0).getInt64();
      it.source_id = items.getColumn(1).getString();
      it.messages = json::parse(items.getColumn(2).getString());
      it.responses = json::parse(items.getColumn(3).getString()).get<std::vector<std::string>>();
      it.source_line = items.getColumn(4).getString();
      index[it.item_id] = out.items.size();
      out.items.push_back(std::move(it));
    }
    SQLite::Statement& q = sql.Prepare("SELECT t.item_id, t.id, t.annotator_id, u.email, t.answer_order, t.leased_at, t.state, "
                             "COALESCE(t.skip_reason, ''), COALESCE(t.ended_at, 0), s.id, s.ranks, s.comment, s.time_spent_ms, s.submitted_at, u.name "
                             "FROM tasks t JOIN users u ON u.id = t.annotator_id LEFT JOIN submissions s ON s.task_id = t.id "
                             "WHERE t.job_id = ? AND t.state IN ('submitted', 'skipped') ORDER BY COALESCE(s.id, 0), t.id");
    q.bind(1, job_id);
    while (q.executeStep()) {
      Annotation a;
      const int64_t item_id = q.getColumn(0).getInt64();
      a.task_id = q.getColumn(1).getInt64();
      a.annotator_id = q.getColumn(2).getInt64();
      a.annotator_email = q.getColumn(3).getString();
      a.annotator_name = q.getColumn(14).getString();
      a.answer_order = json::parse(q.getColumn(4).getString()).get<std::vector<int>>();
      a.leased_at = q.getColumn(5).getInt64();
      const std::string state = q.getColumn(6).getString();
      a.skip_reason = q.getColumn(7).getString();
      a.ended_at = q.getColumn(8).getInt64();
      ItemAnnotations& it = out.items[index.at(item_id)];
      if (state == "submitted") {
        a.submission_id = q.getColumn(9).getInt64();
        a.ranks = json::parse(q.getColumn(10).getString()).get<std::vector<Ranking>>();
        a.comment = q.getColumn(11).getString();
        a.time_spent_ms = q.getColumn(12).getInt64();
        a.ended_at = q.getColumn(13).getInt64();
        it.submissions.push_back(std::move(a));
      } else {
        it.skips.push_back(std::move(a));
      }
    }
    return out;
  });
}

}  // namespace tenet::label
