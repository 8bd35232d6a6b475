// Tokenizer unit tests: the byte-level alphabet, NFC, BPE rules on small hand-made
// tokenizer.json files (Qwen2-style Sequence pre-tokenizer, merges as pairs or strings), added and
// special tokens, tokenizer_config.json fields, the streaming decoder, and hostile input. Expected
// ids are derived by hand in the comments.
//
// Not for: Llama 3 parity against the node references (tokenizer_parity_test.cpp).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/tokenizer/byte_level.h"
#include "tenet/tokenizer/nfc.h"
#include "tenet/tokenizer/regex.h"
#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/file.h"
#include "tenet/util/utf8.h"
#include "test_util.h"

namespace tenet {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The byte-level alphabet

TEST(ByteLevelTest, Gpt2Alphabet) {
  EXPECT_EQ(byte_level::BytesToToken(" "), "\u0120");   // 'Ġ'
  EXPECT_EQ(byte_level::BytesToToken("\n"), "\u010A");  // 'Ċ'
  EXPECT_EQ(byte_level::BytesToToken("A~!"), "A~!");
  EXPECT_EQ(byte_level::BytesToToken("\xAD"), "\u0143");  // the last remapped byte
  std::string bytes;
  ASSERT_TRUE(byte_level::TokenToBytes("\u0120hello", &bytes));
  EXPECT_EQ(bytes, " hello");
  EXPECT_FALSE(byte_level::TokenToBytes("a b", &bytes));  // a real space is not in the alphabet
  for (int b = 0; b < 256; ++b) {
    ASSERT_EQ(byte_level::CharToByte(byte_level::ByteToChar(static_cast<uint8_t>(b))), b);
  }
}

TEST(RegexTest, TranslatesOnigurumaEscapes) {
  EXPECT_EQ(Regex::TranslateOniguruma(R"(\s+(?!\S))"), R"(\p{White_Space}+(?!\P{White_Space}))");
  EXPECT_EQ(Regex::TranslateOniguruma(R"([^\s\p{L}])"), R"([^\p{White_Space}\p{L}])");
  EXPECT_EQ(Regex::TranslateOniguruma(R"(\w+)"), R"([\p{L}\p{M}\p{Nd}\p{Pc}]+)");
  EXPECT_EQ(Regex::TranslateOniguruma(R"(\\s)"), R"(\\s)");  // an escaped backslash, then 's'
  EXPECT_EQ(Regex::TranslateOniguruma(R"([]\s])"), R"([]\p{White_Space}])");
}

TEST(RegexTest, WhiteSpaceIsUnicodeWhiteSpace) {
  auto re = Regex::Compile(R"(\s+)", "test");
  ASSERT_TRUE(re.ok());
  std::vector<std::pair<size_t, size_t>> m;
  // U+0085 is White_Space; U+FEFF and U+180E are not (PCRE2's own UCP \s would take U+180E).
  ASSERT_TRUE((*re)->FindAll("a\u0085b\ufeffc\u180ed", &m).ok());
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0], std::make_pair(size_t{1}, size_t{3}));
}

TEST(NfcTest, ComposesReordersAndRespectsExclusions) {
  EXPECT_EQ(NfcNormalize("cafe\u0301"), "caf\u00e9");
  EXPECT_EQ(NfcNormalize("\u212B"), "\u00C5");                        // Angstrom sign: singleton
  EXPECT_EQ(NfcNormalize("a\u0323\u0302"), "\u1EAD");                // ậ
  EXPECT_EQ(NfcNormalize("a\u0302\u0323"), "\u1EAD");                // reordered by class first
  EXPECT_EQ(NfcNormalize("\u1100\u1161\u11A8"), "\uAC01");          // Hangul L V T -> 각
  EXPECT_EQ(NfcNormalize("\uAC00\u11A8"), "\uAC01");                 // LV + T
  EXPECT_EQ(NfcNormalize("\u0958"), "\u0915\u093C");                 // composition exclusion
  EXPECT_EQ(NfcNormalize("\u0344"), "\u0308\u0301");                 // non-starter decomposition
  EXPECT_EQ(NfcNormalize("\u0301a"), "\u0301a");                      // leading mark stays
  EXPECT_EQ(NfcNormalize("e\u0301\u0301"), "\u00E9\u0301");         // second acute is blocked
  EXPECT_EQ(NfcNormalize("plain ASCII and \u4E2D\u6587"), "plain ASCII and \u4E2D\u6587");
  EXPECT_EQ(NfcNormalize(std::string("a\0e\u0301", 5)), std::string("a\0\u00e9", 4));  // NUL bytes kept
  EXPECT_EQ(NfcNormalize("\u1E0B\u0323"), "\u1E0D\u0307");       // ḍ̇: decompose, reorder, recompose
  EXPECT_TRUE(IsNfcQuick("plain ASCII, caf\u00e9, \u0100"));
  EXPECT_FALSE(IsNfcQuick("cafe\u0301"));
  EXPECT_STRNE(NfcUnicodeVersion(), "");
}

