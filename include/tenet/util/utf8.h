// UTF-8 helpers (the tokenizer, the Jinja engine, stop strings): strict validation (Unicode Table 3-7: no overlongs, surrogates
// or code points above U+10FFFF), Rust `String::from_utf8_lossy` replacement, and code point
// decoding for text already known to be valid.
//
// Not for: normalization or character classes (see tokenizer/nfc.h and the PCRE2 patterns).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tenet::utf8 {

// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (a truncated
// sequence at the end counts), or std::string_view::npos when `s` is entirely valid.
size_t FindInvalid(std::string_view s);
inline bool IsValid(std::string_view s) { return FindInvalid(s) == std::string_view::npos; }

// Like Rust's String::from_utf8_lossy (what Hugging Face's decoders use): every maximal invalid
// subpart (Unicode "substitution of maximal subparts") becomes one U+FFFD.
std::string Lossy(std::string_view bytes);

// Number of bytes at the end of `bytes` that form a proper prefix of a well-formed sequence, i.e.
// a character that more bytes could still complete (0 to 3). Used by the streaming decoder.
size_t IncompleteTail(std::string_view bytes);

// Decodes the code point starting at s[*i] and advances *i past it. `s` must be valid UTF-8.
char32_t Next(std::string_view s, size_t* i);
// Appends the UTF-8 encoding of `cp` (a Unicode scalar value).
void Append(std::string* out, char32_t cp);

// Unicode White_Space (what Rust's char::is_whitespace and Oniguruma's \s accept).
bool IsWhiteSpace(char32_t cp);

}  // namespace tenet::utf8
