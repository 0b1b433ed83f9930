// The JSON API of `zkpush serve` (/api/v1, docs/serve.md "JSON API") end to end: real sockets, a
// real SQLite store, devices driven with the protocol formatters (fixture in serve_fixture.hpp).
// Every route, every status code, and the exact key set of every object.
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include <regex>
#include <set>

#include "protocol/codecs_bitmaps.hpp"
#include "protocol/account.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/enums.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;
using Keys = std::set<std::string>;

const std::string kApiToken = "secret-api-token";

// Documented keys plus the extras docs/serve.md lists: an object must have exactly these.
const Keys kDeviceKeys{"sn",         "online",        "last_seen",  "approved",       "ip",
                       "firmware",   "push_version",  "options",    "registered",     "registered_at",
                       "first_seen", "last_seen_unix", "time_zone", "config", "pending"};
const Keys kStateKeys{"doors", "time", "time_utc", "received_at", "sensor", "relay", "alarm"};
const Keys kDoorKeys{"door", "sensor", "relay", "alarms"};
const Keys kEventKeys{"id",     "sn",          "time",  "pin",        "person_name", "cardno",   "event",
                      "event_name", "door",    "inout", "verifytype", "verify_name", "index",
                      "time_local", "time_utc", "alarm_type", "source", "received_at", "event_class"};
const Keys kCommandKeys{"id",      "sn",          "line",        "status",     "return",  "return_name",
                        "result",  "wire_id",     "verb",        "priority",   "return_kind", "result_line",
                        "created_at", "sent_at",  "done_at",     "expires_at", "attempts"};

Keys keys_of(const json& object) {
  Keys out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

std::string iso_utc(std::int64_t unix_seconds) {
  return protocol::format_iso8601(protocol::civil_from_unix(unix_seconds).value()) + "Z";
}

class ApiTest : public ServeFixture {
 protected:
  void start_api(ServerConfig config = {}) {
    config.api_token = kApiToken;
    start(config);
  }

  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {},
                  const std::string& token = kApiToken) {
    std::string headers = "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(http::test::request(method, target, body, headers));
  }
  // The body of an answer, which must be JSON; an error answer must be {"error": "<text>", "code":
  // "<word>"} and, where a field is at fault, "field".
  static json body_of(const RawResponse& r) {
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json") << r.status << " " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    if (r.status >= 400) {
      EXPECT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string() &&
                  !j["error"].get<std::string>().empty() && j.contains("code") && j["code"].is_string() &&
                  j.size() == (j.contains("field") ? 3u : 2u))
          << r.body;
    }
    return j.is_discarded() ? json() : j;
  }
  json ok(const RawResponse& r, int status = 200) {
    EXPECT_EQ(r.status, status) << r.body;
    return body_of(r);
  }
  void expect_error(const RawResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    body_of(r);
  }

  std::int64_t post_command(const std::string& sn, const std::string& line) {
    auto created = ok(api("POST", "/api/v1/devices/" + sn + "/commands", json{{"line", line}}.dump()), 201);
    EXPECT_TRUE(created.contains("id") && created["id"].is_number_integer()) << created;
    return created.value("id", std::int64_t{0});
  }
  // One getrequest; the commands it delivered.
  std::vector<protocol::Command> poll(const std::string& sn, const std::string& token) {
    auto r = send(p::format_getrequest(sn), token);
    EXPECT_EQ(r.status, 200);
    if (r.body == "OK") return {};
    auto commands = p::parse_commands(r.body);
    EXPECT_TRUE(commands.ok()) << r.body;
    return commands.ok() ? *commands : std::vector<protocol::Command>{};
  }
  void report(const std::string& sn, const std::string& token, const protocol::Command& command, std::int64_t code) {
    auto result = p::make_command_result(command, code);
    auto r = send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  void save_device(const storage::Device& d) {
    test::write(app_->store(), [&d](storage::Transaction& tx) { tx.devices().save(d); });
    ASSERT_FALSE(HasFailure());
  }
};

