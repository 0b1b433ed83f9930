// Device-side attack shapes against a real server over real sockets (docs/security-devices.md): one
// test per shape, each asserting the exact status and that nothing changed in the store — forged
// requests under each token policy, unregistered serial numbers, answers for another device's
// commands and replayed answers, line breaks in field values, remote identification at another
// panel's door, a master claiming a direct device, panel enrolment reaching another panel — and
// the defences themselves: rate limits (503, Retry-After, metric) and lockouts after wrong tokens
// (403, metric, "security" message, audit entry, lifted through the API).
#include <nlohmann/json.hpp>

#include <cstdio>

#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kSecAdmin = "device-security-admin";

class DeviceSecurityTest : public ServeFixture {
 protected:
  void start_with(ServerConfig config = {}) {
    config.api_token = kSecAdmin;
    start(config);
  }
  RawResponse api_raw(const std::string& method, const std::string& target, const json& body = nullptr) {
    return send_raw(http::test::request(method, target, body.is_null() ? "" : body.dump(),
                                        "Authorization: Bearer " + kSecAdmin + "\r\nContent-Type: application/json\r\n"));
  }
  json api(const std::string& method, const std::string& target, const json& body = nullptr, int status = 0) {
    auto r = api_raw(method, target, body);
    if (status) {
      EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    }
    return json::parse(r.body, nullptr, false);
  }
  // One sample of /metrics, e.g. `zkpush_device_lockouts_total{scope="device"}`; -1 when absent.
  std::int64_t metric(const std::string& sample) {
    auto r = send_raw(http::test::request("GET", "/metrics", "", ""));
    const auto at = r.body.find("\n" + sample + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(r.body.substr(at + sample.size() + 2));
  }
  std::vector<storage::Message> security_messages(const std::string& sn = {}) {
    storage::MessageFilter f;
    f.kinds = {"security"};
    f.sn = sn;
    return zkpush::test::read(app_->store(), [f](storage::Reads& r) { return r.messages().list(f); });
  }
  std::vector<storage::AuditEntry> audit_of(const std::string& actor) {
    storage::AuditFilter f;
    f.actor = actor;
    return zkpush::test::read(app_->store(), [f](storage::Reads& r) { return r.audit().list(f); });
  }
  std::vector<storage::CommandRow> commands_of(const std::string& sn, std::vector<std::string> verbs = {}) {
    storage::CommandFilter f;
    f.sn = sn;
    f.verbs = std::move(verbs);
    return zkpush::test::read(app_->store(), [f](storage::Reads& r) { return r.commands().list(f); });
  }
  // The lockout's writes are asynchronous: a later write commits after them.
  void settle() {
    zkpush::test::write(app_->store(), [](storage::Transaction&) {});
  }
  static std::vector<p::Record> one_event(int index) {
    return {rtlog_record(index, "2027-03-03 12:00:0" + std::to_string(index % 10))};
  }
  RawResponse rtlog(const std::string& sn, const std::string& token, int index = 1) {
    return send(p::format_rtlog_upload(sn, one_event(index)), token);
  }
  // Polls once as `sn`; the commands delivered.
  std::vector<p::Command> poll(const std::string& sn, const std::string& token) {
    auto r = send(p::format_getrequest(sn), token);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.body == "OK") return {};
    auto commands = p::parse_commands(r.body);
    EXPECT_TRUE(commands.ok()) << r.body;
    return commands.ok() ? *commands : std::vector<p::Command>{};
  }
  RawResponse answer(const std::string& sn, const std::string& token, const std::string& line) {
    return send(p::format_devicecmd_results(sn, {p::parse_amp_list(line)}), token);
  }
};

// ---- forged device requests ---------------------------------------------------------------------------------

TEST_F(DeviceSecurityTest, ForgedRequestWithoutTokenRefusedWhenTheCookieIsRequired) {
  ServerConfig config;
  config.allow_missing_cookie = false;  // --require-cookie
  start_with(config);
  const std::string victim = "SECVICTIM1";
  const std::string token = handshake(victim);
  const auto command = enqueue(victim, "CONTROL DEVICE 01010105");
  // Someone who knows the serial number but not the token.
  EXPECT_EQ(rtlog(victim, "").status, 401);
  EXPECT_EQ(send(p::format_getrequest(victim)).status, 401);
  EXPECT_EQ(answer(victim, "", "ID=1&Return=0&CMD=CONTROL DEVICE").status, 401);
  EXPECT_EQ(stored_event_count(victim), 0);
  auto row = stored_command(command);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, storage::CommandStatus::queued);  // neither delivered nor closed
  EXPECT_FALSE(row->return_code.has_value());
  // The device itself still gets through.
  EXPECT_EQ(rtlog(victim, token).status, 200);
}

