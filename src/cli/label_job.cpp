// `tenet label job create|list|pause|resume`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tenet/cli/commands.h"
#include "tenet/cli/label_common.h"
#include "tenet/label/jobs.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {
std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(pos, end - pos);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
    pos = end + 1;
  }
  return out;
}

void PrintJob(const label::JobSummary& j) {
  std::cout << j.name << "  (id " << j.id << ", " << j.state << ")  " << j.items << " items x " << j.annotators_per_item
            << " annotators: " << j.submissions << "/" << j.items * j.annotators_per_item << " submissions, "
            << j.complete_items << " items complete\n";
}
}  // namespace

RunFn AddLabelJobCreateCommand(CLI::App& sub) {
  struct Args {
    std::string db, name, responses, instructions, dimensions, time_limit = "30m", lifetime;
    std::vector<std::string> pairwise;  // comparison.jsonl, or two [NAME=]responses files
    int annotators = 3;
    bool allow_ties = false, no_shuffle = false, both_bad = false;
    std::vector<std::string> teams;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database (created if missing)")->required();
  sub.add_option("--name", a->name, "Job name (unique)")->required();
  auto* responses = sub.add_option("--responses", a->responses, "Responses JSONL: tenet generate output or a Ground Truth-style manifest");
  auto* pairwise = sub.add_option("--pairwise", a->pairwise,
                                  "A blind A/B job instead: a `tenet compare` comparison.jsonl of two systems, or two "
                                  "[NAME=]responses files with the same question ids (give it twice)");
  responses->excludes(pairwise);
  sub.add_flag("--offer-both-bad", a->both_bad, "Pairwise: annotators may also answer \"both bad\"");
  sub.add_option("--instructions", a->instructions, "Instructions for annotators (Markdown file)")->required();
  sub.add_option("--dimensions", a->dimensions, "Comma-separated ranking dimensions (default: \"Alignment with our values\")");
  sub.add_flag("--allow-ties", a->allow_ties, "Annotators may rank answers equal");
  sub.add_option("--annotators-per-item", a->annotators, "Rankings wanted per question (1-9)")->capture_default_str()->check(CLI::Range(1, 9));
  sub.add_option("--task-time-limit", a->time_limit, "How long an annotator may hold a task (90s, 30m, 2h)")->capture_default_str();
  sub.add_option("--lifetime", a->lifetime, "The job ends after this long (e.g. 14d; default: never)");
  sub.add_flag("--no-shuffle", a->no_shuffle, "Show answers in file order (default: a random order per annotator, recorded)");
  sub.add_option("--team", a->teams, "Only this team sees the job (repeatable; default: every annotator)");
  sub.footer(R"(Example:
  tenet label job create --db labels.db --name bank-v1 --responses llm_responses.jsonl \
       --instructions examples/example-bank/instructions.md --annotators-per-item 3 --task-time-limit 30m
  tenet label job create --db labels.db --name bank-v1-ab --pairwise reports/bank-v1/comparison.jsonl \
       --instructions ab.md --annotators-per-item 3 --team bank-reviewers      # blind A/B of before vs after)");
  return [a]() {
    if (a->responses.empty() == a->pairwise.empty()) {
      return Fail(Status::InvalidArgument("tenet label job create", "give --responses (a ranking job) or --pairwise (a blind A/B job)"), true);
    }
    if (a->pairwise.size() > 2) return Fail(Status::InvalidArgument("--pairwise", "takes one comparison file or two responses files"), true);
    if (a->pairwise.empty() && a->both_bad) {
      return Fail(Status::InvalidArgument("--offer-both-bad", "goes with --pairwise"), true);
    }
    label::JobSpec spec;
    spec.name = a->name;
    spec.allow_ties = a->allow_ties;
    spec.annotators_per_item = a->annotators;
    spec.shuffle = !a->no_shuffle;
    spec.teams = a->teams;
    spec.source_file = a->pairwise.empty() ? a->responses : a->pairwise[0];
    if (!a->dimensions.empty()) spec.dimensions = SplitCommas(a->dimensions);
    if (!a->pairwise.empty()) label::MakePairwise(spec, a->both_bad);
    auto limit = label::ParseDuration(a->time_limit);
    if (!limit.ok()) return Fail(limit.status().WithContext("--task-time-limit"), /*usage=*/true);
    spec.task_time_limit_s = *limit;
    if (!a->lifetime.empty()) {
      auto life = label::ParseDuration(a->lifetime);
      if (!life.ok()) return Fail(life.status().WithContext("--lifetime"), /*usage=*/true);
      spec.lifetime_s = *life;
    }
    Status valid = label::ValidateJobSpec(spec);
    if (!valid.ok()) return FailLabel(valid, /*usage=*/true);
    auto instructions = ReadFile(a->instructions);
    if (!instructions.ok()) return Fail(instructions.status());
    spec.instructions_md = *instructions;
    Result<std::vector<label::ResponseItem>> items = std::vector<label::ResponseItem>{};
    if (a->pairwise.size() == 1) {
      auto text = ReadFile(a->pairwise[0]);
      if (!text.ok()) return Fail(text.status());
      items = label::ParseComparisonPairs(*text, a->pairwise[0]);
    } else if (a->pairwise.size() == 2) {
      std::vector<std::vector<label::ResponseItem>> sides;
      std::vector<std::string> names;
      for (const std::string& spec_text : a->pairwise) {
        const size_t eq = spec_text.find('=');
        const bool named = eq != std::string::npos && eq > 0 && spec_text.find('/') > eq;
        const std::string path = named ? spec_text.substr(eq + 1) : spec_text;
        names.push_back(named ? spec_text.substr(0, eq) : path);
        auto text = ReadFile(path);
        if (!text.ok()) return Fail(text.status());
        auto parsed = label::ParseResponses(*text, path, /*min_answers=*/1);
        if (!parsed.ok()) return FailLabel(parsed.status());
        sides.push_back(std::move(parsed).value());
      }
      items = label::PairResponses(sides[0], names[0], sides[1], names[1]);
    } else {
      auto text = ReadFile(a->responses);
      if (!text.ok()) return Fail(text.status());
      items = label::ParseResponses(*text, a->responses);
    }
    if (!items.ok()) return FailLabel(items.status());
    auto db = label::LabelDb::Open(a->db);
    if (!db.ok()) return Fail(db.status());
    auto job = label::Jobs(**db).Create(spec, *items);
    if (!job.ok()) return FailLabel(job.status());
    PrintJob(*job);
    return kExitOk;
  };
}

RunFn AddLabelJobListCommand(CLI::App& sub) {
  auto db_path = std::make_shared<std::string>();
  sub.add_option("--db", *db_path, "Labeling database")->required();
  return [db_path]() {
    auto db = OpenExistingLabelDb(*db_path);
    if (!db.ok()) return Fail(db.status());
    auto jobs = label::Jobs(**db).List();
    if (!jobs.ok()) return FailLabel(jobs.status());
    for (const auto& j : *jobs) PrintJob(j);
    return kExitOk;
  };
}

namespace {
RunFn AddPauseResume(CLI::App& sub, bool pause) {
  struct Args {
    std::string db, job;
  };
  auto a = std::make_shared<Args>();
  sub.add_option("--db", a->db, "Labeling database")->required();
  sub.add_option("--job", a->job, "Job name")->required();
  return [a, pause]() {
    auto db = OpenExistingLabelDb(a->db);
    if (!db.ok()) return Fail(db.status());
    auto job = FindJob(**db, a->job);
    if (!job.ok()) return Fail(job.status());
    auto j = label::Jobs(**db).SetPaused(job->id, pause);
    if (!j.ok()) return FailLabel(j.status());
    PrintJob(*j);
    return kExitOk;
  };
}
}  // namespace

RunFn AddLabelJobPauseCommand(CLI::App& sub) { return AddPauseResume(sub, true); }
RunFn AddLabelJobResumeCommand(CLI::App& sub) { return AddPauseResume(sub, false); }

}  // namespace tenet::cli