// ---------------------------------------------------------------------------------------------
// Hand-made tokenizers

constexpr const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A tokenizer.json with the 256 byte tokens as ids 0..255 (in byte order), then every merge result
// in merge order, then `extra` tokens. Tokens are given as raw bytes and written byte-level.
struct MiniSpec {
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> extra;
  bool merges_as_pairs = true;
  bool ignore_merges = false;
  json added_tokens = json::array();
  json pre_tokenizer = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", kQwen2Pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}};
  json normalizer = nullptr;
  json post_processor = nullptr;
};

json MakeTokenizerJson(const MiniSpec& spec) {
  json vocab = json::object();
  int32_t next = 0;
  auto add = [&](const std::string& raw) {
    const std::string tok = byte_level::BytesToToken(raw);
    if (!vocab.contains(tok)) vocab[tok] = next++;
  };
  for (int b = 0; b < 256; ++b) add(std::string(1, static_cast<char>(b)));
  json merges = json::array();
  for (const auto& [a, b] : spec.merges) {
    add(a + b);
    const std::string ta = byte_level::BytesToToken(a), tb = byte_level::BytesToToken(b);
    if (spec.merges_as_pairs) merges.push_back({ta, tb});
    else merges.push_back(ta + " " + tb);
  }
  for (const std::string& e : spec.extra) add(e);
  json j = {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", spec.added_tokens},
            {"normalizer", spec.normalizer},
            {"pre_tokenizer", spec.pre_tokenizer},
            {"post_processor", spec.post_processor},
            {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", ""},
              {"end_of_word_suffix", ""},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"ignore_merges", spec.ignore_merges},
              {"vocab", vocab},
              {"merges", merges}}}};
  return j;
}

json Added(int32_t id, const std::string& content, bool special, bool normalized = false) {
  return {{"id", id},           {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},    {"normalized", normalized}, {"special", special}};
}

std::unique_ptr<Tokenizer> Build(const MiniSpec& spec, const std::string& config = "") {
  auto t = Tokenizer::FromJson(MakeTokenizerJson(spec).dump(), config, "mini/tokenizer.json");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

// ids of byte-level tokens given as raw bytes
std::vector<int32_t> Ids(const Tokenizer& t, const std::vector<std::string>& raw_tokens) {
  std::vector<int32_t> ids;
  for (const std::string& r : raw_tokens) {
    auto id = t.TokenToId(byte_level::BytesToToken(r));
    EXPECT_TRUE(id.has_value()) << "no token for '" << r << "'";
    ids.push_back(id.value_or(-1));
  }
  return ids;
}

MiniSpec HelloWorldSpec() {
  MiniSpec spec;
  // ranks 0..8
  spec.merges = {{"l", "l"}, {"H", "e"}, {"He", "ll"}, {"Hell", "o"}, {" ", "w"},
                 {"o", "r"}, {" w", "or"}, {" wor", "l"}, {" worl", "d"}};
  return spec;
}

TEST(MiniTokenizerTest, Qwen2StyleSequenceAndPairMerges) {
  auto t = Build(HelloWorldSpec());
  ASSERT_NE(t, nullptr);
  // Words (Qwen2 pattern: single digits): "Hello" " world" " " "1" "2" "3".
  // "Hello": l+l (0) -> H+e (1) -> He+ll (2) -> Hell+o (3). " world": Ġ+w, o+r, Ġw+or, +l, +d.
  auto ids = t->Encode("Hello world 123");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, Ids(*t, {"Hello", " world", " ", "1", "2", "3"}));
  EXPECT_EQ(t->Decode(*ids).value(), "Hello world 123");
  EXPECT_EQ(t->vocab_size(), 256 + 9);
}

