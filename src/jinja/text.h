// Text helpers for the Jinja engine behind chat templates: UTF-8 code points and the few Python
// `str` behaviours templates observe (isspace-based strip, case mapping, repr quoting, float
// repr, json.dumps string escaping), so output matches Python Jinja2 byte for byte.
//
// Not for: general Unicode processing. Case mapping is the simple one-to-one mapping of glibc's
// C.UTF-8 locale plus 'ß' -> 'SS'; Python's other one-to-many mappings (ligatures, 'İ'.lower())
// are not reproduced.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenet::jinja {

// Decodes UTF-8 into code points; invalid bytes decode as U+FFFD one byte at a time (never fails,
// so hostile bytes in message content cannot abort rendering).
std::vector<char32_t> DecodeUtf8(std::string_view s);
void AppendUtf8(std::string* out, char32_t cp);
std::string EncodeUtf8(const std::vector<char32_t>& cps, size_t begin, size_t end);
// Number of code points (Python's len(str)).
size_t CodePointCount(std::string_view s);

// Python's str.isspace() for one code point.
bool IsPySpace(char32_t cp);
// Python's str.strip()/lstrip()/rstrip(); `chars` null means whitespace.
std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right);

char32_t ToUpper(char32_t cp);
char32_t ToLower(char32_t cp);
bool IsAlpha(char32_t cp);
std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
std::string PyCapitalize(std::string_view s);  // str.capitalize(): first upper, rest lower
std::string PyTitle(std::string_view s);       // str.title(): word starts after non-letters

// "'" + s + suffix, built by appending (GCC 12's -Wrestrict misfires on "'" + std::string).
std::string Quoted(std::string_view s, std::string_view suffix = "'");

// Python repr() of a str: single quotes unless the text has ' and no ", escapes for \\ \n \r \t
// and other non-printable characters.
std::string PyReprString(std::string_view s);
// Python repr() of a float ("1.0", "1e-05", "1e+16", "inf", "nan").
std::string PyReprFloat(double v);
// json.dumps(str, ensure_ascii=False) quoting: escapes " \\ and control characters only.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace tenet::jinja
