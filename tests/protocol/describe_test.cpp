// The decoded view of records and options.
#include "protocol/describe.hpp"

#include <gtest/gtest.h>

#include "protocol/schema.hpp"
#include "protocol/text.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

using Json = nlohmann::ordered_json;

// Body of the first REQUEST block of a manual example.
std::string request_body(const std::string& fixture) {
  testing::Fixture f = testing::load_fixture(fixture);
  auto blocks = f.blocks_of("REQUEST");
  EXPECT_FALSE(blocks.empty()) << fixture;
  if (blocks.empty()) return {};
  const std::string& content = blocks.front()->content;
  const auto blank = content.find("\n\n");
  return blank == std::string::npos ? std::string() : content.substr(blank + 2);
}

Record record_of(std::string_view line) { return parse_tab_record(line); }

// ---- real-time uploads ------------------------------------------------------------------------------

TEST(Describe, RtlogExample) {
  Record r = record_of(request_body("7.2-rtlog.txt"));
  ASSERT_TRUE(r.has("event"));
  Json j = describe_record("rtlog", r);
  EXPECT_EQ(j["time"], "2017-01-10T11:49:32");
  EXPECT_EQ(j["event"]["code"], 27);
  EXPECT_EQ(j["event"]["name"], "The user is not registered");
  EXPECT_EQ(j["event"]["class"], "error");
  EXPECT_EQ(j["inoutstatus"], "out");
  EXPECT_EQ(j["verifytype"]["code"], 0);
  EXPECT_TRUE(j["verifytype"]["name"].is_string());
  EXPECT_EQ(j["cardno"]["decimal"], "0");
  EXPECT_EQ(j["pin"], "0");
  EXPECT_EQ(j["eventaddr"], 1);
  EXPECT_EQ(j["index"], 21);
  // Members come in the record's order.
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"time", "pin", "cardno", "eventaddr", "event", "inoutstatus", "verifytype", "index"}));
}

TEST(Describe, RtlogNewVerifyTypeAndUndefinedEvent) {
  Record r{{"time", "2024-01-01 08:00:00"}, {"event", "238"}, {"verifytype", "0000101000000011"}, {"event", "4008"}};
  Json j = describe_record("rtlog", r);
  EXPECT_TRUE(j["event"]["name"].is_null());
  EXPECT_EQ(j["event"]["class"], "normal");
  EXPECT_EQ(j["verifytype"]["logic"], "and");
  EXPECT_EQ(j["verifytype"]["methods"], Json::parse(R"(["FACE","PW","RF"])"));
  EXPECT_EQ(j["event#2"]["code"], 4008);  // a repeated key is kept
  EXPECT_EQ(j["event#2"]["class"], "normal");
}

TEST(Describe, RtstateExampleGetsDoors) {
  Record r = record_of(request_body("7.3-rtstate.txt"));
  Json j = describe_record("rtstate", r);
  EXPECT_EQ(j["time"], "2017-01-10T15:42:40");
  EXPECT_EQ(j["alarm"], "0200000000000000");
  ASSERT_TRUE(j["doors"].is_array());
  ASSERT_EQ(j["doors"].size(), 4u);
  EXPECT_EQ(j["doors"][0]["door"], 1);
  EXPECT_EQ(j["doors"][0]["sensor"], "none");
  EXPECT_EQ(j["doors"][0]["relay"], "connected");
  EXPECT_EQ(j["doors"][0]["alarms"], Json::parse(R"(["tamper alarm"])"));
  EXPECT_TRUE(j["doors"][1]["alarms"].empty());
  DescribeContext one_door;
  one_door.door_count = 1;
  EXPECT_EQ(describe_record("rtstate", r, one_door)["doors"].size(), 1u);
}

TEST(Describe, ErrorlogExample) {
  Record r = record_of(request_body("7.12-upload-errorlog.txt"));
  Json j = describe_record("errorlog", r);
  EXPECT_EQ(j["errcode"]["code"], "D01E0001");
  EXPECT_EQ(j["errcode"]["name"], "Face detection failed");
  EXPECT_EQ(j["errcode"]["origin"], "device");
  EXPECT_EQ(j["dataorigin"]["name"], "data delivered by a server command");
  EXPECT_EQ(j["additional"]["chars"], 0);
}

// ---- users -------------------------------------------------------------------------------------------

