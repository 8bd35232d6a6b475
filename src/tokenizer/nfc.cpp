// NFC: canonical decomposition, canonical ordering, canonical composition (UAX #15), with Hangul
// done arithmetically (Unicode 3.12). See tenet/tokenizer/nfc.h.
#include "tenet/tokenizer/nfc.h"

#include <algorithm>
#include <vector>

#include "tenet/tokenizer/utf8.h"

namespace tenet {

namespace {

using namespace nfc_data;

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t Ccc(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = kCombiningClasses + kNumCombiningClasses;
  const auto* it = std::lower_bound(kCombiningClasses, end, cp, [](const CombiningClass& c, char32_t v) { return c.cp < v; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

bool QuickYes(char32_t cp) {
  if (cp < 0x300) return true;
  const auto* end = kNotQuickYes + kNumNotQuickYes;
  const auto* it = std::upper_bound(kNotQuickYes, end, cp, [](char32_t v, const Range& r) { return v < r.lo; });
  return it == kNotQuickYes || cp > (it - 1)->hi;
}

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = kDecompositions + kNumDecompositions;
  const auto* it = std::lower_bound(kDecompositions, end, cp, [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == end || it->cp != cp) {
    out->push_back(cp);
    return;
  }
  Decompose(it->first, out);  // mappings may themselves decompose (full decomposition)
  if (it->second != 0) Decompose(it->second, out);
}

// The primary composite of (a, b), or 0.
char32_t Compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* end = kCompositions + kNumCompositions;
  const auto* it = std::lower_bound(kCompositions, end, std::make_pair(a, b), [](const Composition& c, std::pair<char32_t, char32_t> v) {
    return c.first != v.first ? c.first < v.first : c.second < v.second;
  });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

bool IsNfcQuick(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // Bytes below 0xCC start code points below U+0300, which are all quick-yes.
    if (static_cast<unsigned char>(text[i]) < 0xCC) {
      ++i;
      continue;
    }
    if (!QuickYes(utf8::Next(text, &i))) return false;
  }
  return true;
}

std::string NfcNormalize(std::string_view text) {
  if (IsNfcQuick(text)) return std::string(text);
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t i = 0; i < text.size();) Decompose(utf8::Next(text, &i), &cps);
  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (Ccc(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && Ccc(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](char32_t a, char32_t b) { return Ccc(a) < Ccc(b); });
    i = j;
  }
  // Canonical composition: combine each character with the last starter unless blocked (an
  // intervening character of class 0 or of a class >= its own).
  std::vector<char32_t> out;
  out.reserve(cps.size());
  ptrdiff_t starter = -1;
  uint8_t last_ccc = 0;
  for (char32_t cp : cps) {
    const uint8_t ccc = Ccc(cp);
    if (starter >= 0) {
      const bool adjacent = static_cast<size_t>(starter) + 1 == out.size();
      if (adjacent || (last_ccc != 0 && last_ccc < ccc)) {
        if (char32_t c = Compose(out[starter], cp); c != 0) {
          out[starter] = c;
          continue;
        }
      }
    }
    if (ccc == 0) {
      starter = static_cast<ptrdiff_t>(out.size());
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    out.push_back(cp);
  }
  std::string result;
  result.reserve(text.size());
  for (char32_t cp : out) utf8::Append(&result, cp);
  return result;
}

}  // namespace tenet
