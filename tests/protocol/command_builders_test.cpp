// Builders: every table x operation and every verb goes build -> format -> parse -> format with
// identical text and an equal model, in CmdFormat 0 and 1; and the builders refuse what the
// catalogue does not allow.
#include "protocol/command_builders.hpp"

#include <gtest/gtest.h>

#include <set>

#include "protocol/text.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

void expect_round_trip(const Command& c) {
  SCOPED_TRACE(format_command(c));
  const std::string wire = format_command(c);
  auto back = parse_command(wire);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, c);
  EXPECT_EQ(format_command(*back), wire);
  EXPECT_TRUE(validate_command(*back).ok());

  CommandFormat f;
  f.cmd_format = 1;
  f.sn = "DDG7012017010600049";
  f.priority = 3;
  const std::string wire1 = format_command(c, f);
  EXPECT_EQ(wire1.rfind("DataType=1, SN=DDG7012017010600049, Priority=3, CmdID=" + c.id + ", CmdDesc=C:", 0), 0u);
  auto back1 = parse_command(wire1);
  ASSERT_TRUE(back1.ok()) << back1.error().to_string();
  EXPECT_EQ(back1->id, c.id);
  EXPECT_EQ(back1->body, c.body);
  ASSERT_TRUE(back1->envelope.has_value());
  EXPECT_EQ(back1->envelope->priority, 3);
  EXPECT_EQ(format_command(*back1, format_of(*back1)), wire1);
}

Command ok(Result<Command> r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : Command{};
}

Errc err(const Result<Command>& r) {
  EXPECT_FALSE(r.ok()) << "accepted: " << format_command(r.value());
  return r.ok() ? Errc::malformed : r.error().code;
}

// A value of the field's type that the validator accepts; `n` varies key values between records.
std::string sample(const FieldSpec& f, int n) {
  const std::string k = std::to_string(n);
  switch (f.type) {
    case FieldType::integer: return k;
    case FieldType::boolean: return "1";
    case FieldType::enumerated: return f.values.empty() ? "1" : std::string(f.values.front().code);
    case FieldType::date8: return "2024010" + std::to_string(n % 10);
    case FieldType::zktime: return "583080894";
    case FieldType::zktime_or_date8: return "0";
    case FieldType::timerange: return "54396080";
    case FieldType::doormask: return "15";
    case FieldType::bitmask: return "3";
    case FieldType::verifytype: return "0";
    case FieldType::hex: return "1A2B";
    case FieldType::base64: return "QUJDRA==";
    case FieldType::cardno: return "[15CD5B07]";
    case FieldType::datetime: return "2024-01-31 10:00:00";
    case FieldType::text: return "Zhang San " + k;
  }
  return k;
}

Record full_record(const TableSpec& t, int n) {
  Record r;
  for (const auto& f : t.update_fields) r.add(f.name, sample(f, n));
  return r;
}

// ---- every table x operation ----------------------------------------------------------------------

TEST(CommandBuilders, UpdateEveryTableSingleAndMultiRecordWithAllFields) {
  int tables = 0;
  for (const TableSpec& t : all_tables()) {
    SCOPED_TRACE(std::string(t.name));
    if (!t.supports(op_update)) {
      EXPECT_EQ(err(data_update(1, t.name, Record{{"x", "1"}})), Errc::unsupported);
      continue;
    }
    ++tables;
    Command one = ok(data_update(1, t.name, full_record(t, 1)));
    const auto& d = std::get<DataUpdate>(one.body);
    ASSERT_EQ(d.records.front().size(), t.update_fields.size());
    expect_round_trip(one);
    Command multi = ok(data_update(2, t.name, {full_record(t, 1), full_record(t, 2), full_record(t, 3)}));
    EXPECT_EQ(std::get<DataUpdate>(multi.body).records.size(), 3u);
    const std::string wire = format_command(multi);
    EXPECT_EQ(std::count(wire.begin(), wire.end(), '\n'), 2);
    expect_round_trip(multi);
  }
  EXPECT_EQ(tables, 41);
}

TEST(CommandBuilders, UpdateWritesSchemaSpellingInWireOrder) {
  // Given backwards and in the wrong case.
  Command c = ok(data_update(295, "USER", Record{{"privilege", "0"}, {"NAME", ""}, {"pin", "1"}, {"cardno", ""}}));
  EXPECT_EQ(format_command(c), "C:295:DATA UPDATE user CardNo=\tPin=1\tName=\tPrivilege=0");
}

