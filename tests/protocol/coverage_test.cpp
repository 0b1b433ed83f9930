// Walks the protocol catalogue (../shared/spec/*.yaml) and fails when anything in it is not
// handled by the protocol core: every table with its operations and fields, every enumeration with
// every code. Nothing may be skipped silently; what a test here cannot check is listed by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "protocol/codecs.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/enums.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

using testing::load_spec;

unsigned ops_of(const YAML::Node& operations) {
  unsigned ops = 0;
  for (const auto& op : operations) {
    std::string o = op.as<std::string>();
    if (o == "update") ops |= op_update;
    else if (o == "delete") ops |= op_delete;
    else if (o == "count") ops |= op_count;
    else if (o == "query") ops |= op_query;
    else if (o == "upload") ops |= op_upload;
    else if (o == "account") ops |= op_account;
    else if (o == "set") ops |= op_set;
    else if (o == "get") ops |= op_get;
    else ADD_FAILURE() << "operation not known to the test: " << o;
  }
  return ops;
}

void expect_fields(const std::string& table, const char* kind, const YAML::Node& yaml,
                   std::span<const FieldSpec> fields) {
  ASSERT_EQ(fields.size(), yaml ? yaml.size() : 0u) << table << " " << kind;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    EXPECT_EQ(fields[i].name, yaml[i]["name"].as<std::string>()) << table << " " << kind << " #" << i;
    if (yaml[i]["values"]) {
      EXPECT_EQ(fields[i].values.size(), yaml[i]["values"].size()) << table << "." << fields[i].name;
    }
  }
}

TEST(CatalogueCoverage, EveryTableWithItsOperationsAndFields) {
  YAML::Node tables = load_spec("tables.yaml")["tables"];
  ASSERT_TRUE(tables.IsSequence());
  std::set<std::string> seen;
  for (const auto& t : tables) {
    std::string name = t["name"].as<std::string>();
    seen.insert(name);
    const TableSpec* spec = find_table(name);
    ASSERT_NE(spec, nullptr) << "table not handled: " << name;
    EXPECT_EQ(spec->ops, ops_of(t["operations"])) << name;
    expect_fields(name, "update_fields", t["update_fields"], spec->update_fields);
    expect_fields(name, "upload_fields", t["upload_fields"], spec->upload_fields);
    if (t["key_fields"]) {
      ASSERT_EQ(spec->key_fields.size(), t["key_fields"].size()) << name;
      for (std::size_t i = 0; i < spec->key_fields.size(); ++i)
        EXPECT_EQ(spec->key_fields[i], t["key_fields"][i].as<std::string>()) << name;
    }
    if (t["delete_conditions"]) {
      EXPECT_EQ(spec->delete_conditions.size(), t["delete_conditions"].size()) << name;
    }
    std::string prefix = t["upload_prefix"] ? t["upload_prefix"].as<std::string>() : "";
    if (prefix == "none") prefix.clear();
    if (name != "transaction") {
      EXPECT_EQ(spec->upload_prefix, prefix) << name;
    }
  }
  // And nothing in the library that the catalogue does not have.
  EXPECT_EQ(all_tables().size(), seen.size());
}

// Collects the codes an enums.yaml entry defines, in the shapes the catalogue uses.
// Codes are "group:code" ("" group for plain tables), as codes repeat across groups (MODE 0,
// OVERWRITE 0).
std::set<std::string> yaml_codes(const std::string& key, const YAML::Node& e) {
  std::set<std::string> codes;
  auto add_map = [&](const YAML::Node& m, const std::string& group) {
    for (const auto& kv : m) codes.insert(group + ":" + kv.first.as<std::string>());
  };
  if (e["codes"] && e["codes"].IsSequence()) {
    for (const auto& c : e["codes"]) codes.insert(":" + c["code"].as<std::string>());
    if (e["extra_codes"])
      for (const auto& c : e["extra_codes"]) codes.insert(":" + c["code"].as<std::string>());
  } else if (e["codes"] && e["codes"].IsMap()) {
    add_map(e["codes"], "");
  } else if (e["values"] && e["values"].IsMap()) {
    add_map(e["values"], "");
  } else if (e["positions"]) {
    for (const auto& p : e["positions"]) codes.insert(":" + p["position"].as<std::string>());
  } else if (e["parameters"] && e["parameters"].IsSequence()) {
    for (const auto& p : e["parameters"]) codes.insert(":" + p["name"].as<std::string>());
  } else if (e["parameters"] && e["parameters"].IsMap()) {
    add_map(e["parameters"], "");
  } else if (e["bits"]) {
    for (const auto& b : e["bits"]) codes.insert(":" + b["bit"].as<std::string>());
  } else if (key == "rtstate_layout") {
    add_map(e["sensor"]["values"], "sensor");
    add_map(e["relay"]["values"], "relay");
    for (const auto& b : e["alarm"]["bits"]) codes.insert("alarm:" + b["mask"].as<std::string>());
  } else if (key == "enroll" || key == "adscreen") {
    for (const auto& kv : e)
      if (kv.second.IsMap()) add_map(kv.second, kv.first.as<std::string>());
  } else if (key == "ns_level") {
    for (int i = 0; i <= 4; ++i) codes.insert(":" + std::to_string(i));
  } else if (key == "protocol_versions") {
    for (const auto& v : e["released"]) codes.insert(":" + v.as<std::string>());
  }
  return codes;
}

