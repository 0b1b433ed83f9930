#include "front/api/api_endpoints.hpp"

#include <spdlog/spdlog.h>

#include <openssl/crypto.h>

#include <algorithm>

#include "front/api/answers.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

http::Response json_response(int status, const Json& body) {
  // Device text (names, options) may hold bytes that are not UTF-8: replaced, never a throw.
  return http::make_response(static_cast<http::Status>(status), body.dump(-1, ' ', false, Json::error_handler_t::replace),
                             "application/json");
}

void answer_json(const SharedResponder& respond, int status, const Json& body) { (*respond)(json_response(status, body)); }

const char* error_code_for(int status) noexcept {
  switch (status) {
    case 400: return "invalid";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 429: return "rate_limited";
    case 503: return "unavailable";
    case 504: return "timeout";
    default: return status >= 500 ? "internal" : "invalid";
  }
}

std::string error_field_of(std::string_view message) {
  // `unknown field "x" (...)`
  constexpr std::string_view unknown = "unknown field \"";
  if (message.substr(0, unknown.size()) == unknown) {
    auto rest = message.substr(unknown.size());
    return std::string(rest.substr(0, rest.find('"')));
  }
  // "field: why" / "field[2].key: why", the form the API's validation messages take
  const auto colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 64) return {};
  for (char c : message.substr(0, colon)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '[' || c == ']' ||
                    c == '-';
    if (!ok) return {};
  }
  return std::string(message.substr(0, colon));
}

void answer_error(const SharedResponder& respond, const std::string& who, int status, const std::string& message,
                  std::string_view code, std::string_view field) {
  if (status >= 500) {
    spdlog::error("{}: {} {}", who, status, message);
  } else {
    spdlog::warn("{}: {} {}", who, status, message);
  }
  Json body{{"error", message}};
  std::string f = field.empty() ? error_field_of(message) : std::string(field);
  std::string c = code.empty() ? error_code_for(status) : std::string(code);
  if (c == "invalid" && message.rfind("unknown field", 0) == 0) c = "unknown_field";
  body["code"] = c;
  if (!f.empty()) body["field"] = f;
  answer_json(respond, status, body);
}

void answer_store_refusal(const SharedResponder& respond, const std::string& who, const storage::StoreError& e) {
  int status = 400;
  if (e.transient || e.reason == storage::StoreError::Reason::none) status = 503;
  else if (e.reason == storage::StoreError::Reason::not_found) status = 404;
  else if (e.reason == storage::StoreError::Reason::conflict) status = 409;
  answer_error(respond, who, status, status == 503 ? "store unavailable, retry later: " + e.message : e.message);
}

namespace {

// Whether the presented token is the serve token, without a timing that depends on either: both
// are hashed (SHA-256, hex) and the digests, always 64 characters, compared with CRYPTO_memcmp. A
// byte loop over the raw texts would leak the token's length, and the compiler may turn it into an
// early exit.
bool same_token_digest(std::string_view presented_digest, std::string_view token_digest) {
  if (presented_digest.size() != token_digest.size() || token_digest.empty()) return false;
  return CRYPTO_memcmp(presented_digest.data(), token_digest.data(), token_digest.size()) == 0;
}

// Who the request's credentials are, nullopt without valid ones: the token `serve` was given is
// admin; the others have the role they were made with (service::Tokens, a lookup by SHA-256, so its
// timing depends on the hash, not on the secret). `presented`: the bearer token, "" when none.
std::optional<Caller> identify(std::string_view presented, const std::string& token_digest,
                               const service::Tokens& tokens) {
  if (token_digest.empty() || presented.empty()) return std::nullopt;  // never open without a token
  if (same_token_digest(service::token_hash(presented), token_digest))
    return Caller{Role::admin, std::string(kServerTokenName), std::nullopt, "admin token (configured)"};
  const auto holder = tokens.holder_of(presented);
  if (!holder) return std::nullopt;
  Caller caller{Role::open, holder->name, holder->id,
                "token " + std::to_string(holder->id) + " " + p::text::quoted(holder->name)};
  if (holder->role == "admin") caller.role = Role::admin;
  else if (holder->role == "operator") caller.role = Role::operator_;
  else if (holder->role == "viewer") caller.role = Role::viewer;
  else return std::nullopt;
  return caller;
}

// The bearer token of the request, "" when there is none.
std::string_view bearer_of(const http::Request& request) {
  std::string_view auth = request.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() <= bearer.size() || !p::text::iequals(auth.substr(0, bearer.size()), bearer)) return {};
  return auth.substr(bearer.size());
}