TEST(MiniTokenizerTest, NfcNormalizerLikeQwen2) {
  MiniSpec spec = HelloWorldSpec();
  spec.normalizer = {{"type", "NFC"}};
  spec.merges.push_back({"\xC3", "\xA9"});  // "é" as one token
  spec.added_tokens = {Added(300, "<|im_start|>", true)};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // "e" + U+0301 becomes "é" before pre-tokenization, so both spellings give the same ids.
  const std::vector<int32_t> composed = t->Encode("<|im_start|>Hello caf\u00e9").value();
  EXPECT_EQ(t->Encode("<|im_start|>Hello cafe\u0301").value(), composed);
  EXPECT_EQ(composed.back(), Ids(*t, {"\xC3\xA9"})[0]);
  // Without the normalizer the decomposed form stays two characters.
  spec.normalizer = nullptr;
  auto raw = Build(spec);
  ASSERT_NE(raw, nullptr);
  EXPECT_NE(raw->Encode("cafe\u0301").value(), raw->Encode("caf\u00e9").value());
  // A Sequence of normalizers holding NFC is accepted too.
  spec.normalizer = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}}}};
  auto seq = Build(spec);
  ASSERT_NE(seq, nullptr);
  EXPECT_EQ(seq->Encode("cafe\u0301").value(), seq->Encode("caf\u00e9").value());
}

TEST(MiniTokenizerTest, StringMergesGiveTheSameIds) {
  MiniSpec pairs = HelloWorldSpec(), strings = HelloWorldSpec();
  strings.merges_as_pairs = false;
  auto a = Build(pairs), b = Build(strings);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string text = "Hello world! Hellooo, wor ld\n\nHe";
  EXPECT_EQ(a->Encode(text).value(), b->Encode(text).value());
}

TEST(MiniTokenizerTest, LowestRankFirstThenLeftmost) {
  MiniSpec spec;
  spec.merges = {{"b", "c"}, {"a", "b"}, {"a", "a"}};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // "abc": b+c has rank 0, so a+b (rank 1) never happens.
  EXPECT_EQ(t->Encode("abc").value(), Ids(*t, {"a", "bc"}));
  // "aaa" / "aaaaa": equal ranks merge left to right.
  EXPECT_EQ(t->Encode("aaa").value(), Ids(*t, {"aa", "a"}));
  EXPECT_EQ(t->Encode("aaaaa").value(), Ids(*t, {"aa", "aa", "a"}));
}

TEST(MiniTokenizerTest, IgnoreMergesEmitsWholeWordsInTheVocabulary) {
  MiniSpec spec;
  spec.merges = {{"a", "b"}};
  spec.extra = {"abc"};  // in the vocabulary, but no merge path reaches it
  auto merged = Build(spec);
  spec.ignore_merges = true;
  auto direct = Build(spec);
  ASSERT_NE(merged, nullptr);
  ASSERT_NE(direct, nullptr);
  EXPECT_EQ(merged->Encode("abc").value(), Ids(*merged, {"ab", "c"}));
  EXPECT_EQ(direct->Encode("abc").value(), Ids(*direct, {"abc"}));
  EXPECT_EQ(direct->Encode("abcd").value(), Ids(*direct, {"ab", "c", "d"}));
}

TEST(MiniTokenizerTest, ByteLevelAloneUsesGpt2PatternAndPrefixSpace) {
  MiniSpec spec;
  spec.merges = {{" ", "h"}, {" h", "i"}};
  spec.pre_tokenizer = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // add_prefix_space turns "hi hi" into " hi hi"; GPT-2's pattern gives " hi" " hi".
  EXPECT_EQ(t->Encode("hi hi").value(), Ids(*t, {" hi", " hi"}));
  // GPT-2's contractions are case-sensitive: "'S" is not split like "'s".
  EXPECT_EQ(t->Encode("'s").value(), Ids(*t, {" ", "'", "s"}));
}