TEST_F(ApiTest, HealthzIsOpenAndEveryRouteNeedsTheToken) {
  // Eighteen wrong tokens from one address: without the lockout (ApiSecurityTest.WrongTokensLockAnAddressOut).
  ServerConfig config;
  config.api_lockout_after = 0;
  start_api(config);
  auto health = send_raw(http::test::request("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "OK");

  handshake("AUTH0001");
  const std::vector<std::pair<std::string, std::string>> routes{
      {"GET", "/api/v1/devices"},          {"GET", "/api/v1/devices/AUTH0001"},
      {"POST", "/api/v1/devices/AUTH0001/approve"}, {"GET", "/api/v1/devices/AUTH0001/state"},
      {"POST", "/api/v1/devices/AUTH0001/commands"}, {"GET", "/api/v1/events"},
      {"GET", "/api/v1/commands/1"},       {"DELETE", "/api/v1/commands/1"},
      {"GET", "/api/v1/no/such/route"}};
  for (const auto& [method, target] : routes) {
    SCOPED_TRACE(method + " " + target);
    auto missing = send_raw(http::test::request(method, target));
    expect_error(missing, 401);
    EXPECT_EQ(missing.header("WWW-Authenticate").value_or(""), "Bearer");
    expect_error(api(method, target, {}, "wrong-token"), 401);
    expect_error(api(method, target, {}, kApiToken + "x"), 401);
    expect_error(send_raw(http::test::request(method, target, {}, "Authorization: Basic " + kApiToken + "\r\n")), 401);
  }
  // Nothing was changed by the refused calls.
  EXPECT_FALSE(stored_command(1).has_value());
}

TEST_F(ApiTest, NeverOpenWithoutAToken) {
  // Whatever App does with an unset token (it generates one), an empty bearer never gets in.
  start();
  handshake("NOTOKEN01");
  expect_error(send_raw(http::test::request("GET", "/api/v1/devices", {}, "Authorization: Bearer \r\n")), 401);
  expect_error(send_raw(http::test::request("GET", "/api/v1/devices")), 401);
}

TEST_F(ApiTest, DevicesListAndOne) {
  start_api();
  EXPECT_EQ(ok(api("GET", "/api/v1/devices")), json::array());

  const std::string sn = "ApiDev01";  // mixed case survives the API path
  const std::string token = handshake(sn);
  EXPECT_EQ(send(p::format_options_upload(sn, p::Record{{"LockCount", "4"}}), token).status, 200);

  const auto now = unix_now();
  storage::Device old;
  old.sn = "OLD0001";
  old.approved = true;
  old.ip = "10.0.0.9";
  old.first_seen = now - 3600;
  old.last_seen = now - 3600;
  save_device(old);
  storage::Device never;
  never.sn = "NEVER0001";
  save_device(never);
  restart();  // the device cache now holds what the store loaded

  auto list = ok(api("GET", "/api/v1/devices"));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 3u) << list;
  EXPECT_EQ(list[0]["sn"], sn);  // ordered by serial number
  EXPECT_EQ(list[1]["sn"], "NEVER0001");
  EXPECT_EQ(list[2]["sn"], "OLD0001");
  for (const auto& d : list) EXPECT_EQ(keys_of(d), kDeviceKeys) << d;

  const auto& live = list[0];
  EXPECT_EQ(live["online"], true);
  ASSERT_TRUE(live["last_seen"].is_string()) << live;
  EXPECT_TRUE(std::regex_match(live["last_seen"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << live["last_seen"];
  EXPECT_EQ(live["last_seen"], iso_utc(live["last_seen_unix"].get<std::int64_t>()));
  EXPECT_EQ(live["approved"], true);
  EXPECT_EQ(live["registered"], true);
  EXPECT_EQ(live["ip"], "127.0.0.1");
  EXPECT_EQ(live["firmware"], "AC Ver 5.7.8.3033");
  EXPECT_EQ(live["push_version"], "3.1.2");
  ASSERT_TRUE(live["options"].is_object());
  EXPECT_EQ(live["options"]["MaxPackageSize"], "2048000");
  EXPECT_EQ(live["options"]["~DeviceName"], "inBio460");
  EXPECT_EQ(live["options"]["LockCount"], "4");
  EXPECT_EQ(live["pending"], 0);

  const auto& never_seen = list[1];
  EXPECT_EQ(never_seen["online"], false);
  EXPECT_TRUE(never_seen["last_seen"].is_null());
  EXPECT_TRUE(never_seen["firmware"].is_null());
  EXPECT_EQ(never_seen["approved"], false);
  EXPECT_EQ(never_seen["options"], json::object());

  const auto& stale = list[2];
  EXPECT_EQ(stale["online"], false);  // an hour is past max(3 x RequestDelay, 90 s)
  EXPECT_EQ(stale["last_seen"], iso_utc(now - 3600));
  EXPECT_EQ(stale["ip"], "10.0.0.9");

  auto one = ok(api("GET", "/api/v1/devices/" + sn));
  // One device adds its place in multi-level control: no master, no sub-controllers here.
  Keys one_keys = kDeviceKeys;
  one_keys.insert({"master", "sub_controllers"});
  EXPECT_EQ(keys_of(one), one_keys);
  EXPECT_TRUE(one["master"].is_null());
  EXPECT_EQ(one["sub_controllers"], json::array());
  EXPECT_EQ(one["sn"], sn);
  EXPECT_EQ(one["options"], live["options"]);
  expect_error(api("GET", "/api/v1/devices/apidev01"), 404);  // serial numbers keep their case
  expect_error(api("GET", "/api/v1/devices/NOSUCH"), 404);
  auto wrong = api("PUT", "/api/v1/devices/" + sn);
  expect_error(wrong, 405);
  EXPECT_EQ(wrong.header("Allow").value_or(""), "GET, PATCH, DELETE");
  expect_error(api("POST", "/api/v1/devices"), 405);
}

// Per-device settings: a time zone for its events and its own configuration values, sent at the
// next init / push; kept across a restart; null goes back to the server's value.
TEST_F(ApiTest, PatchDeviceTimeZoneAndConfiguration) {
  start_api();
  const std::string sn = "PATCH0001";
  std::string token = handshake(sn);
  auto patched = ok(api("PATCH", "/api/v1/devices/" + sn,
                        R"({"time_zone": "+0530", "config": {"requestdelay": 7, "TransTimes": "01:00;13:00"}})"));
  EXPECT_EQ(patched["time_zone"], "+0530");
  // Numeric keys come back as numbers, whatever the operator sent (a number here).
  EXPECT_EQ(patched["config"], (json{{"RequestDelay", 7}, {"TransTimes", "01:00;13:00"}}));
  restart();
  auto push = send(p::format_push_config_request(sn), token);
  ASSERT_EQ(push.status, 200);
  auto config = p::parse_config_answer(push.body);
  EXPECT_EQ(config.get_or("RequestDelay", ""), "7");
  EXPECT_EQ(config.get_or("TransTimes", ""), "01:00;13:00");
  EXPECT_EQ(config.get_or("ErrorDelay", ""), std::to_string(ServerConfig{}.error_delay));  // not overridden
  token = p::compute_token(app_->devices().get(sn)->device->registry_code, sn, config.get_or("SessionID", ""));
  // Events are converted to UTC with the device's zone.
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2024-01-01 12:00:00")}), token).status, 200);
  auto events = ok(api("GET", "/api/v1/events?sn=" + sn));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["time_utc"], 1704110400 - 330 * 60);
  auto time = p::parse_time_answer(send(p::format_rtdata_time_request(sn), token).body);
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->server_tz, "+0530");

  auto reset = ok(api("PATCH", "/api/v1/devices/" + sn, R"({"time_zone": null, "config": {"RequestDelay": null}})"));
  EXPECT_TRUE(reset["time_zone"].is_null());
  EXPECT_EQ(reset["config"], (json{{"TransTimes", "01:00;13:00"}}));

  expect_error(api("PATCH", "/api/v1/devices/" + sn, R"({"time_zone": "Mars/Olympus"})"), 400);
  expect_error(api("PATCH", "/api/v1/devices/" + sn, R"({"config": {"SessionID": "x"}})"), 400);
  expect_error(api("PATCH", "/api/v1/devices/" + sn, R"({"config": {"RequestDelay": "soon"}})"), 400);
  expect_error(api("PATCH", "/api/v1/devices/" + sn, R"({"config": {"TransTimes": "a\nb"}})"), 400);
  expect_error(api("PATCH", "/api/v1/devices/" + sn, R"({"colour": "red"})"), 400);
  expect_error(api("PATCH", "/api/v1/devices/" + sn, "not json"), 400);
  expect_error(api("PATCH", "/api/v1/devices/NOSUCH", "{}"), 404);
}

TEST_F(ApiTest, ApproveThenTheDeviceRegisters) {
  ServerConfig config;
  config.registration = RegistrationPolicy::approve;
  start_api(config);
  const std::string sn = "APPROVE0002";
  send(p::format_init_request(sn));
  EXPECT_EQ(send(p::format_registry_request(sn, registry_options())).status, 406);
  auto waiting = ok(api("GET", "/api/v1/devices/" + sn));
  EXPECT_EQ(waiting["approved"], false);
  EXPECT_EQ(waiting["registered"], false);
  // The registration body was kept: the options are known before approval.
  EXPECT_EQ(waiting["firmware"], "AC Ver 5.7.8.3033");

  auto wrong = api("GET", "/api/v1/devices/" + sn + "/approve");
  expect_error(wrong, 405);
  EXPECT_EQ(wrong.header("Allow").value_or(""), "POST");
  expect_error(api("POST", "/api/v1/devices/NOSUCH/approve"), 404);

  auto approved = ok(api("POST", "/api/v1/devices/" + sn + "/approve"));
  EXPECT_EQ(keys_of(approved), kDeviceKeys);
  EXPECT_EQ(approved["approved"], true);
  EXPECT_EQ(ok(api("POST", "/api/v1/devices/" + sn + "/approve"))["approved"], true);  // idempotent
  ASSERT_TRUE(stored_device(sn).has_value());
  EXPECT_TRUE(stored_device(sn)->approved);

  auto reg = send(p::format_registry_request(sn, registry_options()));
  EXPECT_EQ(reg.status, 200);
  EXPECT_TRUE(p::parse_registry_answer(reg.status, reg.body).accepted);
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["registered"], true);
}

TEST_F(ApiTest, DoorStateDecoded) {
  start_api();
  const std::string sn = "STATE0001";
  const std::string token = handshake(sn);
  expect_error(api("GET", "/api/v1/devices/NOSUCH/state"), 404);
  expect_error(api("POST", "/api/v1/devices/" + sn + "/state"), 405);

  auto none = ok(api("GET", "/api/v1/devices/" + sn + "/state"));
  EXPECT_EQ(none, (json{{"doors", json::array()}, {"time", nullptr}}));

  send(p::format_options_upload(sn, p::Record{{"LockCount", "2"}}), token);
  // Door 1 closed with a tamper alarm, door 2 open with its relay disconnected.
  auto up = send(p::format_rtstate_upload(sn, {p::Record{{"time", "2019-07-22 16:30:01"},
                                                          {"sensor", "09"},
                                                          {"relay", "02"},
                                                          {"alarm", "0200000000000000"}}}),
                 token);
  ASSERT_EQ(up.status, 200);
  auto state = ok(api("GET", "/api/v1/devices/" + sn + "/state"));
  EXPECT_EQ(keys_of(state), kStateKeys) << state;
  EXPECT_EQ(state["time"], "2019-07-22 16:30:01");
  EXPECT_EQ(state["time_utc"], 1563813001);  // no zone configured: UTC
  EXPECT_EQ(state["sensor"], "09");
  ASSERT_TRUE(state["doors"].is_array());
  ASSERT_EQ(state["doors"].size(), 2u) << state;  // LockCount
  for (const auto& d : state["doors"]) EXPECT_EQ(keys_of(d), kDoorKeys) << d;
  EXPECT_EQ(state["doors"][0], (json{{"door", 1}, {"sensor", "closed"}, {"relay", "connected"}, {"alarms", json::array({"tamper alarm"})}}));
  EXPECT_EQ(state["doors"][1],
            (json{{"door", 2}, {"sensor", "open"}, {"relay", "disconnected"}, {"alarms", json::array()}}));

  // Every device's state in one call (the console's door board): the same decoding, with "sn";
  // a device that never sent its state is not listed.
  handshake("STATE0000");
  auto every = ok(api("GET", "/api/v1/doors/state"));
  ASSERT_EQ(every.size(), 1u) << every;
  EXPECT_EQ(every[0]["sn"], sn);
  auto same = every[0];
  same.erase("sn");
  EXPECT_EQ(same, state);
}

TEST_F(ApiTest, EventsPagedOldestFirst) {
  start_api();
  const std::string sn = "EVENTS0001";
  const std::string token = handshake(sn);
  auto unregistered = rtlog_record(3, "2019-07-22 16:30:03");
  unregistered.set("event", "27");
  unregistered.set("verifytype", "4");
  auto up = send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01"), rtlog_record(2, "2019-07-22 16:30:02"),
                                             unregistered}),
                 token);
  ASSERT_EQ(up.status, 200);
  const std::string other = "EVENTS0002";
  const std::string other_token = handshake(other);
  auto bits = rtlog_record(1, "2019-07-22 17:00:00");
  bits.set("verifytype", "0000000000000110");  // a VERIFY_TYPE bit string: methods 1 and 2, either one
  send(p::format_rtlog_upload(other, {bits}), other_token);

  auto all = ok(api("GET", "/api/v1/events?sn=" + sn));
  ASSERT_TRUE(all.is_array());
  ASSERT_EQ(all.size(), 3u) << all;
  for (const auto& e : all) EXPECT_EQ(keys_of(e), kEventKeys) << e;
  EXPECT_LT(all[0]["id"].get<std::int64_t>(), all[1]["id"].get<std::int64_t>());
  EXPECT_EQ(all[0]["sn"], sn);
  EXPECT_EQ(all[0]["time"], "2019-07-22 16:30:01");
  EXPECT_EQ(all[0]["time_local"], "2019-07-22 16:30:01");
  EXPECT_EQ(all[0]["time_utc"], 1563813001);
  EXPECT_EQ(all[0]["pin"], "1");
  EXPECT_EQ(all[0]["cardno"], "0");
  EXPECT_EQ(all[0]["event"], 0);
  EXPECT_EQ(all[0]["event_name"], std::string(p::event_info(0).name));
  EXPECT_EQ(all[0]["door"], 1);
  EXPECT_EQ(all[0]["inout"], 0);
  EXPECT_EQ(all[0]["verifytype"], 1);
  EXPECT_EQ(all[0]["verify_name"], std::string(p::verify_mode_name(1).value()));
  EXPECT_EQ(all[0]["index"], 1);
  EXPECT_EQ(all[0]["source"], "rtlog");
  EXPECT_EQ(all[2]["event"], 27);
  EXPECT_EQ(all[2]["event_name"], std::string(p::event_info(27).name));
  EXPECT_NE(all[2]["event_name"], all[0]["event_name"]);
  EXPECT_EQ(all[2]["verify_name"], std::string(p::verify_mode_name(4).value()));

  // Every device, oldest first.
  auto everything = ok(api("GET", "/api/v1/events"));
  ASSERT_EQ(everything.size(), 4u);
  EXPECT_EQ(everything[3]["sn"], other);
  EXPECT_EQ(everything[3]["verifytype"], "0000000000000110");
  EXPECT_EQ(everything[3]["verify_name"], std::string(p::vf_bit_name(1)) + "/" + std::string(p::vf_bit_name(2)));

  auto first_two = ok(api("GET", "/api/v1/events?sn=" + sn + "&limit=2"));
  ASSERT_EQ(first_two.size(), 2u);
  EXPECT_EQ(first_two[1]["index"], 2);
  auto rest = ok(api("GET", "/api/v1/events?sn=" + sn + "&after_id=" + std::to_string(first_two[1]["id"].get<std::int64_t>())));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]["index"], 3);
  EXPECT_EQ(ok(api("GET", "/api/v1/events?sn=" + sn + "&limit=5000")).size(), 3u);  // capped, not refused
  EXPECT_EQ(ok(api("GET", "/api/v1/events?sn=&after_id=&limit=")).size(), 4u);      // empty = absent
  EXPECT_EQ(ok(api("GET", "/api/v1/events?sn=NOSUCH")), json::array());

  for (const std::string query : {"limit=abc", "limit=0", "limit=-5", "after_id=x", "after_id=-1", "limit=10abc"}) {
    SCOPED_TRACE(query);
    expect_error(api("GET", "/api/v1/events?" + query), 400);
  }
  expect_error(api("POST", "/api/v1/events"), 405);
}

