// GPT-2's byte-level alphabet (`bytes_to_unicode` in openai/gpt-2 encoder.py, used by the
// Hugging Face ByteLevel pre-tokenizer and decoder): each of the 256 byte values stands for one
// printable code point, so byte strings can live in a JSON vocabulary. Printable Latin-1 bytes map
// to themselves; the other 68 map to U+0100.. in byte order (space -> 'Ġ' U+0120, '\n' -> 'Ċ').
//
// Not for: anything but the table. Thread-safety: pure functions over constant tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tenet::byte_level {

// The code point that stands for byte `b`.
char32_t ByteToChar(uint8_t b);
// The byte that code point `cp` stands for, or -1 if `cp` is not one of the 256.
int CharToByte(char32_t cp);

// Maps a byte-level token ("Ġhello") to its raw bytes (" hello"). Returns false, leaving *bytes
// unspecified, if `token` is not valid UTF-8 or holds a character outside the alphabet.
bool TokenToBytes(std::string_view token, std::string* bytes);
// Maps raw bytes to the byte-level token string.
std::string BytesToToken(std::string_view bytes);

}  // namespace tenet::byte_level
