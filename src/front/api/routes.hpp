// The JSON API's route table. Each route says what it answers (method, path pattern), who may call
// it (role) and what it takes and gives (for the OpenAPI document, openapi.cpp); the same table
// drives dispatch, 404 / 405 with Allow, and authentication (api_endpoints.cpp). A feature adds its
// routes to the table; nothing else has to learn about them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "front/peer.hpp"

namespace zkpush::front::api {

// What a caller must hold. One bearer token (--api-token) holds admin today; per-user keys with
// lower roles come with the management API, and this is where they are checked.
enum class Role { open, viewer, operator_, admin };
std::string_view role_name(Role role) noexcept;  // "public", "viewer", "operator", "admin"

// A query parameter a route understands, for the OpenAPI document.
struct QueryParam {
  std::string_view name;
  std::string_view type;  // "string" | "integer"
  std::string_view description;
};

// Who is calling, from the request's bearer token (api_endpoints.cpp): the token `serve` was given
// (--api-token, or <data>/api-token) is an admin named kServerTokenName, without an id; a token made
// through the API has its role, name and id. A public route's caller is Role::open, nameless.
inline constexpr std::string_view kServerTokenName = "bootstrap";
struct Caller {
  Role role = Role::open;
  std::string name;
  std::optional<std::int64_t> token_id{};
  std::string actor{};  // as the audit log names it: "admin token (configured)", "token 3 'hr sync'"
};

// One request being answered: the route's path parameters ({sn} -> params[0]...), percent-decoded.
struct Call {
  http::Request& request;
  std::vector<std::string> params;
  std::string who;  // "<ip> <METHOD> <target>", for log lines
  SharedResponder respond;
  Caller caller{};
};

struct Route {
  http::Verb method;
  std::string_view pattern;      // "/api/v1/devices/{sn}/commands": literal segments and {name}s
  Role role;
  std::string_view operation;    // OpenAPI operationId, e.g. "listDevices"
  std::string_view summary;      // one line
  std::string_view request_body; // a schema name of openapi.cpp ("DevicePatch"), "" for none
  std::string_view response;     // the success status and schema: "200 Device", "200 Device[]", "201 Command"
  std::vector<QueryParam> query;
  std::function<void(Call&)> handler;
};

std::vector<std::string> path_segments(std::string_view path);  // percent-decoded, empty ones dropped

class RouteTable {
 public:
  void add(Route route) {
    patterns_.push_back(path_segments(route.pattern));  // split once, not per request
    routes_.push_back(std::move(route));
  }
  const std::vector<Route>& routes() const noexcept { return routes_; }

  struct Match {
    const Route* route = nullptr;       // the route for this method, if any
    std::vector<std::string> params;
    std::string allow;                  // when the path matches but not the method: "GET, PATCH"
  };
  // The routes whose pattern matches `path` (segments percent-decoded, case kept); nullopt when
  // none does (404).
  std::optional<Match> match(http::Verb method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // routes_[i].pattern's segments
};


// The OpenAPI 3.0 document of a table (openapi.cpp).
std::string openapi_document(const RouteTable& table);

}  // namespace zkpush::front::api