TEST_F(ApiTest, CommandLifecycleWithReturnNames) {
  start_api();
  const std::string sn = "CMD0001";
  const std::string token = handshake(sn);

  auto created_r = api("POST", "/api/v1/devices/" + sn + "/commands", R"({"line": "DATA DELETE user Pin=1"})");
  auto created = ok(created_r, 201);
  EXPECT_EQ(keys_of(created), kCommandKeys) << created;
  const std::int64_t id = created["id"];
  EXPECT_EQ(created["sn"], sn);
  EXPECT_EQ(created["line"], "DATA DELETE user Pin=1");
  EXPECT_EQ(created["verb"], "DATA DELETE");
  EXPECT_EQ(created["priority"], "normal");
  EXPECT_EQ(created["status"], "queued");
  EXPECT_TRUE(created["return"].is_null());
  EXPECT_TRUE(created["return_name"].is_null());
  EXPECT_TRUE(created["result"].is_null());
  EXPECT_TRUE(created["sent_at"].is_null());
  EXPECT_TRUE(created["expires_at"].is_null());
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 1);

  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].id, std::to_string(created["wire_id"].get<std::int64_t>()));  // the server's C:<id>:
  auto sent = ok(api("GET", "/api/v1/commands/" + std::to_string(id)));
  EXPECT_EQ(sent["status"], "sent");
  EXPECT_EQ(sent["attempts"], 1);

  report(sn, token, commands[0], -629);
  auto failed = ok(api("GET", "/api/v1/commands/" + std::to_string(id)));
  EXPECT_EQ(keys_of(failed), kCommandKeys);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["return"], -629);
  EXPECT_EQ(failed["return_name"], std::string(p::return_code_name(-629).value()));
  EXPECT_TRUE(failed["result"].is_null());  // the device uploaded nothing for it
  EXPECT_EQ(failed["result_line"]["return"], -629);

  // CONTROL DEVICE gets the default expiry; an explicit one is honoured.
  auto control = ok(api("POST", "/api/v1/devices/" + sn + "/commands", R"({"line": "CONTROL DEVICE 01010105", "expires_in": 600})"),
                    201);
  EXPECT_EQ(control["expires_at"].get<std::int64_t>() - control["created_at"].get<std::int64_t>(), 600);
  EXPECT_EQ(control["priority"], "control");
  auto controls = poll(sn, token);
  ASSERT_EQ(controls.size(), 1u);
  report(sn, token, controls[0], 0);
  auto done = ok(api("GET", "/api/v1/commands/" + std::to_string(control["id"].get<std::int64_t>())));
  EXPECT_EQ(done["status"], "done");
  EXPECT_EQ(done["return"], 0);
  EXPECT_EQ(done["return_name"], std::string(p::return_code_name(0).value()));
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 0);
}