TEST(MiniTokenizerTest, SpecialAndAddedTokens) {
  MiniSpec spec = HelloWorldSpec();
  spec.added_tokens = {Added(300, "<|im_start|>", true), Added(301, "<|im_end|>", true), Added(302, "<tool>", false),
                       Added(303, "<|im", false), Added(304, "<tag>", false, /*normalized=*/true)};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->vocab_size(), 305);
  EXPECT_TRUE(t->IsSpecial(300));
  EXPECT_FALSE(t->IsSpecial(302));
  EXPECT_EQ(t->TokenToId("<|im_end|>"), 301);
  EXPECT_EQ(t->IdToToken(302), "<tool>");
  EXPECT_EQ(t->IdToToken(9999), "");

  std::vector<int32_t> hello = Ids(*t, {"Hello"});
  auto ids = t->Encode("<|im_start|>Hello<tool><|im_end|>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{300, hello[0], 302, 301}));

  // special=false: special tokens are text; non-special added tokens still match. HF finds the
  // longest match "<|im_start|>" first and then drops it, so "<|im" does not match inside it.
  auto plain = t->Encode("<|im_start|>Hello<tool>", /*special=*/false);
  ASSERT_TRUE(plain.ok());
  // Qwen2 words: "<|" "im" "_start" "|>" "Hello" ('_' is not \p{L}, so "[^\r\n\p{L}\p{N}]?\p{L}+"
  // takes "_start"); no merge applies to the first four, so they stay single bytes.
  std::vector<int32_t> expected = Ids(*t, {"<", "|"});
  for (const char* w : {"im", "_start", "|>"}) {
    for (const char* c = w; *c != 0; ++c) expected.push_back(Ids(*t, {std::string(1, *c)})[0]);
  }
  expected.push_back(hello[0]);
  expected.push_back(302);
  EXPECT_EQ(*plain, expected);
  // A lone "<|im" is a non-special added token.
  EXPECT_EQ(t->Encode("<|im", false).value(), std::vector<int32_t>{303});
  // normalized added tokens are matched after normalization, here the identity.
  EXPECT_EQ(t->Encode("Hello<tag>").value(), (std::vector<int32_t>{hello[0], 304}));

  EXPECT_EQ(t->Decode({300, hello[0], 301}).value(), "<|im_start|>Hello<|im_end|>");
  EXPECT_EQ(t->Decode({300, hello[0], 302, 301}, /*skip_special=*/true).value(), "Hello<tool>");
}

TEST(MiniTokenizerTest, LongestAddedTokenWins) {
  MiniSpec spec;
  spec.added_tokens = {Added(300, "ab", false), Added(301, "abc", false), Added(302, "bcd", false)};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // Leftmost first ("abc" at 0 beats "bcd" at 1), then longest ("abc" over "ab").
  EXPECT_EQ(t->Encode("abcd").value(), (std::vector<int32_t>{301, 'd'}));
  EXPECT_EQ(t->Encode("abd").value(), (std::vector<int32_t>{300, 'd'}));
}

TEST(MiniTokenizerTest, LstripRstripSingleWord) {
  MiniSpec spec;
  json mask = Added(300, "<mask>", true);
  mask["lstrip"] = true;
  json r = Added(301, "<r>", true);
  r["rstrip"] = true;
  json ok = Added(302, "ok", false);
  ok["single_word"] = true;
  spec.added_tokens = {mask, r, ok};
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // Byte ids equal byte values in MiniSpec's vocabulary.
  EXPECT_EQ(t->Encode("a \t <mask>b").value(), (std::vector<int32_t>{'a', 300, 'b'}));
  EXPECT_EQ(t->Encode("a<r> \n b").value(), (std::vector<int32_t>{'a', 301, 'b'}));
  EXPECT_EQ(t->Encode("ok go").value(), (std::vector<int32_t>{302, ' ', 'g', 'o'}));
  EXPECT_EQ(t->Encode("okay").value(), (std::vector<int32_t>{'o', 'k', 'a', 'y'}));
  EXPECT_EQ(t->Encode("ok_").value(), (std::vector<int32_t>{'o', 'k', '_'}));
  EXPECT_EQ(t->Encode("(ok)").value(), (std::vector<int32_t>{'(', 302, ')'}));
}

