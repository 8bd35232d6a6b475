// GPT-2 byte-level alphabet. See tenet/tokenizer/byte_level.h.
#include "tenet/tokenizer/byte_level.h"

#include <array>

#include "tenet/util/utf8.h"

namespace tenet::byte_level {

namespace {

constexpr int kMaxChar = 256 + 68;  // the remapped bytes use U+0100..U+0143

struct Tables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<int16_t, kMaxChar> char_to_byte{};
  Tables() {
    char_to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      byte_to_char[b] = cp;
      char_to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}

}  // namespace

char32_t ByteToChar(uint8_t b) { return T().byte_to_char[b]; }

int CharToByte(char32_t cp) { return cp < static_cast<char32_t>(kMaxChar) ? T().char_to_byte[cp] : -1; }

bool TokenToBytes(std::string_view token, std::string* bytes) {
  if (!utf8::IsValid(token)) return false;
  bytes->clear();
  size_t i = 0;
  while (i < token.size()) {
    const int b = CharToByte(utf8::Next(token, &i));
    if (b < 0) return false;
    bytes->push_back(static_cast<char>(b));
  }
  return true;
}

std::string BytesToToken(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::Append(&out, ByteToChar(b));
  return out;
}

}  // namespace tenet::byte_level