TEST(CommandBuilders, DeleteEveryDocumentedCondition) {
  int conditions = 0;
  for (const TableSpec& t : all_tables()) {
    SCOPED_TRACE(std::string(t.name));
    if (!t.supports(op_delete)) {
      EXPECT_EQ(err(data_delete_all(1, t.name)), Errc::unsupported);
      continue;
    }
    bool star = false;
    for (std::string_view cond : t.delete_conditions) {
      if (text::trim(cond) == "*") {
        star = true;
        expect_round_trip(ok(data_delete_all(3, t.name)));
        continue;
      }
      Record r;
      const std::string cond_text(cond);
      for (std::string_view piece : text::split(cond_text, '$')) {
        std::size_t eq = piece.find('=');
        if (eq == std::string_view::npos) continue;
        std::string key(piece.substr(0, eq));
        if (key.rfind("{HT}", 0) == 0) key = key.substr(4);
        const FieldSpec* f = t.field(key);
        ASSERT_NE(f, nullptr) << key;
        r.add(key, sample(*f, 7));
      }
      ASSERT_FALSE(r.empty()) << cond;
      Command c = ok(data_delete(4, t.name, r));
      EXPECT_EQ(std::get<DataDelete>(c.body).conditions.size(), r.size());
      expect_round_trip(c);
      ++conditions;
    }
    if (!star) {
      EXPECT_EQ(err(data_delete_all(1, t.name)), Errc::unsupported);
    }
  }
  EXPECT_EQ(conditions, 33);  // every non-"*" entry of delete_conditions in tables.yaml
}

TEST(CommandBuilders, CountAndQueryEverySupportingTable) {
  std::set<std::string> counted, queried;
  for (const TableSpec& t : all_tables()) {
    SCOPED_TRACE(std::string(t.name));
    const bool bio = t.name == "biodata" || t.name == "biophoto";
    Record cond;
    if (bio) cond.add("Type", "9").add("PIN", "1");
    else if (t.name == "transaction") cond.add("pin", "1");
    else if (!t.key_fields.empty()) cond.add(t.key_fields.front(), "1");
    if (t.supports(op_count)) {
      expect_round_trip(ok(data_count(5, t.name)));
      expect_round_trip(ok(data_count(5, t.name, cond)));
      counted.insert(std::string(t.name));
    } else {
      EXPECT_EQ(err(data_count(5, t.name)), Errc::unsupported);
    }
    if (t.supports(op_query)) {
      expect_round_trip(ok(data_query(6, t.name)));
      if (!cond.empty()) expect_round_trip(ok(data_query(6, t.name, cond)));
      queried.insert(std::string(t.name));
    } else {
      EXPECT_EQ(err(data_query(6, t.name)), Errc::unsupported);
    }
  }
  EXPECT_EQ(counted, (std::set<std::string>{"user", "templatev10", "biophoto", "biodata", "transaction"}));
  EXPECT_EQ(queried, (std::set<std::string>{"user", "templatev10", "biophoto", "biodata", "transaction", "APList"}));
  EXPECT_EQ(format_command(ok(data_query(415, "aplist"))), "C:415:DATA QUERY tablename=[APList],fielddesc=*,filter=*");
  EXPECT_EQ(format_command(ok(data_query_new_records(9))), "C:9:DATA QUERY tablename=transaction,fielddesc=*,filter=NewRecord");
  expect_round_trip(ok(data_query_new_records(9)));
  expect_round_trip(ok(data_query(9, "transaction", Record{{"starttime", "2024-01-01 00:00:00"}, {"endtime", "2024-01-02 00:00:00"}})));
}

// ---- every verb ----------------------------------------------------------------------------------------

