// DPO, manifest and raw exports. See tenet/label/export.h.
#include "tenet/label/export.h"

#include <algorithm>
#include <ctime>
#include <numeric>

#include "tenet/data/split.h"

namespace tenet::label {

using nlohmann::json;

namespace {

std::string IsoTime(int64_t t) {
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json Assistant(const std::string& text) { return json::array({{{"role", "assistant"}, {"content", text}}}); }

// The prompt's bytes as a split key (HeldOutByGroup hashes int sequences).
std::vector<int32_t> PromptKey(const json& messages) {
  const std::string s = messages.dump();
  return std::vector<int32_t>(s.begin(), s.end());
}

bool HasTie(const Ranking& r) {
  Ranking s = r;
  std::sort(s.begin(), s.end());
  return std::adjacent_find(s.begin(), s.end()) != s.end();
}

// (chosen, rejected) answer indices for one item's consolidated ranking.
std::vector<std::pair<int, int>> PairsFor(const Ranking& ranks, const std::string& strategy) {
  const int n = static_cast<int>(ranks.size());
  std::vector<std::pair<int, int>> out;
  if (strategy == "all-pairs") {
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return ranks[x] < ranks[y]; });
    for (int i = 0; i < n; ++i) {
      for (int k = i + 1; k < n; ++k) {
        if (ranks[order[i]] < ranks[order[k]]) out.emplace_back(order[i], order[k]);
      }
    }
    return out;
  }
  const int top = static_cast<int>(std::min_element(ranks.begin(), ranks.end()) - ranks.begin());
  if (strategy == "best-worst") {
    int bottom = 0;
    for (int i = 0; i < n; ++i) {
      if (ranks[i] > ranks[bottom]) bottom = i;
    }
    if (ranks[bottom] > ranks[top]) out.emplace_back(top, bottom);
    return out;
  }
  for (int i = 0; i < n; ++i) {  // best-vs-rest
    if (ranks[i] > ranks[top]) out.emplace_back(top, i);
  }
  return out;
}

}  // namespace

Status ValidateExportOptions(const ExportOptions& o, size_t dimensions) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument(Reason("bad_export"), m); };
  if (o.format != "dpo" && o.format != "manifest" && o.format != "raw") return bad("format must be dpo, manifest or raw");
  if (o.pairs != "best-worst" && o.pairs != "all-pairs" && o.pairs != "best-vs-rest") {
    return bad("pairs must be best-worst, all-pairs or best-vs-rest");
  }
  if (!(o.test_fraction >= 0.0 && o.test_fraction < 1.0)) return bad("test fraction must be in [0, 1)");
  if (!(o.min_agreement >= 0.0 && o.min_agreement <= 1.0)) return bad("minimum agreement must be in [0, 1]");
  if (o.dimension >= dimensions) return bad("the job has " + std::to_string(dimensions) + " dimension(s)");
  return Status::OK();
}

