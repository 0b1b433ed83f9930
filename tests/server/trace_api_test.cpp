// The wire trace end to end (docs/serve.md "Wire trace"): a device's handshake, upload, polls and a
// command over real sockets, then GET /api/v1/devices/{sn}/trace shows them newest first, decoded as
// `zkpush decode` decodes them, idle polls collapsed, the token cookie not kept; devices the server
// refuses (unknown, outside the allow-list) are traced too; DELETE clears; the roles; off with
// --trace-memory 0.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kTraceAdmin = "trace-admin-token";

class TraceApiTest : public ServeFixture {
 protected:
  void start_traced(ServerConfig config = {}) {
    config.api_token = kTraceAdmin;
    start(config);
  }
  RawResponse api(const std::string& method, const std::string& target, const std::string& token = kTraceAdmin) {
    return send_raw(http::test::request(method, target, "", "Authorization: Bearer " + token + "\r\n"));
  }
  json trace_of(const std::string& sn, const std::string& query = "") {
    auto r = api("GET", "/api/v1/devices/" + sn + "/trace" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.body;
    return j;
  }
  std::string token_with_role(const std::string& role) {
    const std::string body = json{{"name", "trace " + role}, {"role", role}}.dump();
    auto r = send_raw(http::test::request("POST", "/api/v1/tokens", body,
                                          "Authorization: Bearer " + kTraceAdmin + "\r\nContent-Type: application/json\r\n"));
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("token", "");
  }
};

std::vector<std::string> trace_endpoints(const json& trace) {
  std::vector<std::string> out;
  for (const auto& x : trace["exchanges"]) out.push_back(x["endpoint"].get<std::string>());
  return out;
}

TEST_F(TraceApiTest, ADevicesExchangesAreShownNewestFirstDecodedWithIdlePollsCollapsed) {
  start_traced();
  const std::string sn = "TRACE0001";
  const std::string token = handshake(sn);  // init, registry, push
  auto rtlog = send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-01-02 08:00:00")}), token);
  ASSERT_EQ(rtlog.status, 200) << rtlog.body;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(send(p::format_getrequest(sn), token).body, "OK");
  enqueue(sn, "CONTROL DEVICE 01010105");
  auto commands = send(p::format_getrequest(sn), token);
  ASSERT_EQ(commands.body.rfind("C:", 0), 0u) << commands.body;

  const json trace = trace_of(sn);
  EXPECT_EQ(trace["sn"], sn);
  EXPECT_EQ(trace["enabled"], true);
  EXPECT_EQ(trace["depth"], 100);
  EXPECT_EQ(trace_endpoints(trace),
            (std::vector<std::string>{"getrequest", "getrequest", "rtlog", "push_config", "registry", "init"}));
  const auto& x = trace["exchanges"];
  for (std::size_t i = 1; i < x.size(); ++i) EXPECT_GT(x[i - 1]["seq"], x[i]["seq"]);

  // The poll that got the command, decoded as zkpush decode decodes the answer.
  const auto& delivered = x[0];
  EXPECT_EQ(delivered["method"], "GET");
  EXPECT_EQ(delivered["target"], "/iclock/getrequest?SN=" + sn);
  EXPECT_EQ(delivered["status"], 200);
  EXPECT_EQ(delivered["response"]["body"], commands.body);
  EXPECT_EQ(delivered["response"]["bytes"], commands.body.size());
  EXPECT_EQ(delivered["response"]["truncated"], false);
  EXPECT_EQ(delivered["decoded"]["response"]["status"], 200);
  EXPECT_EQ(delivered["decoded"]["response"]["commands"][0]["verb"], "CONTROL DEVICE");
  EXPECT_EQ(delivered["decoded"]["response"]["answer"]["kind"], "commands");
  EXPECT_EQ(delivered["decoded"]["request"]["endpoint"], "getrequest");
  EXPECT_EQ(delivered["decoded"]["request"]["sn"], sn);
  EXPECT_EQ(delivered["repeat"], 1);
  EXPECT_TRUE(delivered["duration_ms"].is_number());
  EXPECT_TRUE(delivered["time"].get<std::string>().ends_with("Z"));
  EXPECT_TRUE(delivered["time_unix_ms"].is_number_integer());

  // Three idle polls, one entry.
  const auto& idle = x[1];
  EXPECT_EQ(idle["repeat"], 3);
  EXPECT_GE(idle["last_time_unix_ms"].get<std::int64_t>(), idle["time_unix_ms"].get<std::int64_t>());
  EXPECT_EQ(idle["last_seq"].get<std::int64_t>(), idle["seq"].get<std::int64_t>() + 2);
  EXPECT_EQ(idle["decoded"]["response"]["answer"], (json{{"kind", "commands"}, {"commands", json::array()}}));

  // The upload: its records as the device sent them, and what they mean.
  const auto& upload = x[2];
  EXPECT_EQ(upload["method"], "POST");
  EXPECT_EQ(upload["request"]["body"], p::format_rtlog_upload(sn, {rtlog_record(1, "2026-01-02 08:00:00")}).body);
  EXPECT_EQ(upload["decoded"]["request"]["endpoint"], "rtlog");
  EXPECT_EQ(upload["decoded"]["request"]["records"][0]["pin"], "1");
  EXPECT_FALSE(upload["decoded"]["request"]["decoded"].empty());
  EXPECT_EQ(upload["decoded"]["response"]["answer"]["kind"], "ok");
  // The token cookie went with it and is not kept: no value anywhere in the trace.
  EXPECT_EQ(upload["request"]["headers"]["Cookie"], "(not kept)");
  EXPECT_EQ(upload["request"]["headers"]["User-Agent"], "iClock Proxy/1.09");
  EXPECT_FALSE(upload["decoded"]["request"].contains("token"));
  EXPECT_EQ(trace.dump().find(token), std::string::npos);

  // The handshake's answers, without what makes the device's token (md5 of RegistryCode, serial
  // number and SessionID): an operator reading the trace cannot impersonate the panel.
  EXPECT_NE(x[4]["response"]["body"].get<std::string>().find("RegistryCode=(not kept)"), std::string::npos) << x[4];
  EXPECT_NE(x[3]["response"]["body"].get<std::string>().find("SessionID=(not kept)"), std::string::npos) << x[3];
  ASSERT_FALSE(registry_code_.empty());
  ASSERT_FALSE(session_id_.empty());
  EXPECT_EQ(trace.dump().find(registry_code_), std::string::npos);
  EXPECT_EQ(trace.dump().find(session_id_), std::string::npos);
  EXPECT_EQ(x[4]["decoded"]["response"]["answer"]["kind"], "registry");
  EXPECT_EQ(x[4]["decoded"]["response"]["answer"]["accepted"], true);
  EXPECT_EQ(x[4]["decoded"]["request"]["records"][0]["~DeviceName"], "inBio460");
  EXPECT_EQ(x[5]["response"]["body"], "OK");  // init before registration
  EXPECT_EQ(x[5]["decoded"]["response"]["answer"]["kind"], "init");
  EXPECT_EQ(x[5]["decoded"]["response"]["answer"]["registered"], false);
  EXPECT_EQ(x[3]["decoded"]["response"]["answer"]["kind"], "config");

  // Paging: limit, and after= the largest last_seq seen (nothing new, then the poll again).
  EXPECT_EQ(trace_of(sn, "?limit=2")["exchanges"].size(), 2u);
  const auto newest = x[0]["last_seq"].get<std::int64_t>();
  EXPECT_TRUE(trace_of(sn, "?after=" + std::to_string(newest))["exchanges"].empty());
  send(p::format_getrequest(sn), token);
  const json since = trace_of(sn, "?after=" + std::to_string(newest));
  ASSERT_EQ(since["exchanges"].size(), 1u);
  EXPECT_EQ(since["exchanges"][0]["response"]["body"], "OK");
  EXPECT_EQ(api("GET", "/api/v1/devices/" + sn + "/trace?limit=x").status, 400);

  // /metrics shows what it holds.
  auto metrics = send_raw(http::test::request("GET", "/metrics"));
  EXPECT_NE(metrics.body.find("zkpush_trace_bytes "), std::string::npos);
  EXPECT_EQ(metrics.body.find("zkpush_trace_bytes 0\n"), std::string::npos);
}

TEST_F(TraceApiTest, RefusedAndUnknownDevicesAreTracedUnderTheirSerialNumber) {
  ServerConfig config;
  config.allow_sn = {"TRACE*", "GHOST*"};
  start_traced(config);
  // Never did init: 401.
  auto ghost = send(p::format_getrequest("GHOST1"));
  EXPECT_EQ(ghost.status, 401);
  json trace = trace_of("GHOST1");
  ASSERT_EQ(trace["exchanges"].size(), 1u);
  EXPECT_EQ(trace["exchanges"][0]["status"], 401);
  EXPECT_EQ(trace["exchanges"][0]["response"]["body"], ghost.body);
  EXPECT_EQ(trace["exchanges"][0]["endpoint"], "getrequest");
  EXPECT_TRUE(trace["exchanges"][0]["decoded"]["response"]["answer"].contains("error"));

  // Outside the allow-list: 403, before the registry; traced all the same.
  auto outside = send(p::format_rtlog_upload("OTHER7", {rtlog_record(1, "2026-01-02 08:00:00")}));
  EXPECT_EQ(outside.status, 403);
  trace = trace_of("OTHER7");
  ASSERT_EQ(trace["exchanges"].size(), 1u);
  EXPECT_EQ(trace["exchanges"][0]["status"], 403);
  EXPECT_EQ(trace["exchanges"][0]["decoded"]["request"]["records"][0]["pin"], "1");
  EXPECT_FALSE(app_->devices().get("OTHER7").has_value());

  // A serial number the protocol refuses (400): kept under the SN= it gives.
  auto bad = send_raw(http::test::request("GET", "/iclock/getrequest?SN=BAD%20SN"));
  EXPECT_EQ(bad.status, 400);
  trace = trace_of("BAD%20SN");
  ASSERT_EQ(trace["exchanges"].size(), 1u) << trace.dump();
  EXPECT_EQ(trace["exchanges"][0]["status"], 400);

  // Unknown and never seen: 404.
  auto none = api("GET", "/api/v1/devices/NEVER1/trace");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(json::parse(none.body, nullptr, false).value("code", ""), "not_found");
}

TEST_F(TraceApiTest, DeleteClearsAndTheRoutesAreAnOperators) {
  start_traced();
  const std::string sn = "TRACE0002";
  handshake(sn);
  send(p::format_getrequest("GHOST2"));
  const std::string viewer = token_with_role("viewer");
  const std::string operator_token = token_with_role("operator");
  EXPECT_EQ(api("GET", "/api/v1/devices/" + sn + "/trace", viewer).status, 403);
  EXPECT_EQ(api("DELETE", "/api/v1/devices/" + sn + "/trace", viewer).status, 403);
  EXPECT_EQ(api("GET", "/api/v1/devices/" + sn + "/trace", operator_token).status, 200);

  auto cleared = api("DELETE", "/api/v1/devices/" + sn + "/trace", operator_token);
  EXPECT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(json::parse(cleared.body, nullptr, false), (json{{"sn", sn}, {"enabled", true}, {"cleared", 3}}));
  EXPECT_TRUE(trace_of(sn)["exchanges"].empty());  // known: an empty trace
  send(p::format_init_request(sn));
  EXPECT_EQ(trace_of(sn)["exchanges"].size(), 1u);  // and a new one starts

  // An unknown device's trace cleared: it is then as never seen.
  EXPECT_EQ(api("DELETE", "/api/v1/devices/GHOST2/trace").status, 200);
  EXPECT_EQ(api("GET", "/api/v1/devices/GHOST2/trace").status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/devices/GHOST2/trace").status, 404);
}

TEST_F(TraceApiTest, AFirmwareDownloadKeepsItsSizeNotItsBytes) {
  start_traced();
  const std::string sn = "TRACE0003";
  const std::string token = handshake(sn);
  std::filesystem::create_directories(dir_ / "files");
  const std::string firmware(100000, '\x5A');
  std::ofstream(dir_ / "files" / "emfw.bin", std::ios::binary) << firmware;
  auto download = send(p::format_firmware_file_request(sn, "/files/emfw.bin"), token);
  ASSERT_EQ(download.status, 200);
  ASSERT_EQ(download.body.size(), firmware.size());
  const json trace = trace_of(sn, "?limit=1");
  ASSERT_EQ(trace["exchanges"].size(), 1u);
  EXPECT_EQ(trace["exchanges"][0]["endpoint"], "firmware_file");
  EXPECT_EQ(trace["exchanges"][0]["response"]["body"], "(100000 bytes)");
  EXPECT_EQ(trace["exchanges"][0]["response"]["bytes"], 100000);
}

TEST_F(TraceApiTest, ZeroTraceMemoryTurnsItOff) {
  ServerConfig config;
  config.trace_memory_mib = 0;
  start_traced(config);
  const std::string sn = "TRACE0004";
  handshake(sn);
  EXPECT_EQ(app_->trace().bytes(), 0u);
  for (const std::string& device : {sn, std::string("NEVER2")}) {
    const json trace = trace_of(device);
    EXPECT_EQ(trace, (json{{"sn", device}, {"enabled", false}, {"depth", 0}, {"exchanges", json::array()}}));
  }
}

}  // namespace
}  // namespace zkpush::server
