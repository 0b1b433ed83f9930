// Endpoint ids and the dispatch of requests to them (endpoints.yaml, cdata_dispatch).
#include "protocol/endpoints.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

Endpoint cls(std::string_view method, std::string_view target, std::string_view body = {}) {
  Target t = parse_target(target);
  return classify(method, t.path, t.query, body);
}

TEST(Endpoints, IdsAreExactlyTheCatalogues) {
  YAML::Node endpoints = testing::load_spec("endpoints.yaml")["endpoints"];
  std::vector<std::string> ids;
  for (const auto& e : endpoints) ids.push_back(e["id"].as<std::string>());
  ASSERT_EQ(ids.size(), 37u);
  auto ours = catalogue_endpoints();
  ASSERT_EQ(ours.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(endpoint_id(ours[i]), ids[i]);
    auto back = endpoint_from_id(ids[i]);
    ASSERT_TRUE(back.has_value()) << ids[i];
    EXPECT_EQ(*back, ours[i]);
  }
  EXPECT_EQ(endpoint_id(Endpoint::tabledata_other), "tabledata_other");
  EXPECT_EQ(endpoint_id(Endpoint::unknown), "unknown");
  EXPECT_EQ(endpoint_from_id("tabledata_other"), Endpoint::tabledata_other);
  EXPECT_FALSE(endpoint_from_id("Init").has_value());
  EXPECT_FALSE(endpoint_from_id("").has_value());
}

TEST(Endpoints, NormalizePath) {
  EXPECT_EQ(normalize_path("/iclock/cdata"), "/iclock/cdata");
  EXPECT_EQ(normalize_path("/ICLOCK/CData.ASPX"), "/iclock/cdata");
  EXPECT_EQ(normalize_path("/iclock/getrequest.aspx?SN=1"), "/iclock/getrequest");
  EXPECT_EQ(normalize_path("//iclock//devicecmd/"), "/iclock/devicecmd");
  EXPECT_EQ(normalize_path("http://10.0.0.1:8080/iclock/ping"), "/iclock/ping");
  EXPECT_EQ(normalize_path("iclock/ping"), "/iclock/ping");
  EXPECT_EQ(normalize_path("http://192.168.0.13:89/data/emfw.cfg"), "/data/emfw.cfg");
  EXPECT_EQ(normalize_path(""), "/");
}

TEST(Endpoints, CdataDispatch) {
  EXPECT_EQ(cls("GET", "/iclock/cdata?SN=1&options=all&pushver=3.1.2"), Endpoint::init);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=options"), Endpoint::upload_options);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&type=registry&table=tabledata&tablename=DeviceAuthorize&count=1"),
            Endpoint::device_authorize_upload);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=rtlog", "time=1\tevent=27"), Endpoint::rtlog);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=rtlog", "time=1\tevent=27\tAlarmtype=200\r\n"),
            Endpoint::rtlog_cancel_alarm);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=rtstate"), Endpoint::rtstate);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=irstate"), Endpoint::irstate);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=testdata"), Endpoint::testdata_wiegand);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&cmdid=7&desc=overview"), Endpoint::account_overview);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&type=EnrollInfoData"), Endpoint::enroll_info_upload);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&type=BioData"), Endpoint::enroll_bio_upload);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&AuthType=device"), Endpoint::remote_auth);
  struct {
    const char* table;
    Endpoint endpoint;
  } tables[] = {{"user", Endpoint::tabledata_user},         {"identitycard", Endpoint::tabledata_identitycard},
                {"templatev10", Endpoint::tabledata_templatev10}, {"biophoto", Endpoint::tabledata_biophoto},
                {"ATTPHOTO", Endpoint::tabledata_attphoto},  {"attphoto", Endpoint::tabledata_attphoto},
                {"userpic", Endpoint::tabledata_userpic},    {"biodata", Endpoint::tabledata_biodata},
                {"errorlog", Endpoint::tabledata_errorlog},  {"extuser", Endpoint::tabledata_other},
                {"nosuchtable", Endpoint::tabledata_other}};
  for (const auto& t : tables)
    EXPECT_EQ(cls("POST", std::string("/iclock/cdata?SN=1&table=tabledata&count=1&tablename=") + t.table), t.endpoint)
        << t.table;
}

