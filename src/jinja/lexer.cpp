// Jinja lexer with Jinja2's whitespace control. See lexer.h.
#include "lexer.h"

#include <cerrno>
#include <cstdlib>

#include "text.h"

namespace tenet::jinja {

namespace {

Status LexError(int line, const std::string& msg) {
  return Status::InvalidArgument("chat template line " + std::to_string(line), msg);
}

// Decodes the code point at byte `p` (U+FFFD for invalid bytes) and its byte length.
char32_t CodePointAt(const std::string& s, size_t p, size_t* len) {
  size_t n = 1;
  unsigned char c = static_cast<unsigned char>(s[p]);
  if (c >= 0xc0) n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
  if (p + n > s.size()) n = 1;
  std::vector<char32_t> cps = DecodeUtf8(std::string_view(s).substr(p, n));
  if (cps.size() != 1) {
    *len = 1;
    return 0xfffd;
  }
  *len = n;
  return cps[0];
}

// Index past the run of Python whitespace starting at `p`.
size_t SkipPySpace(const std::string& s, size_t p) {
  while (p < s.size()) {
    size_t len;
    if (!IsPySpace(CodePointAt(s, p, &len))) break;
    p += len;
  }
  return p;
}

bool AllPySpace(const std::string& s, size_t from) { return SkipPySpace(s, from) == s.size(); }

int CountNewlines(const std::string& s, size_t from, size_t to) {
  int n = 0;
  for (size_t i = from; i < to && i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsTagSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's "unicode-escape" decoding, which Jinja2 applies to string literals.
Result<std::string> Unescape(std::string_view raw, int line) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out += c;
      continue;
    }
    char e = raw[++i];
    switch (e) {
      case '\n': break;  // line continuation
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x':
      case 'u':
      case 'U': {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        char32_t cp = 0;
        for (size_t k = 0; k < digits; ++k) {
          int h = i + 1 + k < raw.size() ? HexValue(raw[i + 1 + k]) : -1;
          if (h < 0) return LexError(line, std::string("truncated \\") + e + " escape in string literal");
          cp = cp * 16 + static_cast<char32_t>(h);
        }
        if (cp > 0x10ffff) return LexError(line, "escape outside the Unicode range in string literal");
        i += digits;
        AppendUtf8(&out, cp);
        break;
      }
      case 'N': return Status::Unimplemented("chat template line " + std::to_string(line), "\\N{...} escapes");
      default:
        if (e >= '0' && e <= '7') {
          char32_t cp = static_cast<char32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < raw.size() && raw[i + 1] >= '0' && raw[i + 1] <= '7'; ++k)
            cp = cp * 8 + static_cast<char32_t>(raw[++i] - '0');
          AppendUtf8(&out, cp);
        } else {
          out += '\\';  // unknown escapes stay as written, as in Python
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  Result<std::vector<Token>> Run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t start = FindOpen(pos);
      if (start == std::string::npos) {
        Emit(TokenKind::kData, src_.substr(pos), line_);
        break;
      }
      std::string text = src_.substr(pos, start - pos);
      const int text_line = line_;
      char kind = src_[start + 1];
      size_t p = start + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      size_t raw_end = kind == '%' ? MatchRawBegin(p) : std::string::npos;
      if (sign == '-') {
        text = PyStrip(text, nullptr, false, true);
      } else if (sign != '+' && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() && AllPySpace(text, l_pos)) text.resize(l_pos);
      }
      if (!text.empty()) Emit(TokenKind::kData, text, text_line);
      line_ += CountNewlines(src_, pos, p);
      if (raw_end != std::string::npos) {
        line_ += CountNewlines(src_, p, raw_end);
        bool ends_nl = src_[raw_end - 1] == '\n';
        TENET_ASSIGN_OR_RETURN(pos, LexRaw(raw_end, ends_nl, &line_starting));
      } else if (kind == '#') {
        TENET_ASSIGN_OR_RETURN(pos, LexComment(p, &line_starting));
      } else {
        TENET_ASSIGN_OR_RETURN(pos, LexTag(kind, p, &line_starting));
      }
    }
    Emit(TokenKind::kEof, "", line_);
    return std::move(tokens_);
  }

