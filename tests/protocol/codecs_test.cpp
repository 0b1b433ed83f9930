// Time values (Appendix 5/6, datetime, YYYYMMDD, user validity, time periods, HTTP Date, rtdata),
// card numbers and templatev10 duress marks.
#include "protocol/codecs.hpp"

#include <gtest/gtest.h>

#include "protocol/responses.hpp"

#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

CivilTime at(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) { return CivilTime{y, mo, d, h, mi, s}; }

// ---- Appendix 5/6 ----------------------------------------------------------------------------------------

TEST(ZkTime, ManualExamplesBothWays) {
  EXPECT_EQ(decode_zktime(583512660), at(2018, 2, 27, 14, 51, 0));
  EXPECT_EQ(decode_zktime(548003688), at(2017, 1, 19, 15, 14, 48));
  EXPECT_EQ(decode_zktime(583080894), at(2018, 2, 22, 14, 54, 54));
  auto v = encode_zktime(at(2018, 2, 27, 14, 51, 0));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 583512660u);
  EXPECT_EQ(*encode_zktime(at(2017, 1, 19, 15, 14, 48)), 548003688u);
}

TEST(ZkTime, CatalogueExamplesRoundTrip) {
  YAML::Node examples = testing::load_spec("enums.yaml")["zktime"]["examples"];
  ASSERT_TRUE(examples.IsMap());
  ASSERT_GE(examples.size(), 5u);
  for (const auto& e : examples) {
    const auto seconds = e.first.as<std::uint32_t>();
    const std::string text = e.second.as<std::string>();
    CivilTime t = decode_zktime(seconds);
    EXPECT_EQ(format_datetime(t), text) << seconds;
    auto back = encode_zktime(t);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, seconds);
  }
}

TEST(ZkTime, EpochAndLastValue) {
  EXPECT_EQ(decode_zktime(0), at(2000, 1, 1));
  EXPECT_EQ(*encode_zktime(at(2000, 1, 1)), 0u);
  EXPECT_EQ(decode_zktime(4294967295u), at(2133, 8, 18, 6, 28, 15));
  EXPECT_EQ(*encode_zktime(at(2133, 8, 18, 6, 28, 15)), 4294967295u);
  EXPECT_EQ(encode_zktime(at(2133, 8, 18, 6, 28, 16)).error().code, Errc::bad_value);
}

TEST(ZkTime, EncodeRejectsImpossibleDatesButDecodeAcceptsAnyValue) {
  EXPECT_FALSE(encode_zktime(at(2018, 2, 30)).ok());
  EXPECT_FALSE(encode_zktime(at(2018, 2, 29)).ok());  // 2018 is not a leap year
  EXPECT_TRUE(encode_zktime(at(2020, 2, 29)).ok());
  EXPECT_FALSE(encode_zktime(at(2018, 4, 31)).ok());
  EXPECT_FALSE(encode_zktime(at(2018, 13, 1)).ok());
  EXPECT_FALSE(encode_zktime(at(2018, 1, 1, 24)).ok());
  EXPECT_FALSE(encode_zktime(at(1999, 12, 31)).ok());
  // Day 31 of February exists in the 31-day calendar of Appendix 6.
  const std::uint32_t feb31 = ((18 * 12 + 1) * 31 + 30) * 86400u;
  CivilTime t = decode_zktime(feb31);
  EXPECT_EQ(t, at(2018, 2, 31));
  EXPECT_FALSE(is_valid_civil_time(t));
  EXPECT_EQ(format_iso8601(t), "2018-02-31T00:00:00");
}

TEST(ZkTime, TextForms) {
  auto t = parse_zktime(" 583512660 ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_iso8601(*t), "2018-02-27T14:51:00");
  EXPECT_FALSE(parse_zktime("4294967296").ok());
  EXPECT_FALSE(parse_zktime("-1").ok());
  EXPECT_FALSE(parse_zktime("12a").ok());
  EXPECT_FALSE(parse_zktime("").ok());
}

// ---- datetime and YYYYMMDD ------------------------------------------------------------------------------

TEST(DateTime, ParseAndFormat) {
  auto t = parse_datetime("2017-01-10 11:49:32");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, at(2017, 1, 10, 11, 49, 32));
  EXPECT_EQ(format_datetime(*t), "2017-01-10 11:49:32");
  EXPECT_EQ(format_iso8601(*t), "2017-01-10T11:49:32");
  EXPECT_TRUE(parse_datetime("2017-01-10T11:49:32").ok());
  EXPECT_FALSE(parse_datetime("2017-02-30 11:49:32").ok());
  EXPECT_FALSE(parse_datetime("2017-01-10 11:49").ok());
  EXPECT_FALSE(parse_datetime("2017/01/10 11:49:32").ok());
  EXPECT_FALSE(parse_datetime("2017-01-10 25:00:00").ok());
}