bool changes_state(http::Verb method) {
  return method == http::Verb::post || method == http::Verb::put || method == http::Verb::patch ||
         method == http::Verb::delete_;
}

}  // namespace

void add_all_routes(RouteTable& table, const ApiServices& services) {
  add_v1_routes(table, services);
  add_device_data_routes(table, services);
  add_sub_controller_routes(table, services);
  add_trace_routes(table, services);
  add_event_routes(table, services);
  add_access_routes(table, services);
  add_token_routes(table, services);
  add_stream_routes(table, services);
  add_webhook_routes(table, services);
  add_campaign_routes(table, services);
  add_lockout_routes(table, services);
}

bool ApiEndpoints::audit_refusal(const std::string& remote, std::int64_t now) {
  std::lock_guard lock(refusals_mutex_);
  if (refusals_.size() > 10000) refusals_.clear();  // bounded: forgetting only logs some again
  auto [it, added] = refusals_.emplace(remote, now);
  if (!added && now - it->second < 60) return false;
  it->second = now;
  return true;
}

ApiEndpoints::ApiEndpoints(ApiServices services)
    : services_(std::move(services)),
      token_digest_(services_.config.api_token.empty() ? std::string() : service::token_hash(services_.config.api_token)),
      bad_tokens_(services_.config.api_lockout_after) {
  add_all_routes(table_, services_);
  table_.add(Route{http::Verb::get, "/api/v1/openapi.json", Role::open, "openapi",
                   "This document: every route, its role, parameters and shapes (OpenAPI 3.0)", "", "200 OpenApi", {},
                   [this](Call& call) {
                     (*call.respond)(http::make_response(http::Status::ok, openapi_, "application/json"));
                   }});
  openapi_ = openapi_document(table_);
}

std::optional<std::size_t> ApiEndpoints::body_limit(const http::RequestHead&, const std::string& path) {
  // An import of ten thousand persons is a few MiB; every other body is small.
  if (path == "/api/v1/persons/import") return std::size_t{32} << 20;
  // A firmware package is tens of MiB; beyond --max-file-mb the transport answers 413.
  if (path == "/api/v1/files") return static_cast<std::size_t>(std::max(1, services_.config.max_file_mb)) << 20;
  return std::size_t{1} << 20;
}

bool api_allowed(server::ApiPlain policy, bool secure, const boost::asio::ip::address& remote) noexcept {
  if (secure || policy == server::ApiPlain::any) return true;
  if (remote.is_loopback()) return true;
  return remote.is_v6() && remote.to_v6().is_v4_mapped() &&
         boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, remote.to_v6()).is_loopback();
}

