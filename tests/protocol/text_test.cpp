#include "protocol/text.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/base64.hpp"
#include "protocol/result.hpp"

namespace zkpush::protocol {
namespace {

using namespace std::string_view_literals;
using namespace std::string_literals;

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

TEST(Text, PrintableEscapesWhatCouldForgeALogLine) {
  EXPECT_EQ(text::printable("3383154200002"), "3383154200002");
  EXPECT_EQ(text::printable("a b=c,d&e"), "a b=c,d&e");  // printable ASCII stays as it is
  EXPECT_EQ(text::printable("EVIL\n[2026-01-01] [info] fake"), "EVIL\\n[2026-01-01] [info] fake");
  EXPECT_EQ(text::printable("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(text::printable("a\0b\x1b[31m\x7f"sv), "a\\x00b\\x1b[31m\\x7f");
  // Backslash and quotes get a backslash: a quoted value cannot end its quotes early, and an
  // escape in the output always comes from us, never from the input.
  EXPECT_EQ(text::printable("a\\x0a"), "a\\\\x0a");
  EXPECT_EQ(text::printable("it's \"x\""), "it\\'s \\\"x\\\"");
  // Non-ASCII, valid UTF-8 or not, is written byte by byte.
  EXPECT_EQ(text::printable("\xC3\xA9"), "\\xc3\\xa9");
  EXPECT_EQ(text::printable("\xD5\xC5\xFF"), "\\xd5\\xc5\\xff");
  EXPECT_EQ(text::printable(""), "");
}

TEST(Text, PrintableOutputIsPrintableAsciiForEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string out = text::printable(all, all.size());
  for (char c : out) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(static_cast<unsigned char>(c));
  EXPECT_EQ(out.find("..."), std::string::npos);  // nothing cut
}

TEST(Text, PrintableTruncatesWithTheFullLength) {
  std::string long_sn(300, 'A');
  EXPECT_EQ(text::printable(long_sn), std::string(80, 'A') + "...(300 bytes)");
  EXPECT_EQ(text::printable(long_sn, 5), "AAAAA...(300 bytes)");
  EXPECT_EQ(text::printable(std::string(80, 'B')), std::string(80, 'B'));  // exactly max: no marker
  EXPECT_EQ(text::printable("\n\n\n", 2), "\\n\\n...(3 bytes)");    // max counts input bytes
  EXPECT_EQ(text::printable("abc", 0), "...(3 bytes)");
}

TEST(ErrorToString, NeverHoldsARawControlByte) {
  Error e = make_error(Errc::bad_value, "got 'x\r\ny\0z\x1b'"s, "line\n2");
  std::string s = e.to_string();
  EXPECT_EQ(s, "bad_value: got 'x\\r\\ny\\x00z\\x1b' (at line\\n2)");
  EXPECT_EQ(s.find_first_of("\r\n"s + '\0'), std::string::npos);
  // UTF-8 in a message (names quoted with text::quoted) is kept.
  EXPECT_EQ(make_error(Errc::malformed, "name '\xE5\xBC\xA0'").to_string(), "malformed: name '\xE5\xBC\xA0'");
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