TEST_F(ApiTest, CommandResultHoldsWhatTheDeviceUploaded) {
  start_api();
  const std::string sn = "QUERY0001";
  const std::string token = handshake(sn);
  const auto query = post_command(sn, "DATA QUERY tablename=user,fielddesc=*,filter=*");
  const auto count = post_command(sn, "DATA COUNT user");
  const auto options = post_command(sn, "GET OPTIONS ~DeviceName,LockCount");
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 3u);

  auto data = send(p::format_querydata_tabledata(sn, commands[0].id, "user",
                                                 {p::Record{{"uid", "1"}, {"pin", "1"}, {"name", "Ann"}},
                                                  p::Record{{"uid", "2"}, {"pin", "2"}, {"name", "Bob"}}}),
                   token);
  EXPECT_EQ(data.status, 200);
  EXPECT_EQ(send(p::format_querydata_count(sn, commands[1].id, "user", 2), token).status, 200);
  EXPECT_EQ(send(p::format_querydata_options(sn, commands[2].id, p::Record{{"~DeviceName", "inBio460"}, {"LockCount", "4"}}),
                 token)
                .status,
            200);
  report(sn, token, commands[0], 2);
  report(sn, token, commands[1], 2);
  report(sn, token, commands[2], 0);

  auto q = ok(api("GET", "/api/v1/commands/" + std::to_string(query)));
  EXPECT_EQ(keys_of(q), kCommandKeys);
  EXPECT_EQ(q["status"], "done");
  EXPECT_EQ(q["return"], 2);  // a record count for DATA QUERY
  EXPECT_EQ(q["return_kind"], "count");
  ASSERT_TRUE(q["result"].is_object()) << q;
  EXPECT_EQ(q["result"]["table"], "user");
  EXPECT_EQ(q["result"]["records"], (json{{{"uid", "1"}, {"pin", "1"}, {"name", "Ann"}},
                                          {{"uid", "2"}, {"pin", "2"}, {"name", "Bob"}}}));
  ASSERT_EQ(q["result"]["uploads"].size(), 1u);
  EXPECT_EQ(q["result"]["uploads"][0]["kind"], "tabledata");

  auto c = ok(api("GET", "/api/v1/commands/" + std::to_string(count)));
  EXPECT_EQ(c["result"]["counts"], (json{{"user", 2}})) << c;
  EXPECT_FALSE(c["result"].contains("records"));

  auto o = ok(api("GET", "/api/v1/commands/" + std::to_string(options)));
  EXPECT_EQ(o["result"]["options"], (json{{"~DeviceName", "inBio460"}, {"LockCount", "4"}})) << o;
  // GET OPTIONS answers are the device's options too.
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["options"]["LockCount"], "4");
}