TEST(DateTime, Date8) {
  auto d = parse_date8("20180227");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, at(2018, 2, 27));
  EXPECT_EQ(format_date8(*d), "20180227");
  EXPECT_EQ(format_iso_date(*d), "2018-02-27");
  EXPECT_FALSE(parse_date8("20180230").ok());
  EXPECT_FALSE(parse_date8("2018022").ok());
  EXPECT_FALSE(parse_date8("2018-02-27").ok());
}

// ---- user StartTime / EndTime ---------------------------------------------------------------------------

TEST(Codecs, Ambiguity29_ValidityDependsOnDateFmtFunOn) {
  auto zk = parse_validity_time("583512660", true);
  ASSERT_TRUE(zk.ok());
  EXPECT_EQ(zk->form, ValidityForm::zktime);
  EXPECT_EQ(zk->time, at(2018, 2, 27, 14, 51, 0));
  auto d8 = parse_validity_time("20180227", false);
  ASSERT_TRUE(d8.ok());
  EXPECT_EQ(d8->form, ValidityForm::date8);
  EXPECT_EQ(d8->time, at(2018, 2, 27));
  // 0 is "no limit" in both forms.
  EXPECT_EQ(parse_validity_time("0", true)->form, ValidityForm::unlimited);
  EXPECT_EQ(parse_validity_time("0", false)->form, ValidityForm::unlimited);
  EXPECT_EQ(parse_validity_time("", false)->form, ValidityForm::unlimited);
  // The wrong form is an error, not a silent misreading.
  EXPECT_FALSE(parse_validity_time("583512660", false).ok());
  // Formatting for the device.
  EXPECT_EQ(*format_validity_time(at(2018, 2, 27, 14, 51), true), "583512660");
  EXPECT_EQ(*format_validity_time(at(2018, 2, 27, 14, 51), false), "20180227");
  EXPECT_EQ(*format_validity_time(std::nullopt, true), "0");
  EXPECT_FALSE(format_validity_time(at(2018, 2, 30), false).ok());
}

TEST(Validity, GuessWhenDateFmtFunOnIsUnknown) {
  EXPECT_EQ(guess_validity_time("20180227")->form, ValidityForm::date8);
  EXPECT_EQ(guess_validity_time("583512660")->form, ValidityForm::zktime);
  // Eight digits that are no date: zktime.
  EXPECT_EQ(guess_validity_time("99999999")->form, ValidityForm::zktime);
  EXPECT_EQ(guess_validity_time("0")->form, ValidityForm::unlimited);
  EXPECT_FALSE(guess_validity_time("abc").ok());
}

// ---- time segments ---------------------------------------------------------------------------------------

TEST(TimeSegment, ManualExamples) {
  auto s = decode_time_segment(54396080u);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(format_time_segment(*s), "08:30-12:00");
  EXPECT_EQ(*encode_time_segment(*s), 0x33E04B0u);
  EXPECT_EQ(format_time_segment(*decode_time_segment(65539u)), "00:01-00:03");
  EXPECT_EQ(format_time_segment(*decode_time_segment(65537100u)), "10:00-11:00");
  EXPECT_EQ(format_time_segment(*decode_time_segment(2359u)), "00:00-23:59");
  EXPECT_EQ(*encode_time_segment(*parse_time_segment("10:00-11:00")), 65537100u);
}