TEST(Endpoints, OtherPaths) {
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1&type=publickey"), Endpoint::exchange_publickey);
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1&type=factors"), Endpoint::exchange_factors);
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1", "Factors=abc"), Endpoint::exchange_factors);
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1", "PublicKey=abc"), Endpoint::exchange_publickey);
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1&type=other"), Endpoint::unknown);
  EXPECT_EQ(cls("POST", "/iclock/registry?SN=1"), Endpoint::registry);
  EXPECT_EQ(cls("GET", "/iclock/getrequest?SN=1"), Endpoint::getrequest);
  EXPECT_EQ(cls("POST", "/iclock/devicecmd?SN=1"), Endpoint::devicecmd);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=count&tablename=user"), Endpoint::querydata_count);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=tabledata&tablename=user"), Endpoint::querydata_tabledata);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=vmtable&tablename=APList"), Endpoint::querydata_vmtable);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=options&tablename=options"), Endpoint::querydata_options);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=tabledata&tablename=transaction&count=41&datafmt=3&Stamp=9999"),
            Endpoint::querydata_account_tgz);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&type=tabledata&tablename=transaction",
                std::string("name=transaction.tgz\nsize=1\ndatacode=base64\ndatatype=tgz") + '\0' + "AA"),
            Endpoint::querydata_account_tgz);
  EXPECT_EQ(cls("POST", "/iclock/querydata?SN=1&tablename=APList"), Endpoint::querydata_vmtable);
  EXPECT_EQ(cls("POST", "/iclock/file?SN=1&cmdid=1&fileseq=1&contenttype=tgz&table=transaction&count=3"),
            Endpoint::account_file);
  EXPECT_EQ(cls("GET", "/iclock/file?SN=1&url=http://h/emfw.cfg"), Endpoint::firmware_file);
  EXPECT_EQ(cls("GET", "/iclock/rtdata?SN=1&type=time"), Endpoint::rtdata_time);
  EXPECT_EQ(cls("GET", "/iclock/accounts/login/?next=/iclock/data/iclock/"), Endpoint::http_intro_login);
  EXPECT_EQ(cls("GET", "http://192.168.0.13:89/data/emfw.cfg"), Endpoint::firmware_range);
  EXPECT_EQ(cls("GET", "/firmware/emfw.cfg"), Endpoint::firmware_range);
  EXPECT_EQ(cls("POST", "/firmware/emfw.cfg"), Endpoint::unknown);
  EXPECT_EQ(cls("GET", "/iclock/nothing"), Endpoint::unknown);
  EXPECT_EQ(cls("GET", "/"), Endpoint::unknown);
}

TEST(Endpoints, AspxPathsOfOldFirmware) {
  EXPECT_EQ(cls("GET", "/iclock/cdata.aspx?SN=1&options=all"), Endpoint::init);
  EXPECT_EQ(cls("POST", "/iclock/cdata.aspx?SN=1&table=rtlog"), Endpoint::rtlog);
  EXPECT_EQ(cls("GET", "/iclock/getrequest.aspx?SN=1"), Endpoint::getrequest);
  EXPECT_EQ(cls("POST", "/iclock/devicecmd.aspx?SN=1"), Endpoint::devicecmd);
}

TEST(Endpoints, PathsAndQueryKeysAnyCase) {
  EXPECT_EQ(cls("GET", "/ICLOCK/CDATA?sn=1&OPTIONS=ALL"), Endpoint::init);
  EXPECT_EQ(cls("POST", "/iClock/cData?Sn=1&Table=TableData&TableName=User&Count=1"), Endpoint::tabledata_user);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&TABLE=RTLOG", "EVENT=1\tALARMTYPE=200"), Endpoint::rtlog_cancel_alarm);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&authtype=DEVICE"), Endpoint::remote_auth);
  EXPECT_EQ(cls("POST", "/iclock/QueryData?SN=1&TYPE=COUNT"), Endpoint::querydata_count);
  EXPECT_EQ(cls("get", "/iclock/Ping?SN=1"), Endpoint::ping);
}

TEST(Endpoints, AlarmtypeMustBeAKey) {
  // "Alarmtype" inside a value is not the key.
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=rtlog", "pin=xAlarmtype=1\tevent=1"), Endpoint::rtlog);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=rtlog", "time=1 Alarmtype=200"), Endpoint::rtlog_cancel_alarm);
}

TEST(Endpoints, TabledataWithoutTablenameUsesTheRecordWord) {
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=tabledata", "user uid=1\tpin=1"), Endpoint::tabledata_user);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=tabledata", "pin=1.jpg\tsn=1\tsize=3\tphoto=AAAA"),
            Endpoint::tabledata_attphoto);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=tabledata", "x=1"), Endpoint::tabledata_other);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&type=registry", "DeviceAuthorizeSN=5\tOnline=1"),
            Endpoint::device_authorize_upload);
}

