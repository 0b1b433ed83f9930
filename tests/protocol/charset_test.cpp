// GB2312 / GBK / GB18030 <-> UTF-8 and the device text policy.
#include "protocol/charset.hpp"

#include <gtest/gtest.h>

#include "protocol/text.hpp"

namespace zkpush::protocol {
namespace {

const std::string kZhangSanGb = "\xD5\xC5\xC8\xFD";        // 张三 in GB2312
const std::string kZhangSanUtf8 = "\xE5\xBC\xA0\xE4\xB8\x89";  // 张三 in UTF-8
const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Charset, Gb2312NameToUtf8AndBack) {
  auto utf8 = gb18030_to_utf8(kZhangSanGb);
  ASSERT_TRUE(utf8.has_value());
  EXPECT_EQ(*utf8, kZhangSanUtf8);
  auto gb = utf8_to_gb(kZhangSanUtf8, GbCharset::gb2312);
  ASSERT_TRUE(gb.has_value());
  EXPECT_EQ(*gb, kZhangSanGb);
  EXPECT_EQ(*utf8_to_gb(kZhangSanUtf8), kZhangSanGb);  // GB18030 agrees with GB2312 here
  EXPECT_EQ(*utf8_to_gb(kZhangSanUtf8, GbCharset::gbk), kZhangSanGb);
}

TEST(Charset, MixedAsciiAndLongerNames) {
  // "Li 李四" : 李 = C0EE, 四 = CBC4 in GB2312.
  const std::string gb = "Li \xC0\xEE\xCB\xC4";
  auto utf8 = gb18030_to_utf8(gb);
  ASSERT_TRUE(utf8.has_value());
  EXPECT_EQ(*utf8, "Li \xE6\x9D\x8E\xE5\x9B\x9B");
  EXPECT_EQ(*utf8_to_gb(*utf8), gb);
}

TEST(Charset, StrictConversionsRefuseBadInput) {
  EXPECT_FALSE(gb18030_to_utf8("\xD5").has_value());      // truncated pair
  EXPECT_FALSE(gb18030_to_utf8("\xFF\xFF").has_value());  // not GB18030
  EXPECT_FALSE(utf8_to_gb("\xC3").has_value());           // not UTF-8
  // GB2312 has no code for this emoji; GB18030 has one for every character.
  const std::string emoji = "\xF0\x9F\x98\x80";
  EXPECT_FALSE(utf8_to_gb(emoji, GbCharset::gb2312).has_value());
  auto four = utf8_to_gb(emoji, GbCharset::gb18030);
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->size(), 4u);
  EXPECT_EQ(*gb18030_to_utf8(*four), emoji);
  EXPECT_EQ(*gb18030_to_utf8(""), "");
}

TEST(Charset, LenientGbDecodingReplacesOnlyBadBytes) {
  EXPECT_EQ(gb18030_to_utf8_lenient(kZhangSanGb + "\xFF"), kZhangSanUtf8 + kReplacement);
  EXPECT_EQ(gb18030_to_utf8_lenient("\xFF" + kZhangSanGb), kReplacement + kZhangSanUtf8);
  EXPECT_EQ(gb18030_to_utf8_lenient(kZhangSanGb + "\xD5"), kZhangSanUtf8 + kReplacement);  // truncated tail
}

// Names: valid UTF-8 is kept on any device; a language-83 device's invalid UTF-8 is GB2312 (read
// as GB18030); anything else that is not UTF-8 gets U+FFFD. The server sends UTF-8 unless asked
// to send GB text to language-83 devices.
TEST(Charset, Ambiguity29_NamesInGb2312OnChineseDevices) {
  EXPECT_EQ(text_to_utf8(kZhangSanGb, kLanguageSimplifiedChinese), kZhangSanUtf8);
  EXPECT_EQ(text_to_utf8(kZhangSanUtf8, kLanguageSimplifiedChinese), kZhangSanUtf8);
  EXPECT_EQ(text_to_utf8(kZhangSanUtf8, 69), kZhangSanUtf8);
  EXPECT_EQ(text_to_utf8("Zhang San", 83), "Zhang San");
  // An English device's GB bytes are not guessed at.
  const std::string english = text_to_utf8(kZhangSanGb, 69);
  EXPECT_TRUE(text::is_valid_utf8(english));
  EXPECT_NE(english.find(kReplacement), std::string::npos);
  EXPECT_NE(english, kZhangSanUtf8);
  // Towards the device.
  EXPECT_EQ(text_for_device(kZhangSanUtf8, 83, false), kZhangSanUtf8);
  EXPECT_EQ(text_for_device(kZhangSanUtf8, 83, true), kZhangSanGb);
  EXPECT_EQ(text_for_device(kZhangSanUtf8, 69, true), kZhangSanUtf8);
  EXPECT_TRUE(device_uses_gb_text(83));
  EXPECT_FALSE(device_uses_gb_text(84));
}

TEST(Charset, PolicyOutputIsAlwaysValidUtf8) {
  const std::string samples[] = {std::string("\x80\x81\xFE\xFF"), std::string("a\0b", 3), std::string("\xC0\xAF"),
                                 std::string("\xED\xA0\x80"), kZhangSanGb + "\x81"};
  for (const std::string& s : samples)
    for (int lang : {0, 69, 83}) EXPECT_TRUE(text::is_valid_utf8(text_to_utf8(s, lang))) << lang;
}

}  // namespace
}  // namespace zkpush::protocol