// Entries of enums.yaml that describe an encoding rather than a list of codes. Each is
// implemented by a codec and checked by the codec tests named here (codecs_test.cpp), and by
// CatalogueCoverage.EveryCodecEntryHasItsCodec below.
const std::set<std::string> kCodecEntries = {
    "verify_styles_bitmap", "event_types_bitmap", "event_types_ext_bitmap", "rtlog_verifytype_new",
    "zktime", "time_period_encoding", "encryption_scheme",
};

TEST(CatalogueCoverage, EveryEnumerationWithEveryCode) {
  YAML::Node enums = load_spec("enums.yaml");
  std::size_t checked = 0;
  for (const auto& kv : enums) {
    std::string key = kv.first.as<std::string>();
    if (key == "meta") continue;
    const EnumTable* table = find_enum(key);
    ASSERT_NE(table, nullptr) << "enumeration not handled: " << key;
    std::set<std::string> codes = yaml_codes(key, kv.second);
    if (codes.empty()) {
      EXPECT_TRUE(kCodecEntries.count(key)) << key << " has no codes and is not a known codec entry";
      continue;
    }
    for (const auto& code : codes) {
      bool found = false;
      for (const auto& e : table->entries)
        if (text::iequals(std::string(e.group) + ":" + std::string(e.code), code)) found = true;
      EXPECT_TRUE(found) << key << ": code " << code << " missing";
    }
    EXPECT_EQ(table->entries.size(), codes.size()) << key;
    ++checked;
  }
  EXPECT_GE(checked, 35u);
}

TEST(CatalogueCoverage, TypedEnumerationHelpersAgreeWithTheCatalogue) {
  YAML::Node enums = load_spec("enums.yaml");
  for (const auto& c : enums["events"]["codes"]) {
    EventInfo info = event_info(c["code"].as<int>());
    EXPECT_TRUE(info.defined) << c["code"];
    EXPECT_EQ(event_class_name(info.klass), c["class"].as<std::string>()) << c["code"];
  }
  for (const auto& c : enums["extended_events"]["codes"]) EXPECT_TRUE(event_info(c["code"].as<int>()).defined);
  for (const auto& c : enums["verification_modes"]["codes"]) EXPECT_TRUE(verify_mode_name(c["code"].as<int>()));
  for (const auto& c : enums["return_codes"]["codes"]) {
    std::string code = c["code"].as<std::string>();
    if (code != ">=0") {
      EXPECT_TRUE(return_code_name(std::stoll(code))) << code;
    }
  }
  EXPECT_TRUE(return_code_name(0));
  for (const auto& c : enums["machine_types"]["codes"]) EXPECT_TRUE(machine_type_name(c["code"].as<int>()));
  for (const auto& c : enums["languages"]["codes"]) EXPECT_TRUE(language_name(c["code"].as<int>()));
  for (const auto& c : enums["biometric_types"]["codes"]) EXPECT_TRUE(biometric_type_name(c["code"].as<int>()));
  for (const auto& c : enums["errorlog_codes"]["codes"]) EXPECT_TRUE(errorlog_code_name(c["code"].as<std::string>()));
  for (const auto& kv : enums["user_privilege"]["values"]) EXPECT_TRUE(privilege_name(kv.first.as<int>()));
}

// A request that endpoints.yaml describes for `e`: its method, path and query parameters with
// their first documented value (or a plausible one), and a body where the body decides.
struct SyntheticRequest {
  std::string method, path;
  Record query;
  std::string body;
};

SyntheticRequest synthesize(const YAML::Node& e) {
  SyntheticRequest r;
  std::string method = e["method"].as<std::string>();
  r.method = method.substr(0, method.find(' '));  // "POST (request line and example)..." -> POST
  r.path = e["path"].as<std::string>();
  if (r.path.rfind("/iclock", 0) != 0) r.path = "/upgrade/emfw.cfg";  // firmware_range: the URL itself
  if (r.path.find('?') != std::string::npos) r.path = r.path.substr(0, r.path.find('?'));
  for (const auto& q : e["query"]) {
    std::string name = q["name"].as<std::string>();
    if (name.find('$') != std::string::npos || !q["required"].as<bool>()) continue;
    std::string value = q["values"] ? q["values"][0].as<std::string>() : (name == "SN" ? "TEST0001" : "1");
    r.query.add(name, value);
  }
  std::string id = e["id"].as<std::string>();
  if (id == "rtlog_cancel_alarm") r.body = "time=2024-01-01 00:00:00\tevent=7\tAlarmtype=200\n";
  if (id == "rtlog") r.body = "time=2024-01-01 00:00:00\tevent=0\n";
  return r;
}

