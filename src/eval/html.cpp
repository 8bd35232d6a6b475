// The escaping HTML writer and locale-free number formatting. See tenet/eval/html.h.
#include "tenet/eval/html.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>

#include "tenet/util/utf8.h"

namespace tenet::eval::html {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kNotANumber = "\xE2\x80\x93";   // U+2013 en dash
constexpr std::string_view kMinus = "\xE2\x88\x92";        // U+2212 minus sign

// Escapes text known to be valid UTF-8.
void AppendEscapedValid(std::string* out, std::string_view s) {
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::string_view rep;
    switch (c) {
      case '&':
        rep = "&amp;";
        break;
      case '<':
        rep = "&lt;";
        break;
      case '>':
        rep = "&gt;";
        break;
      case '"':
        rep = "&quot;";
        break;
      case '\'':
        rep = "&#39;";
        break;
      case '\t':
      case '\n':
      case '\f':
      case '\r':
        continue;
      default:
        if (c < 0x20 || c == 0x7F) {
          rep = kReplacement;  // HTML forbids these controls (NUL would even be dropped)
          break;
        }
        continue;
    }
    out->append(s.data() + plain, i - plain);
    out->append(rep);
    plain = i + 1;
  }
  out->append(s.data() + plain, s.size() - plain);
}

// Digits of |v| to `decimals` places, "-" stripped, or empty when not finite.
std::string Digits(double v, int decimals, bool* negative) {
  *negative = false;
  if (!std::isfinite(v)) return {};
  if (decimals < 0) decimals = 0;
  if (decimals > 17) decimals = 17;
  char buf[400];  // 309 integer digits of DBL_MAX, a point and 17 decimals
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  assert(ec == std::errc());
  std::string_view s(buf, static_cast<size_t>(end - buf));
  if (!s.empty() && s.front() == '-') {
    s.remove_prefix(1);
    // "-0.00" is zero to the reader: no sign.
    *negative = s.find_first_not_of("0.") != std::string_view::npos;
  }
  return std::string(s);
}

// Inserts "," every three digits of the integer part.
std::string Group(const std::string& digits) {
  const size_t point = std::min(digits.find('.'), digits.size());
  std::string out;
  out.reserve(digits.size() + point / 3);
  for (size_t i = 0; i < point; ++i) {
    if (i > 0 && (point - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  out.append(digits, point, std::string::npos);
  return out;
}

}  // namespace

void AppendEscaped(std::string* out, std::string_view untrusted) {
  if (utf8::IsValid(untrusted)) {
    AppendEscapedValid(out, untrusted);
  } else {
    AppendEscapedValid(out, utf8::Lossy(untrusted));
  }
}

std::string Escape(std::string_view untrusted) {
  std::string out;
  out.reserve(untrusted.size());
  AppendEscaped(&out, untrusted);
  return out;
}

void Writer::WriteAttrs(std::initializer_list<Attr> attrs) {
  for (const Attr& a : attrs) {
    out_ += ' ';
    out_ += a.name.view();
    out_ += "=\"";
    AppendEscaped(&out_, a.value);
    out_ += '"';
  }
}

void Writer::Open(Name tag, std::initializer_list<Attr> attrs) {
  out_ += '<';
  out_ += tag.view();
  WriteAttrs(attrs);
  out_ += '>';
  open_.push_back(tag.view());
}

void Writer::Close() {
  assert(!open_.empty());
  out_ += "</";
  out_ += open_.back();
  out_ += '>';
  open_.pop_back();
}

void Writer::Empty(Name tag, std::initializer_list<Attr> attrs) {
  // An HTML parser honours "/>" only on void elements (where it is a no-op) and in SVG; on any
  // other element it would leave the element open.
  static constexpr std::string_view kSelfClosing[] = {"br",       "col",     "hr",   "meta", "wbr",
                                                      "circle",   "ellipse", "line", "path", "polygon",
                                                      "polyline", "rect",    "stop", "use"};
  out_ += '<';
  out_ += tag.view();
  WriteAttrs(attrs);
  if (std::find(std::begin(kSelfClosing), std::end(kSelfClosing), tag.view()) != std::end(kSelfClosing)) {
    out_ += "/>";
  } else {
    out_ += "></";
    out_ += tag.view();
    out_ += '>';
  }
}

void Writer::Text(std::string_view untrusted) { AppendEscaped(&out_, untrusted); }

void Writer::Element(Name tag, std::initializer_list<Attr> attrs, std::string_view untrusted) {
  Open(tag, attrs);
  Text(untrusted);
  Close();
}

std::string Writer::Finish() {
  assert(open_.empty());
  std::string out = std::move(out_);
  out_.clear();
  open_.clear();
  return out;
}

std::string Fixed(double v, int decimals) {
  bool negative;
  std::string digits = Digits(v, decimals, &negative);
  if (digits.empty()) return std::string(kNotANumber);
  return negative ? "-" + digits : digits;
}

std::string Pretty(double v, int decimals) {
  bool negative;
  std::string digits = Digits(v, decimals, &negative);
  if (digits.empty()) return std::string(kNotANumber);
  return negative ? std::string(kMinus) + Group(digits) : Group(digits);
}

std::string Signed(double v, int decimals) {
  bool negative;
  std::string digits = Digits(v, decimals, &negative);
  if (digits.empty()) return std::string(kNotANumber);
  const bool zero = digits.find_first_not_of("0.") == std::string::npos;
  if (zero) return Group(digits);
  return (negative ? std::string(kMinus) : std::string("+")) + Group(digits);
}

std::string Integer(int64_t v) {
  const std::string digits = std::to_string(v < 0 ? -static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
  return v < 0 ? std::string(kMinus) + Group(digits) : Group(digits);
}

std::string Percent(double p, int decimals) {
  if (!std::isfinite(p)) return std::string(kNotANumber);
  return Pretty(p * 100, decimals) + "%";
}

std::string Shortest(double v) {
  if (!std::isfinite(v)) return std::string(kNotANumber);
  if (v == 0) return "0";  // also -0
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  assert(ec == std::errc());
  return std::string(buf, static_cast<size_t>(end - buf));
}

}  // namespace tenet::eval::html
