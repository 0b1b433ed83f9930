// The OpenAPI document of the real /api/v1 (GET /api/v1/openapi.json, generated from the route table
// by openapi.cpp) against the running server: every route is described, and every operation the
// document names exists — sent over a real socket with the admin token, it reaches its route
// (never the table's 404 "no such API route", never 405).
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "front/api/api_endpoints.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::front::api {
namespace {

using namespace server::e2e;  // NOLINT
using nlohmann::json;

const std::string kToken = "openapi-test-token";

// A documented path with its parameters filled with values no object has: the route answers its
// own 404 or 400.
std::string target_of(const std::string& pattern) {
  std::string target;
  for (const auto& segment : path_segments(pattern)) {
    target += "/";
    target += segment.front() == '{' ? (segment == "{id}" ? "999999999" : "NO-SUCH-OBJECT") : segment;
  }
  return target;
}

std::string verb_of(std::string method) {
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return method;
}

class OpenApiTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    server::ServerConfig config;
    config.api_token = kToken;
    start(config);
  }
  RawResponse call(const std::string& method, const std::string& target, const std::string& token = kToken) {
    std::string headers = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
    std::string body;
    if (method == "POST" || method == "PATCH" || method == "PUT") {
      body = "{}";
      headers += "Content-Type: application/json\r\n";
    }
    return send_raw(server::http::test::request(method, target, body, headers));
  }
  json document() {
    auto r = call("GET", "/api/v1/openapi.json", "");  // public: no token
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
    auto doc = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.body;
    return doc;
  }
  // The route table the server was built with (same services, same order).
  RouteTable table() {
    RouteTable t;
    const ApiServices services{app_->config(), app_->store(), app_->devices(), app_->queue(), app_->access(), app_->sync(),
                                 app_->tokens(), app_->live()};
    add_all_routes(t, services);
    return t;
  }
};

TEST_F(OpenApiTest, EveryRouteIsDescribed) {
  const auto t = table();
  ASSERT_FALSE(t.routes().empty());
  const auto doc = document();
  const auto& schemas = doc["components"]["schemas"];
  std::set<std::string> operations;
  for (const auto& r : t.routes()) {
    const std::string where = std::string(boost::beast::http::to_string(r.method)) + " " + std::string(r.pattern);
    SCOPED_TRACE(where);
    EXPECT_FALSE(r.operation.empty());
    EXPECT_TRUE(operations.insert(std::string(r.operation)).second) << "operationId used twice";
    EXPECT_GE(r.summary.size(), 10u) << "a route needs a real description";
    EXPECT_TRUE(static_cast<bool>(r.handler));
    EXPECT_EQ(r.pattern.substr(0, 8), "/api/v1/");
    // "NNN Schema" or "NNN Schema[]", the schema declared in the document.
    const auto space = r.response.find(' ');
    ASSERT_NE(space, std::string_view::npos) << r.response;
    const int status = std::stoi(std::string(r.response.substr(0, space)));
    EXPECT_TRUE(status >= 200 && status < 300) << r.response;
    // ...or "NNN media/type" for an answer that is not JSON (the CSV export).
    std::string schema(r.response.substr(space + 1));
    if (schema.size() > 2 && schema.substr(schema.size() - 2) == "[]") schema.resize(schema.size() - 2);
    if (schema.find('/') == std::string::npos) {
      EXPECT_TRUE(schemas.contains(schema)) << schema;
    }
    if (!r.request_body.empty()) {
      EXPECT_TRUE(schemas.contains(std::string(r.request_body))) << r.request_body;
    }
    for (const auto& q : r.query) EXPECT_FALSE(q.description.empty()) << q.name;

    // ...and the document carries it, with the same words.
    std::string method(boost::beast::http::to_string(r.method));
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string pattern(r.pattern);
    ASSERT_TRUE(doc["paths"].contains(pattern) && doc["paths"][pattern].contains(method));
    const auto& op = doc["paths"][pattern][method];
    EXPECT_EQ(op["operationId"], std::string(r.operation));
    EXPECT_EQ(op["summary"], std::string(r.summary));
    EXPECT_EQ(op["x-zkpush-role"], std::string(role_name(r.role)));
    const auto& content = op["responses"][std::to_string(status)]["content"];
    // JSON, a named media type (text/csv), or bytes (Content: a photo or a template).
    const std::string media = schema == "Content" ? "image/jpeg" : schema.find('/') == std::string::npos ? "application/json" : schema;
    EXPECT_TRUE(content.contains(media)) << content;
  }
  // The document has these routes and one more: itself.
  std::size_t documented = 0;
  for (const auto& [path, methods] : doc["paths"].items()) documented += methods.size();
  EXPECT_EQ(documented, t.routes().size() + 1);
  EXPECT_EQ(doc["paths"]["/api/v1/openapi.json"]["get"]["x-zkpush-role"], "public");
}