// The default cookie policy (accept a request without one: firmware that sends none) lets anyone
// who knows a serial number act as the device; docs/security-devices.md says to use --require-cookie.
TEST_F(DeviceSecurityTest, ForgedRequestWithoutTokenAcceptedUnderTheDefaultCookiePolicy) {
  start_with();
  const std::string victim = "SECVICTIM2";
  handshake(victim);
  EXPECT_EQ(rtlog(victim, "").status, 200);
  EXPECT_EQ(stored_event_count(victim), 1);
  EXPECT_EQ(metric("zkpush_token_missing_total"), 1);
}

TEST_F(DeviceSecurityTest, ForgedRequestWithWrongTokenRefusedUnderStrict) {
  start_with();
  const std::string victim = "SECVICTIM3";
  handshake(victim);
  const auto command = enqueue(victim, "CONTROL DEVICE 01010105");
  const std::string forged(32, 'a');
  auto r = rtlog(victim, forged);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "bad token");
  EXPECT_EQ(send(p::format_getrequest(victim), forged).status, 401);
  EXPECT_EQ(answer(victim, forged, "ID=1&Return=0&CMD=CONTROL DEVICE").status, 401);
  EXPECT_EQ(stored_event_count(victim), 0);
  auto row = stored_command(command);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, storage::CommandStatus::queued);
  EXPECT_EQ(row->attempts, 0);
  EXPECT_EQ(metric("zkpush_token_mismatch_total{policy=\"strict\"}"), 3);
}

// Under warn a wrong token is accepted and reported: not a defence, and not counted towards a lockout.
TEST_F(DeviceSecurityTest, ForgedRequestWithWrongTokenAcceptedUnderWarnNeverLocksOut) {
  ServerConfig config;
  config.token = TokenPolicy::warn;
  config.lockout_after = 3;
  start_with(config);
  const std::string victim = "SECVICTIM4";
  handshake(victim);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(rtlog(victim, std::string(32, 'b'), i).status, 200) << i;
  EXPECT_EQ(stored_event_count(victim), 5);
  EXPECT_EQ(metric("zkpush_token_mismatch_total{policy=\"warn\"}"), 5);
  EXPECT_EQ(metric("zkpush_device_lockouts_total{scope=\"device\"}"), 0);
}

TEST_F(DeviceSecurityTest, UnregisteredSerialNumberCannotUploadOrFetchCommands) {
  start_with();
  const std::string ghost = "SECGHOST1";
  EXPECT_EQ(rtlog(ghost, "").status, 401);
  EXPECT_EQ(send(p::format_getrequest(ghost)).status, 401);
  EXPECT_EQ(answer(ghost, "", "ID=1&Return=0&CMD=CONTROL DEVICE").status, 401);
  EXPECT_EQ(send(p::format_tabledata_upload(ghost, "user", {p::Record{{"pin", "9"}, {"name", "x"}}})).status, 401);
  EXPECT_EQ(send(p::format_remote_auth_request(ghost, rtlog_record(1, "2027-03-03 12:00:00"))).status, 401);
  EXPECT_FALSE(stored_device(ghost).has_value());  // no row for it
  EXPECT_EQ(stored_event_count(ghost), 0);
  EXPECT_TRUE(stored_records(ghost, "user").empty());
}

// ---- answers for commands -----------------------------------------------------------------------------------