Result<ExportResult> Export(const JobAnnotations& a, const ExportOptions& o) {
  TENET_RETURN_IF_ERROR(ValidateExportOptions(o, a.job.dimensions.size()));
  ExportResult out;
  const size_t dims = a.job.dimensions.size();
  if (o.format == "raw") {
    std::string text;
    size_t n = 0;
    for (const ItemAnnotations& it : a.items) {
      auto emit = [&](const Annotation& an, const char* event) {
        json line = {{"job", a.job.name},         {"item_id", it.item_id},           {"source_id", it.source_id},
                     {"event", event},            {"annotator_id", an.annotator_id}, {"annotator", an.annotator_email},
                     {"task_id", an.task_id},     {"answer_order", an.answer_order}, {"leased_at", an.leased_at},
                     {"ended_at", an.ended_at}};
        if (an.submission_id) {
          json ranks = json::object();
          for (size_t d = 0; d < dims; ++d) ranks[a.job.dimensions[d]] = an.ranks[d];
          line["submission_id"] = an.submission_id;
          line["ranks"] = ranks;
          line["comment"] = an.comment;
          line["time_spent_ms"] = an.time_spent_ms;
        } else {
          line["skip_reason"] = an.skip_reason;
        }
        text += line.dump() + "\n";
        ++n;
      };
      for (const Annotation& s : it.submissions) emit(s, "submitted");
      for (const Annotation& s : it.skips) emit(s, "skipped");
    }
    out.files["annotations.jsonl"] = text;
    out.report = {{"annotations", n}};
    return out;
  }
  if (o.format == "manifest") {
    std::string text;
    size_t n = 0;
    const std::string label = a.job.name;
    for (const ItemAnnotations& it : a.items) {
      if (it.submissions.empty()) continue;
      json line = json::parse(it.source_line);
      json rankings = json::object(), annotations = json::array();
      for (size_t d = 0; d < dims; ++d) rankings[a.job.dimensions[d]] = BordaConsolidate(it.RankingsOf(d)).ranks;
      for (const Annotation& s : it.submissions) {
        annotations.push_back({{"annotator_id", s.annotator_id}, {"ranks", s.ranks}, {"comment", s.comment}});
      }
      int64_t last = 0;
      for (const Annotation& s : it.submissions) last = std::max(last, s.ended_at);
      const auto w = KendallW(it.RankingsOf(o.dimension));
      line[label] = {{"ranking", BordaConsolidate(it.RankingsOf(o.dimension)).ranks}, {"rankings", rankings},
                     {"annotations", annotations}};
      line[label + "-metadata"] = {{"job-name", label},
                                   {"type", "tenet/ranking"},
                                   {"human-annotated", "yes"},
                                   {"creation-date", IsoTime(last)},
                                   {"annotators", it.submissions.size()},
                                   {"dimensions", a.job.dimensions},
                                   {"kendall-w", w ? json(*w) : json(nullptr)}};
      text += line.dump() + "\n";
      ++n;
    }
    out.files["output.manifest"] = text;
    out.report = {{"items", n}};
    return out;
  }
  // DPO pairs.
  struct Kept {
    const ItemAnnotations* item;
    Ranking ranks;
  };
  std::vector<Kept> kept;
  size_t unlabeled = 0, low_agreement = 0, ties = 0, no_pairs = 0;
  for (const ItemAnnotations& it : a.items) {
    const std::vector<Ranking> r = it.RankingsOf(o.dimension);
    if (r.empty()) {
      ++unlabeled;
      continue;
    }
    const auto w = KendallW(r);
    if (o.min_agreement > 0 && w && *w < o.min_agreement) {
      ++low_agreement;
      continue;
    }
    Ranking c = BordaConsolidate(r).ranks;
    // A pairwise item whose votes balance out (or are ties, "both bad" included) prefers neither
    // answer: it makes no pair, whatever the options say.
    if ((o.skip_ties || a.job.kind == "pairwise") && HasTie(c)) {
      ++ties;
      continue;
    }
    if (PairsFor(c, o.pairs).empty()) {
      ++no_pairs;
      continue;
    }
    kept.push_back({&it, std::move(c)});
  }
  std::vector<std::vector<int32_t>> keys;
  for (const Kept& k : kept) keys.push_back(PromptKey(k.item->messages));
  const std::vector<bool> held_out = HeldOutByGroup(keys, o.test_fraction, o.seed);
  std::string train, test;
  size_t train_pairs = 0, test_pairs = 0, train_items = 0, test_items = 0;
  for (size_t i = 0; i < kept.size(); ++i) {
    const ItemAnnotations& it = *kept[i].item;
    for (auto [c, r] : PairsFor(kept[i].ranks, o.pairs)) {
      const json rec = {{"prompt", it.messages}, {"chosen", Assistant(it.responses[c])}, {"rejected", Assistant(it.responses[r])}};
      (held_out[i] ? test : train) += rec.dump() + "\n";
      ++(held_out[i] ? test_pairs : train_pairs);
    }
    ++(held_out[i] ? test_items : train_items);
  }
  out.files["train.jsonl"] = train;
  out.files["test.jsonl"] = test;
  out.report = {{"pairs", o.pairs},
                {"dimension", a.job.dimensions[o.dimension]},
                {"train_pairs", train_pairs},
                {"test_pairs", test_pairs},
                {"train_items", train_items},
                {"test_items", test_items},
                {"skipped", {{"unlabeled", unlabeled}, {"low_agreement", low_agreement}, {"ties", ties}, {"no_strict_pair", no_pairs}}}};
  return out;
}

}  // namespace tenet::label