TEST_F(OpenApiTest, EveryDocumentedOperationExists) {
  const auto doc = document();
  std::size_t checked = 0;
  for (const auto& [pattern, methods] : doc["paths"].items()) {
    const std::string target = target_of(pattern);
    for (const auto& [method, op] : methods.items()) {
      const std::string verb = verb_of(method);
      SCOPED_TRACE(verb + " " + target);
      if (pattern == "/api/v1/stream") {  // never ends: its own test (tests/server/stream_test.cpp)
        EXPECT_EQ(call(verb, target, "").status, 401);
        ++checked;
        continue;
      }
      auto r = call(verb, target);
      EXPECT_NE(r.status, 405) << r.body;
      EXPECT_NE(r.status, 401) << r.body;
      EXPECT_EQ(r.body.find("no such API route"), std::string::npos) << r.body;
      // Without the token every non-public operation is refused.
      if (op["x-zkpush-role"] != "public") {
        EXPECT_EQ(call(verb, target, "").status, 401);
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 5u);
  // And a path the document does not name is the table's 404.
  auto r = call("GET", "/api/v1/not-a-route");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no such API route"), std::string::npos) << r.body;
}

// Roles, walked over every documented operation: a viewer is refused (403) everything above viewer,
// an operator everything above operator; what a role may do it reaches (never 401 or 403). Tokens
// made through POST /api/v1/tokens, as an integrator would.
TEST_F(OpenApiTest, EveryOperationRefusesTheRolesBelowItsOwn) {
  auto made = [&](const std::string& role) {
    const std::string body = json{{"name", role + " walker"}, {"role", role}}.dump();
    auto r = send_raw(server::http::test::request("POST", "/api/v1/tokens", body,
                                                  "Authorization: Bearer " + kToken + "\r\nContent-Type: application/json\r\n"));
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["token"].get<std::string>();
  };
  const std::map<std::string, int> rank{{"public", 0}, {"viewer", 1}, {"operator", 2}, {"admin", 3}};
  const std::vector<std::pair<std::string, std::string>> callers{
      {"viewer", made("viewer")}, {"operator", made("operator")}, {"admin", made("admin")}};
  const auto doc = document();
  std::size_t refused = 0, allowed = 0;
  for (const auto& [pattern, methods] : doc["paths"].items()) {
    const std::string target = target_of(pattern);
    for (const auto& [method, op] : methods.items()) {
      const std::string verb = verb_of(method);
      const std::string needs = op["x-zkpush-role"].get<std::string>();
      for (const auto& [role, token] : callers) {
        SCOPED_TRACE(role + " " + verb + " " + target + " (needs " + needs + ")");
        if (pattern == "/api/v1/stream") continue;  // never ends: tests/server/stream_test.cpp
        auto r = call(verb, target, token);
        if (rank.at(role) < rank.at(needs)) {
          EXPECT_EQ(r.status, 403) << r.body;
          ++refused;
        } else {
          EXPECT_NE(r.status, 403) << r.body;
          EXPECT_NE(r.status, 401) << r.body;
          ++allowed;
        }
      }
    }
  }
  EXPECT_GE(refused, 20u);
  EXPECT_GE(allowed, 40u);
}

}  // namespace
}  // namespace zkpush::front::api
