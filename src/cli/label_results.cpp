// `tenet label results`: the verdict of blind pairwise jobs (label/pairwise.h, eval/pairwise.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <set>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/eval/pairwise.h"
#include "tenet/label/pairwise.h"

namespace tenet::cli {

using nlohmann::json;

namespace {
std::string Num(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void Print(const json& r) {
  const std::string a = r["systems"][0], b = r["systems"][1];
  const json& w = r["win_rate"];
  std::cout << b << " vs " << a << ": " << r["wins"][b] << " wins, " << r["ties"] << " ties, " << r["wins"][a] << " losses ("
            << r["votes"] << " votes";
  if (r["both_bad"].get<int64_t>() > 0) std::cout << ", " << r["both_bad"] << " of the ties 'both bad'";
  std::cout << ")\n"
            << "win rate of " << b << " (ties as half): " << Num(w["estimate"]) << ", 95% interval " << Num(w["low"]) << " to "
            << Num(w["high"]) << "\n"
            << "sign test over decisive votes: p = " << Num(r["p_value"], 4) << "\n"
            << "per question (majority): " << b << " " << r["by_question"][b] << ", " << a << " " << r["by_question"][a]
            << ", tie " << r["by_question"]["tie"] << "\n"
            << "position bias: the answer shown as A won " << r["position_bias"]["a_wins"] << " of "
            << r["position_bias"]["decisive"] << " decisive votes (" << Num(r["position_bias"]["a_win_rate"]) << ")\n"
            << "annotators:\n";
  for (const json& p : r["annotators"]) {
    std::cout << "  " << p["annotator"].get<std::string>() << ": " << p["votes"] << " votes, agreement with the majority "
              << (p["agreement_with_majority"].is_null() ? std::string("-") : Num(p["agreement_with_majority"])) << "\n";
  }
}
}  // namespace

RunFn AddLabelResultsCommand(CLI::App& sub) {
  struct Args {
    std::string db;
    std::vector<std::string> jobs;
    bool json_out = false;
    int rounds = 1000;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database")->required();
  sub.add_option("--job", a->jobs, "A pairwise job (repeatable: with more than two systems over the jobs, Bradley-Terry scores too)")->required();
  sub.add_flag("--json", a->json_out, "Print everything as JSON, with each vote per question");
  sub.add_option("--bootstrap", a->rounds, "Bootstrap resamples of the Bradley-Terry intervals")->check(CLI::Range(0, 100000))->capture_default_str();
  sub.add_option("--seed", a->seed, "Seed of the bootstrap")->capture_default_str();
  sub.footer(R"(Example:
  tenet label results --db labels.db --job bank-v1-ab
  tenet label results --db labels.db --job v1-vs-base --job v2-vs-base --job v2-vs-v1 --json)");
  return [a]() {
    auto db = OpenExistingLabelDb(a->db);
    if (!db.ok()) return Fail(db.status());
    json out = {{"jobs", json::array()}};
    std::vector<eval::PairwiseVote> all;
    std::set<std::string> systems;
    for (const std::string& name : a->jobs) {
      auto votes = label::LoadPairwiseVotes(**db, name);
      if (!votes.ok()) return FailLabel(votes.status());
      const std::vector<eval::PairwiseVote> v = label::ToEvalVotes(*votes);
      all.insert(all.end(), v.begin(), v.end());
      systems.insert(votes->systems.begin(), votes->systems.end());
      auto r = eval::SummarizePairwise(votes->systems, v);
      if (!r.ok()) return Fail(r.status());
      (*r)["job"] = name;
      out["jobs"].push_back(*r);
    }
    if (systems.size() > 2 && !all.empty()) {
      auto bt = eval::PairwiseScores(all, a->rounds, a->seed);
      if (!bt.ok()) return Fail(bt.status());
      out["bradley_terry"] = *bt;
    }
    if (a->json_out) {
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    for (const json& j : out["jobs"]) {
      std::cout << "job " << j["job"].get<std::string>() << "\n";
      Print(j);
    }
    if (out.contains("bradley_terry")) {
      std::cout << "Bradley-Terry scores (95% bootstrap interval):\n";
      for (const json& s : out["bradley_terry"]) {
        std::cout << "  " << s["system"].get<std::string>() << ": " << Num(s["score"], 0) << " (" << Num(s["low"], 0) << " to "
                  << Num(s["high"], 0) << ")\n";
      }
    }
    return kExitOk;
  };
}

}  // namespace tenet::cli
