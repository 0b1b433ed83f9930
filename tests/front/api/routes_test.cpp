// The JSON API's route table (src/front/api/routes.*): how a path and a method find their route, the
// path parameters, 404 (no route for the path) versus 405 with the Allow list, and the OpenAPI
// document a table generates. The real /api/v1 table is checked in openapi_test.cpp.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include <nlohmann/json.hpp>

#include "front/api/routes.hpp"

namespace zkpush::front::api {
namespace {

using V = http::Verb;

// A Route holds string_views (the real table's are literals): the summaries made here live as long as
// the test process.
std::string_view keep(std::string text) {
  static std::deque<std::string> kept;
  return kept.emplace_back(std::move(text));
}

Route route(V method, std::string_view pattern, std::string_view operation, Role role = Role::viewer) {
  return Route{method, pattern, role, operation, keep("summary of " + std::string(operation)), "", "200 Device", {},
               [](Call&) {}};
}

RouteTable sample() {
  RouteTable t;
  t.add(route(V::get, "/api/v1/devices", "listDevices"));
  t.add(route(V::get, "/api/v1/devices/{sn}", "getDevice"));
  t.add(route(V::patch, "/api/v1/devices/{sn}", "patchDevice", Role::admin));
  t.add(route(V::post, "/api/v1/devices/{sn}/commands", "queueCommand", Role::operator_));
  t.add(route(V::get, "/api/v1/commands/{id}", "getCommand"));
  t.add(route(V::delete_, "/api/v1/commands/{id}", "cancelCommand", Role::operator_));
  t.add(route(V::get, "/api/v1/openapi.json", "openapi", Role::open));
  return t;
}

TEST(RouteTable, PathSegmentsArePercentDecodedAndEmptyOnesDropped) {
  EXPECT_EQ(path_segments("/api//v1/devices/"), (std::vector<std::string>{"api", "v1", "devices"}));
  EXPECT_EQ(path_segments("/api/v1/devices/AB%20C%2F1"), (std::vector<std::string>{"api", "v1", "devices", "AB C/1"}));
  EXPECT_TRUE(path_segments("/").empty());
  EXPECT_TRUE(path_segments("").empty());
}

TEST(RouteTable, ExactPathsAndParameters) {
  const auto t = sample();
  auto m = t.match(V::get, "/api/v1/devices");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "listDevices");
  EXPECT_TRUE(m->params.empty());

  // The serial number keeps its case and is percent-decoded.
  m = t.match(V::get, "/api/v1/devices/CjDk%2D01");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "getDevice");
  EXPECT_EQ(m->params, std::vector<std::string>{"CjDk-01"});

  m = t.match(V::patch, "/api/v1/devices/X1/");  // a trailing slash is the same path
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "patchDevice");
  EXPECT_EQ(m->params, std::vector<std::string>{"X1"});

  m = t.match(V::post, "/api/v1/devices/X1/commands");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "queueCommand");

  m = t.match(V::delete_, "/api/v1/commands/42");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "cancelCommand");
  EXPECT_EQ(m->params, std::vector<std::string>{"42"});
}

TEST(RouteTable, UnknownPathsMatchNothing) {
  const auto t = sample();
  for (const char* path : {"/", "/api", "/api/v1", "/api/v1/device", "/api/v1/devices/X1/commands/7",
                           "/api/v2/devices", "/api/v1/DEVICES", "/api/v1/commands"}) {
    SCOPED_TRACE(path);
    EXPECT_FALSE(t.match(V::get, path).has_value());
    EXPECT_FALSE(t.match(V::post, path).has_value());
  }
}

TEST(RouteTable, KnownPathWrongMethodListsWhatIsAllowed) {
  const auto t = sample();
  auto m = t.match(V::delete_, "/api/v1/devices/X1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, nullptr);
  EXPECT_EQ(m->allow, "GET, PATCH");

  m = t.match(V::post, "/api/v1/devices");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, nullptr);
  EXPECT_EQ(m->allow, "GET");

  m = t.match(V::put, "/api/v1/commands/1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, nullptr);
  EXPECT_EQ(m->allow, "GET, DELETE");

  // The Allow list is there on a match too (for an OPTIONS answer later).
  m = t.match(V::get, "/api/v1/commands/1");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->allow, "GET, DELETE");
}

TEST(RouteTable, AllowNamesEachMethodOnce) {
  RouteTable t;
  t.add(route(V::get, "/a/{x}", "one"));
  t.add(route(V::get, "/a/b", "two"));  // a literal and a parameter both match /a/b
  t.add(route(V::put, "/a/{x}", "three"));
  t.add(route(V::patch, "/a/b", "four"));
  auto m = t.match(V::delete_, "/a/b");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->allow, "GET, PUT, PATCH");
  // The first route that matches wins.
  m = t.match(V::get, "/a/b");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->route->operation, "one");
  EXPECT_EQ(m->params, std::vector<std::string>{"b"});
}

TEST(RouteTable, OpenApiDocumentOfATable) {
  const auto t = sample();
  const auto doc = nlohmann::json::parse(openapi_document(t));
  EXPECT_EQ(doc["openapi"], "3.0.3");
  ASSERT_TRUE(doc["paths"].is_object());
  std::size_t operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) operations += methods.size();
  EXPECT_EQ(operations, t.routes().size());

  const auto& get_device = doc["paths"]["/api/v1/devices/{sn}"]["get"];
  EXPECT_EQ(get_device["operationId"], "getDevice");
  EXPECT_EQ(get_device["summary"], "summary of getDevice");
  EXPECT_EQ(get_device["x-zkpush-role"], "viewer");
  ASSERT_EQ(get_device["parameters"].size(), 1u);
  EXPECT_EQ(get_device["parameters"][0]["name"], "sn");
  EXPECT_EQ(get_device["parameters"][0]["in"], "path");
  EXPECT_EQ(get_device["parameters"][0]["required"], true);
  EXPECT_TRUE(get_device["responses"].contains("200"));
  EXPECT_TRUE(get_device["responses"].contains("401"));
  EXPECT_TRUE(get_device["responses"].contains("404"));
  EXPECT_EQ(get_device["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Device");

  EXPECT_EQ(doc["paths"]["/api/v1/devices/{sn}"]["patch"]["x-zkpush-role"], "admin");
  EXPECT_EQ(doc["paths"]["/api/v1/commands/{id}"]["delete"]["x-zkpush-role"], "operator");

  // A public route asks for no credentials and cannot answer 401.
  const auto& open = doc["paths"]["/api/v1/openapi.json"]["get"];
  EXPECT_EQ(open["x-zkpush-role"], "public");
  EXPECT_TRUE(open["security"].empty());
  EXPECT_FALSE(open["responses"].contains("401"));
  EXPECT_FALSE(get_device["security"].empty());
}

}  // namespace
}  // namespace zkpush::front::api
