// The CONTROL DEVICE actions 05-18, SET ADSCREEN_OPTIONS and the panel's own reports (error log,
// irstate, Wiegand test data, APList) between the real `zkpush serve` and the real emulator, seen
// through the JSON API: the command queued, the panel's state changed, what it reported next stored.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

#include "emulator/session_harness.hpp"
#include "protocol/control_device.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using nlohmann::json;
using server::e2e::ServeFixture;

const std::string kControlToken = "control-e2e-token";

class ControlE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }
  // The screen device's download is held until the test says it finished.
  void start_online(const std::string& sn, const char* profile = "inbio460") {
    server::ServerConfig config;
    config.api_token = kControlToken;
    start(config);
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile(profile),
                  [](SessionOptions& o) { o.adscreen_download = std::chrono::hours(1); });
    ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();
  }
  json call(const std::string& method, const std::string& target, const std::string& body = {}, int status = 200) {
    std::string headers = "Authorization: Bearer " + kControlToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    auto r = send_raw(server::http::test::request(method, target, body, headers));
    EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }
  std::int64_t queue(const std::string& sn, const std::string& line) {
    auto created = call("POST", "/api/v1/devices/" + sn + "/commands", json{{"line", line}}.dump(), 201);
    return created.value("id", std::int64_t{0});
  }
  json command(std::int64_t id) { return call("GET", "/api/v1/commands/" + std::to_string(id)); }
  json answered(std::int64_t id) {
    json c;
    const bool done = eventually([&] {
      c = command(id);
      const auto status = c.value("status", std::string());
      return status == "done" || status == "failed";
    });
    EXPECT_TRUE(done) << c.dump() << " " << device_error();
    return c;
  }
  // Events of the device with this code (the panel uploads them after answering).
  std::vector<json> events_with(const std::string& sn, int code) {
    std::vector<json> out;
    for (const auto& e : call("GET", "/api/v1/events?limit=1000&sn=" + sn))
      if (e.value("event", -1) == code) out.push_back(e);
    return out;
  }
  std::string relay(const std::string& sn, int door) {
    for (const auto& d : call("GET", "/api/v1/devices/" + sn + "/state").value("doors", json::array()))
      if (d.value("door", 0) == door) return d.value("relay", "");
    return "";
  }
  json log(const std::string& sn, const std::string& kind) {
    return call("GET", "/api/v1/devices/" + sn + "/log?kind=" + kind);
  }
};

