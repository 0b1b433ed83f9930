// Multi-level control (manual 5, Appendices 14 and 15) between the real server and the real
// emulator: a master controller with two sub-controllers registers, uploads its DeviceAuthorize
// table; the operator authorizes one through the API (both steps on the wire), opens a door of it
// (the command goes out on the master's getrequest in an envelope naming the sub, is answered -5000
// by the master and then 0 by the sub), and de-authorizes it. Observed through the JSON API and the
// wire trace, never through the store.
#include <nlohmann/json.hpp>

#include <string>

#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using nlohmann::json;
using server::e2e::RawResponse;
using server::e2e::ServeFixture;

const std::string kToken = "multi-level-api-token";
const std::string kMaster = "EMUML0001";
const std::string kSub1 = "EMUML0001-S1";
const std::string kSub2 = "EMUML0001-S2";

class SubControllersE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }

  void start_server(server::RegistrationPolicy registration) {
    server::ServerConfig config;
    config.api_token = kToken;
    config.registration = registration;
    start(config);
  }
  void start_master() {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, kMaster, find_profile("inbio460"),
                  [](SessionOptions& o) { o.sub_controllers = 2; });
  }

  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::string headers = "Authorization: Bearer " + kToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(server::http::test::request(method, target, body, headers));
  }
  json api_json(const std::string& method, const std::string& target, const std::string& body = {},
                int status = 200) {
    auto r = api(method, target, body);
    EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j.is_discarded() ? json() : j;
  }
  json get(const std::string& target) { return api_json("GET", target); }

  // The sub-controller as listed (an empty object while the master or the sub is not known yet).
  json sub(const std::string& sn) {
    auto listed = json::parse(api("GET", "/api/v1/devices/" + kMaster + "/sub-controllers").body, nullptr, false);
    if (!listed.is_array()) return json::object();
    for (const auto& s : listed)
      if (s.value("sn", std::string()) == sn) return s;
    return json::object();
  }
  int emulated_is_authorize(const std::string& sn) {
    return on_device([&] { return session_->sub_controller(sn)->is_authorize; });
  }
  std::string trace() { return get("/api/v1/devices/" + kMaster + "/trace?limit=1000").dump(); }
};

