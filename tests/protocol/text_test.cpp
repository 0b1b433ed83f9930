#include "protocol/text.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/base64.hpp"

namespace zkpush::protocol {
namespace {

using namespace std::string_view_literals;

TEST(Text, SplitLinesDropsTerminatorsOfEveryFlavour) {
  auto lines = text::split_lines("a\r\nb\n\nc\r\n\0"sv);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "a");
  EXPECT_EQ(lines[2], "c");
  EXPECT_EQ(text::split_lines("a\n\nb", false).size(), 3u);
}

TEST(Text, ParseIntIsStrict) {
  EXPECT_EQ(text::parse_int(" -629 "), -629);
  EXPECT_EQ(text::parse_int("+5"), 5);
  EXPECT_FALSE(text::parse_int("12a"));
  EXPECT_FALSE(text::parse_int(""));
  EXPECT_FALSE(text::parse_int("99999999999999999999999"));
  EXPECT_FALSE(text::parse_uint("-1"));
}

TEST(Text, HexBytes) {
  auto b = text::parse_hex_bytes("15cD5B07");
  ASSERT_TRUE(b);
  EXPECT_EQ((*b)[1], 0xCD);
  EXPECT_EQ(text::to_hex(b->data(), b->size(), true), "15CD5B07");
  EXPECT_FALSE(text::parse_hex_bytes("1"));
  EXPECT_FALSE(text::parse_hex_bytes("0G"));
}

TEST(Text, PercentCodingRoundTrips) {
  std::string raw = "a b&c=d%/\xE5\xBC\xA0";
  EXPECT_EQ(text::percent_decode(text::percent_encode(raw)), raw);
  EXPECT_EQ(text::percent_decode("%4"), "%4");  // malformed escape kept literally
}

TEST(Text, Utf8ValidationAndSanitizing) {
  EXPECT_TRUE(text::is_valid_utf8("\xE5\xBC\xA0\xE4\xB8\x89"));  // 张三
  EXPECT_FALSE(text::is_valid_utf8("\xD5\xC5\xC8\xFD"));           // 张三 in GB2312
  EXPECT_FALSE(text::is_valid_utf8("\xC0\x80"));                   // overlong
  EXPECT_FALSE(text::is_valid_utf8("\xE5\xBC"));                   // truncated
  EXPECT_EQ(text::sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_TRUE(text::is_valid_utf8(text::sanitize_utf8("\xD5\xC5\xC8\xFD\xE5")));
}

TEST(Text, CaseInsensitiveHelpers) {
  EXPECT_TRUE(text::iequals("Return", "RETURN"));
  EXPECT_FALSE(text::iequals("Return", "Returns"));
  EXPECT_TRUE(text::istarts_with("DeviceAuthorizeSN", "deviceauthorize"));
}

TEST(Base64, RoundTripAndTolerance) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_decode("aGVs\r\nbG8"), "hello");  // wrapped, unpadded
  EXPECT_FALSE(base64_decode("aGVs*G8="));
  EXPECT_FALSE(base64_decode("a===="));
  EXPECT_FALSE(base64_decode("aG=Vs"));
}

}  // namespace
}  // namespace zkpush::protocol
