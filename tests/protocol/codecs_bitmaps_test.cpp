// EventTypes, VerifyStyles, New*EventTypes, function lists, NewVFStyles / VERIFY_TYPE, MultiBio*.
#include "protocol/codecs_bitmaps.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// ---- EventTypes -------------------------------------------------------------------------------------

constexpr std::string_view kEventTypes44 = "BF0FE03D3000010000000000070000000000000000000000000077002001000000";
constexpr std::string_view kEventTypes952 = "BF0FE03D300001000000000070000000000000000000000077002001000000";

TEST(EventTypes, FirstByteIsLsbFirst) {
  auto codes = decode_event_types(kEventTypes44);
  ASSERT_TRUE(codes.ok());
  // BF = 1011 1111: bit 6 clear -> event 6 (trigger linkage) unsupported, 0-5 and 7 supported.
  for (int c : {0, 1, 2, 3, 4, 5, 7}) EXPECT_TRUE(contains(*codes, c)) << c;
  EXPECT_FALSE(contains(*codes, 6));
  // 0F: events 8-11.
  for (int c : {8, 9, 10, 11}) EXPECT_TRUE(contains(*codes, c)) << c;
  EXPECT_FALSE(contains(*codes, 12));
}

TEST(EventTypes, EncodeIsTheInverseOn32Bytes) {
  std::vector<int> codes = {0, 1, 2, 3, 4, 5, 7, 8, 200, 255};
  auto hex = encode_event_types(codes);
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(hex->size(), 64u);
  EXPECT_EQ(hex->substr(0, 4), "BF01");
  EXPECT_EQ(*decode_event_types(*hex), codes);
  EXPECT_FALSE(encode_event_types(std::vector<int>{256}).ok());
  EXPECT_FALSE(encode_event_types(std::vector<int>{-1}).ok());
}

// Bit orders follow the worked examples (EventTypes LSB-first, VerifyStyles MSB-first); wrong
// lengths are decoded byte by byte from the left, a trailing odd digit ignored, nothing repaired;
// New*EventTypes take their base from the parameter name, whatever the example's prose says;
// bit strings decode exactly the bits sent.
TEST(Bitmaps, Ambiguity33_BitOrdersAndWrongLengths) {
  // 66 digits (4.4) and 62 digits (9.5.2): both decode, without a repair of their extra/missing digits.
  auto long44 = decode_event_types(kEventTypes44);
  auto short952 = decode_event_types(kEventTypes952);
  ASSERT_TRUE(long44.ok());
  ASSERT_TRUE(short952.ok());
  EXPECT_FALSE(contains(*long44, 6));
  EXPECT_FALSE(contains(*short952, 6));
  EXPECT_TRUE(contains(*long44, 96));     // byte 12 = 07 in 4.4
  EXPECT_TRUE(contains(*short952, 100));  // byte 12 = 70 in 9.5.2 (digits shifted by one)
  // An odd number of digits: the last one is ignored, the rest still decodes.
  auto odd = decode_event_types("BF0");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(*odd, (std::vector<int>{0, 1, 2, 3, 4, 5, 7}));
  // Spaces (a wrapped body) are ignored; a non-hex digit is an error.
  EXPECT_EQ(*decode_event_types("BF 0F"), *decode_event_types("BF0F"));
  EXPECT_FALSE(decode_event_types("BG").ok());
  // VerifyStyles is MSB-first: FB = 1111 1011 -> position 5 clear.
  auto vs = decode_verify_styles("FB1E1F00");
  ASSERT_TRUE(vs.ok());
  EXPECT_FALSE(contains(*vs, 5));
  EXPECT_TRUE(contains(*vs, 6));
  // The extended bitmaps: base from the name. "2B12" under NewWarningEventTypes is 6000+offsets.
  EXPECT_EQ(*decode_extended_event_types("2B12", extended_event_base("NewWarningEventTypes")),
            (std::vector<int>{6000, 6001, 6003, 6005, 6009, 6012}));
  // rtlog "card + palmprint" example: only the palm print bit is there, so only it is reported.
  auto bits = parse_vf_bits("0000000000000100");
  ASSERT_TRUE(bits.ok());
  EXPECT_EQ(vf_methods(*bits), (std::vector<int>{vf_palm_print}));
}

// ---- VerifyStyles ------------------------------------------------------------------------------------

TEST(VerifyStyles, AppendixThreeExample) {
  auto codes = decode_verify_styles("FB1E1F00");
  ASSERT_TRUE(codes.ok());
  // 11111011 00011110 00011111 00000000
  EXPECT_EQ(*codes, (std::vector<int>{0, 1, 2, 3, 4, 6, 7, 11, 12, 13, 14, 19, 20, 21, 22, 23}));
  EXPECT_FALSE(contains(*codes, 15));  // face not supported
  EXPECT_EQ(*encode_verify_styles(*codes, true), "FB1E1F00");
}