TEST_F(DeviceSecurityTest, DevicecmdForAnotherDevicesCommandLeavesItUntouched) {
  start_with();
  const std::string a = "SECPANELA1", b = "SECPANELB1";
  const std::string token_a = handshake(a);
  const std::string token_b = handshake(b);
  const auto command = enqueue(b, "CONTROL DEVICE 01010105");
  auto delivered = poll(b, token_b);
  ASSERT_EQ(delivered.size(), 1u);
  const std::string wire_id = delivered[0].id;
  // A, with its own valid token, answers B's command id (A has no command of that id).
  auto r = answer(a, token_a, "ID=" + wire_id + "&Return=0&CMD=CONTROL DEVICE");
  EXPECT_EQ(r.status, 200);
  auto row = stored_command(command);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, storage::CommandStatus::sent);
  EXPECT_FALSE(row->return_code.has_value());
  EXPECT_EQ(row->done_at, 0);
  EXPECT_TRUE(commands_of(a).empty());
  // B's own answer closes it.
  EXPECT_EQ(answer(b, token_b, "ID=" + wire_id + "&Return=0&CMD=CONTROL DEVICE").status, 200);
  EXPECT_EQ(stored_command(command)->status, storage::CommandStatus::done);
}

TEST_F(DeviceSecurityTest, ReplayedDevicecmdAnswerIsIdempotent) {
  start_with();
  const std::string sn = "SECREPLAY1";
  const std::string token = handshake(sn);
  const auto command = enqueue(sn, "CONTROL DEVICE 01010105");
  auto delivered = poll(sn, token);
  ASSERT_EQ(delivered.size(), 1u);
  const std::string id = delivered[0].id;
  ASSERT_EQ(answer(sn, token, "ID=" + id + "&Return=0&CMD=CONTROL DEVICE").status, 200);
  const auto closed = stored_command(command);
  ASSERT_TRUE(closed);
  ASSERT_EQ(closed->status, storage::CommandStatus::done);
  // The same answer again, and a forged change of mind: both acknowledged, neither alters it.
  EXPECT_EQ(answer(sn, token, "ID=" + id + "&Return=0&CMD=CONTROL DEVICE").status, 200);
  EXPECT_EQ(answer(sn, token, "ID=" + id + "&Return=-1002&CMD=CONTROL DEVICE").status, 200);
  const auto after = stored_command(command);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, storage::CommandStatus::done);
  EXPECT_EQ(after->return_code, closed->return_code);
  EXPECT_EQ(after->done_at, closed->done_at);
  EXPECT_EQ(after->result, closed->result);
  EXPECT_EQ(stored_pending(sn), 0);
  EXPECT_TRUE(poll(sn, token).empty());  // nothing re-sent
}

// ---- line breaks and tabs in field values ---------------------------------------------------------------------