TEST(TimeSegment, ZeroIsNoPeriod) {
  auto s = decode_time_segment(std::string_view("0"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
  EXPECT_FALSE(decode_time_segment(54396080u)->empty());
  EXPECT_EQ(*encode_time_segment(TimeSegment{}), 0u);
}

TEST(TimeSegment, Validation) {
  EXPECT_FALSE(decode_time_segment((2400u << 16) | 100u).ok());  // hour 24
  EXPECT_FALSE(decode_time_segment((860u << 16) | 1200u).ok());  // minute 60
  EXPECT_FALSE(decode_time_segment(std::string_view("x")).ok());
  EXPECT_FALSE(decode_time_segment(std::string_view("4294967296")).ok());
  EXPECT_FALSE(encode_time_segment(TimeSegment{12, 0, 8, 30}).ok());  // ends before it starts
  EXPECT_FALSE(encode_time_segment(TimeSegment{8, 60, 9, 0}).ok());
  EXPECT_FALSE(parse_time_segment("08:30").ok());
  EXPECT_FALSE(parse_time_segment("8:3-12:00").ok());
  auto loose = parse_time_segment(" 8:30 - 12:00 ");
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(format_time_segment(*loose), "08:30-12:00");
}

// ---- Unix time, HTTP Date, rtdata ------------------------------------------------------------------------

TEST(HttpDate, FormatAndParse) {
  EXPECT_EQ(format_http_date(1484098203), "Wed, 11 Jan 2017 01:30:03 GMT");
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
  auto t = parse_http_date("Wed, 11 Jan 2017 01:30:03 GMT");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1484098203);
  // 1.3 prints the header with spaces after the colons.
  EXPECT_EQ(*parse_http_date("Fri, 10 Jul 2015 03: 53: 16 GMT"), *parse_http_date("Fri, 10 Jul 2015 03:53:16 GMT"));
  EXPECT_FALSE(parse_http_date("Wed, 11 Foo 2017 01:30:03 GMT").ok());
  EXPECT_FALSE(parse_http_date("Wed, 11 Jan 2017 01:30:03 CET").ok());
  EXPECT_FALSE(parse_http_date("").ok());
}

TEST(UnixTime, CivilRoundTrip) {
  for (std::int64_t s : {std::int64_t{0}, std::int64_t{951782400} /* 2000-02-29 */, std::int64_t{1519281390},
                         std::int64_t{-86401}, std::int64_t{253402300799}}) {
    auto t = civil_from_unix(s);
    ASSERT_TRUE(t.ok()) << s;
    EXPECT_EQ(*unix_from_civil(*t), s);
  }
  EXPECT_EQ(*civil_from_unix(951782400), at(2000, 2, 29));
  EXPECT_FALSE(civil_from_unix(253402300800).ok());
  EXPECT_FALSE(civil_from_unix(std::numeric_limits<std::int64_t>::min()).ok());
}

// The server's time sources: the Date header (GMT) always; rtdata answers the GMT wall clock as
// Appendix 5 seconds plus ServerTZ; SET OPTIONS DateTime carries the device-local wall clock. The
// manual's two examples (583050990 GMT in 9.5.1 rtdata, 583080894 local in SET OPTIONS) are 8 h
// 18 min apart: consistent with a +0800 server whose two samples were taken 18 minutes apart.
TEST(Codecs, Ambiguity10_ServerTimeSources) {
  const std::int64_t now = 1519281390;  // 2018-02-22 06:36:30 GMT
  auto gmt = zktime_from_unix(now, 0);
  ASSERT_TRUE(gmt.ok());
  EXPECT_EQ(*gmt, 583050990u);
  EXPECT_EQ(format_time_answer(TimeAnswer{*gmt, format_tz_offset(480)}), "DateTime=583050990,ServerTZ=+0800");
  EXPECT_EQ(format_http_date(now), "Thu, 22 Feb 2018 06:36:30 GMT");
  // SET OPTIONS DateTime: local wall clock of a +0800 device.
  EXPECT_EQ(*zktime_from_unix(1519282494, 480), 583080894u);
  EXPECT_EQ(format_datetime(decode_zktime(583080894)), "2018-02-22 14:54:54");
  // Appendix 5 seconds are not Unix seconds: a month boundary skips the missing days.
  EXPECT_EQ(*zktime_from_unix(*unix_from_civil(at(2018, 3, 1)), 0) - *zktime_from_unix(*unix_from_civil(at(2018, 2, 28)), 0),
            4u * 86400u);
}

// ---- card numbers ----------------------------------------------------------------------------------------

TEST(Codecs, Ambiguity29_CardNumberBothForms) {
  auto bracket = parse_card_number("[15CD5B07]");
  ASSERT_TRUE(bracket.ok());
  EXPECT_EQ(bracket->value, 123456789u);
  EXPECT_EQ(bracket->form, CardForm::bracket_hex);
  auto lower = parse_card_number("[15cd5b07]");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(lower->value, 123456789u);
  auto dec = parse_card_number("123456789");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->value, 123456789u);
  EXPECT_EQ(dec->form, CardForm::decimal);
  // The server writes decimal by default; the bracket form in the manual's upper case.
  EXPECT_EQ(format_card_number(123456789), "123456789");
  EXPECT_EQ(format_card_number(123456789, CardForm::bracket_hex), "[15CD5B07]");
}

