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

}  // namespace
}  // namespace zkpush::server::e2e