void ApiEndpoints::handle(http::Request& request, const std::string&, const SharedResponder& respond) {
  const std::string who = request.remote.address().to_string() + " " + std::string(request.method_string()) + " " +
                          p::text::printable(request.target());
  if (request.secure) respond->add_header("Strict-Transport-Security", kHstsValue);
  if (!api_allowed(services_.config.api_plain, request.secure, request.remote.address())) {
    // Refused before the token is looked at: the answer says nothing about it.
    return answer_error(respond, who, 403,
                        "the API is served over HTTPS only (--api-plain loopback): use the server's https:// address",
                        "https_required");
  }
  // Path parameters keep their case (serial numbers): match on the target's own path.
  const std::string path = p::parse_target(request.target()).path;
  auto match = table_.match(request.method(), path);
  const bool open = match && match->route && match->route->role == Role::open;
  const std::string remote = request.remote.address().to_string();
  const auto now = services_.devices.clock().now();
  std::optional<Caller> caller;
  if (!open) {
    // An address that guessed too often is refused before its token is even looked at.
    if (const auto wait = bad_tokens_.locked_for(remote, now); wait > 0) {
      spdlog::warn("{}: 429 locked out for {} s more after too many wrong bearer tokens", who, wait);
      auto response = http::make_response(
          http::Status::too_many_requests,
          Json{{"error", "too many wrong bearer tokens from this address; retry later"}, {"code", "rate_limited"}}.dump(),
          "application/json");
      response.set(boost::beast::http::field::retry_after, std::to_string(wait));
      return (*respond)(std::move(response));
    }
    const auto presented = bearer_of(request);
    caller = identify(presented, token_digest_, services_.tokens);
    if (!caller && !presented.empty()) {
      if (services_.metrics) services_.metrics->api_bad_token();
      if (bad_tokens_.failed(remote, now)) {
        if (services_.metrics) services_.metrics->api_lockout();
        spdlog::warn("API: {} wrong bearer tokens from {} within {} s: refused for {} s", bad_tokens_.limit(), remote,
                     BadTokenGuard::kWindowSeconds, BadTokenGuard::kLockoutSeconds);
      }
    }
  }
  if (changes_state(request.method()) && (caller || audit_refusal(remote, now))) {
    // Every state-changing call is audited with how it ended, refused ones included (those without
    // credentials once a minute per address).
    storage::AuditEntry entry;
    entry.at = now;
    entry.actor = caller ? caller->actor : "anonymous";
    entry.role = caller ? std::string(role_name(caller->role)) : "";
    entry.remote = remote;
    entry.method = std::string(request.method_string());
    entry.target = p::text::printable(request.target(), 512);
    entry.operation = match && match->route ? std::string(match->route->operation) : "";
    respond->on_answer([store = &services_.store, open = audit_open_, entry = std::move(entry)](int status) mutable {
      if (!open->load()) return;
      entry.status = status;
      store->write([entry](storage::Transaction& tx) { tx.audit().append(entry); },
                   [](storage::StoreResult<storage::Unit> r) {
                     if (!r.ok()) spdlog::error("audit log: not written: {}", r.error().message);
                   });
    });
  }
  if (!open) {
    auto role = caller ? std::optional<Role>(caller->role) : std::nullopt;
    if (!role) {
      if (token_digest_.empty()) spdlog::error("{}: the API has no token configured; refused", who);
      spdlog::warn("{}: 401 {} bearer token", who, request.header("Authorization").empty() ? "missing" : "wrong");
      auto response = http::make_response(http::Status::unauthorized,
                                          Json{{"error", "missing or wrong bearer token"}, {"code", "unauthorized"}}.dump(), "application/json");
      response.set(boost::beast::http::field::www_authenticate, "Bearer");
      return (*respond)(std::move(response));
    }
    if (match && match->route && *role < match->route->role) {
      return answer_error(respond, who, 403,
                          "this route needs the " + std::string(role_name(match->route->role)) + " role");
    }
  }
  if (!match) return answer_error(respond, who, 404, "no such API route");
  if (!match->route) {
    spdlog::warn("{}: 405 method not allowed (allowed: {})", who, match->allow);
    auto response = http::make_response(http::Status::method_not_allowed,
                                        Json{{"error", "method not allowed; allowed: " + match->allow}, {"code", "method_not_allowed"}}.dump(),
                                        "application/json");
    response.set(boost::beast::http::field::allow, match->allow);
    return (*respond)(std::move(response));
  }
  Call call{request, std::move(match->params), who, respond, caller.value_or(Caller{})};
  match->route->handler(call);
}

}  // namespace zkpush::front::api
