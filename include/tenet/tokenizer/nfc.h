// Unicode Normalization Form C (UAX #15), for tokenizer.json's {"type": "NFC"} normalizer (Qwen2).
// Built in, from tables generated out of Python's unicodedata (src/tokenizer/nfc_tables.py), so
// the tokenizer needs no ICU. Text that is plainly NFC already (every code point "quick yes", e.g.
// ASCII, most CJK) is returned without rework.
//
// Not for: NFD/NFKC/NFKD. Unicode version: that of the generator's Python (14.0 on Debian 12);
// characters assigned later are passed through unchanged.
// Thread-safety: pure functions over constant tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tenet {

// NFC of `text`, which must be valid UTF-8.
std::string NfcNormalize(std::string_view text);
// Whether NfcNormalize(text) == text is known without normalizing (all code points quick-yes).
bool IsNfcQuick(std::string_view text);

namespace nfc_data {
struct CombiningClass {
  uint32_t cp;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint32_t first;
  uint32_t second;  // 0 for a singleton
};
struct Composition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};
struct Range {
  uint32_t lo;
  uint32_t hi;
};
extern const char* const kUnicodeVersion;
extern const CombiningClass kCombiningClasses[];
extern const size_t kNumCombiningClasses;
extern const Decomposition kDecompositions[];
extern const size_t kNumDecompositions;
extern const Composition kCompositions[];  // sorted by (first, second)
extern const size_t kNumCompositions;
extern const Range kNotQuickYes[];  // sorted, disjoint
extern const size_t kNumNotQuickYes;
}  // namespace nfc_data

}  // namespace tenet