TEST_F(SubControllersE2E, AnOperatorAuthorizesASubControllerInTwoStepsThenItsDoorOpensThroughTheMaster) {
  start_server(server::RegistrationPolicy::approve);
  start_master();
  ASSERT_TRUE(eventually([&] { return api("POST", "/api/v1/devices/" + kMaster + "/approve").status == 200; }));
  // The master retries after its ErrorDelay; wake it instead of waiting.
  on_device([&] { session_->wake(); });
  ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();

  // The master's table: both subs listed, unauthorized, with what they said of themselves.
  ASSERT_TRUE(eventually([&] { return !sub(kSub1).empty() && !sub(kSub2).empty(); }));
  auto s1 = sub(kSub1);
  EXPECT_EQ(s1["master"], kMaster);
  EXPECT_EQ(s1["state"], "unauthorized");
  EXPECT_EQ(s1["is_authorize"], 0);
  EXPECT_EQ(s1["online"], true);
  EXPECT_NE(s1.value("authorize_info", std::string()).find("~DeviceName="), std::string::npos) << s1;
  auto master = get("/api/v1/devices/" + kMaster);
  EXPECT_TRUE(master["master"].is_null());
  ASSERT_EQ(master["sub_controllers"].size(), 2u) << master;
  auto sub_device = get("/api/v1/devices/" + kSub2);
  EXPECT_EQ(sub_device["master"], kMaster);
  EXPECT_EQ(sub_device["approved"], false);
  // Under --registration approve nothing is authorized without the operator.
  EXPECT_TRUE(get("/api/v1/devices/" + kMaster + "/commands").empty());
  EXPECT_EQ(emulated_is_authorize(kSub1), 0);

  // A command for a sub-controller that is not authorized: refused, nothing queued.
  auto refused = api("POST", "/api/v1/doors/" + kSub2 + "/1/open", R"({"seconds": 5})");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("not authorized"), std::string::npos) << refused.body;
  EXPECT_TRUE(get("/api/v1/devices/" + kSub2 + "/commands").empty());
  // Nor a firmware campaign for it.
  EXPECT_EQ(api("POST", "/api/v1/files?name=sub.bin", "firmware bytes").status, 201);
  auto campaign = api("POST", "/api/v1/campaigns", R"({"file": "sub.bin", "devices": [")" + kSub2 + R"("]})");
  EXPECT_EQ(campaign.status, 409) << campaign.body;
  EXPECT_TRUE(get("/api/v1/devices/" + kSub2 + "/commands").empty());
  // Not a sub-controller of that master.
  EXPECT_EQ(api("POST", "/api/v1/devices/" + kSub1 + "/sub-controllers/" + kSub2 + "/authorize").status, 404);

  // Step one by the operator; step two by the server once the sub's registration info came.
  auto step = api_json("POST", "/api/v1/devices/" + kMaster + "/sub-controllers/" + kSub1 + "/authorize");
  EXPECT_TRUE(step["command_id"].is_number_integer()) << step;
  EXPECT_EQ(step["sub_controller"]["state"], "authorizing");
  ASSERT_TRUE(eventually([&] { return sub(kSub1).value("state", std::string()) == "authorized"; })) << sub(kSub1);
  EXPECT_EQ(emulated_is_authorize(kSub1), 2);
  EXPECT_EQ(emulated_is_authorize(kSub2), 0);
  s1 = sub(kSub1);
  EXPECT_NE(s1.value("register_info", std::string()).find("SubControlOn=1"), std::string::npos) << s1;
  auto steps = get("/api/v1/devices/" + kMaster + "/commands");
  ASSERT_EQ(steps.size(), 2u) << steps;  // newest first
  EXPECT_EQ(steps[1]["line"], "DATA UPDATE DeviceAuthorize SN=" + kSub1 + "\tIsAuthorize=1");
  EXPECT_EQ(steps[0]["line"], "DATA UPDATE DeviceAuthorize SN=" + kSub1 + "\tIsAuthorize=2");
  EXPECT_EQ(steps[0]["status"], "done");
  EXPECT_EQ(steps[1]["status"], "done");
  const auto wire = trace();
  EXPECT_NE(wire.find("DataType=1, SN=" + kMaster + ", Priority=0, CmdID=" + std::to_string(steps[1]["wire_id"].get<std::int64_t>())),
            std::string::npos);
  EXPECT_NE(wire.find("IsAuthorize=1"), std::string::npos);
  EXPECT_NE(wire.find("IsAuthorize=2"), std::string::npos);
  auto authorized = get("/api/v1/devices/" + kSub1);
  EXPECT_EQ(authorized["approved"], true);
  // Its registration, as it reached the master, gives the sub's parameters.
  EXPECT_EQ(authorized["options"]["LockCount"], "4") << authorized;
  EXPECT_EQ(authorized["options"]["SubControlOn"], "1") << authorized;
  EXPECT_EQ(authorized["sub_controller"]["state"], "authorized");
  // The sub talks through its master only: a poll in its name (an impostor's) is refused, and takes
  // none of its commands.
  EXPECT_EQ(send_raw(server::http::test::request("GET", "/iclock/getrequest?SN=" + kSub1, "", "")).status, 403);

  // A door of the authorized sub: delivered to the master in the envelope naming the sub, -5000
  // from the master first (the sub's result held at the master), then the sub's own 0.
  on_device([&] { session_->hold_sub_results(true); });
  auto created = api_json("POST", "/api/v1/doors/" + kSub1 + "/1/open", R"({"seconds": 5})", 201);
  const auto id = created.value("id", std::int64_t{0});
  const auto wire_id = created.value("wire_id", std::int64_t{0});
  EXPECT_EQ(created["sn"], kSub1);
  json pending;
  ASSERT_TRUE(eventually([&] {
    pending = get("/api/v1/commands/" + std::to_string(id));
    return pending["return"].is_number_integer() && pending["return"].get<std::int64_t>() == -5000;
  })) << pending;
  EXPECT_EQ(pending["status"], "sent");
  EXPECT_EQ(pending["sn"], kSub1);
  EXPECT_NE(trace().find("DataType=1, SN=" + kSub1 + ", Priority=0, CmdID=" + std::to_string(wire_id) +
                         ", CmdDesc=C:" + std::to_string(wire_id) + ":CONTROL DEVICE 01010105"),
            std::string::npos);
  // The sub's door, not the master's, is the one that opened.
  EXPECT_TRUE(on_device([&] { return session_->sub_controller(kSub1)->model.door(1).relay_open; }));
  EXPECT_FALSE(on_device([&] { return session_->sub_controller(kSub2)->model.door(1).relay_open; }));
  EXPECT_FALSE(on_device([&] { return session_->model().door(1).relay_open; }));
  EXPECT_EQ(on_device([&] { return session_->held_sub_results(); }), 1u);
  on_device([&] { session_->hold_sub_results(false); });
  json final_answer;
  ASSERT_TRUE(eventually([&] {
    final_answer = get("/api/v1/commands/" + std::to_string(id));
    return final_answer.value("status", std::string()) == "done";
  })) << final_answer;
  EXPECT_EQ(final_answer["return"], 0);
  EXPECT_EQ(final_answer["sn"], kSub1);
  EXPECT_EQ(final_answer["result_line"]["fields"]["SN"], kSub1) << final_answer;
  const auto answered = trace();
  EXPECT_NE(answered.find("ID=" + std::to_string(wire_id) + "&Return=-5000"), std::string::npos);
  EXPECT_NE(answered.find("ID=" + std::to_string(wire_id) + "&Return=0"), std::string::npos);
  EXPECT_NE(answered.find("&SN=" + kSub1), std::string::npos);
  // Attributed to the sub: listed under it, not under the master.
  auto of_sub = get("/api/v1/devices/" + kSub1 + "/commands");
  ASSERT_EQ(of_sub.size(), 1u);
  EXPECT_EQ(of_sub[0]["id"], id);
  EXPECT_EQ(get("/api/v1/devices/" + kMaster + "/commands").size(), 2u);

  // De-authorized: DATA DELETE on the wire, commands refused at once, the master's table follows.
  auto removed = api_json("DELETE", "/api/v1/devices/" + kMaster + "/sub-controllers/" + kSub1);
  EXPECT_EQ(removed["sub_controller"]["state"], "deauthorized");
  EXPECT_EQ(api("POST", "/api/v1/doors/" + kSub1 + "/1/open", R"({"seconds": 5})").status, 409);
  ASSERT_TRUE(eventually([&] { return emulated_is_authorize(kSub1) == 0; }));
  json last;
  ASSERT_TRUE(eventually([&] {
    last = get("/api/v1/devices/" + kMaster + "/commands");
    return !last.empty() && last[0].value("status", std::string()) == "done";
  })) << last;
  EXPECT_EQ(last[0]["line"], "DATA DELETE DeviceAuthorize SN=" + kSub1);
  ASSERT_TRUE(eventually([&] { return sub(kSub1).value("is_authorize", -1) == 0; })) << sub(kSub1);
  // Not authorized again behind the operator's back.
  EXPECT_EQ(sub(kSub1)["state"], "deauthorized");
  EXPECT_EQ(get("/api/v1/devices/" + kSub1)["approved"], false);
}