TEST(MiniTokenizerTest, DecodeIsLossyLikeHf) {
  auto t = Build(MiniSpec());
  ASSERT_NE(t, nullptr);
  // Byte tokens 0xF0 0x9F 0x98 0x80 are U+1F600; alone, 0xF0 is invalid.
  EXPECT_EQ(t->Decode({0xF0, 0x9F, 0x98, 0x80}).value(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(t->Decode({'a', 0xF0, 'b'}).value(), "a\uFFFDb");
  EXPECT_EQ(t->Decode({0xF0, 0x9F}).value(), "\uFFFD");
  auto bad = t->Decode({1, 256});
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(t->Decode({-1}).status().code(), Status::Code::kInvalidArgument);
}

TEST(MiniTokenizerTest, EncodeRejectsInvalidUtf8) {
  auto t = Build(MiniSpec());
  ASSERT_NE(t, nullptr);
  for (std::string bad : {std::string("ab\xFF"), std::string("\xC0\x80"), std::string("x\xED\xA0\x80"),
                          std::string("\xF0\x9F\x98")}) {
    auto r = t->Encode(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
  }
  EXPECT_TRUE(t->Encode(std::string("nul\0inside", 10)).ok());
  EXPECT_TRUE(t->Encode("").value().empty());
}

TEST(MiniTokenizerTest, HugeInputsDoNotCrash) {
  MiniSpec spec = HelloWorldSpec();
  auto t = Build(spec);
  ASSERT_NE(t, nullptr);
  // `\s+(?!\S)` backtracking over a 1 MB whitespace run, and a 200 KB single word through BPE.
  const std::string spaces(1 << 20, ' ');
  auto a = t->Encode(spaces + "x");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(t->Decode(*a).value(), spaces + "x");
  std::string word;
  for (int i = 0; i < 40000; ++i) word += "Hello";
  auto b = t->Encode(word);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 40000u);
}

TEST(MiniTokenizerTest, ConcurrentEncodeIsConsistent) {
  auto t = Build(HelloWorldSpec());
  ASSERT_NE(t, nullptr);
  const std::string text = "Hello world, Hello worlds; Hellooo wor-ld 42\n";
  const std::vector<int32_t> expected = t->Encode(text).value();
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 500; ++i) {
        if (t->Encode(text + std::to_string(i % 7)).value().size() < expected.size()) ++bad[k];
        if (t->Encode(text).value() != expected) ++bad[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json

TEST(TokenizerConfigTest, TokensAsStringsOrObjects) {
  MiniSpec spec;
  spec.added_tokens = {Added(300, "<s>", true), Added(301, "</s>", true)};
  auto t = Build(spec, R"({"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                          "eos_token": "</s>", "add_bos_token": true, "chat_template": "{{ x }}"})");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->config().bos_token, "<s>");
  EXPECT_EQ(t->config().bos_id, 300);
  EXPECT_EQ(t->config().eos_token, "</s>");
  EXPECT_EQ(t->config().eos_id, 301);
  EXPECT_TRUE(t->config().add_bos_token);
  EXPECT_EQ(t->config().chat_template, "{{ x }}");
}

TEST(TokenizerConfigTest, ChatTemplateListTakesDefault) {
  auto t = Build(MiniSpec(), R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                                   {"name": "default", "template": "D"}]})");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->config().chat_template, "D");
  EXPECT_FALSE(t->config().bos_id.has_value());
}

TEST(TokenizerConfigTest, AddBosDerivedFromTemplateProcessing) {
  // Meta's current Llama 3 tokenizer.json: Sequence[ByteLevel, TemplateProcessing] with BOS first,
  // and a tokenizer_config.json without add_bos_token.
  MiniSpec spec;
  spec.added_tokens = {Added(300, "<|begin_of_text|>", true)};
  spec.post_processor = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [], "special_tokens": {}}]})");
  auto t = Build(spec, R"({"bos_token": "<|begin_of_text|>"})");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->config().add_bos_token);
  EXPECT_EQ(t->config().bos_id, 300);
  // An explicit add_bos_token wins.
  auto off = Build(spec, R"({"bos_token": "<|begin_of_text|>", "add_bos_token": false})");
  ASSERT_NE(off, nullptr);
  EXPECT_FALSE(off->config().add_bos_token);
  // No config at all: the template's token becomes the BOS token.
  auto bare = Build(spec);
  ASSERT_NE(bare, nullptr);
  EXPECT_TRUE(bare->config().add_bos_token);
  EXPECT_EQ(bare->config().bos_token, "<|begin_of_text|>");
  // A post_processor that adds nothing (ByteLevel only) means no BOS.
  spec.post_processor = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}};
  auto none = Build(spec, R"({"bos_token": "<|begin_of_text|>"})");
  ASSERT_NE(none, nullptr);
  EXPECT_FALSE(none->config().add_bos_token);
}

TEST(TokenizerConfigTest, LoadReadsChatTemplateJinjaWhenConfigHasNone) {
  const std::string dir = testing::ScratchDir();
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "tokenizer.json"), MakeTokenizerJson(MiniSpec()).dump()).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "chat_template.jinja"), "{{ messages }}").ok());
  auto t = Tokenizer::Load(dir);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->config().chat_template, "{{ messages }}");
}

