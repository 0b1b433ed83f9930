// Parser and formatter of getrequest command bodies: exact wire text, tolerance for what firmware
// and the manual actually contain, and typed errors for what has no meaning.
#include "protocol/commands.hpp"

#include <gtest/gtest.h>

#include "protocol/command_builders.hpp"

namespace zkpush::protocol {
namespace {

Command parsed(std::string_view text) {
  auto c = parse_command(text);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string()) << " for: " << text;
  return c.ok() ? *c : Command{};
}

Error error_of(std::string_view body) {
  auto r = parse_commands(body);
  EXPECT_FALSE(r.ok()) << "accepted: " << body;
  return r.ok() ? Error{} : r.error();
}

// ---- exact wire text ---------------------------------------------------------------------------------

TEST(Commands, FormatsUserUpdateExactly) {
  Command c{"295", DataUpdate{"user", {Record{{"CardNo", ""}, {"Pin", "1"}, {"Password", "234"}}}}, std::nullopt};
  EXPECT_EQ(format_command(c), "C:295:DATA UPDATE user CardNo=\tPin=1\tPassword=234");
}

TEST(Commands, MultiRecordUpdateContinuesWithoutCPrefix) {
  Command c{"7", DataUpdate{"holiday", {Record{{"Holiday", "20240101"}}, Record{{"Holiday", "20241225"}}}}, std::nullopt};
  EXPECT_EQ(format_command(c), "C:7:DATA UPDATE holiday Holiday=20240101\nHoliday=20241225");
  auto back = parse_commands(format_command(c));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(back->front(), c);
}

TEST(Commands, GetrequestBodyEndsEveryCommandWithLf) {
  std::vector<Command> cs{parsed("C:1:DATA DELETE user Pin=1"), parsed("C:2:CONTROL DEVICE 03000000")};
  EXPECT_EQ(format_getrequest_body(cs), "C:1:DATA DELETE user Pin=1\nC:2:CONTROL DEVICE 03000000\n");
  EXPECT_EQ(format_getrequest_body({}), "");
  auto back = parse_commands(format_getrequest_body(cs));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, cs);
}

TEST(Commands, CmdFormat1PrefixesTheCLine) {
  Command c = parsed("C:295:DATA UPDATE user Pin=1\nPin=2");
  CommandFormat f;
  f.cmd_format = 1;
  f.sn = "DDG7012017010600049";
  EXPECT_EQ(format_command(c, f),
            "DataType=1, SN=DDG7012017010600049, Priority=0, CmdID=295, CmdDesc=C:295:DATA UPDATE user Pin=1\nPin=2");
  auto back = parse_command(format_command(c, f));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_TRUE(back->envelope.has_value());
  EXPECT_EQ(back->envelope->sn, f.sn);
  EXPECT_EQ(back->envelope->priority, 0);
  EXPECT_EQ(back->body, c.body);
  EXPECT_EQ(format_command(*back, format_of(*back)), format_command(c, f));
}

TEST(Commands, VerbNamesAndReverseLookup) {
  EXPECT_EQ(verb_name(Verb::test_host), "Test Host");
  EXPECT_EQ(verb_name(Verb::set_adscreen_options), "SET ADSCREEN_OPTIONS");
  EXPECT_EQ(verb_name(Verb::unknown), "");
  EXPECT_EQ(verb_from_name("SET_OPTIONS"), Verb::set_options);
  EXPECT_EQ(verb_from_name("data   query"), Verb::data_query);
  EXPECT_EQ(verb_from_name("Test Host"), Verb::test_host);
  EXPECT_EQ(verb_from_name("DATA"), std::nullopt);
  EXPECT_EQ(verb_from_name("DATA UPDATER"), std::nullopt);
}

TEST(Commands, EveryVerbParsesToItsStruct) {
  struct Case {
    const char* line;
    Verb verb;
  } cases[] = {
      {"C:1:DATA UPDATE user Pin=1", Verb::data_update},
      {"C:1:DATA DELETE user *", Verb::data_delete},
      {"C:1:DATA COUNT user", Verb::data_count},
      {"C:1:DATA QUERY tablename=user,fielddesc=*,filter=*", Verb::data_query},
      {"C:1:ACCOUNT transaction MaxIndex=0", Verb::account},
      {"C:1:Test Host Address=1.2.3.4:80", Verb::test_host},
      {"C:1:CONTROL DEVICE 01010105", Verb::control_device},
      {"C:1:UPGRADE type=1,checksum=x,size=1,url=http://h/f", Verb::upgrade},
      {"C:1:SET OPTIONS ComPwd=1", Verb::set_options},
      {"C:1:GET OPTIONS FirmVer", Verb::get_options},
      {"C:1:SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,URL=http://h/a.jpg", Verb::set_adscreen_options},
      {"C:1:ENROLL_INFO TYPE=0\tPIN=1\tRETRY=3\tMODE=1", Verb::enroll_info},
      {"C:1:ENROLL_BIO TYPE=9\tNO=0\tPIN=1\tRETRY=3\tOVERWRITE=1\tMODE=1", Verb::enroll_bio},
      {"C:1:REBOOT", Verb::unknown},
  };
  for (const auto& c : cases) {
    Command cmd = parsed(c.line);
    EXPECT_EQ(cmd.verb(), c.verb) << c.line;
    EXPECT_EQ(format_command(cmd), c.line);
  }
}