TEST(CommandBuilders, AccountForms) {
  EXPECT_EQ(format_command(ok(account_pullsdk(291, 0))), "C:291:ACCOUNT transaction ContentType=tgz MaxIndex=0");
  EXPECT_EQ(format_command(ok(account_max_index(7, 92))), "C:7:ACCOUNT transaction MaxIndex=92");
  EXPECT_EQ(format_command(ok(account_index_range(7, 92, 94))), "C:7:ACCOUNT transaction StartIndex=92\tEndIndex=94");
  EXPECT_EQ(format_command(ok(account_time_range(7, "2018-02-22 16:19:20", "2018-02-23 00:00:00"))),
            "C:7:ACCOUNT transaction StartTime=2018-02-22 16:19:20\tEndTime=2018-02-23 00:00:00");
  for (auto c : {account_pullsdk(1, 5), account_max_index(2, 0), account_index_range(3, 1, 1),
                 account_time_range(4, "2018-02-22 16:19:20", "2018-02-22 16:19:20")})
    expect_round_trip(ok(c));
  EXPECT_EQ(err(account_index_range(1, 5, 4)), Errc::bad_value);
  EXPECT_EQ(err(account_time_range(1, "2018-02-22", "2018-02-23")), Errc::bad_value);
  EXPECT_EQ(err(account_time_range(1, "2018-02-23 00:00:00", "2018-02-22 00:00:00")), Errc::bad_value);
}

TEST(CommandBuilders, TestHost) {
  Command c = ok(test_host(295, "110.80.38.74", 8092));
  EXPECT_EQ(format_command(c), "C:295:Test Host Address=110.80.38.74:8092");
  expect_round_trip(c);
  EXPECT_EQ(err(test_host(1, "", 80)), Errc::bad_value);
  EXPECT_EQ(err(test_host(1, "1.2.3.4", 0)), Errc::bad_value);
  EXPECT_EQ(err(test_host(1, "a b", 80)), Errc::bad_value);
}

TEST(CommandBuilders, Upgrade) {
  const std::string md5 = "A5BF4DCD6020F408589224274AAB132D";
  const std::string url = "http://192.168.213.17:8088/fireware/F20/admin/emfw.cfg";
  Command m1 = ok(upgrade_method1(384, md5, url, 2312));
  EXPECT_EQ(format_command(m1), "C:384:UPGRADE checksum=a5bf4dcd6020f408589224274aab132d,url=" + url + ",size=2312");
  Command m2 = ok(upgrade_method2(123, md5, 6558, url));
  EXPECT_EQ(format_command(m2), "C:123:UPGRADE type=1,checksum=a5bf4dcd6020f408589224274aab132d,size=6558,url=" + url);
  Command m3 = ok(upgrade_method3(123, md5, 6558, "/data/emfw.cfg", true));
  EXPECT_EQ(format_command(m3),
            "C:123:UPGRADE checksum=a5bf4dcd6020f408589224274aab132d,size=6558,url=/data/emfw.cfg,supportsubcontracting=1");
  for (const Command& c : {m1, m2, m3}) expect_round_trip(c);
  expect_round_trip(ok(upgrade_method3(5, md5, 1, url, false)));
  EXPECT_EQ(catalogue_id(m1), "upgrade_method1");
  EXPECT_EQ(catalogue_id(m2), "upgrade_method2");
  EXPECT_EQ(catalogue_id(m3), "upgrade_method3");
  EXPECT_EQ(err(upgrade_method2(1, "oqoier9883kjankdefi894eu", 6558, url)), Errc::bad_value);
  EXPECT_EQ(err(upgrade_method1(1, md5, "/relative/emfw.cfg", 1)), Errc::bad_value);
  EXPECT_EQ(err(upgrade_method2(1, md5, 1, "http://h/a,b")), Errc::bad_value);
  EXPECT_EQ(err(upgrade_method2(1, md5, 0, url)), Errc::bad_value);
}

TEST(CommandBuilders, Options) {
  Command s = ok(set_options(403, Record{{"IPAddress", "192.168.213.221"}, {"GATEIPAddress", "192.168.213.1"},
                                         {"NetMask", "255.255.255.0"}}));
  EXPECT_EQ(format_command(s), "C:403:SET OPTIONS IPAddress=192.168.213.221,GATEIPAddress=192.168.213.1,NetMask=255.255.255.0");
  expect_round_trip(s);
  Command g = ok(get_options(410, {"FingerFunOn", "FvFunOn", "~MaxFvCount"}));
  EXPECT_EQ(format_command(g), "C:410:GET OPTIONS FingerFunOn,FvFunOn,~MaxFvCount");
  expect_round_trip(g);
  EXPECT_EQ(err(set_options(1, Record{})), Errc::incomplete);
  EXPECT_EQ(err(get_options(1, {})), Errc::incomplete);
  EXPECT_EQ(err(get_options(1, {"a b"})), Errc::bad_value);
  EXPECT_EQ(err(set_options(1, Record{{"A", "x\ty"}})), Errc::bad_value);
  EXPECT_EQ(err(set_options(1, Record{{"A", " padded"}})), Errc::bad_value);
  EXPECT_EQ(err(set_options(1, Record{{"A", "1,B=2"}})), Errc::bad_value);
  // A comma the list splitter glues back is fine.
  expect_round_trip(ok(set_options(1, Record{{"IntercomGroupDesc", "North, South"}})));
  EXPECT_EQ(door_option_key(2, "Drivertime"), "Door2Drivertime");
}