TEST(CatalogueCoverage, EveryEndpointIsKnownAndClassified) {
  YAML::Node endpoints = load_spec("endpoints.yaml")["endpoints"];
  std::set<std::string> ids;
  for (const auto& e : endpoints) {
    std::string id = e["id"].as<std::string>();
    ids.insert(id);
    auto endpoint = endpoint_from_id(id);
    ASSERT_TRUE(endpoint) << "endpoint not handled: " << id;
    EXPECT_EQ(endpoint_id(*endpoint), id);
    SyntheticRequest r = synthesize(e);
    EXPECT_EQ(endpoint_id(classify(r.method, r.path, r.query, r.body)), id)
        << r.method << " " << r.path << "?" << format_query(r.query);
  }
  EXPECT_EQ(catalogue_endpoints().size(), ids.size());
}

TEST(CatalogueCoverage, EveryCommandHasABuilderAFormatterAndAParser) {
  YAML::Node commands = load_spec("commands.yaml")["commands"];
  std::set<std::string> ids;
  for (const auto& c : commands) {
    std::string id = c["id"].as<std::string>();
    ids.insert(id);
    auto example = example_command_for(id);
    ASSERT_TRUE(example) << "command not handled: " << id;
    EXPECT_EQ(catalogue_id(*example), id);
    EXPECT_TRUE(validate_command(*example).ok()) << id;
    std::string wire = format_command(*example);
    auto parsed = parse_command(wire);
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.error().to_string();
    EXPECT_EQ(*parsed, *example) << id;
    EXPECT_EQ(format_command(*parsed), wire) << id;
  }
  EXPECT_EQ(catalogue_ids().size(), ids.size());
}

// The codec entries of enums.yaml, each exercised with the catalogue's own example.
TEST(CatalogueCoverage, EveryCodecEntryHasItsCodec) {
  YAML::Node enums = load_spec("enums.yaml");
  for (const auto& key : kCodecEntries) ASSERT_TRUE(enums[key]) << key << " left the catalogue";

  auto verify = decode_verify_styles("FB1E1F00");  // verify_styles_bitmap: face (15) not supported
  ASSERT_TRUE(verify.ok());
  EXPECT_EQ(std::count(verify->begin(), verify->end(), 15), 0);
  EXPECT_EQ(std::count(verify->begin(), verify->end(), 0), 1);

  auto events = decode_event_types("BF0FE03D3000010000000000070000000000000000000000000077002001000000");
  ASSERT_TRUE(events.ok());  // event_types_bitmap: BF -> event 6 unsupported, 0..5 and 7 supported
  EXPECT_EQ(std::count(events->begin(), events->end(), 6), 0);
  EXPECT_EQ(std::count(events->begin(), events->end(), 7), 1);

  auto ext = decode_extended_event_types("2B12", 6000);  // event_types_ext_bitmap
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(*ext, (std::vector<int>{6000, 6001, 6003, 6005, 6009, 6012}));

  auto vf = parse_vf_bits("0000101000000011");  // rtlog_verifytype_new: card AND password AND face
  ASSERT_TRUE(vf.ok());
  EXPECT_EQ(*vf, 0b0000101000000011);

  for (const auto& kv : enums["zktime"]["examples"]) {  // zktime
    std::string iso = kv.second.as<std::string>();
    EXPECT_EQ(format_datetime(decode_zktime(kv.first.as<std::uint32_t>())), iso);
  }
  for (const auto& kv : enums["time_period_encoding"]["examples"]) {  // time_period_encoding
    std::string value = kv.second.as<std::string>();  // "54396080 (0x33E04B0)": the number first
    auto seg = decode_time_segment(static_cast<std::uint32_t>(std::stoul(value)));
    ASSERT_TRUE(seg.ok()) << kv.first;
    EXPECT_EQ(format_time_segment(*seg), kv.first.as<std::string>());
  }

  // encryption_scheme: the manual documents only the envelopes of 4.2/4.3 (decision 11).
  auto req = parse_device_request("POST", "/iclock/exchange?SN=1&type=publickey", "PublicKey=QUJD");
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->endpoint, Endpoint::exchange_publickey);
}

}  // namespace
}  // namespace zkpush::protocol