TEST(VerifyStyles, RegistrationExample) {
  auto codes = decode_verify_styles("ff7f0000");
  ASSERT_TRUE(codes.ok());
  EXPECT_FALSE(contains(*codes, 8));
  for (int c = 0; c <= 15; ++c)
    if (c != 8) {
      EXPECT_TRUE(contains(*codes, c)) << c;
    }
  EXPECT_FALSE(contains(*codes, 16));
  EXPECT_EQ(*encode_verify_styles(*codes), "ff7f0000");
  EXPECT_FALSE(encode_verify_styles(std::vector<int>{200}).ok());
}

// ---- New*EventTypes ---------------------------------------------------------------------------------

TEST(ExtendedEventTypes, ManualExample) {
  std::vector<int> codes = {4000, 4001, 4003, 4005, 4009, 4012};
  auto hex = encode_extended_event_types(codes, 4000);
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, "2B12");
  EXPECT_EQ(*decode_extended_event_types("2B12", 4000), codes);
  EXPECT_EQ(*decode_extended_event_types("2b12", 4000), codes);
  EXPECT_EQ(*encode_extended_event_types(std::vector<int>{}, 5000), "00");
  EXPECT_FALSE(encode_extended_event_types(std::vector<int>{3999}, 4000).ok());
  EXPECT_FALSE(encode_extended_event_types(std::vector<int>{4000 + 2048}, 4000).ok());
}

TEST(ExtendedEventTypes, BaseFromParameterName) {
  EXPECT_EQ(extended_event_base("NewNormalEventTypes"), 4000);
  EXPECT_EQ(extended_event_base("newerroreventtypes"), 5000);
  EXPECT_EQ(extended_event_base("~NewWarningEventTypes"), 6000);
  EXPECT_EQ(extended_event_base("EventTypes"), 0);
}

TEST(ExtendedEventTypes, CatalogueExampleAgrees) {
  YAML::Node layout = testing::load_spec("enums.yaml")["event_types_ext_bitmap"];
  EXPECT_EQ(layout["base"]["NewNormalEventTypes"].as<int>(), extended_event_base("NewNormalEventTypes"));
  EXPECT_EQ(layout["base"]["NewErrorEventTypes"].as<int>(), extended_event_base("NewErrorEventTypes"));
  EXPECT_EQ(layout["base"]["NewWarningEventTypes"].as<int>(), extended_event_base("NewWarningEventTypes"));
  EXPECT_NE(layout["example"].as<std::string>().find("2B12"), std::string::npos);
}

// ---- AccSupportFunList / QRCodeDecryptFunList ---------------------------------------------------------

constexpr std::string_view kAccFun44 = "0101010000111000000111010100011010";

TEST(FunctionList, RegistrationExample) {
  auto list = parse_function_list(kAccFun44);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(supported_positions(*list),
            (std::vector<std::size_t>{1, 3, 5, 10, 11, 12, 19, 20, 21, 23, 25, 29, 30, 32}));
  EXPECT_TRUE(function_supported(*list, 1));
  EXPECT_FALSE(function_supported(*list, 0));
  EXPECT_FALSE(function_supported(*list, kFunOneDoorAuthorize));
  EXPECT_TRUE(function_supported(*list, kFunAccountCommand));
  EXPECT_FALSE(function_supported(*list, 33));
  EXPECT_FALSE(function_supported(*list, 63));  // beyond the string: unsupported
  EXPECT_FALSE(function_supported("", 0));
}

TEST(FunctionList, NamesFromTheCatalogue) {
  auto named = supported_functions(kAccFun44, "acc_support_fun_list");
  ASSERT_EQ(named.size(), 14u);
  EXPECT_EQ(named[0].code, 1);
  EXPECT_EQ(named[0].name, "RS485 reader encryption function");
  auto qr = supported_functions("101", "qrcode_decrypt_fun_list");
  ASSERT_EQ(qr.size(), 2u);
  EXPECT_EQ(qr[0].code, 0);
  EXPECT_EQ(qr[1].code, 2);
  EXPECT_FALSE(qr[1].name.empty());
  // A position the catalogue has no name for keeps an empty name.
  auto far = supported_functions(set_function("", 70, true), "acc_support_fun_list");
  ASSERT_EQ(far.size(), 1u);
  EXPECT_TRUE(far[0].name.empty());
}

TEST(FunctionList, ValidationAndEditing) {
  EXPECT_FALSE(parse_function_list("0102").ok());
  EXPECT_EQ(*parse_function_list(" 0101 "), "0101");
  EXPECT_EQ(set_function("01", 4, true), "01001");
  EXPECT_EQ(set_function("01001", 1, false), "00001");
  EXPECT_TRUE(function_supported(set_function("", kFunOneDoorAuthorize, true), 15));
}

// ---- NewVFStyles / VERIFY_TYPE ------------------------------------------------------------------------