TEST(Commands, QueryParametersAndFilters) {
  auto q = std::get<DataQuery>(parsed("C:99:DATA QUERY tablename=biodata,fielddesc=*,filter=Type=1\tPin=1\tNo=6").body);
  EXPECT_EQ(q.table, "biodata");
  EXPECT_EQ(q.fielddesc, "*");
  EXPECT_EQ(q.filter.get_or("No", ""), "6");
  EXPECT_TRUE(q.filter_text.empty());
  auto n = std::get<DataQuery>(parsed("C:9:DATA QUERY tablename=transaction,fielddesc=*,filter=NewRecord").body);
  EXPECT_TRUE(n.filter.empty());
  EXPECT_EQ(n.filter_text, "NewRecord");
  // The manual's template spacing, parameters in another order.
  auto s = std::get<DataQuery>(parsed("C:9:DATA QUERY filter = * , tablename = user , fielddesc = *").body);
  EXPECT_EQ(s.table, "user");
  EXPECT_EQ(s.filter_text, "*");
}

TEST(Commands, AccountForms) {
  auto p = std::get<AccountCommand>(parsed("C:291:ACCOUNT transaction ContentType=tgz MaxIndex=0").body);
  EXPECT_EQ(p.form, AccountForm::pullsdk);
  auto t = std::get<AccountCommand>(
      parsed("C:5:ACCOUNT transaction StartTime=2018-02-22 16:19:20\tEndTime=2018-02-23 00:00:00").body);
  EXPECT_EQ(t.form, AccountForm::time_range);
  EXPECT_EQ(t.start_time, "2018-02-22 16:19:20");
  EXPECT_EQ(t.end_time, "2018-02-23 00:00:00");
  // A space instead of the HT between the two times (PDF rendering) still separates them.
  auto sp = std::get<AccountCommand>(
      parsed("C:5:ACCOUNT transaction StartTime=2018-02-22 16:19:20 EndTime=2018-02-23 00:00:00").body);
  EXPECT_EQ(sp, t);
  auto r = std::get<AccountCommand>(parsed("C:5:ACCOUNT transaction StartIndex=3\tEndIndex=9").body);
  EXPECT_EQ(r.form, AccountForm::index_range);
  EXPECT_EQ(r.end_index, 9u);
}

TEST(Commands, UnknownVerbIsKept) {
  Command c = parsed("C:12:CLEAR LOG now");
  const auto& u = std::get<UnknownCommand>(c.body);
  EXPECT_EQ(u.verb, "CLEAR");
  EXPECT_EQ(u.detail, "LOG now");
  EXPECT_EQ(format_command(c), "C:12:CLEAR LOG now");
  EXPECT_EQ(catalogue_id(c), "");
  EXPECT_FALSE(validate_command(c).ok());
}

TEST(Commands, OkBodyAndEmptyBodyMeanNoCommand) {
  for (std::string_view body : {"", "\n", "OK", "OK\n", "\r\n\r\n"}) {
    auto r = parse_commands(body);
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_TRUE(r->empty());
  }
}

TEST(Commands, NumericIdAndTextIdsKept) {
  EXPECT_EQ(parsed("C:0042:CONTROL DEVICE 03000000").id, "0042");
  EXPECT_EQ(parsed("C:0042:CONTROL DEVICE 03000000").numeric_id(), 42u);
  EXPECT_EQ(parsed("C:${CmdID}:CONTROL DEVICE 03000000").numeric_id(), std::nullopt);
}

// ---- sloppy firmware and manual variants ---------------------------------------------------------------

