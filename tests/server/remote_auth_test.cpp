// Remote identification end to end (manual 10, docs/access.md "Remote identification"): a panel's
// POST /iclock/cdata?SN=..&AuthType=device over a real socket is decided from the access domain
// built through the API, answered AUTH=SUCCESS with the CONTROL DEVICE line that opens that door
// for its drive time, or AUTH=FAILED without one, and every decision is an event of the API.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "protocol/control_device.hpp"
#include "protocol/responses.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kAuthAdmin = "remote-auth-admin";

class RemoteAuthTest : public ServeFixture {
 protected:
  void start_auth() {
    ServerConfig config;
    config.api_token = kAuthAdmin;
    start(config);
  }
  json api(const std::string& method, const std::string& target, const json& body = nullptr, int status = 0) {
    auto r = send_raw(http::test::request(method, target, body.is_null() ? "" : body.dump(),
                                          "Authorization: Bearer " + kAuthAdmin + "\r\nContent-Type: application/json\r\n"));
    if (status) {
      EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    }
    return json::parse(r.body, nullptr, false);
  }
  // The panel asks about `card` at `door`; the answer parsed as the emulator parses it.
  p::RemoteAuthAnswer ask(const std::string& sn, const std::string& token, const std::string& card, int door,
                          const std::string& pin = "0", int inout = 0) {
    // A second apart each: the same record twice is one event (a panel that asks again after a lost
    // answer is not two swipes).
    char time[32];
    std::snprintf(time, sizeof time, "2027-03-03 12:00:%02d", asked_++ % 60);
    p::Record event{{"time", time}, {"pin", pin},     {"cardno", card},      {"addrtype", "2"},
                    {"eventaddr", std::to_string(door)}, {"event", "0"}, {"inoutstatus", std::to_string(inout)}, {"verifytype", "4"}};
    auto r = send(p::format_remote_auth_request(sn, event), token);
    EXPECT_EQ(r.status, 200) << r.body;
    auto answer = p::parse_remote_auth_answer(r.body);
    EXPECT_TRUE(answer.ok()) << r.body;
    if (answer.ok()) {
      // The request's record is echoed, with the person identified ("the data that passes").
      auto echoed = answer->event.value_or(p::Record{});
      EXPECT_EQ(echoed.get_or("cardno", ""), event.get_or("cardno", ""));
      EXPECT_EQ(echoed.get_or("eventaddr", ""), event.get_or("eventaddr", ""));
      EXPECT_EQ(echoed.get_or("time", ""), event.get_or("time", ""));
    }
    return answer.ok() ? *answer : p::RemoteAuthAnswer{};
  }
  int asked_ = 0;
};

