// `tenet label status` and `tenet label export`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/label/annotations.h"
#include "tenet/label/export.h"
#include "tenet/label/report.h"
#include "tenet/util/file.h"

namespace tenet::cli {

using nlohmann::json;

namespace {
std::string Fixed(const json& v, int digits = 3) {
  if (v.is_null()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v.get<double>());
  return buf;
}
}  // namespace

RunFn AddLabelStatusCommand(CLI::App& sub) {
  struct Args {
    std::string db, job;
    bool json_out = false;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database")->required();
  sub.add_option("--job", a->job, "Job name")->required();
  sub.add_flag("--json", a->json_out, "Print the full status as JSON (as the admin API returns it)");
  sub.footer("Example:\n  tenet label status --db labels.db --job bank-v1");
  return [a]() {
    auto db = OpenExistingLabelDb(a->db);
    if (!db.ok()) return Fail(db.status());
    auto job = FindJob(**db, a->job);
    if (!job.ok()) return Fail(job.status());
    auto ann = label::LoadJobAnnotations(**db, job->id);
    if (!ann.ok()) return FailLabel(ann.status());
    const json s = label::JobStatusJson(*ann);
    if (a->json_out) {
      std::cout << s.dump(2) << "\n";
      return kExitOk;
    }
    std::cout << "job " << s["name"].get<std::string>() << " (" << s["state"].get<std::string>() << "): "
              << s["submissions"] << "/" << s["needed"] << " submissions, " << s["complete_items"] << "/" << s["items"]
              << " items complete\n"
              << "agreement: Kendall's W mean " << Fixed(s["agreement"]["kendall_w_mean"]) << ", pairwise "
              << Fixed(s["agreement"]["pairwise_agreement"]) << " (" << s["agreement"]["items_with_2plus"]
              << " items with 2+ rankings)\n";
    std::cout << "annotators:\n";
    for (const json& p : s["annotators"]) {
      std::cout << "  " << p["email"].get<std::string>() << ": " << p["submissions"] << " submitted, " << p["skips"]
                << " skipped, median " << (p["median_time_ms"].is_null() ? std::string("-") : Fixed(json(p["median_time_ms"].get<double>() / 1000.0), 1) + " s")
                << ", agreement with others " << Fixed(p["agreement_with_others"]) << "\n";
    }
    int shown = 0;
    for (const json& it : s["item_agreement"]) {
      if (it["kendall_w"].is_null() || shown == 5) break;
      if (shown++ == 0) std::cout << "most contested items:\n";
      std::cout << "  " << it["source_id"].get<std::string>() << ": W " << Fixed(it["kendall_w"]) << ", " << it["submissions"]
                << " rankings\n";
    }
    return kExitOk;
  };
}

RunFn AddLabelExportCommand(CLI::App& sub) {
  struct Args {
    std::string db, job, out;
    label::ExportOptions o;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database")->required();
  sub.add_option("--job", a->job, "Job name")->required();
  sub.add_option("--format", a->o.format, "dpo (TRL pairs), manifest (Ground Truth-style) or raw (every annotation)")
      ->capture_default_str()->check(CLI::IsMember({"dpo", "manifest", "raw"}));
  sub.add_option("--pairs", a->o.pairs, "best-worst, all-pairs or best-vs-rest")
      ->capture_default_str()->check(CLI::IsMember({"best-worst", "all-pairs", "best-vs-rest"}));
  sub.add_option("--test-fraction", a->o.test_fraction, "Share of prompts held out in test.jsonl")->capture_default_str();
  sub.add_option("--split-seed", a->o.seed, "Seed of the train/test split")->capture_default_str();
  sub.add_option("--min-agreement", a->o.min_agreement, "Skip items whose Kendall's W is below this")->capture_default_str();
  sub.add_flag("--skip-ties", a->o.skip_ties, "Skip items whose consolidated ranking has a tie");
  sub.add_option("--dimension", a->o.dimension, "Which ranking dimension the pairs follow (0-based)")->capture_default_str();
  sub.add_option("--out", a->out, "dpo: a folder (train.jsonl, test.jsonl); manifest/raw: a file")->required();
  sub.footer(R"(Examples:
  tenet label export --db labels.db --job bank-v1 --format dpo --pairs best-worst --test-fraction 0.2 --out prefs/
  tenet label export --db labels.db --job bank-v1 --format manifest --out output.manifest
  tenet label export --db labels.db --job bank-v1 --format raw --out annotations.jsonl)");
  return [a]() {
    auto db = OpenExistingLabelDb(a->db);
    if (!db.ok()) return Fail(db.status());
    auto job = FindJob(**db, a->job);
    if (!job.ok()) return Fail(job.status());
    Status valid = label::ValidateExportOptions(a->o, job->dimensions.size());
    if (!valid.ok()) return FailLabel(valid, /*usage=*/true);
    auto ann = label::LoadJobAnnotations(**db, job->id);
    if (!ann.ok()) return FailLabel(ann.status());
    auto r = label::Export(*ann, a->o);
    if (!r.ok()) return FailLabel(r.status());
    if (a->o.format == "dpo") {
      Status s = MakeDirs(a->out);
      if (!s.ok()) return Fail(s);
      for (const auto& [name, content] : r->files) {
        s = WriteFileAtomic(JoinPath(a->out, name), content);
        if (!s.ok()) return Fail(s);
      }
    } else {
      Status s = WriteFileAtomic(a->out, r->files.begin()->second);
      if (!s.ok()) return Fail(s);
    }
    std::cerr << "tenet label export: " << r->report.dump() << "\n";
    return kExitOk;
  };
}

}  // namespace tenet::cli