TEST_F(ApiTest, AccountResultSummarisesTheArchive) {
  start_api();
  const std::string sn = "ACCOUNT0001";
  const std::string token = handshake(sn);
  // rtlog delivered index 1; the device's log holds 1..3.
  send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}), token);
  const auto id = post_command(sn, "ACCOUNT transaction ContentType=tgz MaxIndex=0");
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 1u);
  std::vector<p::Record> log;
  for (int i = 1; i <= 3; ++i) {
    const auto zk = std::to_string(p::encode_zktime(p::CivilTime{2019, 7, 22, 16, 30, i}).value());
    log.push_back(p::Record{{"cardno", "0"}, {"pin", "1"}, {"verified", "1"}, {"doorid", "1"}, {"eventtype", "0"},
                            {"inoutstate", "0"}, {"time_second", zk}, {"index", std::to_string(i)}});
  }
  auto tgz = p::transaction_tgz(log);
  ASSERT_TRUE(tgz.ok());
  EXPECT_EQ(send(p::format_querydata_account(sn, commands[0].id, *tgz, 3), token).status, 200);
  EXPECT_EQ(send(p::format_querydata_account(sn, commands[0].id, *tgz, 3), token).status, 200);  // re-posted
  report(sn, token, commands[0], 3);

  auto account = ok(api("GET", "/api/v1/commands/" + std::to_string(id)));
  EXPECT_EQ(keys_of(account), kCommandKeys);
  EXPECT_EQ(account["status"], "done");
  EXPECT_EQ(account["return_kind"], "count");
  ASSERT_TRUE(account["result"].is_object()) << account;
  EXPECT_EQ(account["result"]["account"],
            (json{{"records", 3}, {"missing_inserted", 2}, {"expected_records", nullptr}}));
  // Both posts are listed (the second found nothing missing) but the records are counted once.
  ASSERT_EQ(account["result"]["files"].size(), 2u) << account;
  EXPECT_EQ(account["result"]["files"][0]["kind"], "account");
  EXPECT_EQ(account["result"]["files"][0]["missing_inserted"], 2);
  EXPECT_EQ(account["result"]["files"][1]["missing_inserted"], 0);
  EXPECT_FALSE(account["result"].contains("records"));
  // The recovered transactions are events.
  EXPECT_EQ(ok(api("GET", "/api/v1/events?sn=" + sn)).size(), 3u);
}

TEST_F(ApiTest, CancelOnlyQueuedAndKeepPendingInStep) {
  start_api();
  const std::string sn = "CANCEL0001";
  const std::string token = handshake(sn);
  const auto first = post_command(sn, "DATA DELETE user Pin=1");
  const auto second = post_command(sn, "DATA DELETE user Pin=2");
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 2);

  auto cancelled = ok(api("DELETE", "/api/v1/commands/" + std::to_string(first)));
  EXPECT_EQ(keys_of(cancelled), kCommandKeys);
  EXPECT_EQ(cancelled["id"], first);
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_FALSE(cancelled["done_at"].is_null());
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 1);
  // Cancelling again is answered with the same view and does not count twice.
  EXPECT_EQ(ok(api("DELETE", "/api/v1/commands/" + std::to_string(first)))["status"], "cancelled");
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 1);

  // The cancelled one never reaches the device; the other does.
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].id, std::to_string(ok(api("GET", "/api/v1/commands/" + std::to_string(second)))["wire_id"].get<std::int64_t>()));

  // Delivered: too late to cancel.
  expect_error(api("DELETE", "/api/v1/commands/" + std::to_string(second)), 409);
  EXPECT_EQ(ok(api("GET", "/api/v1/commands/" + std::to_string(second)))["status"], "sent");
  report(sn, token, commands[0], 0);
  expect_error(api("DELETE", "/api/v1/commands/" + std::to_string(second)), 409);
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 0);

  // Pending back to zero after a cancel: the next poll is answered without a command.
  const auto third = post_command(sn, "DATA DELETE user Pin=3");
  ok(api("DELETE", "/api/v1/commands/" + std::to_string(third)));
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 0);
  EXPECT_TRUE(poll(sn, token).empty());
  EXPECT_EQ(stored_command(third)->status, storage::CommandStatus::cancelled);

  expect_error(api("DELETE", "/api/v1/commands/999999"), 404);
  expect_error(api("DELETE", "/api/v1/commands/abc"), 400);
}

// "priority" orders delivery: control before normal before bulk, oldest first within each; by
// default CONTROL DEVICE is control and everything else normal.
TEST_F(ApiTest, PriorityOrdersDelivery) {
  start_api();
  const std::string sn = "PRIO0001";
  const std::string token = handshake(sn);
  const std::string target = "/api/v1/devices/" + sn + "/commands";
  auto bulk = ok(api("POST", target, R"({"line": "DATA DELETE user Pin=1", "priority": "bulk"})"), 201);
  EXPECT_EQ(bulk["priority"], "bulk");
  auto normal = ok(api("POST", target, R"({"line": "DATA DELETE user Pin=2"})"), 201);
  EXPECT_EQ(normal["priority"], "normal");
  auto urgent = ok(api("POST", target, R"({"line": "DATA DELETE user Pin=3", "priority": "control"})"), 201);
  EXPECT_EQ(urgent["priority"], "control");
  auto door = ok(api("POST", target, R"({"line": "CONTROL DEVICE 01010105"})"), 201);
  EXPECT_EQ(door["priority"], "control");
  auto demoted = ok(api("POST", target, R"({"line": "CONTROL DEVICE 01010205", "priority": "normal", "expires_in": null})"), 201);
  EXPECT_EQ(demoted["priority"], "normal");
  EXPECT_EQ(ok(api("GET", "/api/v1/commands/" + std::to_string(bulk["id"].get<std::int64_t>())))["priority"], "bulk");

  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 5u);
  std::vector<std::string> order;
  for (const auto& c : commands) order.push_back(c.id);
  auto wire = [](const json& created) { return std::to_string(created["wire_id"].get<std::int64_t>()); };
  EXPECT_EQ(order, (std::vector<std::string>{wire(urgent), wire(door), wire(normal), wire(demoted), wire(bulk)}));
}