TEST_F(RemoteAuthTest, TheServerDecidesFromTheDomainAndRecordsEachDecision) {
  start_auth();
  const std::string sn = "RAUTH0001";
  const std::string token = handshake(sn);
  const auto level = api("POST", "/api/v1/access-levels", {{"name", "door 2"}, {"time_rule_id", 1}, {"doors", {{{"sn", sn}, {"door", 2}}}}}, 201);
  api("POST", "/api/v1/persons", {{"pin", "55"}, {"name", "Ria Example"}, {"cards", {"7654321", "1111"}}, {"lost_cards", {"1111"}},
                                  {"access_levels", {level["id"]}}}, 201);

  // The contract: her card at door 2 opens it (5 s: no drive time set), with her name.
  auto granted = ask(sn, token, "7654321", 2);
  EXPECT_EQ(granted.auth, p::AuthResult::success);
  EXPECT_EQ(granted.control, "01020105");
  EXPECT_EQ(granted.tips.value_or(""), "Welcome, Ria");
  // The same card at door 1, an unknown card, her lost card: refused, no door opened.
  auto door1 = ask(sn, token, "7654321", 1);
  EXPECT_EQ(door1.auth, p::AuthResult::failed);
  EXPECT_TRUE(door1.control.empty());
  EXPECT_EQ(door1.tips.value_or(""), "No access to this door, Ria");
  auto unknown = ask(sn, token, "999", 2);
  EXPECT_EQ(unknown.auth, p::AuthResult::failed);
  EXPECT_TRUE(unknown.control.empty());
  auto lost = ask(sn, token, "1111", 2);
  EXPECT_EQ(lost.auth, p::AuthResult::failed);
  EXPECT_EQ(lost.tips.value_or(""), "Card blocked");
  // By user ID (a fingerprint or a PIN verified at the panel): pin= without a card.
  EXPECT_EQ(ask(sn, token, "", 2, "55").auth, p::AuthResult::success);

  // The door's drive time, when set, is how long it opens.
  api("PATCH", "/api/v1/devices/" + sn + "/doors/2", {{"drive_time", 12}}, 200);
  EXPECT_EQ(ask(sn, token, "7654321", 2).control, "0102010C");

  // Disabled: refused with her name.
  api("PATCH", "/api/v1/persons/55", {{"disabled", true}}, 200);
  auto disabled = ask(sn, token, "7654321", 2);
  EXPECT_EQ(disabled.auth, p::AuthResult::failed);
  EXPECT_EQ(disabled.tips.value_or(""), "Access disabled, Ria");

  // Each decision is an access event of the device, its code the reason.
  const auto events = api("GET", "/api/v1/events?sn=" + sn, nullptr, 200);
  ASSERT_EQ(events.size(), 7u) << events;
  std::vector<int> codes;
  for (const auto& e : events) {
    codes.push_back(e["event"].get<int>());
    EXPECT_EQ(e["source"], "remote_auth");
  }
  EXPECT_EQ(codes, (std::vector<int>{222, 23, 27, 38, 222, 222, 39}));
  // Asked again with the same record (its answer was lost): the same decision, one event.
  p::Record again{{"time", "2027-03-03 12:00:06"}, {"pin", "0"}, {"cardno", "7654321"}, {"addrtype", "2"},
                  {"eventaddr", "2"}, {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
  EXPECT_NE(send(p::format_remote_auth_request(sn, again), token).body.find("AUTH=FAILED"), std::string::npos);
  EXPECT_EQ(api("GET", "/api/v1/events?sn=" + sn, nullptr, 200).size(), 7u);
  EXPECT_EQ(events[0]["pin"], "55");
  EXPECT_EQ(events[0]["person_name"], "Ria Example");
  EXPECT_EQ(events[0]["door"], 2);
  EXPECT_EQ(events[0]["event_class"], "normal");
  EXPECT_EQ(events[2]["pin"], "0");
  EXPECT_EQ(events[1]["event_class"], "error");
}

// Global anti-passback: a zone entered at a door of one panel and left at a door of another; a
// person inside cannot enter again before leaving; a timed zone refuses a second entry for its
// minutes; resets; the state survives a restart of the server.
TEST_F(RemoteAuthTest, GlobalAntiPassbackAcrossPanels) {
  start_auth();
  const std::string a = "RAPB0001", b = "RAPB0002";
  const std::string ta = handshake(a), tb = handshake(b);
  const auto level = api("POST", "/api/v1/access-levels",
                         {{"name", "both"}, {"time_rule_id", 1}, {"doors", {{{"sn", a}, {"door", 1}}, {{"sn", b}, {"door", 1}}, {{"sn", b}, {"door", 2}}}}}, 201);
  api("POST", "/api/v1/persons", {{"pin", "55"}, {"name", "Ria"}, {"cards", {"7654321"}}, {"access_levels", {level["id"]}}}, 201);
  const auto zone = api("POST", "/api/v1/apb-zones",
                        {{"name", "Lab"}, {"mode", "logical"},
                         {"doors", {{{"sn", a}, {"door", 1}, {"direction", "in"}}, {{"sn", b}, {"door", 1}, {"direction", "out"}}}}}, 201);
  const auto id = std::to_string(zone["id"].get<int>());
  EXPECT_EQ(zone["doors"].size(), 2u) << zone;
  EXPECT_TRUE(zone["minutes"].is_null());

  // The entry, asked twice with the same record (the panel lost the first answer): granted both
  // times, and she is inside once.
  const p::Record entry{{"time", "2027-03-03 11:00:00"}, {"pin", "0"}, {"cardno", "7654321"}, {"addrtype", "2"},
                        {"eventaddr", "1"}, {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
  for (int i = 0; i < 2; ++i) {
    auto r = send(p::format_remote_auth_request(a, entry), ta);
    auto answer = p::parse_remote_auth_answer(r.body);
    ASSERT_TRUE(answer.ok()) << r.body;
    EXPECT_EQ(answer->auth, p::AuthResult::success) << "ask " << i << ": " << r.body;
    EXPECT_EQ(answer->control, "01010105");
    EXPECT_EQ(answer->event.value_or(p::Record{}).get_or("pin", ""), "55");  // who passed
  }
  auto again = ask(a, ta, "7654321", 1);                              // in again, without leaving
  EXPECT_EQ(again.auth, p::AuthResult::failed);
  EXPECT_TRUE(again.control.empty());
  EXPECT_EQ(again.tips.value_or(""), "Already inside Lab, Ria");
  auto presence = api("GET", "/api/v1/apb-zones/" + id + "/presence", nullptr, 200);
  ASSERT_EQ(presence.size(), 1u) << presence;
  EXPECT_EQ(presence[0]["pin"], "55");
  EXPECT_EQ(presence[0]["inside"], true);
  EXPECT_EQ(ask(b, tb, "7654321", 2).auth, p::AuthResult::success);  // a door of no zone
  EXPECT_EQ(ask(b, tb, "7654321", 1).auth, p::AuthResult::success);  // out, on the other panel
  EXPECT_EQ(ask(a, ta, "7654321", 1).auth, p::AuthResult::success);  // in again
  // The refusal is an event with the APB code.
  const auto events = api("GET", "/api/v1/events?sn=" + a + "&event=24", nullptr, 200);
  ASSERT_EQ(events.size(), 1u) << events;
  EXPECT_EQ(events[0]["pin"], "55");

  // Reset one person (an operator let her out by hand): she may enter.
  EXPECT_EQ(api("POST", "/api/v1/apb-zones/" + id + "/reset", {{"pin", "55"}}, 200)["reset"], 1);
  EXPECT_EQ(ask(a, ta, "7654321", 1).auth, p::AuthResult::success);

  // The state is on disk: after a restart she is still inside.
  restart();
  EXPECT_EQ(ask(a, ta, "7654321", 1).auth, p::AuthResult::failed);
  EXPECT_EQ(api("POST", "/api/v1/apb-zones/" + id + "/reset", json::object(), 200)["reset"], 1);  // everyone

  // Timed: a second entry within its minutes is refused even after leaving.
  api("PATCH", "/api/v1/apb-zones/" + id, {{"mode", "timed"}, {"minutes", 10}}, 200);
  EXPECT_EQ(ask(a, ta, "7654321", 1).auth, p::AuthResult::success);
  EXPECT_EQ(ask(b, tb, "7654321", 1).auth, p::AuthResult::success);
  auto soon = ask(a, ta, "7654321", 1);
  EXPECT_EQ(soon.auth, p::AuthResult::failed);
  EXPECT_EQ(soon.tips.value_or(""), "Entered Lab recently, Ria");

  // Bad zones are refused with a reason; unknown ones are 404.
  EXPECT_TRUE(api("POST", "/api/v1/apb-zones", {{"name", "x"}, {"mode", "sometimes"}, {"doors", {{{"sn", a}, {"door", 1}, {"direction", "in"}}}}}, 400).contains("error"));
  api("POST", "/api/v1/apb-zones", {{"name", "x"}, {"mode", "logical"}, {"doors", {{{"sn", a}, {"door", 1}, {"direction", "out"}}}}}, 400);
  api("POST", "/api/v1/apb-zones", {{"name", "x"}, {"mode", "timed"}, {"doors", {{{"sn", a}, {"door", 1}, {"direction", "in"}}}}}, 400);
  api("POST", "/api/v1/apb-zones", {{"name", "x"}, {"colour", "red"}}, 400);
  api("POST", "/api/v1/apb-zones", {{"name", "x\r\nCONTROL DEVICE 01010105"}, {"mode", "logical"},
                                    {"doors", {{{"sn", a}, {"door", 1}, {"direction", "in"}}}}}, 400);
  api("GET", "/api/v1/apb-zones/999", nullptr, 404);
  api("POST", "/api/v1/apb-zones/999/reset", json::object(), 404);
  api("DELETE", "/api/v1/apb-zones/" + id, nullptr, 200);
  EXPECT_EQ(ask(a, ta, "7654321", 1).auth, p::AuthResult::success);  // no zone any more
  EXPECT_TRUE(api("GET", "/api/v1/apb-zones", nullptr, 200).empty());

  // One door with an entry and an exit reader ("reader"): the reader that read says which way.
  const auto hall = api("POST", "/api/v1/apb-zones",
                        {{"name", "Hall"}, {"mode", "logical"}, {"doors", {{{"sn", b}, {"door", 2}, {"direction", "reader"}}}}}, 201);
  EXPECT_EQ(hall["doors"][0]["direction"], "reader");
  EXPECT_EQ(ask(b, tb, "7654321", 2, "0", 0).auth, p::AuthResult::success);  // in by the entry reader
  EXPECT_EQ(ask(b, tb, "7654321", 2, "0", 0).auth, p::AuthResult::failed);   // in again
  EXPECT_EQ(ask(b, tb, "7654321", 2, "0", 1).auth, p::AuthResult::success);  // out by the exit reader
  EXPECT_EQ(ask(b, tb, "7654321", 2, "0", 0).auth, p::AuthResult::success);
}

TEST_F(RemoteAuthTest, ARequestWithoutARecordOrFromAnUnknownDeviceIsRefused) {
  start_auth();
  const std::string token = handshake("RAUTH0002");
  p::OutgoingRequest empty = p::format_remote_auth_request("RAUTH0002", p::Record{});
  empty.body.clear();
  EXPECT_EQ(send(empty, token).status, 400);
  p::Record event{{"cardno", "1"}, {"eventaddr", "1"}};
  EXPECT_EQ(send(p::format_remote_auth_request("NOSUCH01", event)).status, 401);
}

}  // namespace
}  // namespace zkpush::server