// ---------------------------------------------------------------------------------------------
// Hostile input: every case is a clear error, never a crash.

Status LoadError(const std::string& tokenizer_json, const std::string& config = "") {
  auto t = Tokenizer::FromJson(tokenizer_json, config, "bad/tokenizer.json");
  return t.ok() ? Status::OK() : t.status();
}

void ExpectError(const Status& s, Status::Code code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << "'" << fragment << "' not in: " << s.ToString();
  EXPECT_NE(s.message().find("bad/tokenizer"), std::string::npos) << "file not named: " << s.ToString();
}

TEST(HostileInputTest, MissingFiles) {
  auto missing_dir = Tokenizer::Load("/nonexistent/tenet/tokenizer");
  EXPECT_EQ(missing_dir.status().code(), Status::Code::kNotFound);
  const std::string dir = testing::ScratchDir();
  auto missing_file = Tokenizer::Load(dir);
  EXPECT_EQ(missing_file.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing_file.status().message().find("tokenizer.json"), std::string::npos);
}

TEST(HostileInputTest, MalformedJson) {
  ExpectError(LoadError("{\"model\": "), Status::Code::kCorruption, "malformed JSON");
  ExpectError(LoadError(""), Status::Code::kCorruption, "malformed JSON");
  ExpectError(LoadError("[1, 2]"), Status::Code::kCorruption, "object");
  const std::string good = MakeTokenizerJson(MiniSpec()).dump();
  ExpectError(LoadError(good.substr(0, good.size() / 2)), Status::Code::kCorruption, "malformed JSON");
  ExpectError(LoadError(good, "{\"bos_token\": "), Status::Code::kCorruption, "tokenizer_config.json");
  ExpectError(LoadError(good, "{\"bos_token\": 7}"), Status::Code::kCorruption, "bos_token");
  ExpectError(LoadError(good, "{\"add_bos_token\": \"yes\"}"), Status::Code::kCorruption, "add_bos_token");
}

TEST(HostileInputTest, MissingOrMistypedModelFields) {
  json j = MakeTokenizerJson(MiniSpec());
  json no_model = j;
  no_model.erase("model");
  ExpectError(LoadError(no_model.dump()), Status::Code::kCorruption, "model");
  json no_vocab = j;
  no_vocab["model"].erase("vocab");
  ExpectError(LoadError(no_vocab.dump()), Status::Code::kCorruption, "model.vocab");
  json no_merges = j;
  no_merges["model"].erase("merges");
  ExpectError(LoadError(no_merges.dump()), Status::Code::kCorruption, "model.merges");
  json bad_id = j;
  bad_id["model"]["vocab"]["a"] = "one";
  ExpectError(LoadError(bad_id.dump()), Status::Code::kCorruption, "model.vocab['a']");
  json bad_added = j;
  bad_added["added_tokens"] = {{{"content", "<x>"}}};
  ExpectError(LoadError(bad_added.dump()), Status::Code::kCorruption, "added_tokens[0]");
  json model_string = j;
  model_string["model"] = "BPE";
  ExpectError(LoadError(model_string.dump()), Status::Code::kCorruption, "model");
}

TEST(HostileInputTest, BadMerges) {
  MiniSpec spec;
  spec.merges = {{"a", "b"}};
  json j = MakeTokenizerJson(spec);
  json unknown = j;
  unknown["model"]["merges"].push_back({"a", "\xE2\x98\x83"});  // a raw snowman is not a byte-level token
  ExpectError(LoadError(unknown.dump()), Status::Code::kCorruption, "model.merges[1] refers to unknown token");
  json no_result = j;
  no_result["model"]["merges"].push_back({"b", "c"});  // "bc" not in the vocabulary
  ExpectError(LoadError(no_result.dump()), Status::Code::kCorruption, "model.merges[1]");
  json one_part = j;
  one_part["model"]["merges"].push_back("abc");
  ExpectError(LoadError(one_part.dump()), Status::Code::kCorruption, "model.merges[1]");
  json wrong_type = j;
  wrong_type["model"]["merges"].push_back(42);
  ExpectError(LoadError(wrong_type.dump()), Status::Code::kCorruption, "model.merges[1]");
}

