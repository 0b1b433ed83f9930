#include "protocol/fields.hpp"

#include <gtest/gtest.h>

#include <string_view>

using namespace std::string_view_literals;

namespace zkpush::protocol {
namespace {

TEST(TabRecord, PrefixWordAndFieldsInWireOrder) {
  Record r = parse_tab_record("user uid=1\tcardno=\tpin=1\tname=Zhang San\tprivilege=0");
  EXPECT_EQ(r.prefix, "user");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.fields[0], (Field{"uid", "1", true}));
  EXPECT_EQ(r.fields[1], (Field{"cardno", "", true}));
  EXPECT_EQ(r.get_or("NAME", "?"), "Zhang San");  // lookups ignore case, values keep spaces
  EXPECT_EQ(format_tab_record(r), "user uid=1\tcardno=\tpin=1\tname=Zhang San\tprivilege=0");
}

TEST(TabRecord, NoPrefixWhenFirstTokenIsAField) {
  Record r = parse_tab_record("time=2017-01-10 11:49:32\tpin=0\tevent=27");
  EXPECT_TRUE(r.prefix.empty());
  EXPECT_EQ(r.get_or("time", ""), "2017-01-10 11:49:32");
  EXPECT_EQ(r.get_int("event"), 27);
}

TEST(TabRecord, SpacesInsteadOfTabsSplitOnlyBeforeKnownKeys) {
  static constexpr std::string_view keys[] = {"time", "pin", "cardno", "event", "Name", "Pin"};
  TabRecordOptions opt;
  opt.known_keys = keys;
  Record r = parse_tab_record("time=2017-01-10 11:49:32    pin=0 cardno=0  event=27", opt);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r.get_or("time", ""), "2017-01-10 11:49:32");
  EXPECT_EQ(r.get_or("cardno", "?"), "0");
  // A space before something that is not a known key stays inside the value.
  Record n = parse_tab_record("Pin=1 Name=Zhang San x=1", opt);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n.get_or("Name", ""), "Zhang San x=1");
}

TEST(TabRecord, GluedPrefixIsSeparatedWhenExpected) {
  TabRecordOptions opt;
  opt.expected_prefix = "DeviceAuthorize";
  Record r = parse_tab_record("DeviceAuthorizeSN=123\tOnline=1", opt);
  EXPECT_EQ(r.prefix, "DeviceAuthorize");
  EXPECT_EQ(r.fields.front().key, "SN");
}

TEST(TabRecord, TerminatorsAndBlankLinesAreIgnored) {
  auto records = parse_tab_records("a=1\tb=2\r\n\r\nc=3\t\n\0\0"sv);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].size(), 1u);  // trailing HT does not make an empty field
  EXPECT_EQ(format_tab_records(records), "a=1\tb=2\nc=3");
}

TEST(CommaList, KeysKeepTildeAndSpacesAroundSeparatorsAreTrimmed) {
  Record r = parse_comma_list("~DeviceName=F20/M, FirmVer=Ver 8.0.1.3-20151229 ,MAC=00:17:61");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.fields[0].key, "~DeviceName");
  EXPECT_EQ(r.get_or("firmver", ""), "Ver 8.0.1.3-20151229");
  EXPECT_EQ(format_comma_list(r), "~DeviceName=F20/M,FirmVer=Ver 8.0.1.3-20151229,MAC=00:17:61");
}

TEST(CommaList, CommaInsideValueIsKept) {
  Record r = parse_comma_list("~DeviceName=Gate A,B,MAC=1");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.get_or("~DeviceName", ""), "Gate A,B");
}

TEST(AmpList, BareTokensAndCaseInsensitiveKeys) {
  Record r = parse_amp_list("ID=291&return=41&CMD=ACCOUNT&transaction&StartTime=&RecordSum=41\r\n");
  EXPECT_EQ(r.get_int("Return"), 41);
  const Field* bare = r.find("transaction");
  ASSERT_NE(bare, nullptr);
  EXPECT_FALSE(bare->has_value);
  EXPECT_EQ(format_amp_list(r), "ID=291&return=41&CMD=ACCOUNT&transaction&StartTime=&RecordSum=41");
}

TEST(LineList, FormatsOneKeyPerLine) {
  Record r = parse_line_list("registry=ok\r\nRegistryCode=abc\nErrorDelay=60\n");
  EXPECT_EQ(r.get_or("REGISTRY", ""), "ok");
  EXPECT_EQ(format_line_list(r), "registry=ok\nRegistryCode=abc\nErrorDelay=60\n");
}

TEST(Query, DecodesPercentEscapesAndKeepsOrder) {
  Target t = parse_target("/iclock/cdata?SN=33%2083&table=rtlog&flag");
  EXPECT_EQ(t.path, "/iclock/cdata");
  EXPECT_EQ(t.query.get_or("sn", ""), "33 83");
  EXPECT_FALSE(t.query.find("flag")->has_value);
  EXPECT_EQ(format_target(t), "/iclock/cdata?SN=33%2083&table=rtlog&flag");
}

TEST(Record, SetReplacesAnyCaseAndAddAppends) {
  Record r{{"Pin", "1"}};
  r.set("PIN", "2").add("Pin", "3");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.fields[0].key, "Pin");
  EXPECT_EQ(r.fields[0].value, "2");
  EXPECT_EQ(r.get_int("pin"), 2);  // first match wins
}

}  // namespace
}  // namespace zkpush::protocol
