// PCRE2 wrapper for pre-tokenizer patterns. See tenet/tokenizer/regex.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tenet/tokenizer/regex.h"

#include <pcre2.h>

#include <cctype>

namespace tenet {

namespace {

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buf[256];
  int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf), n);
}

// Per-thread match data and JIT stack. PCRE2 match data must not be shared between threads, and
// the default 32 KiB JIT stack is too small for patterns like `\s+(?!\S)` on long whitespace runs.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_context* context = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(16, nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (context != nullptr && jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(data);
  }
};

MatchScratch& Scratch() {
  thread_local MatchScratch scratch;
  return scratch;
}

constexpr std::string_view kWhiteSpace = "\\p{White_Space}";
constexpr std::string_view kNotWhiteSpace = "\\P{White_Space}";
constexpr std::string_view kWordInClass = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

}  // namespace

std::string Regex::TranslateOniguruma(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += kWhiteSpace;
      } else if (e == 'S') {
        out += kNotWhiteSpace;
      } else if (e == 'w') {
        if (in_class) {
          out += kWordInClass;
        } else {
          out += '[';
          out += kWordInClass;
          out += ']';
        }
      } else if (e == 'W' && !in_class) {
        out += "[^";
        out += kWordInClass;
        out += ']';
      } else if (e == 'Q') {
        // \Q...\E quotes literally: copy through unchanged.
        size_t end = p.find("\\E", i + 1);
        if (end == std::string_view::npos) end = p.size();
        out += "\\Q";
        out.append(p.substr(i + 1, end - (i + 1)));
        if (end < p.size()) out += "\\E";
        i = end == p.size() ? end : end + 1;
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      // POSIX class like [:alpha:] inside a class: copy through its closing ":]".
      size_t end = p.find(":]", i + 2);
      if (end != std::string_view::npos) {
        out.append(p.substr(i, end + 2 - i));
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

Result<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, std::string_view what) {
  const std::string translated = TranslateOniguruma(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    return Status::InvalidArgument(what, "bad regex /" + std::string(pattern) + "/: " + Pcre2Message(error) +
                                             " at offset " + std::to_string(offset));
  }
  std::unique_ptr<Regex> re(new Regex());
  re->code_ = code;
  re->what_ = std::string(what);
  // JIT is an optimisation only: a build of PCRE2 without it still matches, just slower.
  re->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

Result<std::unique_ptr<Regex>> Regex::CompileLiteral(std::string_view literal, std::string_view what) {
  std::string quoted;
  for (char c : literal) {
    // Escape every ASCII punctuation character; letters, digits and non-ASCII bytes stay as-is.
    if (static_cast<unsigned char>(c) < 0x80 && !std::isalnum(static_cast<unsigned char>(c)) && c != ' ') {
      quoted += '\\';
    }
    quoted += c;
  }
  // Bypass the Oniguruma rewrite: the escapes above are literal characters.
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(quoted.data()), quoted.size(), PCRE2_UTF | PCRE2_UCP,
                                   &error, &offset, nullptr);
  if (code == nullptr) return Status::InvalidArgument(what, "bad split string: " + Pcre2Message(error));
  std::unique_ptr<Regex> re(new Regex());
  re->code_ = code;
  re->what_ = std::string(what);
  re->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

Status Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
  MatchScratch& scratch = Scratch();
  if (scratch.data == nullptr || scratch.context == nullptr) return Status::Internal(what_, "out of memory for regex match");
  auto* code = static_cast<const pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  size_t pos = 0;
  while (pos <= n) {
    // The caller validated the text once; checking it again on every call would make the split
    // quadratic in the number of matches.
    int rc = jit_ ? pcre2_jit_match(code, subject, n, pos, PCRE2_NO_UTF_CHECK, scratch.data, scratch.context)
                  : pcre2_match(code, subject, n, pos, PCRE2_NO_UTF_CHECK, scratch.data, scratch.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return Status::Internal(what_, "regex match failed: " + Pcre2Message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data);
    const size_t start = ov[0], end = ov[1];
    if (end > start) {
      matches->emplace_back(start, end);
      pos = end;
    } else {
      // Empty match: step over one whole character so the next search starts on a boundary.
      if (start >= n) break;
      size_t next = start + 1;
      while (next < n && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      pos = next;
    }
  }
  return Status::OK();
}

}  // namespace tenet