TEST(Describe, UserUploadExample) {
  Record r = record_of(request_body("7.5-upload-user.txt"));
  Json j = describe_record("user", r);
  EXPECT_EQ(j["cardno"]["form"], "none");
  EXPECT_EQ(j["starttime"]["form"], "unlimited");
  EXPECT_EQ(j["privilege"]["code"], 0);
  EXPECT_EQ(j["privilege"]["name"], "common user");
  EXPECT_EQ(j["disable"], false);
  EXPECT_EQ(j["verify"]["code"], 0);
  EXPECT_EQ(j["uid"], 5);
}

TEST(Describe, Ambiguity29_DescribeUserNameCardAndValidity) {
  Record r{{"CardNo", "[15CD5B07]"}, {"Pin", "1"}, {"StartTime", "583512660"}, {"EndTime", "20180227"},
           {"Name", "\xD5\xC5\xC8\xFD"}, {"Privilege", "14"}};
  DescribeContext chinese;
  chinese.language = 83;
  Json j = describe_record("user", r, chinese);
  EXPECT_EQ(j["CardNo"]["decimal"], "123456789");
  EXPECT_EQ(j["CardNo"]["form"], "bracket_hex");
  EXPECT_EQ(j["Name"], "\xE5\xBC\xA0\xE4\xB8\x89");
  EXPECT_EQ(j["Privilege"]["name"], "super administrator");
  // DateFmtFunOn unknown: each value's form is guessed and marked so.
  EXPECT_EQ(j["StartTime"]["iso"], "2018-02-27T14:51:00");
  EXPECT_EQ(j["StartTime"]["guessed"], true);
  EXPECT_EQ(j["EndTime"]["date"], "2018-02-27");
  // Known DateFmtFunOn=1: no guessing, and a YYYYMMDD value is read as seconds.
  chinese.date_fmt_zktime = true;
  Json k = describe_record("user", r, chinese);
  EXPECT_FALSE(k["StartTime"].contains("guessed"));
  EXPECT_EQ(k["EndTime"]["form"], "zktime");
  // On an English device GB bytes are not guessed at, but the JSON stays valid UTF-8.
  Json e = describe_record("user", r);
  EXPECT_NE(e["Name"], "\xE5\xBC\xA0\xE4\xB8\x89");
  EXPECT_NO_THROW((void)e.dump());
}

// ---- access rules ---------------------------------------------------------------------------------------

TEST(Describe, TimezoneSegments) {
  Record r{{"TimezoneId", "2"}, {"SunTime1", "0"}, {"MonTime1", "65539"}, {"MonTime2", "65537100"}, {"TueTime1", "99999999"}};
  Json j = describe_record("timezone", r);
  EXPECT_EQ(j["TimezoneId"], 2);
  EXPECT_EQ(j["SunTime1"], "none");
  EXPECT_EQ(j["MonTime1"], "00:01-00:03");
  EXPECT_EQ(j["MonTime2"], "10:00-11:00");
  EXPECT_EQ(j["TueTime1"]["raw"], "99999999");
  EXPECT_TRUE(j["TueTime1"]["error"].is_string());
}

TEST(Describe, UserAuthorizeDoorsAndValidity) {
  Record r{{"Pin", "1"}, {"AuthorizeTimezoneId", "1"}, {"AuthorizeDoorId", "3"}, {"StartTime", "0"}, {"EndTime", "755193780"}};
  Json mask = describe_record("userauthorize", r);
  EXPECT_EQ(mask["AuthorizeDoorId"], Json::parse("[1,2]"));
  EXPECT_EQ(mask["StartTime"], "unlimited");
  EXPECT_EQ(mask["EndTime"], "2023-06-30T16:03:00");
  DescribeContext one;
  one.one_door_authorize = true;
  EXPECT_EQ(describe_record("userauthorize", r, one)["AuthorizeDoorId"], Json::parse("[3]"));
}

