// A tiny HTML writer that escapes by construction, for the self-contained reports of eval/
// (`tenet compare`), plus locale-free number formatting for them.
//
// The rule it enforces: markup comes only from compile-time constants of our own, data only as
// escaped text. Tag and attribute names are `Name`s and raw markup (the style sheet) is `Trusted`;
// both can only be built from string literals (consteval constructors taking `const char (&)[N]`),
// so no runtime string (model output, a question, a system name, a file path) can ever become a
// tag, an attribute or markup. Text content and attribute values are always escaped (& < > " ')
// after replacing invalid UTF-8 with U+FFFD and control characters other than tab, LF, FF and CR
// with U+FFFD, so the document stays well-formed whatever bytes the text holds.
//
// Not here: what a report shows (eval/report.h), URL or CSS sanitizing (callers must not put
// data into href/src/style values other than numbers they computed), pretty-printing.
//
// Thread-safety: Writer is a plain value (one per thread); the free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace tenet::eval::html {

// A tag or attribute name, from a literal only; its characters are checked at compile time
// ([a-zA-Z0-9-], a colon for SVG's xlink-style names), so `Name("on" + x)` does not compile.
class Name {
 public:
  template <size_t N>
  consteval Name(const char (&s)[N]) : s_(s, N - 1) {  // NOLINT(google-explicit-constructor)
    if (s_.empty()) throw "html::Name: empty";
    for (char c : s_) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == ':';
      if (!ok) throw "html::Name: not a tag or attribute name";  // a compile error in a consteval call
    }
  }
  std::string_view view() const { return s_; }

 private:
  std::string_view s_;
};

// Markup we wrote ourselves (the style sheet, a doctype), from a literal only.
class Trusted {
 public:
  template <size_t N>
  consteval Trusted(const char (&s)[N]) : s_(s, N - 1) {}  // NOLINT(google-explicit-constructor)
  std::string_view view() const { return s_; }

 private:
  std::string_view s_;
};

// One attribute: the name is ours, the value is escaped when written.
struct Attr {
  Name name;
  std::string value;
};

// Appends a document to a string. Elements are opened and closed in order (Close() closes the
// innermost open one); misuse (closing with none open, Finish() with elements open) is a
// programmer error and asserted.
class Writer {
 public:
  // <tag a="v" ...>; the element stays open until Close().
  void Open(Name tag, std::initializer_list<Attr> attrs = {});
  // Closes the innermost open element.
  void Close();
  // An element without content: <tag .../> for HTML's void elements (meta, col, br, hr, wbr) and
  // SVG's shapes (circle, ellipse, line, path, polygon, polyline, rect, stop, use); any other
  // element is written <tag ...></tag>, since an HTML parser would leave <span/> open.
  void Empty(Name tag, std::initializer_list<Attr> attrs = {});
  // Escaped text (see Escape).
  void Text(std::string_view untrusted);
  // <tag attrs>escaped text</tag>.
  void Element(Name tag, std::initializer_list<Attr> attrs, std::string_view untrusted);
  void Element(Name tag, std::string_view untrusted) { Element(tag, {}, untrusted); }
  // Our own markup, verbatim.
  void Raw(Trusted markup) { out_ += markup.view(); }

  size_t depth() const { return open_.size(); }
  size_t size() const { return out_.size(); }
  // The document; asserts every element was closed. The writer is empty afterwards.
  std::string Finish();

 private:
  void WriteAttrs(std::initializer_list<Attr> attrs);

  std::string out_;
  std::vector<std::string_view> open_;  // names of the open elements, innermost last
};

// `untrusted` as HTML text or a quoted attribute value: invalid UTF-8 becomes U+FFFD
// (utf8::Lossy), so do C0 controls other than tab, LF, FF and CR, and DEL; & < > " ' become
// &amp; &lt; &gt; &quot; &#39;. Appends to *out.
void AppendEscaped(std::string* out, std::string_view untrusted);
std::string Escape(std::string_view untrusted);

// Numbers, independent of the locale (std::to_chars), never in exponent notation except Shortest.
// A non-finite value renders as "–" (en dash) in every helper.
//
// Fixed(-1.25, 1) = "-1.2" (round half to even on the binary value, like printf); ASCII, for
// SVG coordinates and attribute values. "-0.0" is written "0.0".
std::string Fixed(double v, int decimals);
// Fixed with digit grouping and a typographic minus: Pretty(-12345.6, 1) = "−12,345.6".
std::string Pretty(double v, int decimals);
// Pretty with a sign always: Signed(0.31, 2) = "+0.31", Signed(-0.1, 2) = "−0.10", zero "0.00".
std::string Signed(double v, int decimals);
// Grouped integer: Integer(1234567) = "1,234,567"; Integer(-5) = "−5".
std::string Integer(int64_t v);
// A proportion as a percentage: Percent(0.613, 0) = "61%".
std::string Percent(double p, int decimals);
// The shortest text that reads back as v ("0.7", "1", "1e-05"), for settings echoed as given.
std::string Shortest(double v);

}  // namespace tenet::eval::html