TEST(CommandBuilders, AdscreenOptions) {
  Command c = ok(set_adscreen_options(
      5, Record{{"url", "http://h/a.mp4"}, {"Type", "0"}, {"InPlayInterval", "10"}, {"InOut", "0"}, {"Area", "1"}}));
  EXPECT_EQ(format_command(c), "C:5:SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=0,URL=http://h/a.mp4,InPlayInterval=10");
  expect_round_trip(c);
  EXPECT_EQ(err(set_adscreen_options(5, Record{{"InOut", "2"}, {"Area", "1"}, {"Type", "0"}, {"URL", "u"}})), Errc::bad_value);
  EXPECT_EQ(err(set_adscreen_options(5, Record{{"InOut", "0"}, {"Area", "1"}, {"Type", "0"}})), Errc::incomplete);
  EXPECT_EQ(err(set_adscreen_options(5, Record{{"Colour", "red"}})), Errc::unsupported);
}

TEST(CommandBuilders, Enrolment) {
  Command info = ok(enroll_info(394, "1", 3, 1));
  EXPECT_EQ(format_command(info), "C:394:ENROLL_INFO TYPE=0\tPIN=1\tRETRY=3\tMODE=1");
  expect_round_trip(info);
  Command bio = ok(enroll_bio(395, 9, 0, "1", 3, true, 1));
  EXPECT_EQ(format_command(bio), "C:395:ENROLL_BIO TYPE=9\tNO=0\tPIN=1\tRETRY=3\tOVERWRITE=1\tMODE=1");
  expect_round_trip(bio);
  expect_round_trip(ok(enroll_bio(396, 1, 9, "7", 0, false, 0)));
  EXPECT_EQ(err(enroll_bio(1, 1, 10, "1", 3, true, 1)), Errc::bad_value);  // finger 10
  EXPECT_EQ(err(enroll_bio(1, 4, 2, "1", 3, true, 1)), Errc::bad_value);   // iris is 0 or 1
  EXPECT_EQ(err(enroll_info(1, "1", 3, 2)), Errc::bad_value);
  EXPECT_EQ(err(enroll_info(1, "", 3, 1)), Errc::incomplete);
}

TEST(CommandBuilders, DeviceAuthorize) {
  Command up = ok(device_authorize(295, "DDG7012017010600049", 1));
  EXPECT_EQ(format_command(up), "C:295:DATA UPDATE DeviceAuthorize SN=DDG7012017010600049\tIsAuthorize=1");
  Command del = ok(device_authorize_delete(296, "DDG7012017010600049"));
  EXPECT_EQ(format_command(del), "C:296:DATA DELETE DeviceAuthorize SN=DDG7012017010600049");
  EXPECT_EQ(catalogue_id(up), "device_authorize");
  EXPECT_EQ(catalogue_id(del), "device_authorize");
  expect_round_trip(up);
  expect_round_trip(del);
  EXPECT_EQ(err(device_authorize(1, "X", 3)), Errc::bad_value);
}

// ---- strictness ------------------------------------------------------------------------------------------