TEST_F(ControlE2E, NewControlCodesChangeWhatThePanelReportsNext) {
  const std::string sn = "EMUCTL0001";
  start_online(sn);

  // 06: door 2 locked (event 233); a remote open of it is refused (event 63), its relay stays shut.
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 06020100"))["return"], 0);
  ASSERT_TRUE(eventually([&] { return events_with(sn, 233).size() == 1; }));
  EXPECT_EQ(events_with(sn, 233)[0]["door"], 2);
  EXPECT_TRUE(on_device([&] { return session_->model().door(2).locked; }));
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 01020105"))["return"], 0);
  ASSERT_TRUE(eventually([&] { return events_with(sn, 63).size() == 1; }));
  EXPECT_EQ(relay(sn, 2), "connected");

  // 07 dual-on: every door's relay released in the next rtstate, 227 per door; dual-off shuts them.
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 07010000"))["return"], 0);
  ASSERT_TRUE(eventually([&] { return events_with(sn, 227).size() == 4; }));
  ASSERT_TRUE(eventually([&] { return relay(sn, 1) == "disconnected" && relay(sn, 4) == "disconnected"; }));
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 07020000"))["return"], 0);
  ASSERT_TRUE(eventually([&] { return relay(sn, 1) == "connected" && relay(sn, 4) == "connected"; }));
  EXPECT_EQ(events_with(sn, 228).size(), 4u);

  // 0B (11) wired -> 4G: the panel reports its new CommType and logs 246.
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 0B010000"))["return"], 0);
  ASSERT_TRUE(eventually([&] {
    return call("GET", "/api/v1/devices/" + sn + "/options")["CommType"].value("value", "") == "usb-4G-modem";
  }));
  ASSERT_TRUE(eventually([&] { return events_with(sn, 246).size() == 1; }));
  // 0B04 (Wi-Fi -> wired) while on 4G cannot run: -12.
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 0B040000"))["return"], -12);

  // 05: the battery level in the result line.
  auto battery = answered(queue(sn, "CONTROL DEVICE 05000000"));
  EXPECT_EQ(battery["result_line"]["fields"]["BatteryPower"], "100") << battery;

  // 09: the Wiegand test reading stored in the device log.
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 0901000000"))["return"], 0);
  auto wiegand = log(sn, "testdata");
  ASSERT_EQ(wiegand.size(), 1u) << wiegand;
  EXPECT_EQ(wiegand[0]["fields"]["type"], "wg");
  EXPECT_EQ(wiegand[0]["fields"]["sn"], sn);

  // 10 (16) reset all counters: irstate with the counters at zero, after two passages.
  on_device([&] {
    session_->pass_gate(true);
    session_->pass_gate(false);
  });
  ASSERT_TRUE(eventually([&] { return log(sn, "irstate").size() == 2; }));
  EXPECT_EQ(log(sn, "irstate")[0]["fields"]["outcount"], "1");
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE 10040000"))["return"], 0);
  auto irstate = log(sn, "irstate");
  ASSERT_EQ(irstate.size(), 3u) << irstate;
  EXPECT_EQ(irstate[0]["fields"]["incount"], "0");
  EXPECT_EQ(irstate[0]["fields"]["outcount"], "0");
  EXPECT_EQ(irstate[0]["fields"]["runcount"], "2");

  // 11 (17): floors 2 and 5 released for 9 s: one event 8 per floor, the floor as its address.
  const std::vector<unsigned> floors{2, 5};
  auto elevator = protocol::ControlDevice::elevator_output(*protocol::make_floor_bitmap(floors), 9);
  ASSERT_TRUE(elevator.ok());
  EXPECT_EQ(answered(queue(sn, "CONTROL DEVICE " + protocol::format_control_device(*elevator)))["return"], 0);
  EXPECT_EQ(on_device([&] { return session_->model().panel().floors_open.size(); }), 2u);
  ASSERT_TRUE(eventually([&] {
    auto opened = events_with(sn, 8);
    return std::count_if(opened.begin(), opened.end(), [](const json& e) { return e.value("door", 0) == 5; }) == 1;
  }));

  // An action code the manual does not define never reaches the panel.
  call("POST", "/api/v1/devices/" + sn + "/commands", json{{"line", "CONTROL DEVICE 13000000"}}.dump(), 400);
}

TEST_F(ControlE2E, AdscreenOptionsIsPendingUntilTheScreenDeviceAnswers) {
  const std::string sn = "EMUCTL0002";
  start_online(sn, "channel");  // only a channel controller with a screen has the command
  const auto id = queue(sn, "SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,Range=50,URL=http://srv/ad.jpg");
  // First answer -5000: the command stays sent, its answer pending.
  json c;
  ASSERT_TRUE(eventually([&] {
    c = command(id);
    return c.value("status", "") == "sent" && c["return"] == -5000;
  })) << c.dump();
  EXPECT_EQ(c["return_kind"], "pending");
  EXPECT_EQ(on_device([&] { return session_->model().panel().adscreen.size(); }), 1u);
  // The screen device finished: the final Return closes it.
  on_device([&] { session_->finish_downloads(); });
  auto done = answered(id);
  EXPECT_EQ(done["status"], "done");
  EXPECT_EQ(done["return"], 0);
  EXPECT_EQ(done["return_kind"], "ok");
}

TEST_F(ControlE2E, ErrorLogAplistAndWifiScanAreReadableThroughTheApi) {
  const std::string sn = "EMUCTL0003";
  start_online(sn);
  on_device([&] { session_->report_errorlog("D01E0003", "77"); });
  json entries;
  ASSERT_TRUE(eventually([&] {
    entries = log(sn, "errorlog");
    return entries.size() == 1;
  }));
  EXPECT_EQ(entries[0]["meaning"], "Insufficient clarity");
  EXPECT_EQ(entries[0]["decoded"]["errcode"]["module"], "PUSH communication");
  EXPECT_EQ(entries[0]["fields"]["cmdid"], "77");

  auto scan = answered(queue(sn, "DATA QUERY tablename=[APList],fielddesc=*,filter=*"));
  EXPECT_EQ(scan["return"], 2);
  ASSERT_EQ(scan["result"]["records"].size(), 2u) << scan;
  EXPECT_EQ(scan["result"]["records"][0]["ssid"], "office");
}

}  // namespace
}  // namespace zkpush::emulator