TEST(Describe, Ambiguity39_DescribeFloorsDstHolidayAndApb) {
  Json floors = describe_record("userleauthorize", Record{{"Pin", "2"}, {"AuthorizeFloors", "180"}});
  EXPECT_EQ(floors["AuthorizeFloors"], Json::parse("[8,9]"));
  Json dst = describe_record("DSTSetting", Record{{"Year", "2018"}, {"StartTime", "03020517"}, {"EndTime", "08020508"}, {"Loop", "1"}});
  EXPECT_EQ(dst["StartTime"]["month"], 3);
  EXPECT_EQ(dst["StartTime"]["week"], 2);
  EXPECT_EQ(dst["StartTime"]["weekday"], 5);
  EXPECT_EQ(dst["StartTime"]["hour"], 17);
  EXPECT_EQ(dst["Loop"], true);
  Json holiday = describe_record("holiday", Record{{"Holiday", "20180101"}, {"HolidayType", "1"}, {"Loop", "2"}});
  EXPECT_EQ(holiday["Holiday"], "2018-01-01");
  EXPECT_EQ(holiday["HolidayType"]["code"], 1);
  EXPECT_TRUE(holiday["Loop"]["name"].is_string());
  Json apb = describe_record("DevParameters", Record{{"ID", "1"}, {"Name", "AntiPassback"}, {"Value", "192"}});
  Json printed = describe_record("DevParameters", Record{{"ID", "1"}, {"Name", "AntiPassback"}, {"Value", "196"}});
  EXPECT_TRUE(apb["Value"]["name"].is_string());
  EXPECT_EQ(apb["Value"]["name"], printed["Value"]["name"]);
  EXPECT_EQ(describe_record("DevParameters", Record{{"Name", "MachineTZ"}, {"Value", "+0800"}})["Value"], "+0800");
}

TEST(Describe, EnumeratedFieldsByValuesOrEnumRef) {
  Json bio = describe_record("biodata", Record{{"Pin", "2"}, {"Type", "9"}, {"Valid", "1"}, {"Duress", "0"}, {"Format", "0"}});
  EXPECT_EQ(bio["Type"]["code"], 9);
  EXPECT_EQ(bio["Type"]["name"], "visible light face");
  EXPECT_EQ(bio["Valid"]["code"], 1);
  EXPECT_TRUE(bio["Valid"]["name"].is_string());
  Json id = describe_record("identitycard", Record{{"Pin", "1"}, {"Gender", "1"}, {"Nation", "1"}, {"Birthday", "19900115"}});
  EXPECT_EQ(id["Gender"]["name"], "male");
  EXPECT_EQ(id["Nation"]["name"], "Han");
  EXPECT_EQ(id["Birthday"], "1990-01-15");
  Json dev = describe_record("DevProperty", Record{{"MachineType", "101"}, {"IsMaster", "7"}});
  EXPECT_EQ(dev["MachineType"]["name"], "PULL SDK Device");
  EXPECT_EQ(dev["IsMaster"]["code"], 7);
  EXPECT_TRUE(dev["IsMaster"]["name"].is_null());
  Json link = describe_record("inoutfun", Record{{"EventType", "100"}, {"Reserved", "17"}});
  EXPECT_EQ(link["EventType"]["name"], "Tamper alarm");
  EXPECT_EQ(link["Reserved"]["bits"], Json::parse("[0,4]"));
}

TEST(Describe, Templatev10DuressFinger) {
  Json duress = describe_record("templatev10", Record{{"pin", "4"}, {"fingerid", "22"}, {"valid", "1"}});
  EXPECT_EQ(duress["fingerid"]["finger"], 6);
  EXPECT_EQ(duress["fingerid"]["duress"], true);
  EXPECT_EQ(duress["valid"]["name"], "normal");
  Json plain = describe_record("templatev10", Record{{"pin", "4"}, {"fingerid", "7"}, {"valid", "1"}});
  EXPECT_EQ(plain["fingerid"]["duress"], false);
}

TEST(Describe, TransactionAndResults) {
  Json t = describe_record("transaction", Record{{"cardno", "0"}, {"verified", "200"}, {"eventtype", "100"},
                                                 {"inoutstate", "2"}, {"time_second", "583512660"}});
  EXPECT_EQ(t["verified"]["name"], "Other");
  EXPECT_EQ(t["eventtype"]["class"], "alarm");
  EXPECT_EQ(t["inoutstate"]["code"], 2);  // undocumented value: kept, unnamed
  EXPECT_TRUE(t["inoutstate"]["name"].is_null());
  EXPECT_EQ(t["time_second"], "2018-02-27T14:51:00");

  Json failed = describe_record("", Record{{"ID", "9"}, {"Return", "-629"}, {"CMD", "DATA QUERY"}});
  EXPECT_EQ(failed["Return"]["code"], -629);
  EXPECT_EQ(failed["Return"]["name"], "Incorrect table name");
  EXPECT_EQ(failed["Return"]["success"], false);
  EXPECT_FALSE(failed["Return"].contains("records"));
  Json counted = describe_record("", Record{{"ID", "10"}, {"return", "5"}, {"CMD", "DATA QUERY"}});
  EXPECT_EQ(counted["return"]["success"], true);
  EXPECT_EQ(counted["return"]["records"], 5);
  Json update = describe_record("", Record{{"ID", "11"}, {"Return", "0"}, {"CMD", "DATA UPDATE"}});
  EXPECT_FALSE(update["Return"].contains("records"));
  EXPECT_EQ(describe_record("", Record{{"Return", "-5000"}})["Return"]["success"], false);
}