TEST(CommandBuilders, RefusesWhatTheCatalogueDoesNotAllow) {
  EXPECT_EQ(err(data_update(1, "nosuchtable", Record{{"A", "1"}})), Errc::unsupported);
  EXPECT_EQ(err(data_update(1, "user", Record{{"Pin", "1"}, {"Colour", "red"}})), Errc::unsupported);
  EXPECT_EQ(err(data_update(1, "user", Record{{"Name", "x"}})), Errc::incomplete);  // no Pin
  EXPECT_EQ(err(data_update(1, "user", Record{{"Pin", "1"}, {"PIN", "2"}})), Errc::bad_value);
  EXPECT_EQ(err(data_update(1, "user", Record{{"Pin", "1\t2"}})), Errc::bad_value);
  EXPECT_EQ(err(data_update(1, "user", Record{{"Pin", "1"}, {"Group", "one"}})), Errc::bad_value);
  EXPECT_EQ(err(data_update(1, "user", std::vector<Record>{})), Errc::incomplete);
  // A value that a tolerant reader would split at " Pin=".
  EXPECT_EQ(err(data_update(1, "user", Record{{"Pin", "1"}, {"Name", "a Pin=2"}})), Errc::bad_value);
  EXPECT_EQ(err(data_update(1, "transaction", Record{{"pin", "1"}})), Errc::unsupported);
  EXPECT_EQ(err(data_delete(1, "user", Record{{"Name", "x"}})), Errc::unsupported);
  EXPECT_EQ(err(data_delete(1, "user", Record{})), Errc::incomplete);
  EXPECT_EQ(err(data_count(1, "user", Record{{"Colour", "x"}})), Errc::unsupported);
  EXPECT_EQ(err(data_query(1, "user", Record{{"Colour", "x"}})), Errc::unsupported);
  EXPECT_EQ(err(control_device(1, ControlDevice::open_door(17, 5))), Errc::bad_value);
}

TEST(CommandBuilders, CommandIdIsTheDecimalOfTheUnsigned64BitId) {
  Command c = ok(data_count(18446744073709551615ull, "user"));
  EXPECT_EQ(c.id, "18446744073709551615");
  EXPECT_EQ(c.numeric_id(), 18446744073709551615ull);
  expect_round_trip(c);
}

// ---- catalogue coverage --------------------------------------------------------------------------------

TEST(CommandBuilders, EveryCatalogueCommandIdHasAnExample) {
  YAML::Node spec = zkpush::testing::load_spec("commands.yaml");
  std::set<std::string> ids;
  for (const auto& entry : spec["commands"]) ids.insert(entry["id"].as<std::string>());
  EXPECT_EQ(ids.size(), 17u);
  std::set<std::string> ours(catalogue_ids().begin(), catalogue_ids().end());
  EXPECT_EQ(ids, ours);
  for (const auto& id : ids) {
    SCOPED_TRACE(id);
    auto example = example_command_for(id);
    ASSERT_TRUE(example.has_value());
    EXPECT_EQ(catalogue_id(*example), id);
    expect_round_trip(*example);
  }
  EXPECT_FALSE(example_command_for("no_such_id").has_value());
}

// ---- ambiguities of data commands (catalogue section D) and options (C) ---------------------------------

TEST(CommandBuildersAmbiguity, Ambiguity25_GrammarSpellingOutAnySpellingIn) {
  // Out: the grammar's spelling whatever the caller wrote, underscores included.
  Command c = ok(data_update(502, "identitycard", Record{{"Pin", "1"}, {"ValidInfo", "2013091220230912"},
                                                          {"Birthday", "19911218"}, {"IDNum", "X"}}));
  EXPECT_EQ(format_command(c), "C:502:DATA UPDATE identitycard Pin=1\tID_Num=X\tBirthDay=19911218\tValid_Info=2013091220230912");
  Command tz = ok(data_update(307, "timezone", Record{{"TimeZoneId", "2"}}));
  EXPECT_EQ(format_command(tz), "C:307:DATA UPDATE timezone TimezoneId=2");
  Command bio = ok(data_update(524, "biodata", Record{{"Pin", "2"}, {"No", "0"}, {"Index", "0"}, {"Type", "9"},
                                                      {"Majorver", "5"}, {"Minorver", "8"}}));
  EXPECT_NE(format_command(bio).find("MajorVer=5\tMinorVer=8"), std::string::npos);
  // In: the manual's variants are kept as sent and accepted by validation.
  auto parsed = parse_command("C:502:DATA UPDATE identitycard Pin=1\tValidInfo=1\tFP_Template1=QQ==\tAdditionalInfo=");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(std::get<DataUpdate>(parsed->body).records.front().fields[1].key, "ValidInfo");
  EXPECT_TRUE(validate_command(*parsed).ok()) << validate_command(*parsed).error().to_string();
  // No two fields of one table collapse to the same name under this rule.
  for (const TableSpec& t : all_tables())
    for (const auto& f : t.update_fields) EXPECT_EQ(match_update_field(t, f.name), &f) << t.name << "." << f.name;
}