 private:
  void Emit(TokenKind kind, std::string text, int line) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.line = line;
    tokens_.push_back(std::move(t));
  }

  size_t FindOpen(size_t pos) const {
    for (size_t i = src_.find('{', pos); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // Index past `\s*raw\s*(-%}\s*|%})` at p, or npos when this block is not `{% raw %}`.
  size_t MatchRawBegin(size_t p) const {
    while (p < src_.size() && IsTagSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return std::string::npos;
    p += 3;
    if (p < src_.size() && (IsNameStart(src_[p]) || IsDigit(src_[p]))) return std::string::npos;
    while (p < src_.size() && IsTagSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) return SkipPySpace(src_, p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string::npos;
  }

  // From after `{% raw %}`: everything up to `{% endraw %}` is data.
  Result<size_t> LexRaw(size_t p, bool line_starting, bool* next_line_starting) {
    for (size_t i = src_.find("{%", p); i != std::string::npos; i = src_.find("{%", i + 1)) {
      size_t q = i + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      while (q < src_.size() && IsTagSpace(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && IsTagSpace(src_[q])) ++q;
      size_t end;
      if (src_.compare(q, 3, "+%}") == 0) {
        end = q + 3;
      } else if (src_.compare(q, 3, "-%}") == 0) {
        end = SkipPySpace(src_, q + 3);
      } else if (src_.compare(q, 2, "%}") == 0) {
        end = q + 2;
        if (end < src_.size() && src_[end] == '\n') ++end;
      } else {
        continue;
      }
      std::string text = src_.substr(p, i - p);
      if (sign == '-') {
        text = PyStrip(text, nullptr, false, true);
      } else if (sign != '+') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() && AllPySpace(text, l_pos)) text.resize(l_pos);
      }
      if (!text.empty()) Emit(TokenKind::kData, text, line_);
      line_ += CountNewlines(src_, p, end);
      *next_line_starting = src_[end - 1] == '\n';
      return end;
    }
    return LexError(line_, "missing end of raw directive ({% endraw %})");
  }

  Result<size_t> LexComment(size_t p, bool* line_starting) {
    size_t q = src_.find("#}", p);
    if (q == std::string::npos) return LexError(line_, "missing end of comment tag");
    size_t end = q + 2;
    if (q > p && src_[q - 1] == '-') {
      end = SkipPySpace(src_, end);
    } else if (!(q > p && src_[q - 1] == '+') && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    line_ += CountNewlines(src_, p, end);
    *line_starting = src_[end - 1] == '\n';
    return end;
  }

  // Expression tokens of a `{{ }}` (kind '{') or `{% %}` (kind '%') tag, starting after its opener.
  Result<size_t> LexTag(char kind, size_t p, bool* line_starting) {
    const int begin_line = line_;
    Emit(kind == '{' ? TokenKind::kVarBegin : TokenKind::kBlockBegin, "", line_);
    std::string stack;  // open brackets; tag ends only match when balanced, as in Jinja2
    const char close = kind == '{' ? '}' : '%';
    while (true) {
      while (p < src_.size() && IsTagSpace(src_[p])) {
        line_ += src_[p] == '\n';
        ++p;
      }
      if (p >= src_.size()) {
        return LexError(begin_line, kind == '{' ? "unterminated '{{' (expected '}}')" : "unterminated '{%' (expected '%}')");
      }
      if (stack.empty()) {
        size_t end = std::string::npos;
        if (src_[p] == '-' && p + 2 < src_.size() && src_[p + 1] == close && src_[p + 2] == '}') {
          end = SkipPySpace(src_, p + 3);
        } else if (kind == '%' && src_.compare(p, 3, "+%}") == 0) {
          end = p + 3;
        } else if (src_[p] == close && p + 1 < src_.size() && src_[p + 1] == '}') {
          end = p + 2;
          if (kind == '%' && end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
        }
        if (end != std::string::npos) {
          Emit(kind == '{' ? TokenKind::kVarEnd : TokenKind::kBlockEnd, "", line_);
          line_ += CountNewlines(src_, p, end);
          *line_starting = src_[end - 1] == '\n';
          return end;
        }
      }
      TENET_ASSIGN_OR_RETURN(p, LexExprToken(p, &stack));
    }
  }

  Result<size_t> LexExprToken(size_t p, std::string* stack) {
    char c = src_[p];
    if (IsNameStart(c)) {
      size_t q = p;
      while (q < src_.size() && (IsNameStart(src_[q]) || IsDigit(src_[q]))) ++q;
      Emit(TokenKind::kName, src_.substr(p, q - p), line_);
      return q;
    }
    if (IsDigit(c)) return LexNumber(p);
    if (c == '\'' || c == '"') {
      size_t q = p + 1;
      while (q < src_.size() && src_[q] != c) q += src_[q] == '\\' ? 2 : 1;
      if (q >= src_.size()) return LexError(line_, "unterminated string literal");
      TENET_ASSIGN_OR_RETURN(std::string value, Unescape(std::string_view(src_).substr(p + 1, q - p - 1), line_));
      Emit(TokenKind::kString, std::move(value), line_);
      line_ += CountNewlines(src_, p, q);
      return q + 1;
    }
    static const char* const kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kTwo) {
      if (src_.compare(p, 2, op) == 0) {
        Emit(TokenKind::kOp, op, line_);
        return p + 2;
      }
    }
    static const std::string kOne = "+-/*%~[](){}><=.:|,;";
    if (kOne.find(c) == std::string::npos) {
      return LexError(line_, std::string("unexpected character '") + c + "' in tag");
    }
    if (c == '(' || c == '[' || c == '{') {
      stack->push_back(c);
    } else if (c == ')' || c == ']' || c == '}') {
      char open = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (stack->empty() || stack->back() != open) return LexError(line_, std::string("unexpected '") + c + "'");
      stack->pop_back();
    }
    Emit(TokenKind::kOp, std::string(1, c), line_);
    return p + 1;
  }

  Result<size_t> LexNumber(size_t p) {
    auto digits = [&](size_t q) {
      while (q < src_.size() && (IsDigit(src_[q]) || (src_[q] == '_' && q + 1 < src_.size() && IsDigit(src_[q + 1]))))
        ++q;
      return q;
    };
    size_t q = digits(p);
    bool is_float = false;
    if (q + 1 < src_.size() && src_[q] == '.' && IsDigit(src_[q + 1])) {
      q = digits(q + 1);
      is_float = true;
    }
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      size_t r = q + 1;
      if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
      if (r < src_.size() && IsDigit(src_[r])) {
        q = digits(r);
        is_float = true;
      }
    }
    std::string spelled;
    for (size_t i = p; i < q; ++i)
      if (src_[i] != '_') spelled += src_[i];
    Token t;
    t.kind = is_float ? TokenKind::kFloat : TokenKind::kInt;
    t.text = spelled;
    t.line = line_;
    errno = 0;
    if (is_float) {
      t.float_value = std::strtod(spelled.c_str(), nullptr);
    } else {
      t.int_value = std::strtoll(spelled.c_str(), nullptr, 10);
      if (errno == ERANGE) return LexError(line_, "integer literal " + spelled + " out of range");
    }
    tokens_.push_back(std::move(t));
    return q;
  }

  std::string src_;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Lex(std::string_view source) {
  // Jinja2 normalizes \r\n and \r to \n and, without keep_trailing_newline, drops one final \n.
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src += source[i];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).Run();
}

}  // namespace tenet::jinja