// A value cannot carry a line break or a tab through the wire format: the body's own separators
// split it. A record that tries to smuggle a command line is at most a malformed record of the
// uploading device; no command is queued for anyone.
TEST_F(DeviceSecurityTest, LineBreaksInUploadedValuesCannotInjectACommand) {
  start_with();
  const std::string a = "SECINJECTA", b = "SECINJECTB";
  const std::string token_a = handshake(a);
  const std::string token_b = handshake(b);
  const std::string body =
      "time=2027-03-03 12:00:00\tpin=1\r\nC:99:CONTROL DEVICE 01010105\tcardno=0\teventaddr=1\tevent=0\t"
      "inoutstatus=0\tverifytype=1\tindex=1\n";
  auto r = send_raw(http::test::request("POST", "/iclock/cdata?SN=" + a + "&table=rtlog", body,
                                        "Cookie: token=" + token_a + "\r\n"));
  EXPECT_EQ(r.status, 200) << r.body;
  // A user upload whose name tries the same through the user table, and through a tab.
  const std::string users =
      "user uid=1\tcardno=\tpin=77\tpassword=\tgroup=0\tstarttime=0\tendtime=0\tname=Mallory\r\n"
      "C:100:DATA UPDATE user Pin=1\tPrivilege=14\n"
      "user uid=2\tcardno=\tpin=78\tpassword=\tgroup=0\tstarttime=0\tendtime=0\tname=Eve\tC:101:CONTROL DEVICE 01010105\n";
  r = send_raw(http::test::request("POST", "/iclock/cdata?SN=" + a + "&table=tabledata&tablename=user&count=2", users,
                                   "Cookie: token=" + token_a + "\r\n"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(commands_of(a).empty());
  EXPECT_TRUE(commands_of(b).empty());
  EXPECT_EQ(stored_pending(a), 0);
  EXPECT_EQ(stored_pending(b), 0);
  EXPECT_TRUE(poll(b, token_b).empty());
  // Adopted persons (panel enrolment) carry no control characters in their names.
  for (const char* pin : {"77", "78"}) {
    auto person = api("GET", std::string("/api/v1/persons/") + pin);
    if (!person.is_object() || !person.contains("name")) continue;
    const auto name = person["name"].get<std::string>();
    EXPECT_EQ(name.find_first_of("\t\r\n"), std::string::npos) << name;
  }
}

// ---- commands for another device --------------------------------------------------------------------------

// Under the default panel_enrolment (new_persons_only) a panel cannot add a card to a person it did
// not enrol, so nothing of its upload reaches that person's other panels.
TEST_F(DeviceSecurityTest, PanelCannotPlantACardOnAnotherPanelsPersonUnderTheDefaultPolicy) {
  start_with();
  const std::string a = "SECENROLA1", b = "SECENROLB1";
  const std::string token_a = handshake(a);
  handshake(b);
  const auto level = api("POST", "/api/v1/access-levels", {{"name", "b door"}, {"time_rule_id", 1}, {"doors", {{{"sn", b}, {"door", 1}}}}}, 201);
  api("POST", "/api/v1/persons", {{"pin", "55"}, {"name", "Ria"}, {"cards", {"7654321"}}, {"access_levels", {level["id"]}}}, 201);
  auto r = send(p::format_tabledata_upload(a, "user", {p::Record{{"uid", "5"}, {"cardno", "999"}, {"pin", "55"}, {"name", "Ria"}}}), token_a);
  EXPECT_EQ(r.status, 200) << r.body;
  const auto person = api("GET", "/api/v1/persons/55", nullptr, 200);
  ASSERT_EQ(person["cards"].size(), 1u) << person;
  EXPECT_EQ(person["cards"][0].dump().find("999"), std::string::npos) << person;
  settle();
  EXPECT_TRUE(audit_of("device " + a).empty());
}

// Under panel_enrolment all it may, by the operator's choice: the person's other panels get the card,
// and the audit log says which panel caused it.
TEST_F(DeviceSecurityTest, PanelEnrolmentReachingAnotherPanelIsAudited) {
  ServerConfig config;
  config.panel_enrolment = "all";
  start_with(config);
  const std::string a = "SECENROLA2", b = "SECENROLB2";
  const std::string token_a = handshake(a);
  handshake(b);
  const auto level = api("POST", "/api/v1/access-levels", {{"name", "b door"}, {"time_rule_id", 1}, {"doors", {{{"sn", b}, {"door", 1}}}}}, 201);
  api("POST", "/api/v1/persons", {{"pin", "55"}, {"name", "Ria"}, {"cards", {"7654321"}}, {"access_levels", {level["id"]}}}, 201);
  auto r = send(p::format_tabledata_upload(a, "user", {p::Record{{"uid", "5"}, {"cardno", "999"}, {"pin", "55"}, {"name", "Ria"}}}), token_a);
  EXPECT_EQ(r.status, 200) << r.body;
  const auto person = api("GET", "/api/v1/persons/55", nullptr, 200);
  EXPECT_EQ(person["cards"].size(), 2u) << person;
  settle();
  auto entries = audit_of("device " + a);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].operation, "panelEnrolment");
  EXPECT_NE(entries[0].target.find("pin 55"), std::string::npos) << entries[0].target;
  EXPECT_NE(entries[0].target.find("-> panels " + b), std::string::npos) << entries[0].target;
}

// A master's DeviceAuthorize table naming a device that talks to the server itself does not make
// it a sub-controller: its commands are not relayed to the master, its own requests still pass.
TEST_F(DeviceSecurityTest, MasterCannotClaimADirectDeviceAsItsSubController) {
  start_with();
  const std::string master = "SECMASTER1", direct = "SECDIRECT1";
  auto init = send(p::format_init_request(master));
  ASSERT_EQ(init.status, 200);
  auto options = registry_options();
  options.add("MasterControlOn", "1");
  auto reg = send(p::format_registry_request(master, options));
  ASSERT_EQ(reg.status, 200);
  const auto code = p::parse_registry_answer(reg.status, reg.body).registry_code;
  auto push = send(p::format_push_config_request(master));
  const std::string token_m =
      p::compute_token(code, master, std::string(p::parse_config_answer(push.body).get_or("SessionID", "")));
  const std::string token_d = handshake(direct);
  p::Record claim{{"SN", direct}, {"Online", "1"}, {"IsAuthorize", "2"}, {"AuthorizeInfo", "~DeviceName=x"},
                  {"RegisterInfo", "LockCount=1,SubControlOn=1"}};
  EXPECT_EQ(send(p::format_device_authorize_upload(master, {claim}), token_m).status, 200);
  const auto command = enqueue(direct, "CONTROL DEVICE 01010105");
  EXPECT_TRUE(poll(master, token_m).empty());  // nothing of the direct device's reaches the master
  auto delivered = poll(direct, token_d);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(stored_command(command)->status, storage::CommandStatus::sent);
  EXPECT_TRUE(commands_of(master).empty());
}