TEST(CommandBuildersAmbiguity, Ambiguity26_MisnamedTablesOfTheManual) {
  // The server sends the right table...
  Command del = ok(data_delete(342, "ReaderWGFormat", Record{{"ReaderID", "1"}}));
  EXPECT_EQ(format_command(del), "C:342:DATA DELETE ReaderWGFormat ReaderID=1");
  EXPECT_EQ(err(data_delete(342, "WGFormat", Record{{"ReaderID", "1"}})), Errc::unsupported);
  // ...and a device reads the manual's WGFormat/biodata forms as the table their fields belong to.
  for (const char* line : {"C:342:DATA DELETE WGFormat ReaderID=1", "C:343:DATA DELETE WGFormat DevID=24"}) {
    auto c = parse_command(line);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(effective_table(*c)->name, "ReaderWGFormat");
    EXPECT_TRUE(validate_command(*c).ok());
  }
  auto wg = parse_command("C:342:DATA DELETE WGFormat ID=1");
  EXPECT_EQ(effective_table(*wg)->name, "WGFormat");
  auto floors = parse_command("C:524:DATA UPDATE biodata Pin=2\tAuthorizeTimezoneId=1\tAuthorizeFloorId=1\tAuthorizeFloors=180");
  EXPECT_EQ(effective_table(*floors)->name, "userleauthorize");
  auto real_bio = parse_command("C:524:DATA UPDATE biodata Pin=2\tNo=0\tIndex=0\tType=9");
  EXPECT_EQ(effective_table(*real_bio)->name, "biodata");
  // Expansion boards: the catalogue's table names; the manual's nameless form resolves by fields.
  expect_round_trip(ok(data_update(524, "ExtBoardProperty", Record{{"ExtBoardID", "1"}, {"DevType", "101"}})));
  expect_round_trip(ok(data_update(525, "ExtBoardConfig", Record{{"ExtBoardID", "1"}, {"ReactType", "1"}, {"EntityID", "1"}})));
  auto nameless = parse_command("C:524:DATA UPDATE ExtBoardID=1\tDevID=1");
  ASSERT_TRUE(nameless.ok());
  ASSERT_NE(effective_table(*nameless), nullptr);
  EXPECT_EQ(effective_table(*nameless)->name, "ExtBoardProperty");
  // 9.1.3's "count templates with table transaction" is not followed: templatev10 is counted as itself.
  EXPECT_EQ(format_command(ok(data_count(9, "templatev10"))), "C:9:DATA COUNT templatev10");
}

TEST(CommandBuildersAmbiguity, Ambiguity27_UndocumentedOperationsAreRefused) {
  for (const char* t : {"identitycard", "userleauthorize", "ExtBoardProperty", "ExtBoardConfig", "gatepassrule", "ntpserverlist"})
    EXPECT_EQ(err(data_delete_all(1, t)), Errc::unsupported) << t;
  EXPECT_EQ(err(data_count(1, "timezone")), Errc::unsupported);
  EXPECT_EQ(err(data_query(1, "holiday")), Errc::unsupported);
  // fielddesc: the builders only send '*'; a device accepts '*' or one field name.
  EXPECT_EQ(std::get<DataQuery>(ok(data_query(1, "user")).body).fielddesc, "*");
  auto one_field = parse_command("C:1:DATA QUERY tablename=user,fielddesc=pin,filter=*");
  EXPECT_TRUE(validate_command(*one_field).ok());
  auto bad_field = parse_command("C:1:DATA QUERY tablename=user,fielddesc=colour,filter=*");
  EXPECT_FALSE(validate_command(*bad_field).ok());
  // The time-range filter only for transaction, and both bounds together.
  EXPECT_EQ(err(data_query(1, "transaction", Record{{"starttime", "2024-01-01 00:00:00"}})), Errc::incomplete);
  EXPECT_EQ(err(data_query(1, "templatev10", Record{{"starttime", "2024-01-01 00:00:00"}, {"endtime", "x"}})),
            Errc::unsupported);
  auto new_user = parse_command("C:1:DATA QUERY tablename=user,fielddesc=*,filter=NewRecord");
  EXPECT_FALSE(validate_command(*new_user).ok());
}

