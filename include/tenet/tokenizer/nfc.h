// Unicode Normalization Form C (UAX #15), for tokenizer.json's {"type": "NFC"} normalizer (Qwen2),
// through utf8proc (Debian's libutf8proc-dev, the library Julia normalizes with).
//
// Not for: NFD/NFKC/NFKD. Unicode version: utf8proc's (15.0 in Debian 12's utf8proc 2.8;
// NfcUnicodeVersion() says which); characters assigned later pass through unchanged.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tenet {

// NFC of `text`, which must be valid UTF-8 (the tokenizer validates it first); text that utf8proc
// rejects all the same is returned unchanged.
std::string NfcNormalize(std::string_view text);
// A cheap test that NfcNormalize(text) == text: true when every code point is below U+0300 (ASCII,
// Latin-1, Latin Extended), which never decompose, compose or reorder. False says nothing.
bool IsNfcQuick(std::string_view text);
// The Unicode version of utf8proc's tables, e.g. "15.0.0".
const char* NfcUnicodeVersion();

}  // namespace tenet