TEST_F(ApiTest, BadCommandRequests) {
  start_api();
  const std::string sn = "BADCMD0001";
  handshake(sn);
  const std::string target = "/api/v1/devices/" + sn + "/commands";
  expect_error(api("POST", target, "{not json"), 400);
  expect_error(api("POST", target), 400);  // no body
  expect_error(api("POST", target, R"(["CONTROL DEVICE 01010105"])"), 400);
  expect_error(api("POST", target, R"({"line": 5})"), 400);
  expect_error(api("POST", target, R"({"line": ""})"), 400);
  expect_error(api("POST", target, R"({"line": "NO SUCH VERB 1"})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105\nCONTROL DEVICE 01010105"})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105", "expires_in": "soon"})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105", "expires_in": -1})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105", "expires_in": 0})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105", "priority": "urgent"})"), 400);
  expect_error(api("POST", target, R"({"line": "CONTROL DEVICE 01010105", "priority": 0})"), 400);
  expect_error(api("POST", "/api/v1/devices/NOSUCH/commands", R"({"line": "CONTROL DEVICE 01010105"})"), 404);
  auto wrong = api("PUT", target);
  expect_error(wrong, 405);
  const auto allow = std::string(wrong.header("Allow").value_or(""));
  EXPECT_NE(allow.find("POST"), std::string::npos) << allow;
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["pending"], 0);  // nothing was queued

  expect_error(api("GET", "/api/v1/commands/abc"), 400);
  expect_error(api("GET", "/api/v1/commands/0"), 400);
  expect_error(api("GET", "/api/v1/commands/999999"), 404);
  auto put = api("PUT", "/api/v1/commands/1");
  expect_error(put, 405);
  EXPECT_EQ(put.header("Allow").value_or(""), "GET, DELETE");

  // Over the API's 1 MiB: refused by the transport before the body is read.
  const std::string big = R"({"line": ")" + std::string((1u << 20) + 16, 'x') + R"("})";
  auto oversize = send_raw(http::test::request("POST", target, big, "Authorization: Bearer " + kApiToken + "\r\n"), true);
  EXPECT_EQ(oversize.status, 413);
}

TEST_F(ApiTest, UnknownRoutes) {
  start_api();
  for (const std::string target : {"/api/v1/nope", "/api/v2/devices", "/api/v1", "/api/v1/devices/X/state/more",
                                   "/api/v1/devices/X/shutdown", "/api/v1/commands/1/result"}) {
    SCOPED_TRACE(target);
    expect_error(api("GET", target), 404);
  }
}

