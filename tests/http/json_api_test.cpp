// The JSON API conventions on their own: media types, strict integers (no coercion, no wrap),
// field names in messages, and replies that encode whatever bytes a store holds.
#include "tenet/http/json_api.h"

#include <gtest/gtest.h>

#include "tenet/http/guarded_server.h"

namespace tenet::http {
namespace {

using nlohmann::json;

TEST(JsonApi, MediaTypeIsMatchedLikeHttpSaysNotByPrefix) {
  for (const char* ok : {"application/json", "APPLICATION/JSON", "application/json; charset=utf-8", " application/json ;x=y"}) {
    EXPECT_TRUE(IsJsonMediaType(ok)) << ok;
  }
  for (const char* bad : {"application/jsonx", "application/json-patch+json", "text/json", "", "application/", "json"}) {
    EXPECT_FALSE(IsJsonMediaType(bad)) << bad;
  }
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const FieldError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonApi, IntegersAreCheckedNotCoerced) {
  EXPECT_EQ(AsInt(json(3), "n", 1, 4), 3);
  EXPECT_EQ(AsInt(json::parse("9223372036854775807"), "n", 0, INT64_MAX), INT64_MAX);
  for (const char* bad : {"1.5", "3.0", "\"3\"", "true", "null", "[3]", "4294967297", "18446744073709551615", "-1", "1e300"}) {
    EXPECT_EQ(ErrorOf([&] { AsInt(json::parse(bad), "ranks[0][1]", 1, 4); }), "field 'ranks[0][1]' must be an integer from 1 to 4") << bad;
  }
}

TEST(JsonApi, FieldsNameWhatIsMissingOrMistyped) {
  const json body = json::parse(R"({"name": "x", "n": null, "flag": 1, "list": ["a", 2], "obj": {"k": "v"}})");
  const Fields f(body);
  EXPECT_EQ(f.String("name"), "x");
  EXPECT_EQ(f.String("absent", "fallback"), "fallback");
  EXPECT_EQ(f.Int("n", 0, 10, 7), 7);  // null reads as absent
  EXPECT_EQ(ErrorOf([&] { f.String("absent"); }), "field 'absent' is missing");
  EXPECT_EQ(ErrorOf([&] { f.Bool("flag", false); }), "field 'flag' must be true or false");
  EXPECT_EQ(ErrorOf([&] { f.Strings("list"); }), "field 'list[1]' must be a string");
  EXPECT_EQ(ErrorOf([&] { Fields(body["obj"], "obj").Int("k", 0, 1); }), "field 'obj.k' must be an integer from 0 to 1");
  EXPECT_EQ(ErrorOf([] { Fields(json::array()); }), "the body must be a JSON object");
}

TEST(JsonApi, RepliesEncodeInvalidBytesAsReplacementCharacters) {
  httplib::Response res;
  SendJson(res, 200, {{"text", "ok \xff\xc3 end"}});
  EXPECT_EQ(res.body, "{\"text\":\"ok \xef\xbf\xbd\xef\xbf\xbd end\"}");
  EXPECT_EQ(res.get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST(GuardedServer, LoopbackHostsAreRecognized) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"}) EXPECT_TRUE(IsLoopbackHost(h)) << h;
  for (const char* h : {"0.0.0.0", "10.0.0.1", "example.com", "::", "128.0.0.1"}) EXPECT_FALSE(IsLoopbackHost(h)) << h;
}

}  // namespace
}  // namespace tenet::http
