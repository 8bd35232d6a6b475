// The report's blocks of answer text. See report_text.h.
#include "report_text.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

using html::Writer;

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Sentences of `text` as [begin, end) without surrounding whitespace: a sentence ends after
// . ! or ? (with any closing quotes or brackets) followed by whitespace, or at a line break.
// The split points are ASCII bytes, so pieces of valid UTF-8 stay valid.
std::vector<std::pair<size_t, size_t>> SplitSentences(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  const size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && IsSpace(t[i])) ++i;
    if (i == n) break;
    const size_t begin = i;
    size_t end = n;
    for (; i < n; ++i) {
      if (t[i] == '\n') {
        end = i;
        break;
      }
      if (t[i] == '.' || t[i] == '!' || t[i] == '?') {
        size_t j = i + 1;
        while (j < n && std::string_view(".!?\"')]").find(t[j]) != std::string_view::npos) ++j;
        if (j == n || IsSpace(t[j])) {
          end = j;
          break;
        }
        i = j - 1;
      }
    }
    i = end;
    size_t trimmed = end;
    while (trimmed > begin && IsSpace(t[trimmed - 1])) --trimmed;
    out.emplace_back(begin, trimmed);
  }
  return out;
}

// Whitespace runs to one space, ASCII lower case: what counts as "the same sentence".
std::string NormalizeSentence(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsSpace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The text with each sentence not in `known` inside <mark class="new">.
// Nothing is marked when no sentence is shared: a wholly different answer gains nothing from it.
void WriteHighlighted(Writer& w, std::string_view text, const std::unordered_set<std::string>& known) {
  const auto sentences = SplitSentences(text);
  bool shared = false;
  for (auto [b, e] : sentences) shared = shared || known.count(NormalizeSentence(text.substr(b, e - b))) > 0;
  if (!shared) {
    w.Text(text);
    return;
  }
  size_t pos = 0;
  for (auto [b, e] : sentences) {
    w.Text(text.substr(pos, b - pos));
    const std::string_view sentence = text.substr(b, e - b);
    const std::string key = NormalizeSentence(sentence);
    if (key.size() >= 3 && known.count(key) == 0) {
      w.Element("mark", {{"class", "new"}}, sentence);
    } else {
      w.Text(sentence);
    }
    pos = e;
  }
  w.Text(text.substr(pos));
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::unordered_set<std::string> SentenceSet(std::string_view text) {
  std::unordered_set<std::string> out;
  for (auto [b, e] : SplitSentences(text)) out.insert(NormalizeSentence(text.substr(b, e - b)));
  return out;
}

void WriteText(Writer& w, std::string_view text, const char* empty_label,
               const std::unordered_set<std::string>* known) {
  if (text.empty()) {
    w.Element("div", {{"class", "text none"}}, empty_label);
    return;
  }
  const bool long_text = text.size() > 900 || std::count(text.begin(), text.end(), '\n') > 14;
  if (long_text) {
    w.Open("div", {{"class", "clamp"}});
    w.Open("details", {{"class", "more"}});
    w.Open("summary");
    w.Element("span", {{"class", "show"}},
              "Show all " + html::Integer(static_cast<int64_t>(CodePoints(text))) + " characters");
    w.Element("span", {{"class", "hide"}}, "Show less");
    w.Close();
    w.Close();
  }
  w.Open("div", {{"class", long_text ? "text long" : "text"}});
  if (known != nullptr && !known->empty()) {
    WriteHighlighted(w, text, *known);
  } else {
    w.Text(text);
  }
  w.Close();
  if (long_text) w.Close();
}

}  // namespace tenet::eval::report_detail