TEST(CommandBuildersAmbiguity, Ambiguity28_CountWithoutConditionAndTypeFirst) {
  EXPECT_EQ(format_command(ok(data_count(288, "user"))), "C:288:DATA COUNT user");
  EXPECT_EQ(format_command(ok(data_count(80, "biodata"))), "C:80:DATA COUNT biodata");
  // Both "nothing" and '*' count the whole table; '*' is kept when received.
  auto star = parse_command("C:80:DATA COUNT user *");
  EXPECT_TRUE(std::get<DataCount>(star->body).counts_whole_table());
  EXPECT_EQ(format_command(*star), "C:80:DATA COUNT user *");
  EXPECT_TRUE(std::get<DataCount>(parse_command("C:80:DATA COUNT user")->body).counts_whole_table());
  // Type leads the conditions of biodata/biophoto and is required once there are conditions.
  EXPECT_EQ(format_command(ok(data_count(80, "biophoto", Record{{"PIN", "1"}, {"type", "9"}}))),
            "C:80:DATA COUNT biophoto Type=9\tPIN=1");
  EXPECT_EQ(err(data_count(80, "biodata", Record{{"Pin", "1"}})), Errc::incomplete);
  EXPECT_EQ(format_command(ok(data_query(99, "biodata", Record{{"No", "6"}, {"Pin", "1"}, {"Type", "1"}}))),
            "C:99:DATA QUERY tablename=biodata,fielddesc=*,filter=Type=1\tPin=1\tNo=6");
}

TEST(CommandBuildersAmbiguity, Ambiguity30_TemplateFingerAndDuress) {
  Record rec{{"Pin", "1"}, {"FingerID", "6"}, {"Valid", "3"}, {"Template", "QUJD"}};
  EXPECT_EQ(format_command(ok(data_update(333, "templatev10", rec))),
            "C:333:DATA UPDATE templatev10 Pin=1\tFingerID=6\tValid=3\tTemplate=QUJD");
  EXPECT_EQ(err(data_update(333, "templatev10", Record{{"Pin", "1"}, {"Valid", "1"}})), Errc::incomplete);  // no FingerID
  EXPECT_EQ(err(data_update(333, "templatev10", Record{{"Pin", "1"}, {"FingerID", "22"}})), Errc::bad_value);  // upload's +16 form
  EXPECT_EQ(err(data_update(333, "templatev10", Record{{"Pin", "1"}, {"FingerID", "6"}, {"Valid", "2"}})), Errc::bad_value);
}

TEST(CommandBuildersAmbiguity, Ambiguity31_BiometricTypesAndSharedType) {
  Record palm{{"Pin", "1"}, {"No", "0"}, {"Index", "0"}, {"Type", "10"}};
  expect_round_trip(ok(data_update(1, "biodata", palm)));
  EXPECT_EQ(err(data_update(1, "biodata", Record{{"Pin", "1"}, {"No", "0"}, {"Index", "0"}, {"Type", "11"}})), Errc::bad_value);
  EXPECT_EQ(err(data_update(1, "biophoto", Record{{"PIN", "1"}, {"Type", "10"}})), Errc::bad_value);
  EXPECT_EQ(err(enroll_bio(1, 10, 0, "1", 3, true, 1)), Errc::bad_value);
  Record face = palm;
  face.set("Type", "9");
  EXPECT_EQ(err(data_update(1, "biodata", {palm, face})), Errc::bad_value);
  expect_round_trip(ok(data_update(1, "biodata", {face, face})));
  // Delete: Type alone, Type+Pin, Type+Pin+No; Pin alone is not a documented form.
  EXPECT_EQ(format_command(ok(data_delete(1, "biodata", Record{{"No", "6"}, {"Pin", "1"}, {"Type", "1"}}))),
            "C:1:DATA DELETE biodata Type=1\tPin=1\tNo=6");
  expect_round_trip(ok(data_delete(1, "biodata", Record{{"Type", "1"}, {"Pin", "1"}})));
  expect_round_trip(ok(data_delete(1, "biodata", Record{{"Type", "1"}})));
  EXPECT_EQ(err(data_delete(1, "biodata", Record{{"Pin", "1"}})), Errc::unsupported);
}

