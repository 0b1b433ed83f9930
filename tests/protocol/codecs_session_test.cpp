// Token, Cookie header and protocol version negotiation.
#include "protocol/codecs_session.hpp"

#include <gtest/gtest.h>

namespace zkpush::protocol {
namespace {

constexpr std::string_view kRegistryCode = "Uy47fxftP3";  // 4.4 example
constexpr std::string_view kSerial = "3383154200002";
constexpr std::string_view kSession = "30BFB04B2C8AECC72C01C03BFD549D15";  // 4.5 example

TEST(Md5, KnownVectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("abc", true), "900150983CD24FB0D6963F7D28E17F72");
}

// md5(RegistryCode + SN + SessionID), lower-case hex, compared case-insensitively; a helper names
// the variant a firmware used when it differs.
TEST(Session, Ambiguity5_TokenFormulaCaseInsensitiveAndDiagnosis) {
  const std::string token = compute_token(kRegistryCode, kSerial, kSession);
  EXPECT_EQ(token, md5_hex(std::string(kRegistryCode) + std::string(kSerial) + std::string(kSession)));
  EXPECT_EQ(token, "a59b6315f78c9a2b8e04ef32a50760e9");
  EXPECT_TRUE(token_matches(token, token));
  EXPECT_TRUE(token_matches("A59B6315F78C9A2B8E04EF32A50760E9", token));
  EXPECT_FALSE(token_matches("a59b6315f78c9a2b8e04ef32a50760e8", token));
  EXPECT_FALSE(token_matches("", ""));
  EXPECT_FALSE(token_matches("a59b", token));

  auto standard = diagnose_token(token, kRegistryCode, kSerial, kSession);
  ASSERT_TRUE(standard.has_value());
  EXPECT_EQ(*standard, "RegistryCode+SN+SessionID, lower-case hex");
  auto upper = diagnose_token(md5_hex(std::string(kRegistryCode) + std::string(kSerial) + std::string(kSession), true),
                              kRegistryCode, kSerial, kSession);
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(*upper, "RegistryCode+SN+SessionID, upper-case hex");
  auto swapped = diagnose_token(md5_hex(std::string(kSerial) + std::string(kRegistryCode) + std::string(kSession)),
                                kRegistryCode, kSerial, kSession);
  ASSERT_TRUE(swapped.has_value());
  EXPECT_EQ(*swapped, "SN+RegistryCode+SessionID, lower-case hex");
  auto before_push = diagnose_token(md5_hex(std::string(kRegistryCode) + std::string(kSerial)), kRegistryCode, kSerial, kSession);
  ASSERT_TRUE(before_push.has_value());
  EXPECT_EQ(*before_push, "RegistryCode+SN, lower-case hex");
  // The manual's example tokens come from other sessions: none of the variants produces them.
  EXPECT_FALSE(diagnose_token("9d41643bfba01fe8b49143c21defc20a", kRegistryCode, kSerial, kSession).has_value());
  EXPECT_FALSE(diagnose_token("af65a75608cf5b80fbb3b48f0b4df95a", kRegistryCode, kSerial, kSession).has_value());
}

TEST(Token, VariantsAreDistinctAndStandardFirst) {
  auto variants = token_variants(kRegistryCode, kSerial, kSession);
  ASSERT_GE(variants.size(), 12u);
  EXPECT_EQ(variants.front().token, compute_token(kRegistryCode, kSerial, kSession));
  for (std::size_t i = 0; i < variants.size(); ++i)
    for (std::size_t j = i + 1; j < variants.size(); ++j) EXPECT_NE(variants[i].name, variants[j].name);
}

// ---- Cookie header ----------------------------------------------------------------------------------

TEST(Cookie, TokenForms) {
  auto plain = parse_cookie_token("token=e6bc9a9c2f9ce675e3548d5aeda2777e");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->token, "e6bc9a9c2f9ce675e3548d5aeda2777e");
  EXPECT_FALSE(plain->bare);
  EXPECT_TRUE(plain->timestamp.empty());

  auto with_ts = parse_cookie_token("token=9d41643bfba01fe8b49143c21defc20a, timestamp=1484098203");
  ASSERT_TRUE(with_ts.has_value());
  EXPECT_EQ(with_ts->token, "9d41643bfba01fe8b49143c21defc20a");
  EXPECT_EQ(with_ts->timestamp, "1484098203");

  auto bare = parse_cookie_token("1637f0b091af92b0cc66b8eede0ae48e");  // 7.4 example
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->token, "1637f0b091af92b0cc66b8eede0ae48e");
  EXPECT_TRUE(bare->bare);

  auto among = parse_cookie_token("JSESSIONID=30BFB04B2C8AECC72C01C03BFD549D15; Token=\"abc123\"; lang=en");
  ASSERT_TRUE(among.has_value());
  EXPECT_EQ(among->token, "abc123");
  EXPECT_FALSE(among->bare);
}