TEST(CardNumber, LenientBracketForms) {
  EXPECT_EQ(parse_card_number(" [15 CD 5B 07] ")->value, 123456789u);
  EXPECT_EQ(parse_card_number("[15CD5B]")->value, 0x5BCD15u);           // fewer bytes
  EXPECT_EQ(parse_card_number("[15CD5B0701]")->value, 0x01075BCD15u);   // more bytes
  EXPECT_EQ(parse_card_number("[0102030405060708]")->value, 0x0807060504030201u);
  EXPECT_EQ(parse_card_number("[010203040506070800]")->value, 0x0807060504030201u);  // zero 9th byte
  EXPECT_EQ(parse_card_number("[01020304050607080A]").error().code, Errc::too_large);
  EXPECT_FALSE(parse_card_number("[15CD5B0]").ok());   // half a byte
  EXPECT_FALSE(parse_card_number("[15CD5B07").ok());   // no closing bracket
  EXPECT_FALSE(parse_card_number("[]").ok());
  EXPECT_FALSE(parse_card_number("[XYZ]").ok());
  EXPECT_FALSE(parse_card_number("15CD5B07").ok());    // bare hex is not a card number
  EXPECT_FALSE(parse_card_number("-5").ok());
}

TEST(CardNumber, EmptyMeansNoCardAndLargeNumbersRoundTrip) {
  auto none = parse_card_number("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->form, CardForm::none);
  EXPECT_EQ(format_card_number(0, CardForm::none), "");
  EXPECT_EQ(format_card_number(0, CardForm::bracket_hex), "[00000000]");
  const std::uint64_t big = 0xDF349C3BEA5277EDull;
  EXPECT_EQ(parse_card_number(format_card_number(big, CardForm::bracket_hex))->value, big);
  EXPECT_EQ(parse_card_number(format_card_number(big))->value, big);
  EXPECT_EQ(std::string(card_form_name(CardForm::bracket_hex)), "bracket_hex");
}

// ---- templatev10 duress ---------------------------------------------------------------------------------

TEST(Templatev10, DuressMarksOnUploadAndUpdate) {
  // Device side: a stored duress finger 6 (Valid=3) is uploaded as fingerid 22, valid 1.
  FingerUploadMark up = templatev10_upload_mark(6, 3);
  EXPECT_EQ(up.fingerid, 22);
  EXPECT_EQ(up.valid, 1);
  FingerUploadMark normal = templatev10_upload_mark(7, 1);
  EXPECT_EQ(normal.fingerid, 7);
  EXPECT_EQ(normal.valid, 1);
  // Server side: back to finger 6, duress, Valid=3 for DATA UPDATE.
  FingerMark m = templatev10_from_upload(22, 1);
  EXPECT_EQ(m.finger, 6);
  EXPECT_TRUE(m.duress);
  EXPECT_EQ(m.update_valid, 3);
  FingerMark plain = templatev10_from_upload(7, 1);
  EXPECT_FALSE(plain.duress);
  EXPECT_EQ(plain.update_valid, 1);
  // Firmware that forgot to convert valid 3 still marks duress.
  EXPECT_TRUE(templatev10_from_upload(6, 3).duress);
  EXPECT_EQ(templatev10_from_upload(6, 0).update_valid, 0);
}

}  // namespace
}  // namespace zkpush::protocol
