// UTF-8 validation, lossy conversion and decoding. See tenet/util/utf8.h.
#include "tenet/util/utf8.h"

#include <cstdint>
#include <cstring>

namespace tenet::utf8 {

namespace {

// The sequence starting at p[0] (n >= 1 bytes available): either `len` bytes forming one
// well-formed character, or the maximal subpart of an ill-formed one (len >= 1). `truncated`
// means the bytes were valid so far but the input ended before the character did.
struct Sequence {
  size_t len;
  bool complete;
  bool truncated;
};

Sequence Examine(const uint8_t* p, size_t n) {
  const uint8_t b = p[0];
  if (b < 0x80) return {1, true, false};
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // bounds for the second byte (Table 3-7)
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    need = 2;
  } else if (b == 0xED) {
    need = 2, hi = 0x9F;  // excludes UTF-16 surrogates
  } else if (b == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 3;
  } else if (b == 0xF4) {
    need = 3, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, false};  // 80..C1, F5..FF never start a character
  }
  for (size_t k = 1; k <= need; ++k) {
    if (k >= n) return {k, false, true};
    const uint8_t c = p[k];
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (c < l || c > h) return {k, false, false};
  }
  return {need + 1, true, false};
}

}  // namespace

size_t FindInvalid(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: eight bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Sequence seq = Examine(p + i, n - i);
    if (!seq.complete) return i;
    i += seq.len;
  }
  return std::string_view::npos;
}

std::string Lossy(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve(n);
  size_t i = 0;
  while (i < n) {
    const Sequence seq = Examine(p + i, n - i);
    if (seq.complete) {
      out.append(bytes.data() + i, seq.len);
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
    }
    i += seq.len;
  }
  return out;
}

size_t IncompleteTail(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  // A character is at most 4 bytes, so only the last start byte, if among the last 3 bytes, can
  // begin an incomplete one.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t start = n - back;
    if ((p[start] & 0xC0) == 0x80) continue;  // continuation byte: not a start
    const Sequence seq = Examine(p + start, back);
    return seq.truncated ? back : 0;
  }
  return 0;
}

char32_t Next(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t b = p[*i];
  if (b < 0x80) {
    *i += 1;
    return b;
  }
  if (b < 0xE0) {
    char32_t cp = ((b & 0x1F) << 6) | (p[*i + 1] & 0x3F);
    *i += 2;
    return cp;
  }
  if (b < 0xF0) {
    char32_t cp = ((b & 0x0F) << 12) | ((p[*i + 1] & 0x3F) << 6) | (p[*i + 2] & 0x3F);
    *i += 3;
    return cp;
  }
  char32_t cp = ((b & 0x07) << 18) | ((p[*i + 1] & 0x3F) << 12) | ((p[*i + 2] & 0x3F) << 6) | (p[*i + 3] & 0x3F);
  *i += 4;
  return cp;
}

void Append(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsWhiteSpace(char32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace tenet::utf8
