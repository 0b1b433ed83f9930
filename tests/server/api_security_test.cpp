// The JSON API's defences against the real server, over real sockets (docs/security.md):
// - every route of the table the server serves, for every caller (no token, a wrong token, viewer,
//   operator, admin): 401 without a valid token, 403 below the route's role, neither at or above it;
//   public routes only from a documented allow-list; every route that changes something (opens a
//   door, switches an output, queues a command) needs operator or more;
// - door and control routes without a token queue nothing for a real, registered panel;
// - names, pins, cards and command lines with tabs, line breaks and other control characters are
//   refused (400) by every route that builds a panel's command, and the panel receives nothing;
// - no user enumeration: an unauthenticated caller gets the same 401 for what exists and what does
//   not, for a route that does not exist, and for a method a route does not take;
// - brute force of tokens: after --api-lockout-after wrong tokens an address gets 429 with
//   Retry-After, even with the right token, counted on /metrics.
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "front/api/api_endpoints.hpp"
#include "protocol/text.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;
using front::api::Role;

const std::string kSecAdmin = "api-security-admin-token-7f3a";
const std::string kSecWrong = "zkp_" + std::string(64, '0');

int sec_rank(Role role) { return static_cast<int>(role); }

// A route's pattern with its parameters filled: `sn` for {sn}, 1 for {door} / {output}, values no
// object has for the others.
std::string sec_target(std::string_view pattern, const std::string& sn = "NO-SUCH-OBJECT") {
  std::string target;
  for (const auto& segment : front::api::path_segments(pattern)) {
    target += "/";
    if (segment == "{sn}") target += sn;
    else if (segment == "{door}" || segment == "{output}") target += "1";
    else if (segment == "{id}") target += "999999999";
    else if (segment.front() == '{') target += "NO-SUCH-OBJECT";
    else target += segment;
  }
  return target;
}

