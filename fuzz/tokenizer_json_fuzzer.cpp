// Fuzz target: tokenizer.json through Tokenizer::FromJson (model, merges, added tokens,
// normalizer, pre-tokenizer regexes, decoder); a tokenizer it accepts encodes and decodes a fixed
// text both with and without special tokens.
#include <cstdint>
#include <string_view>

#include "tenet/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tok = tenet::Tokenizer::FromJson(std::string_view(reinterpret_cast<const char*>(data), size), "", "tokenizer.json");
  if (!tok.ok()) return 0;
  for (bool special : {true, false}) {
    auto ids = (*tok)->Encode("Hello world! 123 h\xc3\xa9llo  \n\t<|eot_id|> \xe4\xbd\xa0\xe5\xa5\xbd", special);
    if (ids.ok()) (void)(*tok)->Decode(*ids, special);
  }
  for (int32_t id : {0, 1, (*tok)->vocab_size() - 1}) (void)(*tok)->IdToToken(id);
  return 0;
}
