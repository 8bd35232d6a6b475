// Job status and agreement figures. See tenet/label/report.h.
#include "tenet/label/report.h"

#include <algorithm>
#include <map>

namespace tenet::label {

using nlohmann::json;

namespace {

json OrNull(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

std::optional<double> Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

}  // namespace

json JobStatusJson(const JobAnnotations& a) {
  json out = ToJson(a.job);
  const size_t dims = a.job.dimensions.size();
  struct Person {
    std::string email, name;
    int64_t submissions = 0, skips = 0;
    std::vector<int64_t> times;
    std::vector<double> agreement;  // with each other annotator on each shared item
  };
  std::map<int64_t, Person> people;
  std::vector<double> item_w, item_pairwise;
  json items = json::array();
  for (const ItemAnnotations& it : a.items) {
    for (const Annotation& s : it.submissions) {
      Person& p = people[s.annotator_id];
      p.email = s.annotator_email;
      p.name = s.annotator_name;
      ++p.submissions;
      p.times.push_back(s.time_spent_ms);
    }
    for (const Annotation& s : it.skips) {
      Person& p = people[s.annotator_id];
      p.email = s.annotator_email;
      p.name = s.annotator_name;
      ++p.skips;
    }
    std::vector<double> ws, pairs;
    json consolidated = json::array();
    for (size_t d = 0; d < dims; ++d) {
      const std::vector<Ranking> r = it.RankingsOf(d);
      if (auto w = KendallW(r)) ws.push_back(*w);
      if (auto p = PairwiseAgreement(r)) pairs.push_back(*p);
      consolidated.push_back(r.empty() ? json(nullptr) : json(BordaConsolidate(r).ranks));
      for (size_t i = 0; i < it.submissions.size(); ++i) {
        for (size_t k = 0; k < it.submissions.size(); ++k) {
          if (i == k) continue;
          if (auto v = PairAgreement(it.submissions[i].ranks[d], it.submissions[k].ranks[d])) {
            people[it.submissions[i].annotator_id].agreement.push_back(*v);
          }
        }
      }
    }
    const auto w = Mean(ws), p = Mean(pairs);
    if (w) item_w.push_back(*w);
    if (p) item_pairwise.push_back(*p);
    items.push_back({{"id", it.item_id},
                     {"source_id", it.source_id},
                     {"submissions", it.submissions.size()},
                     {"skips", it.skips.size()},
                     {"kendall_w", OrNull(w)},
                     {"pairwise_agreement", OrNull(p)},
                     {"consolidated", consolidated}});
  }
  // Contested first: lowest agreement, then items without a figure, in file order otherwise.
  std::stable_sort(items.begin(), items.end(), [](const json& x, const json& y) {
    const bool xn = x["kendall_w"].is_null(), yn = y["kendall_w"].is_null();
    if (xn != yn) return !xn;
    if (xn) return false;
    return x["kendall_w"].get<double>() < y["kendall_w"].get<double>();
  });
  json annotators = json::array();
  for (auto& [id, p] : people) {
    std::sort(p.times.begin(), p.times.end());
    annotators.push_back({{"id", id},
                          {"email", p.email},
                          {"name", p.name},
                          {"submissions", p.submissions},
                          {"skips", p.skips},
                          {"median_time_ms", p.times.empty() ? json(nullptr) : json(p.times[p.times.size() / 2])},
                          {"agreement_with_others", OrNull(Mean(p.agreement))}});
  }
  out["annotators"] = annotators;
  out["agreement"] = {{"kendall_w_mean", OrNull(Mean(item_w))},
                      {"pairwise_agreement", OrNull(Mean(item_pairwise))},
                      {"items_with_2plus", item_w.size()}};
  out["item_agreement"] = items;
  return out;
}

}  // namespace tenet::label
