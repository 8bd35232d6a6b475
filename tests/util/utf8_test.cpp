// UTF-8 helpers (tenet/util/utf8.h): strict validation, Rust-style lossy decoding, and the
// streaming decoder's incomplete-tail rule. Expected values are derived by hand in the comments.
#include "tenet/util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace tenet {
namespace {

TEST(Utf8Test, FindInvalidRejectsOverlongsSurrogatesAndTruncation) {
  EXPECT_EQ(utf8::FindInvalid("plain ascii, long enough for the fast path"), std::string_view::npos);
  EXPECT_EQ(utf8::FindInvalid("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(utf8::FindInvalid("ab\xC0\x80"), 2u);          // overlong NUL
  EXPECT_EQ(utf8::FindInvalid("\xED\xA0\x80"), 0u);         // UTF-16 surrogate D800
  EXPECT_EQ(utf8::FindInvalid("x\xF4\x90\x80\x80"), 1u);    // above U+10FFFF
  EXPECT_EQ(utf8::FindInvalid("12345678\xE2\x82"), 8u);     // truncated at the end
  EXPECT_EQ(utf8::FindInvalid("\x80"), 0u);                 // lone continuation byte
  EXPECT_EQ(utf8::FindInvalid("\xFF"), 0u);
}

TEST(Utf8Test, LossyReplacesMaximalSubpartsLikeRust) {
  // Examples from Rust's String::from_utf8_lossy documentation and Unicode's "maximal subpart".
  EXPECT_EQ(utf8::Lossy("Hello \xF0\x90\x80World"), "Hello \uFFFDWorld");  // one U+FFFD for 3 bytes
  EXPECT_EQ(utf8::Lossy("\xC3\x28"), "\uFFFD(");
  EXPECT_EQ(utf8::Lossy("\xE0\x80\x80"), "\uFFFD\uFFFD\uFFFD");  // E0 80 is never a valid prefix
  EXPECT_EQ(utf8::Lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(utf8::Lossy("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
  EXPECT_EQ(utf8::Lossy("\xF0\x9F\x98"), "\uFFFD");
}

TEST(Utf8Test, IncompleteTailOnlyHoldsBackCompletableBytes) {
  EXPECT_EQ(utf8::IncompleteTail(""), 0u);
  EXPECT_EQ(utf8::IncompleteTail("abc"), 0u);
  EXPECT_EQ(utf8::IncompleteTail("a\xF0"), 1u);
  EXPECT_EQ(utf8::IncompleteTail("a\xF0\x9F"), 2u);
  EXPECT_EQ(utf8::IncompleteTail("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8::IncompleteTail("a\xF0\x9F\x98\x80"), 0u);  // complete
  EXPECT_EQ(utf8::IncompleteTail("a\xE0\x80"), 0u);           // can never complete
  EXPECT_EQ(utf8::IncompleteTail("\x80\x80\x80"), 0u);
}

}  // namespace
}  // namespace tenet