TEST(HostileInputTest, BadRegex) {
  MiniSpec spec;
  spec.pre_tokenizer["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed|\\p{L}";
  ExpectError(LoadError(MakeTokenizerJson(spec).dump()), Status::Code::kInvalidArgument, "pre_tokenizer.pretokenizers[0].pattern.Regex");
}

TEST(HostileInputTest, UnsupportedIsUnimplementedNamingTheField) {
  json j = MakeTokenizerJson(MiniSpec());
  json unigram = j;
  unigram["model"]["type"] = "Unigram";
  ExpectError(LoadError(unigram.dump()), Status::Code::kUnimplemented, "model.type 'Unigram'");
  json wordpiece = j;
  wordpiece["model"]["type"] = "WordPiece";
  ExpectError(LoadError(wordpiece.dump()), Status::Code::kUnimplemented, "model.type 'WordPiece'");
  json fallback = j;
  fallback["model"]["byte_fallback"] = true;
  ExpectError(LoadError(fallback.dump()), Status::Code::kUnimplemented, "model.byte_fallback");
  json metaspace = j;
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}};
  ExpectError(LoadError(metaspace.dump()), Status::Code::kUnimplemented, "pre_tokenizer.type 'Metaspace'");
  json nested = j;
  nested["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Digits"}, {"individual_digits", true}});
  ExpectError(LoadError(nested.dump()), Status::Code::kUnimplemented, "pre_tokenizer.pretokenizers[2].type 'Digits'");
  json no_byte_level = j;
  no_byte_level["pre_tokenizer"] = nullptr;
  ExpectError(LoadError(no_byte_level.dump()), Status::Code::kUnimplemented, "ByteLevel");
  json lowercase = j;
  lowercase["normalizer"] = {{"type", "Lowercase"}};
  ExpectError(LoadError(lowercase.dump()), Status::Code::kUnimplemented, "normalizer.type 'Lowercase'");
  json decoder = j;
  decoder["decoder"] = {{"type", "Metaspace"}};
  ExpectError(LoadError(decoder.dump()), Status::Code::kUnimplemented, "decoder.type 'Metaspace'");
  json invert = j;
  invert["pre_tokenizer"]["pretokenizers"][0]["invert"] = true;
  ExpectError(LoadError(invert.dump()), Status::Code::kUnimplemented, "invert");
}

// ---------------------------------------------------------------------------------------------
// Llama 3 specifics and the streaming decoder (Meta's tokenizer from the npm fixture)

