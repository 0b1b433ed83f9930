#include "front/api/routes.hpp"

#include "protocol/text.hpp"

namespace zkpush::front::api {

std::string_view role_name(Role role) noexcept {
  switch (role) {
    case Role::open: return "public";
    case Role::viewer: return "viewer";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
  }
  return "admin";
}

std::vector<std::string> path_segments(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(protocol::text::percent_decode(part));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

namespace {

bool match_segments(const std::vector<std::string>& wanted, const std::vector<std::string>& segments,
                    std::vector<std::string>& params) {
  if (wanted.size() != segments.size()) return false;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const bool variable = wanted[i].size() > 2 && wanted[i].front() == '{' && wanted[i].back() == '}';
    if (!variable && wanted[i] != segments[i]) return false;
  }
  params.clear();
  for (std::size_t i = 0; i < wanted.size(); ++i)
    if (wanted[i].size() > 2 && wanted[i].front() == '{' && wanted[i].back() == '}') params.push_back(segments[i]);
  return true;
}

}  // namespace

std::optional<RouteTable::Match> RouteTable::match(http::Verb method, std::string_view path) const {
  const auto segments = path_segments(path);
  std::optional<Match> out;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& route = routes_[i];
    if (!match_segments(patterns_[i], segments, params)) continue;
    if (!out) out.emplace();
    if (route.method == method && !out->route) {
      out->route = &route;
      out->params = std::move(params);
    }
    const std::string name(boost::beast::http::to_string(route.method));
    if (out->allow.find(name) == std::string::npos) out->allow += (out->allow.empty() ? "" : ", ") + name;
  }
  return out;
}

}  // namespace zkpush::front::api