// Typed door control: the protocol core builds the CONTROL DEVICE line; ?wait= answers with the
// device's Return once it came (200) or the command as it stands when the wait ran out (504).
TEST_F(ApiTest, DoorOpenIsBuiltForTheCallerAndCanWaitForTheDevicesAnswer) {
  start_api();
  const std::string sn = "DOOR0001";
  const std::string token = handshake(sn);
  // At once: 201, queued with the control priority and a deadline.
  auto open = ok(api("POST", "/api/v1/doors/" + sn + "/2/open", R"({"seconds": 7})"), 201);
  EXPECT_EQ(open["line"], "CONTROL DEVICE 01020107");
  EXPECT_EQ(open["priority"], "control");
  EXPECT_TRUE(open["expires_at"].is_number_integer()) << open;
  auto delivered = poll(sn, token);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(p::format_command(delivered[0]).substr(p::format_command(delivered[0]).find(':', 2) + 1), "CONTROL DEVICE 01020107");
  report(sn, token, delivered[0], 0);

  // Waiting: the device answers within the wait.
  std::thread device([&] { EXPECT_TRUE(answer_next_command(sn, token, 0)); });
  auto waited = api("POST", "/api/v1/doors/" + sn + "/1/open?wait=5s", R"({"seconds": 5})");
  device.join();
  auto answered = ok(waited, 200);
  EXPECT_EQ(answered["line"], "CONTROL DEVICE 01010105");
  EXPECT_EQ(answered["status"], "done");
  EXPECT_EQ(answered["return"], 0);
  EXPECT_TRUE(answered["return_name"].is_string()) << answered;

  // Refused by the device: still 200, with its Return.
  std::thread refusing([&] { EXPECT_TRUE(answer_next_command(sn, token, -1001)); });
  auto lock = api("POST", "/api/v1/doors/" + sn + "/1/lock?wait=5000ms", "");
  refusing.join();
  auto locked = ok(lock, 200);
  EXPECT_EQ(locked["line"], "CONTROL DEVICE 06010100");
  EXPECT_EQ(locked["return"], -1001);

  // No answer in time: 504 with the command as it stands.
  const auto before = std::chrono::steady_clock::now();
  auto late = api("POST", "/api/v1/doors/" + sn + "/3/normal-open?wait=1s", R"({"enable": false})");
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(900));
  auto late_body = json::parse(late.body);
  EXPECT_EQ(late_body["line"], "CONTROL DEVICE 04030000");
  EXPECT_EQ(late_body["status"], "queued");

  // The other actions, at once.
  EXPECT_EQ(ok(api("POST", "/api/v1/doors/" + sn + "/1/close", ""), 201)["line"], "CONTROL DEVICE 01010100");
  EXPECT_EQ(ok(api("POST", "/api/v1/doors/" + sn + "/4/unlock", "{}"), 201)["line"], "CONTROL DEVICE 06040000");
  EXPECT_EQ(ok(api("POST", "/api/v1/doors/" + sn + "/2/normal-open", ""), 201)["line"], "CONTROL DEVICE 04020100");
  EXPECT_EQ(ok(api("POST", "/api/v1/doors/" + sn + "/1/cancel-alarm", ""), 201)["line"], "CONTROL DEVICE 02000000");

  // Refused with a reason: the caller never writes the line.
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/open", R"({"seconds": 0})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/open", R"({"seconds": 255})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/open", R"({"seconds": 5, "expire_in": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/17/open", R"({"seconds": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/x/open", R"({"seconds": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/open?wait=61s", R"({"seconds": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/open?wait=soon", R"({"seconds": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/" + sn + "/1/close", R"({"seconds": 5})"), 400);
  expect_error(api("POST", "/api/v1/doors/NOSUCH01/1/open", R"({"seconds": 5})"), 404);
}

// A door open that expires before the wait ends was never answered: 504, the command expired.
TEST_F(ApiTest, ADoorOpenThatExpiresWhileWaitedForIsA504) {
  ServerConfig config;
  config.control_device_expiry = 1;
  start_api(config);
  const std::string sn = "DOOR0002";
  handshake(sn);
  const auto before = std::chrono::steady_clock::now();
  auto r = api("POST", "/api/v1/doors/" + sn + "/1/open?wait=10s", R"({"seconds": 3})");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(8));  // at its expiry (1 s), not the wait's end (10 s)
  EXPECT_EQ(json::parse(r.body)["status"], "expired");
}

// Commands can be listed: a device's and every device's, newest first, by status, paged.
TEST_F(ApiTest, CommandsAreListedNewestFirstByStatusAndPaged) {
  start_api();
  const std::string sn = "LIST0001";
  const std::string token = handshake(sn);
  handshake("LIST0002");
  const auto first = post_command(sn, "DATA COUNT user");
  const auto second = post_command(sn, "CONTROL DEVICE 03000000");
  const auto other = post_command("LIST0002", "DATA COUNT user");
  auto delivered = poll(sn, token);
  ASSERT_EQ(delivered.size(), 2u);
  report(sn, token, delivered[0], 0);  // the CONTROL DEVICE goes first (control priority)
  const auto third = post_command(sn, "DATA COUNT templatev10");

  auto all = ok(api("GET", "/api/v1/devices/" + sn + "/commands"));
  ASSERT_EQ(all.size(), 3u) << all;
  EXPECT_EQ(all[0]["id"], third);
  EXPECT_EQ(all[1]["id"], second);
  EXPECT_EQ(all[2]["id"], first);
  EXPECT_EQ(all[1]["status"], "done");
  EXPECT_EQ(all[2]["status"], "sent");
  EXPECT_EQ(all[0]["status"], "queued");
  auto open = ok(api("GET", "/api/v1/devices/" + sn + "/commands?status=open"));
  ASSERT_EQ(open.size(), 2u) << open;
  EXPECT_EQ(open[0]["id"], third);
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn + "/commands?status=done")).size(), 1u);
  // Paging: one at a time, below the last id seen.
  auto page = ok(api("GET", "/api/v1/devices/" + sn + "/commands?limit=1&before_id=" + std::to_string(third)));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0]["id"], second);
  // Every device, or one through ?sn=.
  auto every = ok(api("GET", "/api/v1/commands?status=queued,sent"));
  std::set<std::int64_t> ids;
  for (const auto& c : every) ids.insert(c["id"].get<std::int64_t>());
  EXPECT_EQ(ids, (std::set<std::int64_t>{first, third, other}));
  EXPECT_EQ(ok(api("GET", "/api/v1/commands?sn=LIST0002")).size(), 1u);
  // Refused with a reason.
  expect_error(api("GET", "/api/v1/devices/" + sn + "/commands?status=lost"), 400);
  expect_error(api("GET", "/api/v1/devices/" + sn + "/commands?before_id=x"), 400);
  expect_error(api("GET", "/api/v1/devices/" + sn + "/commands?limit=0"), 400);
  expect_error(api("GET", "/api/v1/devices/NOSUCH01/commands"), 404);
}

TEST_F(ApiTest, RawCommandsAreCheckedAgainstTheCatalogueAndMayCarrySeveralRecords) {
  start_api();
  const std::string sn = "RAW00001";
  handshake(sn);
  const std::string path = "/api/v1/devices/" + sn + "/commands";
  auto refused = [&](const std::string& body, const std::string& needle) {
    auto r = api("POST", path, body);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    auto j = body_of(r);
    EXPECT_NE(j.value("error", "").find(needle), std::string::npos) << j;
    return j;
  };
  // The C:<id>: prefix gets a hint, not "unknown command verb".
  auto prefixed = refused(R"({"line": "C:12:DATA UPDATE user Pin=1\tName=Ann"})", "leave out");
  EXPECT_EQ(prefixed["field"], "line");
  refused(R"({"line": "DATA UPDATE nosuchtable Pin=1"})", "nosuchtable");
  refused(R"({"line": "FLY AWAY"})", "unknown command verb");
  refused(R"({"line": "CONTROL DEVICE 01010105", "expire_in": 5})", "expire_in");
  EXPECT_EQ(body_of(api("POST", path, R"({"line": "CONTROL DEVICE 01010105", "expire_in": 5})"))["code"], "unknown_field");
  refused(R"({"line": "CONTROL DEVICE 01010105\nCONTROL DEVICE 01020105"})", "DATA UPDATE");
  // Several records of one DATA UPDATE, one per line (CRLF accepted, sent as LF).
  auto multi = ok(api("POST", path, R"({"line": "DATA UPDATE user CardNo=\tPin=1\tPassword=\tGroup=0\tStartTime=0\tEndTime=0\tName=Ann\tPrivilege=0\r\nCardNo=\tPin=2\tPassword=\tGroup=0\tStartTime=0\tEndTime=0\tName=Bo\tPrivilege=0"})"), 201);
  EXPECT_EQ(multi["line"].get<std::string>().find('\r'), std::string::npos);
  EXPECT_NE(multi["line"].get<std::string>().find("\nCardNo=\tPin=2"), std::string::npos) << multi;
}

TEST_F(ApiTest, TypedControlsAreBuiltByTheProtocolCore) {
  start_api();
  const std::string sn = "CTRL0001";
  handshake(sn);
  const std::string dev = "/api/v1/devices/" + sn;
  EXPECT_EQ(ok(api("POST", dev + "/aux/2/on", R"({"seconds": 9})"), 201)["line"], "CONTROL DEVICE 01020209");
  EXPECT_EQ(ok(api("POST", dev + "/aux/1/on", ""), 201)["line"], "CONTROL DEVICE 010102FF");
  EXPECT_EQ(ok(api("POST", dev + "/aux/1/off", ""), 201)["line"], "CONTROL DEVICE 01010200");
  EXPECT_EQ(ok(api("POST", dev + "/reboot", ""), 201)["line"], "CONTROL DEVICE 03000000");
  // The device's wall-clock time, as Appendix 5 counts it.
  auto time = ok(api("POST", dev + "/time", R"({"time": "2026-12-06 10:00:00"})"), 201);
  EXPECT_EQ(time["line"], "SET OPTIONS DateTime=" + std::to_string(*p::encode_zktime(*p::parse_datetime("2026-12-06 10:00:00"))));
  EXPECT_EQ(ok(api("POST", dev + "/time", ""), 201)["line"].get<std::string>().rfind("SET OPTIONS DateTime=", 0), 0u);
  EXPECT_EQ(ok(api("POST", dev + "/options/get", R"({"keys": ["~DeviceName", "LockCount"]})"), 201)["line"],
            "GET OPTIONS ~DeviceName,LockCount");
  EXPECT_EQ(ok(api("POST", dev + "/options", R"({"options": {"Door1Drivertime": 5}})"), 201)["line"],
            "SET OPTIONS Door1Drivertime=5");
  // Bad values name their field.
  EXPECT_EQ(body_of(api("POST", dev + "/aux/1/on", R"({"seconds": 300})"))["field"], "seconds");
  EXPECT_EQ(api("POST", dev + "/aux/99/on", "").status, 400);
  EXPECT_EQ(body_of(api("POST", dev + "/time", R"({"time": "yesterday"})"))["field"], "time");
  EXPECT_EQ(body_of(api("POST", dev + "/options/get", R"({"keys": []})"))["field"], "keys");
  EXPECT_EQ(body_of(api("POST", dev + "/options", R"({"opts": {}})"))["code"], "unknown_field");
  EXPECT_EQ(api("POST", "/api/v1/devices/NOSUCH/reboot", "").status, 404);
}

// Every CONTROL DEVICE action by its groups: two hex digits each on the wire, checked against 9.4.
TEST_F(ApiTest, AnyControlActionByItsGroups) {
  start_api();
  const std::string sn = "CTRL0002";
  handshake(sn);
  const std::string control = "/api/v1/devices/" + sn + "/control";
  EXPECT_EQ(ok(api("POST", control, R"({"action": 11, "bb": 1})"), 201)["line"], "CONTROL DEVICE 0B010000");
  EXPECT_EQ(ok(api("POST", control, R"({"action": 13})"), 201)["line"], "CONTROL DEVICE 0D000000");
  EXPECT_EQ(ok(api("POST", control, R"({"action": 16, "bb": 4})"), 201)["line"], "CONTROL DEVICE 10040000");
  EXPECT_EQ(ok(api("POST", control, R"({"action": 12, "bb": 1, "cc": 2, "dd": 30})"), 201)["line"],
            "CONTROL DEVICE 0C01021E");
  EXPECT_EQ(ok(api("POST", control, R"({"action": 5})"), 201)["line"], "CONTROL DEVICE 05000000");
  // Floors 1 and 3: the first byte of the bitmap is 1010 0000.
  EXPECT_EQ(ok(api("POST", control, R"({"action": 17, "floors": [1, 3], "dd": 9})"), 201)["line"],
            "CONTROL DEVICE 11A0" + std::string(62, '0') + "0009");
  // The manual's table decides: unknown action, group out of range, floors where none belong.
  EXPECT_EQ(api("POST", control, R"({"action": 19})").status, 400);
  EXPECT_EQ(api("POST", control, R"({"action": 11, "bb": 5})").status, 400);
  EXPECT_EQ(api("POST", control, R"({"action": 2, "floors": [1]})").status, 400);
  EXPECT_EQ(api("POST", control, R"({"action": 17, "dd": 9})").status, 400);
  EXPECT_EQ(api("POST", control, R"({"action": 1, "bb": 256})").status, 400);
  EXPECT_EQ(api("POST", control, R"({"bb": 1})").status, 400);
  EXPECT_EQ(body_of(api("POST", control, R"({"action": 5, "ee": 1})"))["code"], "unknown_field");
  EXPECT_EQ(api("POST", "/api/v1/devices/NOSUCH/control", R"({"action": 5})").status, 404);
}

TEST_F(ApiTest, DevicesAreDeletedOrRejected) {
  ServerConfig config;
  config.registration = RegistrationPolicy::approve;
  start_api(config);
  const std::string waiting = "WAIT0001";
  send(p::format_init_request(waiting));
  ASSERT_EQ(ok(api("GET", "/api/v1/devices/" + waiting))["approved"], false);
  // Rejected: forgotten.
  EXPECT_EQ(ok(api("POST", "/api/v1/devices/" + waiting + "/reject", ""))["deleted"], true);
  EXPECT_EQ(api("GET", "/api/v1/devices/" + waiting).status, 404);
  // An approved device is not rejected but deleted, with its commands; its events stay.
  const std::string sn = "GONE0001";
  send(p::format_init_request(sn));
  ok(api("POST", "/api/v1/devices/" + sn + "/approve", ""));
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 10:00:00")}), token).status, 200);
  ok(api("POST", "/api/v1/doors/" + sn + "/1/open", ""), 201);
  EXPECT_EQ(api("POST", "/api/v1/devices/" + sn + "/reject", "").status, 409);
  EXPECT_EQ(ok(api("DELETE", "/api/v1/devices/" + sn, ""))["deleted"], true);
  EXPECT_EQ(api("GET", "/api/v1/devices/" + sn).status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/devices/" + sn, "").status, 404);
  EXPECT_FALSE(stored_device(sn).has_value());
  EXPECT_EQ(stored_pending(sn), 0);
  EXPECT_EQ(stored_event_count(sn), 1);
  // Calling again, it starts over: waiting for approval.
  send(p::format_init_request(sn));
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + sn))["approved"], false);
}

}  // namespace
}  // namespace zkpush::server