TEST(Endpoints, CdataFallbacks) {
  EXPECT_EQ(cls("GET", "/iclock/cdata?SN=1"), Endpoint::init);  // old init without options=all
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1"), Endpoint::unknown);
  EXPECT_EQ(cls("POST", "/iclock/cdata?SN=1&table=ATTLOG"), Endpoint::unknown);  // attendance PUSH, not ours
}

TEST(Endpoints, TabledataEndpointByName) {
  EXPECT_EQ(tabledata_endpoint("ATTPHOTO"), Endpoint::tabledata_attphoto);
  EXPECT_EQ(tabledata_endpoint(" Biodata "), Endpoint::tabledata_biodata);
  EXPECT_EQ(tabledata_endpoint("DeviceAuthorize"), Endpoint::tabledata_other);
  EXPECT_EQ(tabledata_endpoint(""), Endpoint::tabledata_other);
}

// Ambiguity 1: /iclock/push is POST in the request line, GET in the annotation.
TEST(Endpoints, Ambiguity1_PushAcceptsGetAndPost) {
  EXPECT_EQ(cls("POST", "/iclock/push?SN=1"), Endpoint::push_config);
  EXPECT_EQ(cls("GET", "/iclock/push?SN=1"), Endpoint::push_config);
  EXPECT_EQ(cls("GET", "/iclock/push.aspx?sn=1"), Endpoint::push_config);
}

// Ambiguity 2: /iclock/ping is GET in the request line, POST in the annotation.
TEST(Endpoints, Ambiguity2_PingAcceptsGetAndPost) {
  EXPECT_EQ(cls("GET", "/iclock/ping?SN=1"), Endpoint::ping);
  EXPECT_EQ(cls("POST", "/iclock/ping?SN=1"), Endpoint::ping);
}

// Ambiguity 6: the handshake order the emulator follows; classification itself has no state.
TEST(Endpoints, Ambiguity6_HandshakeOrder) {
  auto order = handshake_order();
  std::vector<Endpoint> expected{Endpoint::init,        Endpoint::exchange_publickey, Endpoint::exchange_factors,
                                 Endpoint::registry,    Endpoint::push_config,        Endpoint::upload_options,
                                 Endpoint::device_authorize_upload};
  EXPECT_EQ(std::vector<Endpoint>(order.begin(), order.end()), expected);
  // Any request is classified the same whatever came before it.
  EXPECT_EQ(cls("POST", "/iclock/push?SN=1"), Endpoint::push_config);
  EXPECT_EQ(cls("POST", "/iclock/registry?SN=1"), Endpoint::registry);
  EXPECT_EQ(cls("POST", "/iclock/exchange?SN=1&type=factors"), Endpoint::exchange_factors);
}

// Every fixture's request classifies to an endpoint that lists the fixture in endpoints.yaml.
TEST(Endpoints, EveryFixtureRequestClassifiesAsCatalogued) {
  YAML::Node endpoints = testing::load_spec("endpoints.yaml")["endpoints"];
  std::map<std::string, std::set<std::string>> expected;  // file -> endpoint ids
  for (const auto& e : endpoints)
    for (const auto& ex : e["examples"]) {
      std::string f = ex.as<std::string>();
      expected[f.substr(f.find('/') + 1)].insert(e["id"].as<std::string>());
    }
  int checked = 0;
  for (const auto& file : testing::fixture_files()) {
    auto fx = testing::load_fixture(file);
    for (const auto* b : fx.blocks_of("REQUEST")) {
      ASSERT_TRUE(expected.count(file)) << file << " has a request but no endpoint lists it";
      std::string_view c = b->content;
      std::string_view line = c.substr(0, c.find('\n'));
      std::string_view method = line.substr(0, line.find(' '));
      std::string_view rest = line.substr(line.find(' ') + 1);
      std::string_view target = rest.substr(0, rest.rfind(' '));
      std::size_t blank = c.find("\n\n");
      std::string_view body = blank == std::string_view::npos ? std::string_view{} : c.substr(blank + 2);
      std::string id(endpoint_id(cls(method, target, body)));
      if (file == "7.13-rtlog-cancel-alarm.txt") {
        // The manual's example is a copy of 7.2 without Alarmtype (ambiguity 35): it is an rtlog.
        EXPECT_EQ(id, "rtlog");
      } else {
        EXPECT_TRUE(expected[file].count(id)) << file << " classified as " << id;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 43);
}

}  // namespace
}  // namespace zkpush::protocol
