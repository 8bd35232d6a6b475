// NFC through utf8proc_map (the call behind utf8proc_NFC, with an explicit length so that text
// holding NUL bytes is normalized whole). See tenet/tokenizer/nfc.h.
#include "tenet/tokenizer/nfc.h"

#include <cstdlib>

#include <utf8proc.h>

namespace tenet {

bool IsNfcQuick(std::string_view text) {
  // Lead bytes below 0xCC start code points below U+0300; continuation bytes are below 0xC0.
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0xCC) return false;
  }
  return true;
}

std::string NfcNormalize(std::string_view text) {
  if (IsNfcQuick(text)) return std::string(text);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                          static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return std::string(text);  // not valid UTF-8: the caller's precondition was broken
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

const char* NfcUnicodeVersion() { return utf8proc_unicode_version(); }

}  // namespace tenet