class Llama3Test : public ::testing::Test {
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
Tokenizer* Llama3Test::tokenizer_ = nullptr;

TEST_F(Llama3Test, KnownIdsAndConfig) {
  const Tokenizer& t = *tokenizer_;
  // transformers.js: ["What","'s","Ġthe","ĠAPR","Ġon","Ġmy","Ġcard","?"]
  EXPECT_EQ(t.Encode("What's the APR on my card?").value(),
            (std::vector<int32_t>{3923, 596, 279, 53526, 389, 856, 3786, 30}));
  EXPECT_EQ(t.vocab_size(), 128256);
  EXPECT_EQ(t.TokenToId("<|eot_id|>"), 128009);
  EXPECT_TRUE(t.IsSpecial(128009));
  EXPECT_FALSE(t.IsSpecial(9906));
  EXPECT_EQ(t.IdToToken(9906), "Hello");
  EXPECT_EQ(t.config().bos_token, "<|begin_of_text|>");
  EXPECT_EQ(t.config().bos_id, 128000);
  EXPECT_EQ(t.config().eos_token, "<|end_of_text|>");
  EXPECT_EQ(t.config().eos_id, 128001);
  // The npm copy predates Meta's May 2024 fix: its post_processor is ByteLevel only and the config
  // has no add_bos_token, so HF itself adds no BOS with these files.
  EXPECT_FALSE(t.config().add_bos_token);
  EXPECT_NE(t.config().chat_template.find("<|start_header_id|>"), std::string::npos);
  // special=false: "<|eot_id|>" as text is 7 ordinary tokens (transformers.js without added tokens).
  EXPECT_EQ(t.Encode("<|eot_id|>", false).value(), (std::vector<int32_t>{27, 91, 68, 354, 851, 91, 29}));
  EXPECT_EQ(t.Decode({128000, 9906, 128009}, /*skip_special=*/true).value(), "Hello");
  EXPECT_EQ(t.Decode({128000, 9906, 128009}).value(), "<|begin_of_text|>Hello<|eot_id|>");
}

TEST_F(Llama3Test, MetasCurrentPostProcessorAddsBos) {
  // The same tokenizer.json with the post_processor Meta's repository has carried since May 2024.
  auto text = ReadFile(JoinPath(testing::Llama3TokenizerDir(), "tokenizer.json"));
  ASSERT_TRUE(text.ok());
  json j = json::parse(*text);
  j["post_processor"] = json::parse(R"({"type": "Sequence", "processors": [
      {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
      {"type": "TemplateProcessing",
       "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
       "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000], "tokens": ["<|begin_of_text|>"]}}}]})");
  auto config = ReadFile(JoinPath(testing::Llama3TokenizerDir(), "tokenizer_config.json"));
  ASSERT_TRUE(config.ok());
  auto t = Tokenizer::FromJson(j.dump(), *config);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->config().add_bos_token);
  EXPECT_EQ((*t)->config().bos_id, 128000);
}

TEST_F(Llama3Test, StreamDecoderNeverSplitsACharacter) {
  // "👨‍👩‍👧‍👦" is 15 tokens whose boundaries fall inside the 4-byte emoji: "ðŁ" "ĳ" "¨" "âĢį" ...
  const std::string text = "Family: 👨‍👩‍👧‍👦, skin 👍🏽, 中文 and é.";
  auto ids = tokenizer_->Encode(text);
  ASSERT_TRUE(ids.ok());
  StreamDecoder stream(*tokenizer_);
  std::string out;
  int empty_pushes = 0;
  for (int32_t id : *ids) {
    auto piece = stream.Push(id);
    ASSERT_TRUE(piece.ok());
    EXPECT_TRUE(utf8::IsValid(*piece)) << "half a character emitted after id " << id;
    EXPECT_EQ(piece->find("\uFFFD"), std::string::npos);
    if (piece->empty()) ++empty_pushes;
    out += *piece;
  }
  out += stream.Flush();
  EXPECT_EQ(out, text);
  EXPECT_GT(empty_pushes, 0) << "the test text should split characters across tokens";
}

TEST_F(Llama3Test, TokenBytesAreTheExactBytesAlsoInsideACharacter) {
  const std::string text = "Family: 👨‍👩‍👧‍👦 and é.";
  auto ids = tokenizer_->Encode(text);
  ASSERT_TRUE(ids.ok());
  std::string joined;
  int partial = 0;
  for (int32_t id : *ids) {
    const std::string b = TokenBytes(*tokenizer_, id);
    if (!utf8::IsValid(b)) ++partial;
    joined += b;
  }
  EXPECT_EQ(joined, text);
  EXPECT_GT(partial, 0) << "some tokens should hold part of a character";
  EXPECT_EQ(TokenBytes(*tokenizer_, *tokenizer_->TokenToId("<|eot_id|>")), "<|eot_id|>");
  EXPECT_EQ(TokenBytes(*tokenizer_, -1), "");
}

TEST_F(Llama3Test, StreamDecoderFlushAndSpecials) {
  StreamDecoder stream(*tokenizer_, /*skip_special=*/true);
  // 9468 "ðŁ" is the first two bytes of a 4-byte emoji: held back, then flushed as U+FFFD.
  EXPECT_EQ(stream.Push(128000).value(), "");
  EXPECT_EQ(stream.Push(9906).value(), "Hello");
  EXPECT_EQ(stream.Push(9468).value(), "");
  EXPECT_EQ(stream.Flush(), "\uFFFD");
  EXPECT_EQ(stream.Flush(), "");
  EXPECT_EQ(stream.Push(128256).status().code(), Status::Code::kInvalidArgument);
  StreamDecoder keep(*tokenizer_);
  EXPECT_EQ(keep.Push(128009).value(), "<|eot_id|>");
}

TEST_F(Llama3Test, WordCacheDoesNotChangeResults) {
  TokenizerOptions no_cache;
  no_cache.word_cache_capacity = 0;
  auto uncached = Tokenizer::Load(testing::Llama3TokenizerDir(), no_cache);
  ASSERT_TRUE(uncached.ok());
  const std::string text = "Tokenization of unusual wordsmithery: floccinaucinihilipilification, repeated. "
                           "floccinaucinihilipilification again!";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tokenizer_->Encode(text).value(), (*uncached)->Encode(text).value());
}

}  // namespace
}  // namespace tenet
