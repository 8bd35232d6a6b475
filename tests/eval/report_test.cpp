// The escaping HTML writer and the `tenet compare` report: hostile and broken text stays text,
// the document loads nothing from outside, every section shows what its input holds (and says so
// when there is nothing), and the document is well-formed for every input here.
#include "tenet/eval/report.h"
#include "tenet/eval/html.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <locale>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tenet/util/utf8.h"

namespace tenet::eval {
namespace {

using nlohmann::json;
using namespace std::string_literals;

// ---------------------------------------------------------------- helpers

size_t Occurrences(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

// The text of <section id="id">...</section> (sections do not nest).
std::string Section(const std::string& doc, const std::string& id) {
  const size_t begin = doc.find("<section id=\"" + id + "\">");
  if (begin == std::string::npos) return {};
  const size_t end = doc.find("</section>", begin);
  return doc.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

struct Tag {
  std::string name;
  bool closing = false, self_closing = false;
  std::map<std::string, std::string> attrs;
};

// Every tag of the document. Data is escaped, so '<' only ever opens one of our tags, and '>'
// inside a tag can only end it (attribute values have theirs escaped too).
std::vector<Tag> Tags(const std::string& doc) {
  std::vector<Tag> tags;
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':'; };
  for (size_t at = doc.find('<'); at != std::string::npos; at = doc.find('<', at + 1)) {
    const size_t end = doc.find('>', at);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated tag at " << at;
      break;
    }
    std::string body = doc.substr(at + 1, end - at - 1);
    if (body.rfind("!DOCTYPE", 0) == 0) continue;
    Tag t;
    if (!body.empty() && body[0] == '/') t.closing = true, body.erase(0, 1);
    if (!body.empty() && body.back() == '/') t.self_closing = true, body.pop_back();
    size_t i = 0;
    while (i < body.size() && name_char(body[i])) ++i;
    t.name = body.substr(0, i);
    // Then nothing but ` name="value"` pairs.
    while (i < body.size()) {
      const size_t name_begin = i + 1;
      size_t j = name_begin;
      while (j < body.size() && name_char(body[j])) ++j;
      const size_t value_end = body.find('"', j + 2);
      if (body[i] != ' ' || j == name_begin || body.compare(j, 2, "=\"") != 0 || value_end == std::string::npos) {
        ADD_FAILURE() << "malformed tag <" << body << ">";
        break;
      }
      t.attrs[body.substr(name_begin, j - name_begin)] = body.substr(j + 2, value_end - j - 2);
      i = value_end + 1;
    }
    tags.push_back(std::move(t));
  }
  return tags;
}

// The values of attribute `attr` of every <tag ...> in `doc` whose class is `cls`.
std::vector<std::string> AttrValues(const std::string& doc, const std::string& tag, const std::string& cls,
                                    const std::string& attr) {
  std::vector<std::string> out;
  for (const Tag& t : Tags(doc)) {
    if (t.name != tag || t.closing) continue;
    auto c = t.attrs.find("class");
    auto v = t.attrs.find(attr);
    if (c != t.attrs.end() && c->second == cls && v != t.attrs.end()) out.push_back(v->second);
  }
  return out;
}

// The texts of every <title> element.
std::vector<std::string> Titles(const std::string& doc) {
  std::vector<std::string> out;
  for (size_t at = doc.find("<title>"); at != std::string::npos; at = doc.find("<title>", at + 1)) {
    out.push_back(doc.substr(at + 7, doc.find("</title>", at) - at - 7));
  }
  return out;
}

// Only our tags, balanced and closed in order; no event handlers, no resource URLs; text is
// valid UTF-8.
void ExpectSafeAndWellFormed(const std::string& doc) {
  static const std::set<std::string> kAllowed = {
      "html", "head",    "meta",  "title",   "style",   "body",  "div",      "header", "p",     "nav",
      "a",    "section", "h1",    "h2",      "h3",      "table", "thead",    "tbody",  "tr",    "th",
      "td",   "span",    "small", "svg",     "rect",    "line",  "circle",   "path",   "text",  "figure",
      "dl",   "dt",      "dd",    "details", "summary", "mark",  "colgroup", "col",    "footer"};
  static const std::set<std::string> kVoid = {"meta", "col"};
  // "/>" closes an element only in SVG (on HTML's void elements it is a no-op).
  static const std::set<std::string> kSvg = {"rect", "line", "circle", "path"};
  EXPECT_TRUE(utf8::IsValid(doc));
  EXPECT_EQ(doc.rfind("<!DOCTYPE html>\n", 0), 0u);
  std::vector<std::string> open;
  for (const Tag& t : Tags(doc)) {
    EXPECT_TRUE(kAllowed.count(t.name)) << "tag <" << t.name << ">";
    for (const auto& [name, value] : t.attrs) {
      EXPECT_NE(name.rfind("on", 0), 0u) << "event handler " << name << " on <" << t.name << ">";
      EXPECT_NE(name, "src");
      EXPECT_NE(name, "srcset");
      if (name == "href") {
        EXPECT_EQ(value.rfind('#', 0), 0u) << "href=" << value;
      }
    }
    if (t.closing) {
      ASSERT_FALSE(open.empty()) << "</" << t.name << "> with nothing open";
      EXPECT_EQ(open.back(), t.name);
      open.pop_back();
    } else if (t.self_closing) {
      EXPECT_TRUE(kSvg.count(t.name) || kVoid.count(t.name)) << "<" << t.name << "/> stays open in HTML";
    } else if (!kVoid.count(t.name)) {
      open.push_back(t.name);
    }
  }
  EXPECT_TRUE(open.empty()) << open.size() << " elements left open";
}

json Sampling() {
  return {{"temperature", 0.7},    {"top_p", 0.9},           {"top_k", 0}, {"min_p", 0}, {"repetition_penalty", 1},
          {"presence_penalty", 0}, {"frequency_penalty", 0}, {"seed", 3}};
}

json Summary(int questions, bool rewards = true) {
  return {{"tool", "tenet compare"},
          {"created", "2026-12-07T18:00:00Z"},
          {"questions", questions},
          {"samples", 1},
          {"max_new_tokens", 256},
          {"sampling", Sampling()},
          {"beta", rewards ? json(0.1) : json(nullptr)},
          {"reference", "before"},
          {"systems", json::array({{{"name", "before"}, {"model", "base/"}, {"adapter", nullptr}},
                                   {{"name", "after"}, {"model", "base/"}, {"adapter", "runs/dpo1/adapter"}}})},
          {"run", "runs/dpo1"},
          {"human", nullptr}};
}

json Sample(const std::string& text, int tokens, const std::string& finish, std::optional<double> reward) {
  json s = {{"text", text}, {"tokens", tokens}, {"finish_reason", finish}};
  if (reward) {
    s["logp"] = -1.2 * tokens;
    s["logp_per_token"] = -1.2;
    s["reward"] = {{"after", *reward}};
  }
  return s;
}

json Question(const std::string& id, const std::string& question, const std::string& before, const std::string& after,
              std::optional<double> before_reward = std::nullopt, std::optional<double> after_reward = std::nullopt) {
  return {
      {"id", id},
      {"question", question},
      {"messages",
       json::array({{{"role", "system"}, {"content", "Be helpful."}}, {{"role", "user"}, {"content", question}}})},
      {"answers",
       json::array({{{"system", "before"}, {"samples", json::array({Sample(before, 40, "stop", before_reward)})}},
                    {{"system", "after"}, {"samples", json::array({Sample(after, 38, "length", after_reward)})}}})}};
}

// `steps` training lines with every DPO metric, and an evaluation line every `eval_every` steps.
std::vector<json> Metrics(int steps, int eval_every) {
  std::vector<json> out;
  for (int step = 1; step <= steps; ++step) {
    const double t = step / static_cast<double>(steps);
    out.push_back({{"epoch", t},
                   {"grad_norm", 1.8},
                   {"learning_rate", 1e-4},
                   {"loss", 0.69 - 0.3 * t},
                   {"rewards/accuracies", 0.5 + 0.4 * t},
                   {"rewards/margins", 0.8 * t},
                   {"rewards/chosen", 0.3 * t},
                   {"rewards/rejected", -0.5 * t},
                   {"logps/chosen", -20.0},
                   {"step", step}});
    if (step % eval_every == 0) {
      out.push_back({{"step", step},
                     {"epoch", t},
                     {"eval_loss", 0.69 - 0.2 * t},
                     {"eval_rewards/accuracies", 0.5 + 0.3 * t},
                     {"eval_rewards/margins", 0.5 * t},
                     {"eval_rewards/chosen", 0.2 * t},
                     {"eval_rewards/rejected", -0.3 * t}});
    }
  }
  return out;
}

// ---------------------------------------------------------------- html::Writer and numbers

TEST(HtmlEscapeTest, EscapesTheFiveCharacters) {
  EXPECT_EQ(html::Escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(html::Escape("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
}

TEST(HtmlEscapeTest, InvalidUtf8AndControlsBecomeReplacementCharacters) {
  // Separate literals end the hex escapes ("\xFFb" would read as one escape).
  const std::string out = html::Escape(
      "a\xFF"
      "b\xE2\x82"
      " c\x00"
      "d\x07\t\n\r\x7F"s);
  EXPECT_EQ(out, "a\uFFFDb\uFFFD c\uFFFDd\uFFFD\t\n\r\uFFFD");
  EXPECT_TRUE(utf8::IsValid(out));
}

TEST(HtmlWriterTest, WritesNestedElementsAndEscapesAttributeValues) {
  html::Writer w;
  w.Open("div", {{"class", "a\"b"}, {"title", "<x>"}});
  w.Element("span", "1 < 2");
  w.Empty("circle", {{"r", "1"}});
  w.Close();
  EXPECT_EQ(w.depth(), 0u);
  EXPECT_EQ(w.Finish(), "<div class=\"a&quot;b\" title=\"&lt;x&gt;\"><span>1 &lt; 2</span><circle r=\"1\"/></div>");
}

TEST(HtmlWriterTest, EmptyElementsSelfCloseOnlyWhereHtmlAllowsIt) {
  html::Writer w;
  w.Empty("span", {{"class", "x"}});
  w.Empty("meta", {{"charset", "utf-8"}});
  w.Empty("rect");
  EXPECT_EQ(w.Finish(), "<span class=\"x\"></span><meta charset=\"utf-8\"/><rect/>");
}

// Markup and names come from literals only: a runtime string cannot be made into either.
static_assert(std::is_constructible_v<html::Trusted, const char (&)[4]>);
static_assert(!std::is_constructible_v<html::Trusted, const char*>);
static_assert(!std::is_constructible_v<html::Trusted, std::string>);
static_assert(!std::is_constructible_v<html::Trusted, std::string_view>);
static_assert(!std::is_constructible_v<html::Name, const char*>);
static_assert(!std::is_constructible_v<html::Name, std::string>);

TEST(HtmlNumberTest, FormatsWithoutLocaleOrExponent) {
  // A global C++ locale with a comma decimal separator must not leak into the output.
  struct Comma : std::numpunct<char> {
    char do_decimal_point() const override { return ','; }
    char do_thousands_sep() const override { return '.'; }
    std::string do_grouping() const override { return "\3"; }
  };
  const std::locale previous = std::locale::global(std::locale(std::locale::classic(), new Comma));
  EXPECT_EQ(html::Fixed(3.14159, 2), "3.14");
  EXPECT_EQ(html::Fixed(-1.25, 1), "-1.2");  // round half to even on the binary value
  EXPECT_EQ(html::Fixed(-0.0001, 2), "0.00");
  EXPECT_EQ(html::Fixed(1e21, 0), "1000000000000000000000");
  EXPECT_EQ(html::Fixed(NAN, 2), "\u2013");
  EXPECT_EQ(html::Fixed(INFINITY, 2), "\u2013");
  EXPECT_EQ(html::Pretty(-12345.6, 1), "\u221212,345.6");
  EXPECT_EQ(html::Pretty(999.5, 0), "1,000");
  EXPECT_EQ(html::Signed(0.31, 2), "+0.31");
  EXPECT_EQ(html::Signed(-0.1, 2), "\u22120.10");
  EXPECT_EQ(html::Signed(-0.001, 2), "0.00");
  EXPECT_EQ(html::Integer(1234567), "1,234,567");
  EXPECT_EQ(html::Integer(-5), "\u22125");
  EXPECT_EQ(html::Integer(INT64_MIN), "\u22129,223,372,036,854,775,808");
  EXPECT_EQ(html::Percent(0.613, 0), "61%");
  EXPECT_EQ(html::Percent(0.61234, 1), "61.2%");
  EXPECT_EQ(html::Shortest(0.7), "0.7");
  EXPECT_EQ(html::Shortest(1), "1");
  EXPECT_EQ(html::Shortest(-0.0), "0");
  std::locale::global(previous);
}

// ---------------------------------------------------------------- the report

TEST(ComparisonReportTest, HostileTextStaysText) {
  const std::string script = "<script>alert(1)</script>";
  const std::string img = "<img src=x onerror=alert(1)>";
  json summary = Summary(1);
  summary["systems"][1]["name"] = "after" + script;
  summary["systems"][1]["adapter"] = "\"><img src=x onerror=alert(2)>";
  summary["systems"][0]["model"] = "</td></tr></table>" + script;
  summary["reference"] = "before";
  summary["created"] = "<style>body{display:none}</style>";
  summary["run"] = "javascript:alert(3)";
  summary["sampling"]["<b onmouseover=x>"] = "</dd>" + img;
  summary["stop"] = json::array({"</style><script>"});
  summary["human"] = {{"job", img}, {"systems", json::array({"before", "after" + script})}, {"win_rate", 0.6}};
  json q = Question(img, script + " question", img + " before. " + script, "Safe. " + img + "\n" + script, 0.1, 0.4);
  q["answers"][1]["system"] = "after" + script;
  q["answers"][1]["samples"][0]["finish_reason"] = img;
  q["answers"][1]["samples"][0]["reward"] = {{"after" + script, 0.4}};
  q["messages"].insert(q["messages"].begin() + 1, json{{"role", img}, {"content", script}});
  q["messages"].insert(q["messages"].begin() + 2, json{{"role", "assistant"}, {"content", img}});
  const std::string doc = RenderComparisonReport(summary, {q}, {{{"step", 1}, {"loss", 0.5}}});

  ExpectSafeAndWellFormed(doc);
  std::string lower = doc;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("<script"), std::string::npos);
  EXPECT_EQ(lower.find("<img"), std::string::npos);
  EXPECT_EQ(Occurrences(lower, "<style"), 1u);  // ours
  EXPECT_EQ(Occurrences(lower, "</style"), 1u);
  // Shown as text, in every place it came from.
  EXPECT_GE(Occurrences(doc, "&lt;script&gt;alert(1)&lt;/script&gt;"), 8u);
  EXPECT_GE(Occurrences(doc, "&lt;img src=x onerror=alert(1)&gt;"), 6u);
  EXPECT_NE(doc.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(doc.find("&lt;style&gt;body{display:none}&lt;/style&gt;"), std::string::npos);
}

TEST(ComparisonReportTest, LoadsNothingFromOutside) {
  json summary = Summary(2);
  summary["human"] = {{"job", "bank"}, {"win_rate", 0.6}, {"low", 0.5}, {"high", 0.7}, {"p_value", 0.2}, {"votes", 10}};
  const std::string doc = RenderComparisonReport(
      summary,
      {Question("q1", "See https://example.com/x.png", "Visit http://evil.example/", "ok", 0.1, 0.2),
       Question("q2", "Why?", "Because.", "Because so.", -0.3, 0.5)},
      Metrics(12, 4));
  ExpectSafeAndWellFormed(doc);
  // The URLs are text of the answers (escaped, inert): nothing else names a scheme.
  EXPECT_EQ(Occurrences(doc, "http://"), 1u);
  EXPECT_EQ(Occurrences(doc, "https://"), 1u);
  EXPECT_NE(
      doc.find(
          "<td class=\"q\"><div class=\"qid\">1 · q1</div><div class=\"text\">See https://example.com/x.png</div>"),
      std::string::npos);
  for (const char* never : {"src=", "url(", "@import", "<link", "<iframe", "<object", "<embed", "<base", "<form",
                            "<script", "xmlns", "@font-face"}) {
    EXPECT_EQ(doc.find(never), std::string::npos) << never;
  }
  // A strict policy and the encoding, before anything else in <head>.
  const size_t head = doc.find("<head>");
  EXPECT_EQ(doc.find("<meta charset=\"utf-8\"/>"), head + 6);
  EXPECT_NE(doc.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src "
                     "&#39;unsafe-inline&#39;; base-uri &#39;none&#39;; form-action &#39;none&#39;\"/>"),
            std::string::npos);
  EXPECT_EQ(Occurrences(doc, "<style>"), 1u);
  EXPECT_NE(doc.find("@media print{"), std::string::npos);
}

TEST(ComparisonReportTest, OneRowPerQuestionWithEverySystemsAnswer) {
  std::vector<json> questions;
  for (int i = 1; i <= 7; ++i) {
    questions.push_back(Question("q" + std::to_string(i), "Question " + std::to_string(i) + "?",
                                 "Before answer " + std::to_string(i) + ".", "After answer " + std::to_string(i) + ".",
                                 -0.1 * i, 0.1 * i));
  }
  const std::string doc = RenderComparisonReport(Summary(7), questions, {});
  ExpectSafeAndWellFormed(doc);
  const std::string answers = Section(doc, "answers");
  EXPECT_EQ(Occurrences(answers, "<tr id=\"q"), 7u);
  EXPECT_EQ(Occurrences(answers, "<tr"), 8u);  // and the header
  EXPECT_EQ(Occurrences(answers, "<td"), 7u * 3);
  for (int i = 1; i <= 7; ++i) {
    EXPECT_NE(answers.find("Question " + std::to_string(i) + "?"), std::string::npos);
    EXPECT_NE(answers.find("Before answer " + std::to_string(i) + "."), std::string::npos);
  }
  EXPECT_EQ(Occurrences(answers, ">38 tokens</span>"), 7u);
  EXPECT_EQ(Occurrences(answers, "class=\"chip warn\" title=\"hit the token limit: the answer is cut off\">length<"),
            7u);
  EXPECT_NE(answers.find(">reward +0.70</span>"), std::string::npos);
  EXPECT_NE(answers.find(">reward \u22120.70</span>"), std::string::npos);
  // The shared system prompt is shown once, in the summary.
  EXPECT_EQ(Occurrences(doc, "Be helpful."), 1u);
  EXPECT_NE(Section(doc, "summary").find("Be helpful."), std::string::npos);
}

TEST(ComparisonReportTest, RewardHistogramCountsEveryRewardedAnswer) {
  std::vector<json> questions;
  for (int i = 0; i < 40; ++i) {
    questions.push_back(
        Question("q" + std::to_string(i), "Q?", "b", "a", std::sin(i) * 0.5 - 0.2, std::cos(i) * 0.4 + 0.3));
  }
  questions[3]["answers"][0]["samples"][0].erase("reward");  // one unscored answer
  const std::string doc = RenderComparisonReport(Summary(40), questions, {});
  ExpectSafeAndWellFormed(doc);
  const std::string rewards = Section(doc, "rewards");
  ASSERT_NE(rewards.find("<svg class=\"plot\""), std::string::npos);
  const size_t bars = Occurrences(rewards, "<rect class=\"bar\"");
  EXPECT_GT(bars, 0u);
  EXPECT_EQ(bars % 2, 0u);  // one bar per bin and system
  std::map<std::string, int> total;
  for (const std::string& title : Titles(rewards)) {  // "before: 3 answers in [0.10, 0.20)"
    const size_t colon = title.find(": ");
    ASSERT_NE(colon, std::string::npos) << title;
    total[title.substr(0, colon)] += std::stoi(title.substr(colon + 2));
  }
  EXPECT_EQ(total["before"], 39);
  EXPECT_EQ(total["after"], 40);
  EXPECT_EQ(Occurrences(rewards, "<line class=\"mean\""), 2u);
  EXPECT_NE(rewards.find("before answers"), std::string::npos);
  EXPECT_NE(rewards.find("n = 39"), std::string::npos);
  // Summary: the mean difference, and how many questions DPO prefers after on.
  const std::string summary = Section(doc, "summary");
  EXPECT_NE(summary.find("Implicit reward under <span class=\"as-is\">after · β = 0.1</span>"), std::string::npos);
  EXPECT_NE(summary.find("DPO prefers after’s answer on"), std::string::npos);
  EXPECT_NE(summary.find(" of 39 questions"), std::string::npos);
}

TEST(ComparisonReportTest, TrainingCurvesPlotEveryMetricPoint) {
  std::vector<json> metrics = Metrics(30, 10);
  metrics[4]["loss"] = nullptr;            // null: skipped
  metrics[5]["loss"] = "nan";              // not a number: skipped
  metrics[6].erase("rewards/margins");     // missing: skipped
  metrics.push_back({{"loss", 0.1}});      // no step: skipped
  metrics.push_back(json::array({1, 2}));  // not an object: skipped
  const std::string doc = RenderComparisonReport(Summary(0), {}, metrics);
  ExpectSafeAndWellFormed(doc);
  const std::string training = Section(doc, "training");
  EXPECT_EQ(Occurrences(training, "<svg class=\"plot\""), 4u);
  // Train: loss 28, accuracies 30, margins 29, chosen 30, rejected 30; eval: 3 of each of 5.
  EXPECT_EQ(Occurrences(training, "<circle class=\"pt\""), 28u + 30 + 29 + 30 + 30 + 3 * 5);
  EXPECT_EQ(Occurrences(training, "<circle class=\"pt\" cx=\""), Occurrences(training, "</circle>"));
  // The lines pass through the same points: one path per series, a vertex per point.
  std::vector<size_t> vertices;
  for (const char* cls : {"line", "line eval"}) {
    for (const std::string& d : AttrValues(training, "path", cls, "d"))
      vertices.push_back(Occurrences(d, "M") + Occurrences(d, "L"));
  }
  EXPECT_EQ(vertices, (std::vector<size_t>{28, 30, 29, 30, 30, 3, 3, 3, 3, 3}));
  for (const char* title :
       {">Loss</h3>", ">Reward accuracy</h3>", ">Reward margin (chosen − rejected)</h3>",
        ">Rewards of chosen and rejected answers</h3>", ">optimizer step</text>", "class=\"legend\""}) {
    EXPECT_NE(training.find(title), std::string::npos) << title;
  }
  EXPECT_NE(training.find("ln 2 (untrained)"), std::string::npos);
  EXPECT_NE(training.find("<div class=\"keys\">rewards/margins · eval_rewards/margins</div>"), std::string::npos);
}

TEST(ComparisonReportTest, SftRunsPlotLossAndTokenAccuracyWithoutDpoLines) {
  std::vector<json> metrics;
  for (int step = 1; step <= 8; ++step)
    metrics.push_back({{"step", step}, {"loss", 2.5 - 0.1 * step}, {"mean_token_accuracy", 0.4}});
  metrics.push_back({{"step", 8}, {"eval_loss", 2.0}, {"eval_mean_token_accuracy", 0.45}});
  const std::string doc = RenderComparisonReport(Summary(0), {}, metrics);
  ExpectSafeAndWellFormed(doc);
  const std::string training = Section(doc, "training");
  EXPECT_EQ(Occurrences(training, "<svg class=\"plot\""), 2u);
  EXPECT_NE(training.find(">Token accuracy</h3>"), std::string::npos);
  EXPECT_EQ(training.find("ln 2"), std::string::npos);
  EXPECT_EQ(Occurrences(training, "<circle class=\"pt\""), 8u * 2 + 2);
}

TEST(ComparisonReportTest, LongRunsDrawPathsWithoutMarkers) {
  const std::string doc = RenderComparisonReport(Summary(0), {}, Metrics(1000, 100));
  ExpectSafeAndWellFormed(doc);
  const std::string training = Section(doc, "training");
  // 10 evaluation points per eval series keep their markers; 1000-point series draw the line only.
  EXPECT_EQ(Occurrences(training, "<circle class=\"pt\""), 10u * 5);
  size_t vertices = 0;
  for (const char* cls : {"line", "line eval"}) {
    for (const std::string& d : AttrValues(training, "path", cls, "d")) vertices += Occurrences(d, "L") + 1;
  }
  EXPECT_EQ(vertices, 5u * 1000 + 5u * 10);
}

TEST(ComparisonReportTest, SectionsWithoutDataSaySo) {
  const std::string doc =
      RenderComparisonReport(Summary(2, false), {Question("q1", "A?", "x", "y"), Question("q2", "B?", "x", "z")}, {});
  ExpectSafeAndWellFormed(doc);
  EXPECT_NE(Section(doc, "rewards").find("No implicit rewards in this comparison"), std::string::npos);
  EXPECT_NE(Section(doc, "training").find("No training metrics were given"), std::string::npos);
  EXPECT_EQ(doc.find("<svg class=\"plot\""), std::string::npos);
  EXPECT_EQ(doc.find("reward +"), std::string::npos);
  EXPECT_EQ(Section(doc, "statistics").find("Mean reward"), std::string::npos);
  const std::string summary = Section(doc, "summary");
  EXPECT_NE(summary.find("Not scored"), std::string::npos);
  EXPECT_NE(summary.find("Not evaluated"), std::string::npos);
  EXPECT_NE(summary.find("<dt>β (DPO)</dt><dd>not scored</dd>"), std::string::npos);
  EXPECT_EQ(Occurrences(Section(doc, "answers"), "<tr id=\"q"), 2u);
}

TEST(ComparisonReportTest, ShowsTheHumanVerdict) {
  json summary = Summary(12);
  summary["human"] = {{"job", "bank-v1-ab"},
                      {"systems", json::array({"before", "after"})},
                      {"wins", {{"after", 20}}},
                      {"ties", 5},
                      {"losses", {{"after", 11}}},
                      {"win_rate", 0.61},
                      {"low", 0.48},
                      {"high", 0.72},
                      {"p_value", 0.15},
                      {"votes", 36}};
  std::string doc = RenderComparisonReport(summary, {}, {});
  ExpectSafeAndWellFormed(doc);
  std::string card = Section(doc, "summary");
  for (const char* text :
       {"Human preference · <span class=\"as-is\">after vs before</span>", ">61%<small>win rate</small>",
        "95% interval 48% – 72%", "20 wins · 5 ties · 11 losses for after",
        "p = 0.15 (sign test) · 36 votes · job bank-v1-ab", "No significant preference at 5%"}) {
    EXPECT_NE(card.find(text), std::string::npos) << text;
  }
  EXPECT_NE(
      card.find("<span class=\"w\" style=\"width:55.56%\"></span><span class=\"t\" style=\"width:13.89%\"></span>"),
      std::string::npos);

  summary["human"] = {{"win_rate", 0.8}, {"p_value", 0.0004}, {"votes", 1}};  // partial: what is there
  doc = RenderComparisonReport(summary, {}, {});
  ExpectSafeAndWellFormed(doc);
  card = Section(doc, "summary");
  EXPECT_NE(card.find(">80%<small>"), std::string::npos);
  EXPECT_NE(card.find("p &lt; 0.001 (sign test) · 1 vote"), std::string::npos);
  EXPECT_NE(card.find("after preferred, significant at 5%"), std::string::npos);
  EXPECT_EQ(card.find("95% interval"), std::string::npos);

  summary["human"] = {{"win_rate", 0.3}, {"p_value", 0.01}};  // the baseline wins
  card = Section(RenderComparisonReport(summary, {}, {}), "summary");
  EXPECT_NE(card.find("<span class=\"chip neg\">before preferred, significant at 5%</span>"), std::string::npos);
  summary["human"] = {{"p_value", 0.01}};
  card = Section(RenderComparisonReport(summary, {}, {}), "summary");
  EXPECT_NE(card.find("Significant difference at 5%"), std::string::npos);
  EXPECT_NE(card.find(">–<small>win rate</small>"), std::string::npos);
}

TEST(ComparisonReportTest, InvalidUtf8ShowsAsReplacementCharacters) {
  json summary = Summary(1);
  summary["systems"][1]["adapter"] = "runs/\xC3";
  json q = Question("q\xFF", "Caf\xC3\xA9 \xC3?", "ok", "bad \xF0\x9F\x98 bytes \xED\xA0\x80 and NUL \0 end"s);
  const std::string doc = RenderComparisonReport(summary, {q}, {});
  ExpectSafeAndWellFormed(doc);  // includes utf8::IsValid
  EXPECT_NE(doc.find("q\uFFFD"), std::string::npos);
  EXPECT_NE(doc.find("Café \uFFFD?"), std::string::npos);
  EXPECT_NE(doc.find("runs/\uFFFD"), std::string::npos);
  EXPECT_NE(doc.find("bad \uFFFD bytes \uFFFD\uFFFD\uFFFD and NUL \uFFFD end"), std::string::npos);
}

TEST(ComparisonReportTest, MegabyteAnswersAreClampedNotCut) {
  std::string big;
  while (big.size() < (1u << 20)) big += "Sentence <" + std::to_string(big.size()) + "> of a very long answer. ";
  big += "THE END";
  const std::string unbroken(1u << 20, 'x');  // no space, no punctuation: one "sentence"
  const std::string doc =
      RenderComparisonReport(Summary(1), {Question("q1", "Long?", unbroken, big, 0.1, 0.2)}, Metrics(3, 3));
  ExpectSafeAndWellFormed(doc);
  EXPECT_GT(doc.size(), 2 * (1u << 20));
  EXPECT_LT(doc.size(), 4 * (1u << 20));  // each text once
  EXPECT_NE(doc.find("THE END</div>"), std::string::npos);
  EXPECT_NE(doc.find("&lt;1048"), std::string::npos);
  EXPECT_EQ(Occurrences(doc, "<div class=\"text long\">"), 2u);
  EXPECT_NE(doc.find("Show all " + html::Integer(static_cast<int64_t>(big.size())) + " characters"), std::string::npos);
  EXPECT_NE(doc.find("Show all 1,048,576 characters"), std::string::npos);
}

TEST(ComparisonReportTest, HighlightsSentencesNotInTheBeforeAnswer) {
  const std::string doc = RenderComparisonReport(
      Summary(1),
      {Question("q1", "Limit?", "You can ask.\nCall us!  Thanks.", "You  can ASK.\nCall us! Visit a branch. Thanks.")},
      {});
  ExpectSafeAndWellFormed(doc);
  const std::string answers = Section(doc, "answers");
  EXPECT_NE(answers.find("You  can ASK.\nCall us! <mark class=\"new\">Visit a branch.</mark> Thanks.</div>"),
            std::string::npos);
  EXPECT_EQ(Occurrences(answers, "<mark class=\"new\">"), 2u);  // that one, and the note's example
}

TEST(ComparisonReportTest, MarksNothingWhenTheAnswersShareNoSentence) {
  const std::string doc =
      RenderComparisonReport(Summary(1), {Question("q1", "Limit?", "Call us.", "Open the app. Tap Limits.")}, {});
  ExpectSafeAndWellFormed(doc);
  EXPECT_NE(doc.find("<div class=\"text\">Open the app. Tap Limits.</div>"), std::string::npos);
  EXPECT_EQ(Occurrences(Section(doc, "answers"), "<mark class=\"new\">"), 1u);  // the note's example only
}

TEST(ComparisonReportTest, ThreeSystemsSeveralSamplesAndContext) {
  json summary = Summary(1);
  summary["systems"].push_back({{"name", "v2"}, {"model", "base/"}, {"adapter", "runs/dpo2/adapter"}});
  summary["samples"] = 2;
  summary["stats"] = {{"before",
                       {{"answers", 2},
                        {"mean_tokens", 80.5},
                        {"median_tokens", 77},
                        {"max_tokens", 256},
                        {"finish_reasons", {{"stop", 1}, {"length", 1}}},
                        {"mean_reward", {{"after", -0.12}}}}}};
  auto samples = [](const std::string& a, const std::string& b) {
    json s1 = Sample(a, 10, "stop", std::nullopt), s2 = Sample(b, 12, "stop", std::nullopt);
    s1["reward"] = {{"after", 0.25}, {"v2", -0.5}};
    s2["reward"] = {{"after", 0.75}, {"v2", 0.5}};
    return json::array({s1, s2});
  };
  json q = {{"id", 7},
            {"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                      {{"role", "user"}, {"content", "Hi"}},
                                      {{"role", "assistant"}, {"content", "Hello!"}},
                                      {{"role", "user"}, {"content", "Rates?"}}})},
            {"answers", json::array({{{"system", "before"}, {"samples", samples("b1", "b2")}},
                                     {{"system", "after"}, {"samples", samples("a1", "a2")}},
                                     {{"system", "v2"}, {"samples", samples("c1", "c2")}},
                                     {{"system", "unlisted"}, {"samples", samples("u1", "u2")}}})}};
  const std::string doc = RenderComparisonReport(summary, {q}, {});
  ExpectSafeAndWellFormed(doc);
  const std::string answers = Section(doc, "answers");
  EXPECT_EQ(Occurrences(answers, "<th>"), 5u);  // question, 3 systems, and one named only in the answers
  EXPECT_EQ(Occurrences(answers, ">sample 2</span>"), 4u);
  EXPECT_NE(answers.find("1 · 7</div>"), std::string::npos);                       // numeric id
  EXPECT_NE(answers.find("<div class=\"text\">Rates?</div>"), std::string::npos);  // the question is the last user turn
  EXPECT_NE(answers.find("<div class=\"role\">assistant</div><div class=\"text\">Hello!</div>"), std::string::npos);
  EXPECT_NE(answers.find(">reward (after) +0.25</span>"), std::string::npos);
  EXPECT_NE(answers.find(">reward (v2) \u22120.50</span>"), std::string::npos);
  const std::string stats = Section(doc, "statistics");
  EXPECT_NE(stats.find("Mean reward under after"), std::string::npos);
  EXPECT_NE(stats.find(">80.5</td><td class=\"num\">77</td><td class=\"num\">256</td>"),
            std::string::npos);                                                   // from summary
  EXPECT_NE(stats.find(">11</td><td class=\"num\">12</td>"), std::string::npos);  // computed: median, max
  EXPECT_NE(stats.find("stop 1 · length 1"), std::string::npos);
  EXPECT_NE(stats.find("\u22120.120"), std::string::npos);
  // The histogram shows every system's answers under the policy (after).
  EXPECT_EQ(
      Occurrences(Section(doc, "rewards"), " answers</span>") + Occurrences(Section(doc, "rewards"), " answers<span"),
      4u);
}

TEST(ComparisonReportTest, MalformedInputNeverThrows) {
  const std::vector<json> odd_summaries = {
      json(nullptr), json::array({1, 2}), json("text"),
      json{{"systems", "x"}, {"stats", 3}, {"sampling", json::array()}, {"human", "yes"}, {"beta", "0.1"}},
      json{{"systems", json::array({1, json::object(), {{"name", 5}}})},
           {"human", {{"wins", "many"}, {"systems", 3}}},
           {"questions", -1},
           {"samples", 1.5},
           {"max_new_tokens", true}}};
  const std::vector<json> odd_questions = {
      json(nullptr), json(42),
      json{{"answers",
            json::array(
                {1,
                 {{"system", 3}},
                 {{"system", "s"}, {"samples", "no"}},
                 {{"system", "t"},
                  {"samples", json::array({nullptr, {{"text", 5}, {"tokens", "x"}, {"reward", {{"s", "high"}}}}})}}})},
           {"messages", json::array({nullptr, {{"role", 1}}})}},
      json{{"id", json::array()}, {"question", json::object()}}};
  const std::vector<json> odd_metrics = {json(nullptr), json{{"step", "1"}, {"loss", 1}},
                                         json{{"step", 1e300}, {"loss", 2}}, json{{"step", 2}, {"loss", -1e300}},
                                         json{{"step", 3}, {"loss", 0.5}}};
  for (const json& summary : odd_summaries) {
    std::string doc;
    ASSERT_NO_THROW(doc = RenderComparisonReport(summary, odd_questions, odd_metrics)) << summary.dump();
    ExpectSafeAndWellFormed(doc);
    EXPECT_NE(doc.find("</html>\n"), std::string::npos);
  }
  // One equal value everywhere still gives a readable axis.
  json same = Summary(2);
  const std::string doc =
      RenderComparisonReport(same, {Question("a", "?", "x", "y", 0.5, 0.5), Question("b", "?", "x", "y", 0.5, 0.5)},
                             {{{"step", 5}, {"loss", 0.3}}});
  ExpectSafeAndWellFormed(doc);
  EXPECT_EQ(Occurrences(Section(doc, "training"), "<circle class=\"pt\""), 1u);
}

}  // namespace
}  // namespace tenet::eval