class ApiSecurityTest : public ServeFixture {
 protected:
  void start_with(int lockout_after) {
    ServerConfig config;
    config.api_token = kSecAdmin;
    config.api_lockout_after = lockout_after;
    start(config);
  }
  RawResponse call(const std::string& method, const std::string& target, const std::string& token,
                   const std::string& body = {}) {
    std::string headers = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
    std::string text = body;
    if (text.empty() && (method == "POST" || method == "PATCH" || method == "PUT")) text = "{}";
    if (!text.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(http::test::request(method, target, text, headers));
  }
  RawResponse admin(const std::string& method, const std::string& target, const json& body) {
    return call(method, target, kSecAdmin, body.dump());
  }
  std::string made(const std::string& role) {
    auto r = admin("POST", "/api/v1/tokens", {{"name", role + " walker"}, {"role", role}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("token", "");
  }
  // What a panel receives at its next poll: "OK" when nothing is queued for it.
  std::string poll(const std::string& sn, const std::string& token) {
    auto r = send(p::format_getrequest(sn), token);
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
};

TEST_F(ApiSecurityTest, EveryRouteRefusesEveryCallerBelowItsRole) {
  start_with(0);  // this walk sends a wrong token to every route
  const std::vector<std::pair<std::string, std::optional<Role>>> callers{
      {"", std::nullopt}, {kSecWrong, std::nullopt}, {made("viewer"), Role::viewer},
      {made("operator"), Role::operator_}, {kSecAdmin, Role::admin}};
  std::size_t refused = 0, unauthenticated = 0, reached = 0;
  for (const auto& route : app_->api_routes().routes()) {
    const std::string verb(boost::beast::http::to_string(route.method));
    const std::string target = sec_target(route.pattern);
    for (const auto& [token, role] : callers) {
      SCOPED_TRACE(verb + " " + target + " needs " + std::string(front::api::role_name(route.role)) + ", caller " +
                   (role ? std::string(front::api::role_name(*role)) : token.empty() ? "without token" : "wrong token"));
      const bool allowed = route.role == Role::open || (role && sec_rank(*role) >= sec_rank(route.role));
      // The event stream never ends once it is let in: only its refusals are walked here
      // (tests/server/stream_test.cpp reads it).
      if (allowed && route.pattern == "/api/v1/stream") continue;
      auto r = call(verb, target, token);
      if (route.role != Role::open && !role) {
        EXPECT_EQ(r.status, 401) << r.body;
        EXPECT_EQ(r.header("WWW-Authenticate").value_or(""), "Bearer");
        ++unauthenticated;
      } else if (!allowed) {
        EXPECT_EQ(r.status, 403) << r.body;
        ++refused;
      } else {
        EXPECT_NE(r.status, 401) << r.body;
        EXPECT_NE(r.status, 403) << r.body;
        ++reached;
      }
    }
  }
  EXPECT_GE(app_->api_routes().routes().size(), 90u);
  EXPECT_GE(unauthenticated, 180u);
  EXPECT_GE(refused, 60u);
  EXPECT_GE(reached, 150u);
}

TEST_F(ApiSecurityTest, OnlyTheAllowListIsPublicAndEveryChangeNeedsOperator) {
  start_with(10);
  // The documented allow-list of routes without a token (docs/security.md). /healthz and /metrics
  // are not /api routes (docs/serve.md).
  const std::set<std::string> allow_list{"GET /api/v1/openapi.json"};
  std::set<std::string> open;
  std::size_t changes = 0;
  for (const auto& route : app_->api_routes().routes()) {
    const std::string name = std::string(boost::beast::http::to_string(route.method)) + " " + std::string(route.pattern);
    if (route.role == Role::open) open.insert(name);
    // Whatever can open a door, switch an output or queue a command changes state: never a viewer's.
    if (route.method != http::Verb::get) {
      EXPECT_GE(sec_rank(route.role), sec_rank(Role::operator_)) << name;
      ++changes;
    }
    const std::string summary(route.summary);
    const bool acts_on_doors =
        summary.find("CONTROL DEVICE") != std::string::npos || summary.find("door") != std::string::npos;
    if (acts_on_doors && route.method != http::Verb::get) {
      EXPECT_GE(sec_rank(route.role), sec_rank(Role::operator_)) << name;
    }
  }
  EXPECT_EQ(open, allow_list);
  EXPECT_GE(changes, 50u);
  // The routes that act on doors and outputs are in the table, with the roles docs/security.md says.
  const std::map<std::string, Role> door_routes{
      {"POST /api/v1/doors/{sn}/{door}/open", Role::operator_},
      {"POST /api/v1/doors/{sn}/{door}/normal-open", Role::operator_},
      {"POST /api/v1/devices/{sn}/aux/{output}/on", Role::operator_},
      {"POST /api/v1/devices/{sn}/control", Role::admin},
      {"POST /api/v1/devices/{sn}/commands", Role::admin},
      {"POST /api/v1/devices/{sn}/options", Role::admin},
      {"POST /api/v1/devices/{sn}/reboot", Role::admin}};
  for (const auto& [name, role] : door_routes) {
    bool found = false;
    for (const auto& route : app_->api_routes().routes()) {
      if (std::string(boost::beast::http::to_string(route.method)) + " " + std::string(route.pattern) != name) continue;
      found = true;
      EXPECT_EQ(route.role, role) << name;
    }
    EXPECT_TRUE(found) << name;
  }
}

TEST_F(ApiSecurityTest, DoorAndControlRoutesWithoutATokenQueueNothing) {
  start_with(0);
  const std::string sn = "SECDOOR1";
  const auto token = handshake(sn);
  std::size_t tried = 0;
  for (const auto& route : app_->api_routes().routes()) {
    if (route.method == http::Verb::get || route.pattern.find("{sn}") == std::string_view::npos) continue;
    const std::string verb(boost::beast::http::to_string(route.method));
    const std::string target = sec_target(route.pattern, sn);
    const std::string body = route.pattern.ends_with("/commands") ? R"({"line":"CONTROL DEVICE 01010105"})"
                             : route.pattern.ends_with("/open")   ? R"({"seconds":5})"
                                                                  : "{}";
    for (const auto& presented : {std::string(), kSecWrong}) {
      SCOPED_TRACE(verb + " " + target + (presented.empty() ? " without token" : " wrong token"));
      EXPECT_EQ(call(verb, target, presented, body).status, 401);
      ++tried;
    }
  }
  EXPECT_GE(tried, 40u);
  EXPECT_EQ(stored_pending(sn), 0);
  EXPECT_EQ(poll(sn, token), "OK");
  ASSERT_TRUE(stored_device(sn).has_value());  // and nothing deleted it
  // The same call with the operator's token does reach the panel: the refusals above were the token's.
  EXPECT_EQ(call("POST", "/api/v1/doors/" + sn + "/1/open", kSecAdmin, R"({"seconds":5})").status, 201);
  EXPECT_NE(poll(sn, token).find("CONTROL DEVICE 01010105"), std::string::npos);
}

TEST_F(ApiSecurityTest, ControlCharactersNeverReachAPanel) {
  start_with(10);
  const std::string sn = "SECINJ01";
  const auto token = handshake(sn);
  const std::vector<std::string> nasty{"Eve\tPin=666",   "Eve\nC:99:CONTROL DEVICE 01010105", "Eve\rX",
                                       std::string("Eve\0X", 5), "Eve\x1b[2J",                   "Eve\x7f"};
  std::size_t refused = 0;
  auto expect_400 = [&](const std::string& method, const std::string& target, const json& body) {
    SCOPED_TRACE(method + " " + target + " " + body.dump());
    auto r = admin(method, target, body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_FALSE(json::parse(r.body, nullptr, false).value("error", "").empty()) << r.body;
    ++refused;
  };
  ASSERT_EQ(admin("POST", "/api/v1/persons", {{"pin", "7"}, {"name", "Seven"}}).status, 201);
  for (const auto& bad : nasty) {
    expect_400("POST", "/api/v1/persons", {{"pin", "8"}, {"name", bad}});
    expect_400("POST", "/api/v1/persons", {{"pin", "8" + bad}, {"name", "Eight"}});
    expect_400("POST", "/api/v1/persons", {{"pin", "8"}, {"name", "Eight"}, {"cards", {"123" + bad}}});
    expect_400("POST", "/api/v1/persons", {{"pin", "8"}, {"name", "Eight"}, {"password", "12" + bad}});
    expect_400("PATCH", "/api/v1/persons/7", {{"name", bad}});
    expect_400("PATCH", "/api/v1/persons/7", {{"cards", {"42" + bad}}});
    expect_400("POST", "/api/v1/time-rules", {{"name", bad}, {"segments", json::object()}});
    expect_400("POST", "/api/v1/access-levels", {{"name", bad}});
    expect_400("POST", "/api/v1/holidays", {{"name", bad}, {"date", "2030-01-01"}});
    expect_400("POST", "/api/v1/apb-zones", {{"name", bad}, {"doors", json::array()}});
    expect_400("PATCH", "/api/v1/devices/" + sn + "/doors/1", {{"name", bad}});
    expect_400("POST", "/api/v1/devices/" + sn + "/commands", {{"line", "CONTROL DEVICE 01010105" + bad}});
    expect_400("POST", "/api/v1/devices/" + sn + "/options", {{"options", {{"Door1Drivertime", "5" + bad}}}});
    expect_400("POST", "/api/v1/devices/" + sn + "/options", {{"options", {{"Door1" + bad, "5"}}}});
  }
  EXPECT_EQ(refused, nasty.size() * 14);
  // Nothing of it reached the panel: with one valid door opening queued, that is all it receives,
  // one line, one command.
  EXPECT_EQ(stored_pending(sn), 0);
  ASSERT_EQ(admin("POST", "/api/v1/doors/" + sn + "/1/open", {{"seconds", 5}}).status, 201);
  const auto received = poll(sn, token);
  const auto lines = p::text::split_lines(received);
  ASSERT_EQ(lines.size(), 1u) << received;
  EXPECT_EQ(lines[0].rfind("C:", 0), 0u) << received;
  EXPECT_NE(lines[0].find(":CONTROL DEVICE 01010105"), std::string::npos) << received;
  EXPECT_EQ(received.find("Eve"), std::string::npos) << received;
  EXPECT_EQ(received.find("666"), std::string::npos) << received;
  EXPECT_EQ(received.find('\t'), std::string::npos) << received;
  // The valid person is stored as given.
  auto seven = call("GET", "/api/v1/persons/7", kSecAdmin);
  ASSERT_EQ(seven.status, 200) << seven.body;
  EXPECT_EQ(json::parse(seven.body).value("name", ""), "Seven");
}

TEST_F(ApiSecurityTest, UnauthenticatedCallersCannotTellWhatExists) {
  start_with(0);
  const std::string sn = "SECENUM1";
  handshake(sn);
  ASSERT_EQ(admin("POST", "/api/v1/persons", {{"pin", "5"}, {"name", "Five"}}).status, 201);
  // For a caller without a valid token, what exists, what does not, a route that does not exist and a
  // method a route does not take are one and the same answer.
  const std::vector<std::pair<std::string, std::string>> asked{
      {"GET", "/api/v1/persons/5"},        {"GET", "/api/v1/persons/6"},
      {"GET", "/api/v1/devices/" + sn},    {"GET", "/api/v1/devices/NOSUCHSN"},
      {"DELETE", "/api/v1/persons/5"},     {"DELETE", "/api/v1/persons/6"},
      {"GET", "/api/v1/no-such-route"},    {"PUT", "/api/v1/persons/5"},
      {"GET", "/api/v1/tokens/1"}};
  for (const auto& presented : {std::string(), kSecWrong}) {
    std::optional<RawResponse> first;
    for (const auto& [method, target] : asked) {
      SCOPED_TRACE(method + " " + target + (presented.empty() ? " without token" : " wrong token"));
      auto r = call(method, target, presented);
      EXPECT_EQ(r.status, 401);
      if (!first) {
        first = r;
        continue;
      }
      EXPECT_EQ(r.body, first->body);
      EXPECT_EQ(r.header("WWW-Authenticate"), first->header("WWW-Authenticate"));
      EXPECT_EQ(r.header("Content-Type"), first->header("Content-Type"));
    }
  }
  // The person is still there: the unauthenticated DELETE did nothing.
  EXPECT_EQ(call("GET", "/api/v1/persons/5", kSecAdmin).status, 200);
}

TEST_F(ApiSecurityTest, WrongTokensLockAnAddressOut) {
  start_with(3);
  // Missing tokens are not guesses: they count for nothing.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("GET", "/api/v1/devices", "").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/devices", kSecAdmin).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/devices", kSecWrong).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/devices", "another-wrong-one").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/devices", kSecAdmin).status, 200);  // two wrong ones: not yet
  EXPECT_EQ(call("POST", "/api/v1/persons", kSecWrong, R"({"pin":"1","name":"x"})").status, 401);
  // The third wrong token locked the address out: refused whatever it presents, the right token
  // included, so a guesser cannot tell when it hits.
  for (const auto& presented : {kSecAdmin, kSecWrong, std::string()}) {
    auto r = call("GET", "/api/v1/devices", presented);
    EXPECT_EQ(r.status, 429) << r.body;
    const auto retry = std::stoi(r.header("Retry-After").value_or("0"));
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 60);
    EXPECT_EQ(json::parse(r.body, nullptr, false).value("code", ""), "rate_limited") << r.body;
  }
  // The public document stays public.
  EXPECT_EQ(call("GET", "/api/v1/openapi.json", "").status, 200);
  auto metrics = send_raw(http::test::request("GET", "/metrics", "", ""));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("zkpush_api_bad_tokens_total 3"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("zkpush_api_lockouts_total 1"), std::string::npos) << metrics.body;
}

TEST_F(ApiSecurityTest, AuditEntriesCarryTheirChainAndVerify) {
  start_with(10);
  ASSERT_EQ(admin("POST", "/api/v1/persons", {{"pin", "3"}, {"name", "Three"}}).status, 201);
  ASSERT_EQ(admin("PATCH", "/api/v1/persons/3", {{"name", "Drei"}}).status, 200);
  // An entry is written once its call is answered: read until both are there.
  json entries = json::array();
  for (int i = 0; i < 250 && entries.size() < 2; ++i) {
    auto listed = call("GET", "/api/v1/audit", kSecAdmin);
    ASSERT_EQ(listed.status, 200) << listed.body;
    entries = json::parse(listed.body);
    if (entries.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(entries.size(), 2u) << entries;
  for (const auto& e : entries) EXPECT_EQ(e.value("hash", "").size(), 64u) << e;
  auto verified = call("GET", "/api/v1/audit/verify", kSecAdmin);
  ASSERT_EQ(verified.status, 200) << verified.body;
  const auto v = json::parse(verified.body);
  EXPECT_TRUE(v["intact"].get<bool>()) << v;
  EXPECT_EQ(v["entries"].get<std::int64_t>(), static_cast<std::int64_t>(entries.size()));
  EXPECT_EQ(v["last_hash"], entries[0]["hash"]);
  EXPECT_EQ(v["last_id"], entries[0]["id"]);
  // Admin only.
  EXPECT_EQ(call("GET", "/api/v1/audit/verify", made("operator")).status, 403);
}

}  // namespace
}  // namespace zkpush::server::e2e