TEST(CommandsSloppy, SpaceAfterIdColonAndMultipleSpaces) {
  Command ref = parsed("C:123:DATA DELETE holiday *");
  EXPECT_EQ(parsed("C:123: DATA DELETE holiday *"), ref);
  EXPECT_EQ(parsed("C:123:DATA    DELETE   holiday   *"), ref);
  EXPECT_EQ(parsed("C:123:data delete holiday *"), ref);
  EXPECT_EQ(parsed("C: 123 :DATA DELETE holiday *"), ref);
}

TEST(CommandsSloppy, StarGluedToTable) {
  Command c = parsed("C:342:DATA DELETE ReaderProperty*");
  const auto& d = std::get<DataDelete>(c.body);
  EXPECT_EQ(d.table, "ReaderProperty");
  EXPECT_TRUE(d.all);
  EXPECT_EQ(format_command(c), "C:342:DATA DELETE ReaderProperty *");
  EXPECT_TRUE(std::get<DataCount>(parsed("C:1:DATA COUNT user*").body).all);
}

TEST(CommandsSloppy, CrLfTrailingLfAndNul) {
  std::string body = "C:1:DATA DELETE user Pin=1\r\nC:2:DATA UPDATE user Pin=2\r\nPin=3\r\n";
  body += std::string(2, '\0');
  auto r = parse_commands(body);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(std::get<DataUpdate>((*r)[1].body).records.size(), 2u);
  EXPECT_EQ(std::get<DataUpdate>((*r)[1].body).records[1].get_or("Pin", ""), "3");
}

TEST(CommandsSloppy, KeyCaseIsKeptAsSentAndFoundInAnyCase) {
  Command c = parsed("C:307:DATA UPDATE timezone TimeZoneId=2\tSunTime1=0");
  const auto& rec = std::get<DataUpdate>(c.body).records.front();
  EXPECT_EQ(rec.fields[0].key, "TimeZoneId");
  EXPECT_EQ(rec.get_or("timezoneid", ""), "2");
  EXPECT_EQ(format_command(c), "C:307:DATA UPDATE timezone TimeZoneId=2\tSunTime1=0");
  EXPECT_TRUE(validate_command(c).ok());
  EXPECT_EQ(parsed("c:5:Test Host address=1.2.3.4:80").verb(), Verb::test_host);
}

TEST(CommandsSloppy, SpacesInsteadOfTabsSplitOnlyAtKnownKeys) {
  Command c = parsed("C:1:DATA UPDATE user CardNo= Pin=1 Name=Zhang San Privilege=0");
  const auto& rec = std::get<DataUpdate>(c.body).records.front();
  ASSERT_EQ(rec.size(), 4u);
  EXPECT_EQ(rec.get_or("Name", ""), "Zhang San");
  EXPECT_EQ(format_command(c), "C:1:DATA UPDATE user CardNo=\tPin=1\tName=Zhang San\tPrivilege=0");
}

TEST(CommandsSloppy, GetOptionsWithCommaSpaceAndTrailingComma) {
  auto g = std::get<GetOptions>(parsed("C:410:GET OPTIONS FingerFunOn, FvFunOn ,FaceFunOn,").body);
  EXPECT_EQ(g.keys, (std::vector<std::string>{"FingerFunOn", "FvFunOn", "FaceFunOn"}));
}

TEST(CommandsSloppy, LowerCaseHexInControlDevice) {
  auto c = std::get<ControlDevice>(parsed("C:1:CONTROL DEVICE 0b010000").body);
  EXPECT_EQ(c.aa, 11);
  EXPECT_EQ(c.bb, 1);
}

// ---- malformed input ------------------------------------------------------------------------------------

TEST(CommandsMalformed, BrokenEnvelopes) {
  EXPECT_EQ(error_of("C:abc").code, Errc::malformed);
  EXPECT_EQ(error_of("C::X").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1 2:DATA DELETE user *").code, Errc::malformed);
  EXPECT_EQ(error_of("hello").code, Errc::malformed);
  EXPECT_EQ(error_of("DataType=1, SN=1, CmdID=5, C:5:DATA COUNT user").code, Errc::incomplete);
  EXPECT_EQ(error_of("DataType=1, SN=1, CmdID=6, CmdDesc=C:5:DATA COUNT user").code, Errc::malformed);
  EXPECT_EQ(error_of("DataType=x, SN=1, CmdDesc=C:5:DATA COUNT user").code, Errc::bad_value);
}

TEST(CommandsMalformed, ErrorsSayWhere) {
  Error e = error_of("C:1:DATA DELETE user *\nC:2:CONTROL DEVICE 0G000000");
  EXPECT_EQ(e.code, Errc::malformed);
  EXPECT_NE(e.where.find("line 2"), std::string::npos) << e.where;
  EXPECT_NE(e.where.find("command 2"), std::string::npos) << e.where;
}

TEST(CommandsMalformed, ControlDevicePayloads) {
  EXPECT_EQ(error_of("C:1:CONTROL DEVICE 0G").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:CONTROL DEVICE 010101").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:CONTROL DEVICE 010101050").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:CONTROL DEVICE").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:CONTROL DEVICE 11000000").code, Errc::malformed);  // elevator without floors
}