TEST(VfBits, RegistrationExamples) {
  auto cap = parse_vf_bits("0000111000011010");  // face, palm vein, fingerprint, password, user ID, card
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(vf_methods(*cap), (std::vector<int>{vf_face, vf_palm_vein, vf_fingerprint, vf_password, vf_user_id, vf_card}));
  auto small = parse_vf_bits("0000101000001010");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(vf_methods(*small), (std::vector<int>{vf_face, vf_palm_vein, vf_password, vf_card}));
}

TEST(VfBits, VerifyTypeLogicBit) {
  auto and_type = parse_vf_bits("0000101000000011");  // card AND password AND face
  ASSERT_TRUE(and_type.ok());
  EXPECT_TRUE(vf_and_logic(*and_type));
  EXPECT_EQ(vf_methods(*and_type), (std::vector<int>{vf_face, vf_password, vf_card}));
  auto or_type = parse_vf_bits("0000101000000010");
  ASSERT_TRUE(or_type.ok());
  EXPECT_FALSE(vf_and_logic(*or_type));
  EXPECT_EQ(format_vf_bits(make_vf_bits(std::vector<int>{vf_card, vf_password, vf_face}, true)), "0000101000000011");
  EXPECT_EQ(format_vf_bits(make_vf_bits(std::vector<int>{vf_card, vf_password, vf_face, vf_qr_code})), "0001101000000010");
}

TEST(VfBits, NamesLengthsAndDetection) {
  EXPECT_EQ(vf_bit_name(vf_face), "FACE");
  EXPECT_EQ(vf_bit_name(vf_card), "RF");
  EXPECT_EQ(vf_bit_name(13), "");
  // Shorter strings are right-aligned (the rightmost character is bit 0).
  EXPECT_EQ(*parse_vf_bits("10"), 2u);
  EXPECT_FALSE(parse_vf_bits("00001010000000110").ok());  // 17 characters
  EXPECT_FALSE(parse_vf_bits("0000a01000000011").ok());
  EXPECT_FALSE(parse_vf_bits("").ok());
  EXPECT_TRUE(looks_like_vf_bits("0000101000000011"));
  EXPECT_FALSE(looks_like_vf_bits("10"));   // Appendix 3 code 10
  EXPECT_FALSE(looks_like_vf_bits("200"));
  EXPECT_FALSE(looks_like_vf_bits("15"));
}

// ---- MultiBio* -----------------------------------------------------------------------------------------

// The entry index is the Appendix 18 type, whatever the list length; missing entries are 0. The
// 3.1 example lists therefore mean what their indexes say, not what the prose around them says.
TEST(Bitmaps, Ambiguity32_MultiBioIndexIsBiometricType) {
  auto device_data = parse_multibio_list("0:1:0:0:0:0:0:0:1:0");       // 10 entries
  auto server_data = parse_multibio_list("0:0:0:0:0:0:0:0:1:0");
  auto device_photo = parse_multibio_list("0:0:0:0:0:0:0:0:0:1:0");    // 11 entries
  ASSERT_TRUE(device_data.ok());
  ASSERT_TRUE(server_data.ok());
  ASSERT_TRUE(device_photo.ok());
  EXPECT_EQ(multibio_types(*device_data), (std::vector<int>{1, 8}));  // fingerprint, palm vein
  EXPECT_EQ(multibio_types(*device_photo), (std::vector<int>{9}));    // visible light face
  EXPECT_EQ(multibio_at(*device_data, 10), 0);                         // padded
  EXPECT_EQ(multibio_types(multibio_effective(*device_data, *server_data)), (std::vector<int>{8}));
  // Spaces after colons, as printed in 4.4.
  auto version = parse_multibio_list("0: 10: 0: 7: 0: 0: 0: 0: 0");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(multibio_at(*version, 1), 10);
  EXPECT_EQ(multibio_at(*version, 3), 7);
  EXPECT_EQ(multibio_types(*version), (std::vector<int>{1, 3}));
}

TEST(MultiBio, FormatAndErrors) {
  EXPECT_EQ(format_multibio_list(std::vector<std::int64_t>{0, 1, 1}), "0:1:1:0:0:0:0:0:0:0:0");
  EXPECT_EQ(format_multibio_list(std::vector<std::int64_t>{0, 10000, 2000}, 3), "0:10000:2000");
  EXPECT_EQ(*parse_multibio_list("0::1"), (std::vector<std::int64_t>{0, 0, 1}));
  EXPECT_TRUE(parse_multibio_list("")->empty());
  EXPECT_FALSE(parse_multibio_list("0:x:1").ok());
  auto effective = multibio_effective(std::vector<std::int64_t>{0, 1, 1}, std::vector<std::int64_t>{0, 1, 0, 0, 1});
  EXPECT_EQ(effective, (std::vector<std::int64_t>{0, 1, 0, 0, 0}));
}

}  // namespace
}  // namespace zkpush::protocol