TEST(CommandBuildersAmbiguity, Ambiguity38_WiegandFormatsAreOpaque) {
  // CardFormat length is not checked against CardBit (the manual's own examples disagree).
  Record wg{{"ID", "2"}, {"CardBit", "26"}, {"SiteCode", "0"}, {"FormatName", "Wiegand 26"},
            {"CardFormat", "pcccccccccccccccccccccccp:eeeeeeeeeeeeeoooooooooooooo"}};
  expect_round_trip(ok(data_update(517, "DefaultWGFormat", wg)));
  expect_round_trip(ok(data_update(518, "WGFormat", wg)));
  // ReversalType=0 ("no reversal") is accepted beside the documented 1-4.
  expect_round_trip(ok(data_update(519, "ReaderWGFormat", Record{{"ReaderID", "1"}, {"DevID", "14"}, {"WGFormatID", "2"},
                                                                  {"ParityVerifyDisable", "0"}, {"ReversalType", "0"}})));
  expect_round_trip(ok(data_update(518, "WGFormat", Record{{"ID", "2"}, {"ExtSiteCode", "1000;2000"}, {"IsDefault", "0"}})));
}

TEST(CommandBuildersAmbiguity, Ambiguity22_OptionListsTrimSpacesAndSendBareCommas) {
  auto g = parse_command("C:408:GET OPTIONS ~SerialNumber, FirmVer, ~DeviceName");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(format_command(*g), "C:408:GET OPTIONS ~SerialNumber,FirmVer,~DeviceName");
  auto s = parse_command("C:403:SET OPTIONS IPAddress=1.2.3.4, NetMask = 255.0.0.0");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::get<SetOptions>(s->body).options.get_or("NetMask", ""), "255.0.0.0");
  EXPECT_EQ(format_command(*s), "C:403:SET OPTIONS IPAddress=1.2.3.4,NetMask=255.0.0.0");
}

TEST(CommandBuildersAmbiguity, Ambiguity23_OptionKeysAreSentAsGiven) {
  // Keys vary with firmware: no list is enforced and the caller's spelling goes out unchanged.
  EXPECT_EQ(format_command(ok(get_options(409, {"IcLockSvrFun", "~SupAuthrieFunOn"}))),
            "C:409:GET OPTIONS IcLockSvrFun,~SupAuthrieFunOn");
  // Known variants map to the registration spelling for comparisons.
  EXPECT_EQ(canonical_option_key("IcLockSvrFun"), "IclockSvrFun");
  EXPECT_EQ(canonical_option_key("~SupAuthrieFunOn"), "~SupAuthrizeFunOn");
  EXPECT_EQ(canonical_option_key("FirmVer"), "FirmVer");
  // DoorParameters names (MaskFlag vs DoorMaskFlag) are values, sent as given.
  expect_round_trip(ok(data_update(512, "DoorParameters", Record{{"ID", "1"}, {"Name", "MaskFlag"}, {"Value", "0"}, {"DevID", "14"}})));
  expect_round_trip(ok(set_options(405, Record{{door_option_key(1, "Drivertime"), "5"}, {door_option_key(1, "SupperPassWord"), ""}})));
}

TEST(CommandBuildersAmbiguity, Ambiguity21_UpgradeMethodsByParameterOrder) {
  auto m1 = parse_command("C:384:UPGRADE checksum=a5bf4dcd6020f408589224274aab132d,url=http://h/emfw.cfg,size=2312");
  auto m3 = parse_command("C:123:UPGRADE checksum=a5bf4dcd6020f408589224274aab132d,size=6558,url=http://h/emfw.cfg");
  auto m2 = parse_command("C:123:UPGRADE type=1,checksum=a5bf4dcd6020f408589224274aab132d,size=6558,url=http://h/emfw.cfg");
  EXPECT_EQ(std::get<Upgrade>(m1->body).method, 1);
  EXPECT_EQ(std::get<Upgrade>(m2->body).method, 2);
  EXPECT_EQ(std::get<Upgrade>(m3->body).method, 3);
  EXPECT_FALSE(std::get<Upgrade>(m3->body).support_subcontracting.has_value());
  for (const auto& c : {m1, m2, m3}) EXPECT_TRUE(validate_command(*c).ok());
  // The manual's escaped method-1 URL is kept verbatim, not repaired.
  auto raw = parse_command("C:384:UPGRADE checksum=a5bf4dcd6020f408589224274aab132d,url=http*//localhost*8088\\fw\\emfw.cfg,size=2312");
  EXPECT_EQ(std::get<Upgrade>(raw->body).url, "http*//localhost*8088\\fw\\emfw.cfg");
  EXPECT_FALSE(validate_command(*raw).ok());
}

}  // namespace
}  // namespace zkpush::protocol