TEST_F(SubControllersE2E, AutomaticRegistrationAuthorizesEverySubControllerInTwoSteps) {
  start_server(server::RegistrationPolicy::automatic);
  start_master();
  ASSERT_TRUE(eventually([&] {
    return sub(kSub1).value("state", std::string()) == "authorized" &&
           sub(kSub2).value("state", std::string()) == "authorized";
  })) << get("/api/v1/devices/" + kMaster + "/sub-controllers").dump();
  EXPECT_EQ(emulated_is_authorize(kSub1), 2);
  EXPECT_EQ(emulated_is_authorize(kSub2), 2);
  EXPECT_EQ(get("/api/v1/devices/" + kMaster + "/commands").size(), 4u);  // two steps each
  // A command for a sub and one for the master in the same poll: each runs where it is addressed.
  on_device([&] { session_->hold_sub_results(false); });
  auto to_sub = api_json("POST", "/api/v1/doors/" + kSub2 + "/1/open?wait=20s", R"({"seconds": 5})");
  EXPECT_EQ(to_sub["status"], "done") << to_sub;
  EXPECT_EQ(to_sub["sn"], kSub2);
  auto to_master = api_json("POST", "/api/v1/doors/" + kMaster + "/2/open?wait=20s", R"({"seconds": 5})");
  EXPECT_EQ(to_master["status"], "done") << to_master;
  EXPECT_TRUE(on_device([&] { return session_->sub_controller(kSub2)->model.door(1).relay_open; }));
  EXPECT_TRUE(on_device([&] { return session_->model().door(2).relay_open; }));
  EXPECT_FALSE(on_device([&] { return session_->sub_controller(kSub1)->model.door(1).relay_open; }));
}

}  // namespace
}  // namespace zkpush::emulator