TEST(Describe, ValuesOnTheirOwnAndUnknownFields) {
  EXPECT_EQ(describe_value("rtlog", "event", "27")["code"], 27);
  EXPECT_EQ(describe_value("user", "CardNo", "123")["form"], "decimal");
  EXPECT_EQ(describe_value("nosuchtable", "whatever", "x y"), "x y");
  EXPECT_EQ(describe_value("", "time", "2017-01-10 11:49:32"), "2017-01-10T11:49:32");
  EXPECT_EQ(describe_value("", "time", "yesterday"), "yesterday");
  EXPECT_EQ(describe_value("biophoto", "Content", "QUJD")["bytes"], 3);
  EXPECT_EQ(describe_value("biophoto", "Content", "!!")["error"], "not base64");
  EXPECT_EQ(describe_value("options", "~MachineType", "101")["name"], "PULL SDK Device");
  Record bare;
  bare.fields.push_back(Field{"transaction", "", false});
  EXPECT_TRUE(describe_record("", bare)["transaction"].is_null());
}

// ---- options -----------------------------------------------------------------------------------------

TEST(DescribeOptions, RegistrationExample) {
  Record r = parse_comma_list(request_body("4.4-registration.txt"));
  ASSERT_TRUE(r.has("VerifyStyles"));
  Json j = describe_options(r);
  // VerifyStyles ff7f0000: every mode 0-15 but 8.
  ASSERT_TRUE(j["VerifyStyles"].is_array());
  EXPECT_EQ(j["VerifyStyles"].size(), 15u);
  EXPECT_EQ(j["VerifyStyles"][0]["code"], 0);
  for (const auto& m : j["VerifyStyles"]) EXPECT_NE(m["code"], 8);
  // EventTypes: event 6 missing, 0 present, names attached.
  bool has0 = false, has6 = false;
  for (const auto& e : j["EventTypes"]) {
    has0 |= e["code"] == 0;
    has6 |= e["code"] == 6;
  }
  EXPECT_TRUE(has0);
  EXPECT_FALSE(has6);
  EXPECT_EQ(j["AccSupportFunList"].size(), 14u);
  EXPECT_EQ(j["AccSupportFunList"][0]["position"], 1);
  EXPECT_EQ(j["MachineType"]["name"], "PULL SDK Device");
  EXPECT_EQ(j["DeviceType"]["name"], "security / access control module");
  EXPECT_EQ(j["CommType"]["name"], "wired");
  EXPECT_EQ(j["PushVersion"]["version"], "2.0.22");
  EXPECT_EQ(j["~DeviceName"], "F20/M");
  EXPECT_EQ(j["LockCount"], "1");
  EXPECT_NO_THROW((void)j.dump());

  DescribeContext ctx = context_from_options(r);
  EXPECT_EQ(ctx.door_count, 1);
  ASSERT_TRUE(ctx.date_fmt_zktime.has_value());
  EXPECT_FALSE(*ctx.date_fmt_zktime);
  EXPECT_FALSE(ctx.one_door_authorize);
}