TEST(CommandsMalformed, DataCommandsWithoutTableOrCondition) {
  EXPECT_EQ(error_of("C:1:DATA UPDATE").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:DATA UPDATE user").code, Errc::incomplete);
  // Fields without a table word parse (decision 26) but name no single table, so they are refused.
  auto nameless = parse_command("C:1:DATA UPDATE Pin=1\tName=x");
  ASSERT_TRUE(nameless.ok());
  EXPECT_EQ(effective_table(*nameless), nullptr);
  EXPECT_FALSE(validate_command(*nameless).ok());
  EXPECT_EQ(error_of("C:1:DATA DELETE user").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:DATA DELETE").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:DATA DELETE *").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:DATA DELETE user* Pin=1").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:DATA QUERY fielddesc=*,filter=*").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:DATA QUERY user").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:DATA QUERY tablename=user,tablename=x").code, Errc::malformed);
}

TEST(CommandsMalformed, OtherVerbs) {
  EXPECT_EQ(error_of("C:1:ACCOUNT transaction MaxIndex=abc").code, Errc::bad_value);
  EXPECT_EQ(error_of("C:1:ACCOUNT transaction StartIndex=1").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:ACCOUNT transaction MaxIndex=1\tMaxIndex=2").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:ACCOUNT transaction Foo=1").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:Test Host 1.2.3.4:80").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:UPGRADE checksum=x,url=y").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:UPGRADE checksum=x,url=y,size=big").code, Errc::bad_value);
  EXPECT_EQ(error_of("C:1:UPGRADE checksum=x,url=y,size=1,colour=red").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:UPGRADE type=1,checksum=x,size=1,url=y,supportsubcontracting=1").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:SET OPTIONS").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:GET OPTIONS , ,").code, Errc::incomplete);
  EXPECT_EQ(error_of("C:1:ENROLL_BIO").code, Errc::incomplete);
}

TEST(CommandsMalformed, OrphanContinuationLines) {
  EXPECT_EQ(error_of("Pin=1\tName=x").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:DATA DELETE user Pin=1\nPin=2").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1:SET OPTIONS A=1\nB=2").code, Errc::malformed);
}

TEST(CommandsMalformed, HugeInputsAreRefusedOrHandledLinearly) {
  EXPECT_EQ(error_of(std::string(max_commands_body + 1, 'C')).code, Errc::too_large);
  std::string many;
  for (std::size_t i = 0; i <= max_commands_per_body; ++i) many += "C:1:REBOOT\n";
  EXPECT_EQ(error_of(many).code, Errc::too_large);
  // A 4 MB value of words and spaces: parsed in one pass, not one pass per space.
  std::string spaces = "C:1:DATA UPDATE user Pin=1\tName=";
  for (int i = 0; i < 2'000'000; ++i) spaces += "a ";
  auto r = parse_commands(spaces);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<DataUpdate>(r->front().body).records.front().size(), 2u);
  EXPECT_EQ(error_of(std::string(20'000'000, 'C')).code, Errc::malformed);
}

TEST(CommandsMalformed, BinaryGarbageNeverCrashes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 131 + 7) % 256);
  (void)parse_commands(junk);
  (void)parse_commands("C:1:" + junk);
  (void)parse_commands("C:1:DATA UPDATE user " + junk);
  (void)parse_commands("DataType=1, CmdDesc=C:1:" + junk);
  SUCCEED();
}

// Inputs the fuzzer found whose formatted form did not read back the same; each is now either
// stable or refused.
TEST(CommandsMalformed, FuzzFindingsStayFixed) {
  std::string nul_star = "C:342:DATA DELETE Reader \t";
  nul_star += std::string(3, '\0');
  nul_star += "*";
  EXPECT_TRUE(std::get<DataDelete>(parsed(nul_star).body).all);
  EXPECT_EQ(error_of("C:123:DATA DELETE [oy**").code, Errc::malformed);
  EXPECT_EQ(error_of("DataType=1,,  CmdDesc=C: CmdDesc=C295:C:T33A").code, Errc::malformed);
  EXPECT_EQ(error_of("C:1&2:CONTROL DEVICE 03000000").code, Errc::malformed);
  std::string nul_key = "C:410:GET OPTIONS A,B";
  nul_key += '\0';
  nul_key += ",";
  EXPECT_EQ(std::get<GetOptions>(parsed(nul_key).body).keys, (std::vector<std::string>{"A", "B"}));
  std::string padding = "C:1:DATA UPDATE user Pin=1\t";
  padding += '\0';
  padding += "\tName=x";
  Command c = parsed(padding);
  EXPECT_EQ(std::get<DataUpdate>(c.body).records.front().size(), 2u);
  EXPECT_EQ(parsed(format_command(c)), c);
}