TEST(Cookie, NoToken) {
  EXPECT_FALSE(parse_cookie_token("").has_value());
  EXPECT_FALSE(parse_cookie_token("JSESSIONID=30BFB04B2C8AECC72C01C03BFD549D15").has_value());
  EXPECT_FALSE(parse_cookie_token("token=").has_value());
  EXPECT_FALSE(parse_cookie_token("notahextoken").has_value());
  EXPECT_FALSE(parse_cookie_token(";;,,").has_value());
}

// ---- protocol version -------------------------------------------------------------------------------

TEST(TransTimes, TheManualsFormsAndSloppyOnes) {
  EXPECT_EQ(parse_trans_times("00:00;14:00"), (std::vector<int>{0, 14 * 60}));
  EXPECT_EQ(parse_trans_times("00: 00;14: 00"), (std::vector<int>{0, 14 * 60}));  // 4.1's table
  EXPECT_EQ(parse_trans_times("12:30; 14:30"), (std::vector<int>{12 * 60 + 30, 14 * 60 + 30}));
  EXPECT_EQ(parse_trans_times("00:0014:00"), (std::vector<int>{0, 14 * 60}));  // 4.1's example
  EXPECT_EQ(parse_trans_times("9:05,18:45;9:05"), (std::vector<int>{9 * 60 + 5, 18 * 60 + 45}));
  EXPECT_EQ(parse_trans_times("24:00;12:60;noon;7:5;23:59"), (std::vector<int>{23 * 60 + 59}));
  EXPECT_TRUE(parse_trans_times("").empty());
  std::string many;
  for (int h = 0; h < 12; ++h) many += std::to_string(h) + ":00;";
  EXPECT_EQ(parse_trans_times(many).size(), 10u);  // the manual's limit
}

TEST(TransTimes, NextTimePointWrapsPastMidnight) {
  const std::vector<int> times{0, 14 * 60};
  EXPECT_EQ(minutes_until_next(times, 13 * 60), 60);
  EXPECT_EQ(minutes_until_next(times, 14 * 60), 10 * 60);  // strictly after: tomorrow's 00:00
  EXPECT_EQ(minutes_until_next(times, 23 * 60 + 59), 1);
  EXPECT_EQ(minutes_until_next({12 * 60}, 12 * 60), 24 * 60);
  EXPECT_FALSE(minutes_until_next({}, 0).has_value());
}

TEST(ProtocolVersion, ParseAndCompare) {
  EXPECT_EQ(parse_protocol_version("3.1.2")->to_string(), "3.1.2");
  EXPECT_EQ(parse_protocol_version("3.1")->to_string(), "3.1.0");
  EXPECT_EQ(parse_protocol_version("Ver 2.0.22-20161201")->to_string(), "2.0.22");
  EXPECT_FALSE(parse_protocol_version("three").ok());
  EXPECT_FALSE(parse_protocol_version("3.1.2.4").ok());
  EXPECT_FALSE(parse_protocol_version("").ok());
  EXPECT_EQ(compare_versions("3.10.0", "3.9.9"), 1);  // numeric, not textual
  EXPECT_EQ(compare_versions("3.1", "3.1.0"), 0);
  EXPECT_EQ(compare_versions("3.0.1", "3.1.1"), -1);
  EXPECT_EQ(compare_versions("junk", "3.0.1"), -1);
  EXPECT_LT(*parse_protocol_version("3.9.0"), *parse_protocol_version("3.10.0"));
}

TEST(ProtocolVersion, NegotiationTakesTheLowerAndDefaultsTo301) {
  EXPECT_EQ(negotiate_protocol_version("3.1.2", "3.1.1").to_string(), "3.1.1");
  EXPECT_EQ(negotiate_protocol_version("3.0.1", "3.1.2").to_string(), "3.0.1");
  EXPECT_EQ(negotiate_protocol_version(std::nullopt, "3.1.2").to_string(), "3.0.1");
  EXPECT_EQ(negotiate_protocol_version("3.1.2", std::nullopt).to_string(), "3.0.1");
  EXPECT_EQ(negotiate_protocol_version("garbage", "3.1.2").to_string(), "3.0.1");
  EXPECT_EQ(negotiate_protocol_version("3.1.2", "3.1.2").to_string(), "3.1.2");
}

TEST(ProtocolVersion, FeatureGates) {
  EXPECT_FALSE(has_encryption_exchange(kDefaultProtocolVersion));
  EXPECT_TRUE(has_encryption_exchange(ProtocolVersion{3, 1, 1}));
  EXPECT_FALSE(has_errorlog(ProtocolVersion{3, 1, 1}));
  EXPECT_TRUE(has_errorlog(ProtocolVersion{3, 1, 2}));
  EXPECT_TRUE(has_errorlog(ProtocolVersion{3, 2, 0}));
}

}  // namespace
}  // namespace zkpush::protocol