TEST(DescribeOptions, CapabilityListsAndServerValues) {
  Record r{{"MultiBioDataSupport", "0:1:0:0:0:0:0:0:0:1:0"}, {"MultiBioVersion", "0: 10: 0: 7: 0: 0: 0: 0: 0"},
           {"NewVFStyles", "0000101000001010"}, {"NewNormalEventTypes", "2B12"}, {"Door1VerifyType", "0000101000000011"},
           {"QRCodeDecryptFunList", "101"}, {"PushProtVer", "3.1.2"}, {"DateTime", "583050990"},
           {"ServerTZ", "+0800"}, {"Language", "83"}, {"AntiPassback", "192"}, {"EventTypes", "XYZ"}};
  Json j = describe_record("options", r);
  EXPECT_EQ(j["MultiBioDataSupport"], Json::parse(R"([{"type":1,"name":"fingerprint"},{"type":9,"name":"visible light face"}])"));
  EXPECT_EQ(j["MultiBioVersion"][1]["value"], 7);
  // Index 3 is voiceprint in Appendix 18, although the manual's prose calls this entry the face
  // algorithm: the index decides (ambiguity 32).
  EXPECT_EQ(j["MultiBioVersion"][1]["type"], 3);
  EXPECT_EQ(j["MultiBioVersion"][1]["name"], "voiceprint");
  EXPECT_EQ(j["NewVFStyles"]["methods"], Json::parse(R"(["FACE","PALM_VEIN","PW","RF"])"));
  EXPECT_EQ(j["NewNormalEventTypes"][0]["code"], 4000);
  EXPECT_EQ(j["NewNormalEventTypes"].size(), 6u);
  EXPECT_EQ(j["Door1VerifyType"]["logic"], "and");
  EXPECT_EQ(j["QRCodeDecryptFunList"].size(), 2u);
  EXPECT_EQ(j["PushProtVer"]["errorlog"], true);
  EXPECT_EQ(j["DateTime"], "2018-02-22T06:36:30");
  EXPECT_EQ(j["ServerTZ"]["offset_minutes"], 480);
  EXPECT_EQ(j["Language"]["name"], "Simplified Chinese");
  EXPECT_TRUE(j["AntiPassback"]["name"].is_string());
  EXPECT_TRUE(j["EventTypes"]["error"].is_string());
  EXPECT_EQ(context_from_options(r).language, 83);
}

// ---- every table ------------------------------------------------------------------------------------

// A plausible value for each field type, and hostile ones: describe must give one member per field,
// never throw, and produce JSON that serialises (valid UTF-8).
std::string sample_value(FieldType type) {
  switch (type) {
    case FieldType::integer: return "12";
    case FieldType::boolean: return "1";
    case FieldType::enumerated: return "1";
    case FieldType::hex: return "0A";
    case FieldType::base64: return "QUJD";
    case FieldType::date8: return "20180227";
    case FieldType::zktime: return "583512660";
    case FieldType::zktime_or_date8: return "583512660";
    case FieldType::datetime: return "2017-01-10 11:49:32";
    case FieldType::timerange: return "54396080";
    case FieldType::doormask: return "5";
    case FieldType::cardno: return "[15CD5B07]";
    case FieldType::bitmask: return "3";
    case FieldType::verifytype: return "0000101000000011";
    case FieldType::text: return "abc";
  }
  return "abc";
}

// Keys whose encoding is special whatever their field type says.
std::string sample_for(std::string_view table, const FieldSpec& f) {
  if (text::iequals(f.name, "cardno")) return "123456789";
  if (text::iequals(table, "DSTSetting") && (f.name == "StartTime" || f.name == "EndTime")) return "03020517";
  return sample_value(f.type);
}

TEST(Describe, EveryTableEveryFieldType) {
  const std::string hostile[] = {"", "\xFF\xFE", "-99999999999999999999", "[", "0b11", std::string("\0", 1)};
  std::size_t tables = 0, fields = 0;
  for (const TableSpec& t : all_tables()) {
    ++tables;
    for (auto list : {t.update_fields, t.upload_fields}) {
      Record good, bad;
      for (const FieldSpec& f : list) {
        good.add(f.name, sample_for(t.name, f));
        bad.add(f.name, hostile[fields % std::size(hostile)]);
        ++fields;
      }
      for (const DescribeContext& ctx : {DescribeContext{}, DescribeContext{83, true, true, 2}}) {
        Json g = describe_record(t.name, good, ctx);
        Json b = describe_record(t.name, bad, ctx);
        for (const FieldSpec& f : list) {
          EXPECT_TRUE(g.contains(std::string(f.name))) << t.name << "." << f.name;
          EXPECT_TRUE(b.contains(std::string(f.name))) << t.name << "." << f.name;
          // A sample of the right type decodes without an error.
          const Json& value = g[std::string(f.name)];
          if (value.is_object()) {
            EXPECT_FALSE(value.contains("error")) << t.name << "." << f.name << " " << value.dump();
          }
        }
        EXPECT_NO_THROW((void)g.dump()) << t.name;
        EXPECT_NO_THROW((void)b.dump()) << t.name;
      }
    }
  }
  EXPECT_GE(tables, 50u);
  EXPECT_GE(fields, 300u);
}

TEST(Describe, ConvertsToPlainJson) {
  nlohmann::json plain = describe_record("rtlog", Record{{"event", "27"}, {"time", "2017-01-10 11:49:32"}});
  EXPECT_EQ(plain["event"]["code"], 27);
  EXPECT_EQ(plain["time"], "2017-01-10T11:49:32");
}

}  // namespace
}  // namespace zkpush::protocol