TEST(Commands, ParseCommandWantsExactlyOne) {
  EXPECT_FALSE(parse_command("C:1:REBOOT\nC:2:REBOOT").ok());
  EXPECT_FALSE(parse_command("").ok());
}

// ---- ambiguities of the envelope (catalogue section B) ----------------------------------------------------

TEST(CommandsAmbiguity, Ambiguity15_ContinuationLinesOnlyForDataUpdate) {
  auto r = parse_commands("C:1:DATA UPDATE user Pin=1\nPin=2\nC:2:DATA DELETE user Pin=3");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(std::get<DataUpdate>((*r)[0].body).records.size(), 2u);
  // After any other verb a non-"C:" line has no meaning.
  Error e = error_of("C:1:DATA DELETE user Pin=1\nPin=2");
  EXPECT_NE(e.what.find("DATA UPDATE"), std::string::npos);
}

TEST(CommandsAmbiguity, Ambiguity15_CmdFormatPrefixOnlyOnTheFirstLine) {
  Command c = parsed("C:8:DATA UPDATE user Pin=1\nPin=2\nPin=3");
  CommandFormat f{1, 1, "SN1", 0};
  std::string wire = format_command(c, f);
  EXPECT_EQ(wire, "DataType=1, SN=SN1, Priority=0, CmdID=8, CmdDesc=C:8:DATA UPDATE user Pin=1\nPin=2\nPin=3");
  // Several prefixed commands in one body, each with its own continuation lines.
  std::vector<Command> cs{c, parsed("C:9:DATA UPDATE user Pin=4\nPin=5")};
  auto back = parse_commands(format_getrequest_body(cs, f));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].body, cs[1].body);
  EXPECT_EQ((*back)[1].envelope->sn, "SN1");
}

TEST(CommandsAmbiguity, Ambiguity16_CmdFormatPriorityOptionalOnInputAlwaysSent) {
  Command c = parsed("DataType=1, SN=123456789, CmdID=295, CmdDesc=C:295:DATA COUNT user");
  ASSERT_TRUE(c.envelope.has_value());
  EXPECT_FALSE(c.envelope->priority.has_value());
  EXPECT_EQ(format_command(c, format_of(c)), "DataType=1, SN=123456789, CmdID=295, CmdDesc=C:295:DATA COUNT user");
  CommandFormat f;
  f.cmd_format = 1;
  f.sn = "123456789";
  EXPECT_EQ(format_command(c, f), "DataType=1, SN=123456789, Priority=0, CmdID=295, CmdDesc=C:295:DATA COUNT user");
  // Priority anywhere, any key case, no space after the commas.
  Command p = parsed("datatype=1,priority=5,sn=X,cmdid=295,cmddesc=C:295:DATA COUNT user");
  EXPECT_EQ(p.envelope->priority, 5);
  EXPECT_EQ(p.envelope->sn, "X");
}

TEST(CommandsAmbiguity, Ambiguity17_TolerantVerbSpellingStrictEmission) {
  const char* variants[] = {"C:1:DATA UPDATE user Pin=1", "C:1: DATA UPDATE user Pin=1", "C:1:DATA    UPDATE user Pin=1",
                            "C:1:Data Update   user Pin=1", "C:1:DATA\tUPDATE user Pin=1"};
  for (const char* v : variants) EXPECT_EQ(format_command(parsed(v)), "C:1:DATA UPDATE user Pin=1") << v;
  EXPECT_EQ(format_command(parsed("C:1:TEST HOST Address=1.2.3.4:5")), "C:1:Test Host Address=1.2.3.4:5");
  EXPECT_EQ(format_command(parsed("C:1:SET_OPTIONS A=1")), "C:1:SET OPTIONS A=1");
  EXPECT_EQ(format_command(parsed("C:1:SET ADSCREEN OPTIONS InOut=0")), "C:1:SET ADSCREEN_OPTIONS InOut=0");
}

}  // namespace
}  // namespace zkpush::protocol
