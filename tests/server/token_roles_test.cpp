// API tokens with roles (POST/GET/DELETE /api/v1/tokens) against the real server: made by an admin,
// shown once, kept hashed, checked on every request, revoked at once, still valid after a restart.
// The walk of every route × role is in tests/front/api/openapi_test.cpp.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;

const std::string kAdmin = "token-roles-admin-secret";

class TokenRolesTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kAdmin;
    start(config);
  }
  RawResponse api(const std::string& method, const std::string& target, const std::string& token,
                  const json& body = nullptr) {
    std::string headers = "Authorization: Bearer " + token + "\r\n";
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers += "Content-Type: application/json\r\n";
    }
    return send_raw(http::test::request(method, target, text, headers));
  }
  json made(const std::string& name, const std::string& role) {
    auto r = api("POST", "/api/v1/tokens", kAdmin, {{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  }
};

TEST_F(TokenRolesTest, TokensAreMadeShownOnceCheckedAndRevoked) {
  const auto viewer = made("dashboard", "viewer");
  const auto op = made("hr sync", "operator");
  EXPECT_EQ(viewer["role"], "viewer");
  EXPECT_EQ(viewer["token"].get<std::string>().rfind("zkp_", 0), 0u);
  EXPECT_EQ(viewer["token"].get<std::string>().size(), 68u);
  EXPECT_TRUE(viewer["revoked_at"].is_null());
  const auto v = viewer["token"].get<std::string>(), o = op["token"].get<std::string>();

  // A viewer reads, and changes nothing.
  EXPECT_EQ(api("GET", "/api/v1/devices", v).status, 200);
  EXPECT_EQ(api("GET", "/api/v1/persons", v).status, 200);
  EXPECT_EQ(api("POST", "/api/v1/persons", v, {{"pin", "1"}, {"name", "Ann"}}).status, 403);
  EXPECT_EQ(api("POST", "/api/v1/tokens", v, {{"name", "x"}, {"role", "admin"}}).status, 403);
  // An operator manages persons, not tokens.
  EXPECT_EQ(api("POST", "/api/v1/persons", o, {{"pin", "1"}, {"name", "Ann"}}).status, 201);
  EXPECT_EQ(api("GET", "/api/v1/tokens", o).status, 403);
  EXPECT_EQ(api("POST", "/api/v1/tokens", o, {{"name", "x"}, {"role", "admin"}}).status, 403);

  // The list never shows a token again.
  auto listed = api("GET", "/api/v1/tokens", kAdmin);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto list = json::parse(listed.body);
  ASSERT_EQ(list.size(), 2u) << list;
  for (const auto& t : list) EXPECT_FALSE(t.contains("token")) << t;
  EXPECT_EQ(listed.body.find(v), std::string::npos);

  // Bad requests say why.
  EXPECT_EQ(api("POST", "/api/v1/tokens", kAdmin, {{"name", "x"}, {"role", "root"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/tokens", kAdmin, {{"name", ""}, {"role", "viewer"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/tokens", kAdmin, {{"name", "x"}, {"role", "viewer"}, {"expire_in", 5}}).status, 400);
  EXPECT_EQ(api("DELETE", "/api/v1/tokens/999", kAdmin).status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/tokens/abc", kAdmin).status, 400);
  // A wrong token of the right shape is no one.
  EXPECT_EQ(api("GET", "/api/v1/devices", "zkp_" + std::string(64, '0')).status, 401);

  // Kept hashed: the store (its file and its write-ahead log) holds no token, but its hash.
  {
    std::stringstream bytes;
    for (const char* file : {"zkpush.db", "zkpush.db-wal"}) {
      std::ifstream in(dir_ / file, std::ios::binary);
      bytes << in.rdbuf();
    }
    EXPECT_EQ(bytes.str().find(v.substr(4)), std::string::npos);
    EXPECT_NE(bytes.str().find("dashboard"), std::string::npos);  // the rows are there
  }
  // Tokens in force survive a restart; a revoked one is refused from the next request on.
  restart();
  EXPECT_EQ(api("GET", "/api/v1/devices", v).status, 200);
  auto revoked = api("DELETE", "/api/v1/tokens/" + std::to_string(viewer["id"].get<int>()), kAdmin);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_FALSE(json::parse(revoked.body)["revoked_at"].is_null());
  EXPECT_EQ(api("GET", "/api/v1/devices", v).status, 401);
  restart();
  EXPECT_EQ(api("GET", "/api/v1/devices", v).status, 401);
  EXPECT_EQ(api("GET", "/api/v1/persons/1", o).status, 200);
}

// GET /api/v1/me: what a console asks right after login, for any valid token.
TEST_F(TokenRolesTest, MeSaysWhoTheTokenIs) {
  const auto viewer = made("wall screen", "viewer");
  const auto op = made("hr sync", "operator");
  const auto admin = made("second admin", "admin");
  for (const auto& t : {viewer, op, admin}) {
    SCOPED_TRACE(t.dump());
    auto r = api("GET", "/api/v1/me", t["token"].get<std::string>());
    ASSERT_EQ(r.status, 200) << r.body;
    const auto me = json::parse(r.body);
    EXPECT_EQ(me["role"], t["role"]);
    EXPECT_EQ(me["name"], t["name"]);
    EXPECT_EQ(me["token_id"], t["id"]);
    EXPECT_EQ(me["actor"], "token " + std::to_string(t["id"].get<int>()) + " '" + t["name"].get<std::string>() + "'");
  }
  // The server's own token: an admin without an id.
  auto r = api("GET", "/api/v1/me", kAdmin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), (json{{"role", "admin"}, {"name", "bootstrap"}, {"token_id", nullptr},
                                       {"actor", "admin token (configured)"}}));
  // No token, a wrong one, a revoked one: 401.
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/me")).status, 401);
  EXPECT_EQ(api("GET", "/api/v1/me", "zkp_" + std::string(64, '0')).status, 401);
  ASSERT_EQ(api("DELETE", "/api/v1/tokens/" + std::to_string(viewer["id"].get<int>()), kAdmin).status, 200);
  EXPECT_EQ(api("GET", "/api/v1/me", viewer["token"].get<std::string>()).status, 401);
  // A read only.
  EXPECT_EQ(api("POST", "/api/v1/me", kAdmin, json::object()).status, 405);
}

TEST_F(TokenRolesTest, EveryStateChangingCallIsAuditedWithWhoWhatAndHowItEnded) {
  const auto op = made("hr sync", "operator");
  const auto o = op["token"].get<std::string>();
  const auto v = made("wall screen", "viewer")["token"].get<std::string>();
  ASSERT_EQ(api("POST", "/api/v1/persons", o, {{"pin", "41"}, {"name", "Ria"}, {"password", "9999"}}).status, 201);
  EXPECT_EQ(api("DELETE", "/api/v1/persons/41", v).status, 403);
  EXPECT_EQ(api("DELETE", "/api/v1/persons/41", "no-such-token-at-all").status, 401);
  EXPECT_EQ(api("GET", "/api/v1/persons", o).status, 200);  // a read: not audited

  json log;
  for (int i = 0; i < 100; ++i) {  // written after each answer: the last may lag a little
    log = json::parse(api("GET", "/api/v1/audit", kAdmin).body);
    if (log.size() >= 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Newest first: the anonymous DELETE, the viewer's, the operator's POST, the two token POSTs.
  ASSERT_EQ(log.size(), 5u) << log.dump();
  EXPECT_EQ(log[0]["actor"], "anonymous");
  EXPECT_TRUE(log[0]["role"].is_null());
  EXPECT_EQ(log[0]["status"], 401);
  EXPECT_EQ(log[0]["method"], "DELETE");
  EXPECT_EQ(log[0]["target"], "/api/v1/persons/41");
  EXPECT_EQ(log[1]["role"], "viewer");
  EXPECT_EQ(log[1]["status"], 403);
  EXPECT_EQ(log[2]["actor"], "token " + std::to_string(op["id"].get<int>()) + " 'hr sync'");
  EXPECT_EQ(log[2]["role"], "operator");
  EXPECT_EQ(log[2]["operation"], "createPerson");
  EXPECT_EQ(log[2]["status"], 201);
  EXPECT_EQ(log[2]["remote"], "127.0.0.1");
  EXPECT_GT(log[2]["at"].get<std::int64_t>(), 0);
  EXPECT_EQ(log[4]["actor"], "admin token (configured)");
  EXPECT_EQ(log[4]["operation"], "createToken");
  // Bodies are not kept: no password, no token made.
  EXPECT_EQ(log.dump().find("9999"), std::string::npos);
  EXPECT_EQ(log.dump().find(o), std::string::npos);
  // Filtered by actor, paged; admins only.
  auto mine = json::parse(api("GET", "/api/v1/audit?actor=anonymous", kAdmin).body);
  ASSERT_EQ(mine.size(), 1u);
  auto page = json::parse(api("GET", "/api/v1/audit?limit=2&before_id=" + std::to_string(log[1]["id"].get<int>()), kAdmin).body);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0], log[2]);
  EXPECT_EQ(api("GET", "/api/v1/audit", o).status, 403);
  EXPECT_EQ(api("GET", "/api/v1/audit?limit=0", kAdmin).status, 400);
}

}  // namespace
}  // namespace zkpush::server::e2e