// ---- remote identification ----------------------------------------------------------------------------------

TEST_F(DeviceSecurityTest, RemoteIdentificationForAnotherPanelsDoorIsRefused) {
  start_with();
  const std::string a = "SECRAUTHA1", b = "SECRAUTHB1";
  const std::string token_a = handshake(a);
  handshake(b);
  const auto level = api("POST", "/api/v1/access-levels", {{"name", "b door"}, {"time_rule_id", 1}, {"doors", {{{"sn", b}, {"door", 1}}}}}, 201);
  api("POST", "/api/v1/persons", {{"pin", "55"}, {"name", "Ria"}, {"cards", {"7654321"}}, {"access_levels", {level["id"]}}}, 201);
  // Panel A asks about her card at its door 1: the level names B's door 1, not A's.
  p::Record event{{"time", "2027-03-03 12:00:00"}, {"pin", "0"}, {"cardno", "7654321"}, {"addrtype", "2"},
                  {"eventaddr", "1"}, {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
  auto r = send(p::format_remote_auth_request(a, event), token_a);
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = p::parse_remote_auth_answer(r.body);
  ASSERT_TRUE(answer.ok()) << r.body;
  EXPECT_EQ(answer->auth, p::AuthResult::failed);
  EXPECT_TRUE(answer->control.empty());
  // Nothing opens anywhere: no CONTROL DEVICE for either panel.
  EXPECT_TRUE(commands_of(a, {"CONTROL DEVICE"}).empty());
  EXPECT_TRUE(commands_of(b, {"CONTROL DEVICE"}).empty());
  // The same person asked by pin at a door number A does not have.
  event.set("cardno", "");
  event.set("pin", "55");
  event.set("eventaddr", "99");
  event.set("time", "2027-03-03 12:00:01");
  r = send(p::format_remote_auth_request(a, event), token_a);
  ASSERT_EQ(r.status, 200) << r.body;
  answer = p::parse_remote_auth_answer(r.body);
  ASSERT_TRUE(answer.ok()) << r.body;
  EXPECT_EQ(answer->auth, p::AuthResult::failed);
  EXPECT_TRUE(answer->control.empty());
}

TEST_F(DeviceSecurityTest, MalformedRemoteIdentificationOpensNothing) {
  start_with();
  const std::string a = "SECRAUTHA2";
  const std::string token_a = handshake(a);
  auto empty = send_raw(http::test::request("POST", "/iclock/cdata?SN=" + a + "&AuthType=device", "",
                                            "Cookie: token=" + token_a + "\r\n"));
  EXPECT_EQ(empty.status, 400) << empty.body;
  auto garbage = send_raw(http::test::request("POST", "/iclock/cdata?SN=" + a + "&AuthType=device",
                                              "cardno=\r\n\t\t=\x01\x02\n", "Cookie: token=" + token_a + "\r\n"));
  // A record without a card, a pin or a door: identified as nobody, refused.
  ASSERT_EQ(garbage.status, 200) << garbage.body;
  auto answer = p::parse_remote_auth_answer(garbage.body);
  ASSERT_TRUE(answer.ok()) << garbage.body;
  EXPECT_EQ(answer->auth, p::AuthResult::failed) << garbage.body;
  EXPECT_TRUE(answer->control.empty());
  EXPECT_TRUE(commands_of(a, {"CONTROL DEVICE"}).empty());
}

// ---- rate limits --------------------------------------------------------------------------------------------

TEST_F(DeviceSecurityTest, DeviceRateLimitAnswers503WithRetryAfter) {
  ServerConfig config;
  config.device_rate = "1/min:6";  // no refill worth a request while the test runs
  config.limit_loopback = true;
  start_with(config);
  const std::string sn = "SECRATE001";
  const std::string token = handshake(sn);  // 3 requests
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send(p::format_ping(sn), token).status, 200) << i;
  auto limited = rtlog(sn, token);
  EXPECT_EQ(limited.status, 503);
  ASSERT_TRUE(limited.header("Retry-After")) << limited.body;
  const auto retry = std::stoll(*limited.header("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  EXPECT_EQ(stored_event_count(sn), 0);  // refused before anything was stored
  // Another device is not limited by this one.
  EXPECT_EQ(send(p::format_init_request("SECRATE002")).status, 200);
  EXPECT_EQ(metric("zkpush_device_rate_limited_total{scope=\"device\"}"), 1);
  EXPECT_EQ(metric("zkpush_device_rate_limited_total{scope=\"address\"}"), 0);
}

TEST_F(DeviceSecurityTest, AddressRateLimitCoversEveryDeviceOfTheAddress) {
  ServerConfig config;
  config.device_rate = "0";
  config.address_rate = "1/min:4";
  config.limit_loopback = true;
  start_with(config);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(send(p::format_init_request("SECADDR00" + std::to_string(i))).status, 200) << i;
  auto limited = send(p::format_init_request("SECADDR009"));
  EXPECT_EQ(limited.status, 503);
  EXPECT_TRUE(limited.header("Retry-After"));
  EXPECT_FALSE(stored_device("SECADDR009").has_value());
  EXPECT_EQ(metric("zkpush_device_rate_limited_total{scope=\"address\"}"), 1);
  // The API is not a device route: not limited.
  EXPECT_EQ(api_raw("GET", "/api/v1/devices").status, 200);
}

// Loopback is exempt unless --limit-loopback: the emulator's load tests and make bench run there.
TEST_F(DeviceSecurityTest, LoopbackIsExemptByDefault) {
  ServerConfig config;
  config.device_rate = "1/min:1";
  config.address_rate = "1/min:1";
  config.lockout_after = 0;
  config.lockout_address_after = 2;
  start_with(config);
  const std::string sn = "SECLOOP001";
  const std::string token = handshake(sn);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(send(p::format_ping(sn), token).status, 200) << i;
  // Wrong tokens of two devices from loopback: no address lockout either.
  const std::string other = "SECLOOP002";
  const std::string other_token = handshake(other);
  EXPECT_EQ(send(p::format_ping(sn), std::string(32, 'c')).status, 401);
  EXPECT_EQ(send(p::format_ping(other), std::string(32, 'c')).status, 401);
  EXPECT_EQ(send(p::format_ping(other), other_token).status, 200);
  EXPECT_EQ(metric("zkpush_device_rate_limited_total{scope=\"device\"}"), 0);
  EXPECT_EQ(metric("zkpush_device_lockouts_total{scope=\"address\"}"), 0);
}

// ---- lockouts -----------------------------------------------------------------------------------------------

TEST_F(DeviceSecurityTest, WrongTokensLockTheSerialNumberOutEvenForTheRightToken) {
  ServerConfig config;
  config.lockout_after = 3;
  config.lockout_minutes = 15;
  start_with(config);
  const std::string victim = "SECLOCK001", bystander = "SECLOCK002";
  const std::string token = handshake(victim);
  const std::string bystander_token = handshake(bystander);
  const auto command = enqueue(victim, "CONTROL DEVICE 01010105");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send(p::format_getrequest(victim), std::string(32, 'd')).status, 401) << i;
  // Locked out: the right token does not help, nothing is delivered or stored.
  auto locked = send(p::format_getrequest(victim), token);
  EXPECT_EQ(locked.status, 403);
  ASSERT_TRUE(locked.header("Retry-After"));
  const auto retry = std::stoll(*locked.header("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 15 * 60);
  EXPECT_EQ(rtlog(victim, token).status, 403);
  EXPECT_EQ(stored_event_count(victim), 0);
  EXPECT_EQ(stored_command(command)->status, storage::CommandStatus::queued);
  EXPECT_EQ(send(p::format_ping(bystander), bystander_token).status, 200);  // only that serial number
  EXPECT_EQ(metric("zkpush_device_lockouts_total{scope=\"device\"}"), 1);
  EXPECT_EQ(metric("zkpush_device_locked_out_total{scope=\"device\"}"), 2);

  // The event: a "security" message (stream, webhooks, MQTT) and an audit entry, once.
  settle();
  auto messages = security_messages(victim);
  ASSERT_EQ(messages.size(), 1u);
  auto body = json::parse(messages[0].body);
  EXPECT_EQ(body["type"], "lockout");
  EXPECT_EQ(body["scope"], "device");
  EXPECT_EQ(body["sn"], victim);
  EXPECT_EQ(body["address"], "127.0.0.1");
  EXPECT_EQ(body["failures"], 3);
  auto entries = audit_of("device " + victim);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].operation, "deviceLockout");
  EXPECT_EQ(entries[0].remote, "127.0.0.1");
  EXPECT_EQ(entries[0].status, 403);
  // The API lists it.
  auto listed = api("GET", "/api/v1/lockouts", nullptr, 200);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["key"], victim);

  // The installer lifts it (admin); the device is served again.
  api("DELETE", "/api/v1/lockouts/device/" + victim, nullptr, 200);
  api("DELETE", "/api/v1/lockouts/device/" + victim, nullptr, 404);
  api("DELETE", "/api/v1/lockouts/everything/" + victim, nullptr, 400);
  auto delivered = poll(victim, token);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(api("GET", "/api/v1/lockouts", nullptr, 200).size(), 0u);
}

// The lockout's message reaches the live stream (and so webhooks and MQTT, which read the same log)
// with its own event type.
TEST_F(DeviceSecurityTest, LockoutReachesTheLiveStream) {
  ServerConfig config;
  config.lockout_after = 2;
  start_with(config);
  const std::string sn = "SECSTREAM1";
  handshake(sn);
  TestClient client(app_->port());
  ASSERT_TRUE(client.send("GET /api/v1/stream?kinds=security HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                          kSecAdmin + "\r\n\r\n"));
  auto head = client.read_head();
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 200);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(send(p::format_ping(sn), std::string(32, 'g')).status, 401) << i;
  std::string text;
  while (text.find("\n\n", text.find("data: ")) == std::string::npos || text.find("data: ") == std::string::npos) {
    auto chunk = client.read_chunk();
    ASSERT_TRUE(chunk.has_value()) << "stream ended before the lockout came: " << text;
    text += *chunk;
  }
  EXPECT_NE(text.find("event: security\n"), std::string::npos) << text;
  const auto data_at = text.find("data: ") + 6;
  const auto data = json::parse(text.substr(data_at, text.find('\n', data_at) - data_at));
  EXPECT_EQ(data["type"], "lockout");
  EXPECT_EQ(data["scope"], "device");
  EXPECT_EQ(data["sn"], sn);
}

// Someone spraying serial numbers from one address with wrong tokens: no device reaches its own
// threshold, the address does, and then every device of that address is refused.
TEST_F(DeviceSecurityTest, SerialNumberSprayLocksTheAddress) {
  ServerConfig config;
  config.lockout_after = 10;
  config.lockout_address_after = 3;
  config.limit_loopback = true;
  start_with(config);
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) tokens.push_back(handshake("SECSPRAY0" + std::to_string(i)));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(send(p::format_ping("SECSPRAY0" + std::to_string(i)), std::string(32, 'e')).status, 401) << i;
  auto locked = send(p::format_ping("SECSPRAY03"), tokens[3]);
  EXPECT_EQ(locked.status, 403);
  EXPECT_TRUE(locked.header("Retry-After"));
  EXPECT_EQ(metric("zkpush_device_lockouts_total{scope=\"address\"}"), 1);
  EXPECT_EQ(metric("zkpush_device_lockouts_total{scope=\"device\"}"), 0);
  settle();
  auto messages = security_messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(json::parse(messages[0].body)["scope"], "address");
  // Lifted by address.
  api("DELETE", "/api/v1/lockouts/address/127.0.0.1", nullptr, 200);
  EXPECT_EQ(send(p::format_ping("SECSPRAY03"), tokens[3]).status, 200);
}

TEST_F(DeviceSecurityTest, LiftingALockoutNeedsAdmin) {
  ServerConfig config;
  config.lockout_after = 1;
  start_with(config);
  const std::string sn = "SECLIFT001";
  handshake(sn);
  EXPECT_EQ(send(p::format_ping(sn), std::string(32, 'f')).status, 401);
  auto anonymous = send_raw(http::test::request("DELETE", "/api/v1/lockouts/device/" + sn, "", ""));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(api("GET", "/api/v1/lockouts", nullptr, 200).size(), 1u);
}

}  // namespace
}  // namespace zkpush::server
