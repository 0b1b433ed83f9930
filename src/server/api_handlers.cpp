// The JSON API under /api/v1 (Bearer token), members of DeviceRouter; the shapes are in
// api_views.hpp, the contract in docs/serve.md ("JSON API").
//   GET    /api/v1/devices                     every device
//   GET    /api/v1/devices/{sn}                one device (404 unknown)
//   PATCH  /api/v1/devices/{sn}                {"time_zone": "+0800", "config": {"RequestDelay": 10}}
//   POST   /api/v1/devices/{sn}/approve        approves a device waiting under --registration approve
//   GET    /api/v1/devices/{sn}/state          current door states, decoded
//   POST   /api/v1/devices/{sn}/commands       {"line": "CONTROL DEVICE 01010105", "expires_in": 30} -> 201
//   GET    /api/v1/commands/{id}               the command, its Return and what the device uploaded
//   DELETE /api/v1/commands/{id}               cancels a queued command (409 once delivered)
//   GET    /api/v1/events?sn=&after_id=&limit= events, oldest first
// Every error is {"error": "..."} with a log line.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <utility>

#include "protocol/commands.hpp"
#include "protocol/describe.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"
#include "server/api_views.hpp"
#include "server/device_router.hpp"

namespace zkpush::server {

namespace p = protocol;
using api::Json;

namespace {

constexpr std::int64_t kDefaultEventLimit = 100;
constexpr std::int64_t kMaxEventLimit = 1000;

void answer_json(const SharedResponder& respond, int status, const Json& body) {
  // Device text (names, options) may hold bytes that are not UTF-8: replaced, never a throw.
  (*respond)(http::make_response(static_cast<http::Status>(status),
                                 body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json"));
}

struct ApiCall {
  std::string who;  // "<ip> <METHOD> <target>", for log lines
};

void answer_error(const SharedResponder& respond, const ApiCall& call, int status, const std::string& message) {
  if (status >= 500) {
    spdlog::error("{}: {} {}", call.who, status, message);
  } else {
    spdlog::warn("{}: {} {}", call.who, status, message);
  }
  answer_json(respond, status, Json{{"error", message}});
}

// A store refusal mapped to the API's status codes.
void answer_store_refusal(const SharedResponder& respond, const ApiCall& call, const storage::StoreError& e) {
  int status = 400;
  if (e.transient || e.reason == storage::StoreError::Reason::none) status = 503;
  else if (e.reason == storage::StoreError::Reason::not_found) status = 404;
  else if (e.reason == storage::StoreError::Reason::conflict) status = 409;
  answer_error(respond, call, status, status == 503 ? "store unavailable, retry later: " + e.message : e.message);
}

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Constant-time for equal lengths.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::vector<std::string> path_parts(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(p::text::percent_decode(part));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// Command ids whose DELETE is in flight: two concurrent cancels of one queued command both succeed
// (the store answers the second with the cancelled row), but only one of them may lower the
// registry's pending count, or the device would stop being polled for its other commands.
std::mutex g_cancel_mutex;
std::set<std::pair<const void*, std::int64_t>> g_cancelling;

// What the API handlers use of the router; copied into store callbacks (it holds references to
// objects that outlive every request).
struct Api {
  const ServerConfig& config;
  storage::Store& store;
  DeviceRegistry& registry;
  DeviceRouter& router;

  void devices(const SharedResponder& respond) const;
  void approve(const std::string& sn, const std::string& who, const SharedResponder& respond) const;
  void update(const std::string& sn, const std::string& body, const std::string& who,
              const SharedResponder& respond) const;
  void enqueue(const std::string& sn, const std::string& body, const std::string& who,
               const SharedResponder& respond) const;
  void cancel(std::int64_t id, const std::string& who, const SharedResponder& respond) const;
  void events(const http::Request& request, const std::string& who, const SharedResponder& respond) const;
};

}  // namespace

void DeviceRouter::on_api(http::Request& request, const std::string& path, const SharedResponder& respond) {
  const ApiCall call{request.remote.address().to_string() + " " + std::string(request.method_string()) + " " +
                     std::string(request.target())};
  // Never open without a token: App generates one when none is configured, so an empty one here
  // is a bug upstream, and the API answers nothing but 401.
  if (config_.api_token.empty()) {
    spdlog::error("{}: the API has no token configured; refused", call.who);
    return answer_json(respond, 401, Json{{"error", "the API has no token configured"}});
  }
  std::string_view auth = request.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() <= bearer.size() || !p::text::iequals(auth.substr(0, bearer.size()), bearer) ||
      !same_secret(auth.substr(bearer.size()), config_.api_token)) {
    spdlog::warn("{}: 401 {} bearer token", call.who, auth.empty() ? "missing" : "wrong");
    auto response = http::make_response(http::Status::unauthorized,
                                         Json{{"error", "missing or wrong bearer token"}}.dump(), "application/json");
    response.set(boost::beast::http::field::www_authenticate, "Bearer");
    return (*respond)(std::move(response));
  }

  const auto parts = path_parts(path);  // parts[0] == "api"
  const auto method = request.method();
  // Routes are matched on the path first, so that a known path with another method gets 405 (with
  // Allow) and only an unknown path gets 404.
  auto wrong_method = [&](std::string_view allow) {
    spdlog::warn("{}: 405 method not allowed (allowed: {})", call.who, allow);
    auto response = http::make_response(http::Status::method_not_allowed,
                                        Json{{"error", "method not allowed; allowed: " + std::string(allow)}}.dump(),
                                        "application/json");
    response.set(boost::beast::http::field::allow, std::string(allow));
    (*respond)(std::move(response));
  };
  const bool v1 = parts.size() >= 3 && parts[1] == "v1";
  const std::size_t n = parts.size();

  const Api handlers{config_, store_, registry_, *this};
  try {
    if (v1 && n == 3 && parts[2] == "devices") {
      if (method != http::Verb::get) return wrong_method("GET");
      return handlers.devices(respond);
    }
    if (v1 && n == 4 && parts[2] == "devices") {
      if (method == http::Verb::patch) return handlers.update(parts[3], request.body(), call.who, respond);
      if (method != http::Verb::get) return wrong_method("GET, PATCH");
      auto state = registry_.get(parts[3]);
      if (!state) return answer_error(respond, call, 404, "unknown device " + parts[3]);
      return answer_json(respond, 200, api::device_json(*state, unix_now(), api::online_window(config_.request_delay)));
    }
    if (v1 && n == 5 && parts[2] == "devices" && parts[4] == "approve") {
      if (method != http::Verb::post) return wrong_method("POST");
      return handlers.approve(parts[3], call.who, respond);
    }
    if (v1 && n == 5 && parts[2] == "devices" && parts[4] == "state") {
      if (method != http::Verb::get) return wrong_method("GET");
      auto state = registry_.get(parts[3]);
      if (!state) return answer_error(respond, call, 404, "unknown device " + parts[3]);
      const int doors = p::context_from_options(state->device->options).door_count;
      return answer_json(respond, 200, api::door_state_json(store_.get_door_state(parts[3]), doors, tz_minutes(*state)));
    }
    if (v1 && n == 5 && parts[2] == "devices" && parts[4] == "commands") {
      if (method != http::Verb::post) return wrong_method("POST");
      return handlers.enqueue(parts[3], request.body(), call.who, respond);
    }
    if (v1 && n == 4 && parts[2] == "commands") {
      if (method != http::Verb::get && method != http::Verb::delete_) return wrong_method("GET, DELETE");
      auto id = to_int(parts[3]);
      if (!id || *id <= 0) return answer_error(respond, call, 400, "a command id is a positive number, not " + parts[3]);
      if (method == http::Verb::delete_) return handlers.cancel(*id, call.who, respond);
      auto row = store_.get_command(*id);
      if (!row) return answer_error(respond, call, 404, "no command " + parts[3]);
      return answer_json(respond, 200, api::command_json(*row, store_.get_command_data(*id)));
    }
    if (v1 && n == 3 && parts[2] == "events") {
      if (method != http::Verb::get) return wrong_method("GET");
      return handlers.events(request, call.who, respond);
    }
  } catch (const storage::StoreUnavailable& e) {
    return answer_error(respond, call, 503, std::string("store unavailable, retry later: ") + e.what());
  }
  answer_error(respond, call, 404, "no such API route");
}

void Api::devices(const SharedResponder& respond) const {
  auto states = registry.all();
  std::sort(states.begin(), states.end(),
            [](const DeviceState& a, const DeviceState& b) { return a.device->sn < b.device->sn; });
  const auto now = unix_now();
  const auto window = api::online_window(config.request_delay);
  Json out = Json::array();
  for (const auto& s : states) out.push_back(api::device_json(s, now, window));
  answer_json(respond, 200, out);
}

void Api::approve(const std::string& sn, const std::string& who, const SharedResponder& respond) const {
  auto state = registry.get(sn);
  if (!state) return answer_error(respond, ApiCall{who}, 404, "unknown device " + sn);
  // Only the operator's column is written: a device request in flight saves its own columns and
  // cannot put approved back to false (Store::save_device), whichever commits first.
  storage::DeviceSettings settings;
  settings.approved = true;
  store.update_device_settings(sn, settings, [self = *this, sn, settings, who, respond](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_refusal(respond, ApiCall{who}, s.error());
    self.registry.apply_settings(sn, settings);
    spdlog::info("{}: approved through the API", sn);
    auto state = self.registry.get(sn);
    answer_json(respond, 200,
                state ? api::device_json(*state, unix_now(), api::online_window(self.config.request_delay))
                      : Json{{"sn", sn}, {"approved", true}});
  });
}

// The configuration keys a device may have its own value for, and whether the value is a number.
constexpr std::pair<std::string_view, bool> kDeviceConfigKeys[] = {
    {"RequestDelay", true}, {"ErrorDelay", true},  {"TimeoutSec", true},  {"TransInterval", true},
    {"Realtime", true},     {"TransTimes", false}, {"TransTables", false}, {"ServerName", false},
};

// PATCH {"time_zone": "+0800" | null, "config": {"RequestDelay": 10, "TransTimes": null, ...}}:
// null removes the device's own value (back to the server's).
void Api::update(const std::string& sn, const std::string& body, const std::string& who,
                 const SharedResponder& respond) const {
  const ApiCall call{who};
  auto state = registry.get(sn);
  if (!state) return answer_error(respond, call, 404, "unknown device " + sn);
  auto json = Json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return answer_error(respond, call, 400, "expected a JSON object");
  // Edits, not a row: applied by the store to the row as it is when the write runs, so device
  // requests in flight and other PATCHes (other keys) keep what they wrote.
  storage::DeviceSettings settings;
  for (const auto& [key, value] : json.items()) {
    if (key == "time_zone") {
      if (value.is_null()) {
        settings.time_zone = std::string();
        continue;
      }
      auto tz = value.is_string() ? p::parse_tz_offset(value.get<std::string>()) : std::nullopt;
      if (!tz) return answer_error(respond, call, 400, "time_zone: an offset like \"+0800\" or null");
      settings.time_zone = p::format_tz_offset(*tz);
    } else if (key == "config") {
      if (!value.is_object()) return answer_error(respond, call, 400, "config: an object of configuration keys");
      for (const auto& item : value.items()) {
        const std::string name = item.key();  // not a structured binding: clang 14 cannot capture one
        const auto& v = item.value();
        const auto* known = std::find_if(std::begin(kDeviceConfigKeys), std::end(kDeviceConfigKeys),
                                         [&](const auto& k) { return p::text::iequals(k.first, name); });
        if (known == std::end(kDeviceConfigKeys)) {
          return answer_error(respond, call, 400, "config: " + name + " is not a per-device configuration key");
        }
        const std::string canonical(known->first);
        if (v.is_null()) {
          settings.config.push_back(storage::ConfigEdit{canonical, std::nullopt});
          continue;
        }
        std::string text;
        if (known->second) {
          if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 86400) {
            return answer_error(respond, call, 400, "config: " + canonical + " must be an integer 0-86400");
          }
          text = std::to_string(v.get<std::int64_t>());
        } else {
          if (!v.is_string() || v.get<std::string>().find_first_of("\r\n") != std::string::npos) {
            return answer_error(respond, call, 400, "config: " + canonical + " must be a one-line string");
          }
          text = v.get<std::string>();
        }
        settings.config.push_back(storage::ConfigEdit{canonical, text});
      }
    } else {
      return answer_error(respond, call, 400, "unknown field " + key + " (time_zone, config)");
    }
  }
  store.update_device_settings(sn, settings, [self = *this, sn, settings, who, respond](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_refusal(respond, ApiCall{who}, s.error());
    self.registry.apply_settings(sn, settings);
    auto state = self.registry.get(sn);
    spdlog::info("{}: device settings changed through the API (time_zone '{}', {} config override(s))", sn,
                 state ? state->device->time_zone : std::string(), state ? state->device->config.size() : 0);
    answer_json(respond, 200,
                state ? api::device_json(*state, unix_now(), api::online_window(self.config.request_delay))
                      : Json{{"sn", sn}});
  });
}

void Api::enqueue(const std::string& sn, const std::string& body, const std::string& who,
                  const SharedResponder& respond) const {
  const ApiCall call{who};
  if (!registry.get(sn)) return answer_error(respond, call, 404, "unknown device " + sn);
  auto json = Json::parse(body, nullptr, false);
  if (json.is_discarded()) return answer_error(respond, call, 400, "malformed JSON body");
  if (!json.is_object() || !json.contains("line") || !json["line"].is_string()) {
    return answer_error(respond, call, 400, "expected {\"line\": \"<command>\"}");
  }
  const std::string line = json["line"].get<std::string>();
  if (line.empty()) return answer_error(respond, call, 400, "line: empty command");
  if (line.find_first_of("\r\n") != std::string::npos) {
    return answer_error(respond, call, 400, "line: one command, without line breaks");
  }
  // The server numbers commands itself (C:<id>:); the line is the command after that prefix.
  auto parsed = p::parse_command("C:1:" + line);
  if (!parsed) return answer_error(respond, call, 400, "line: " + parsed.error().to_string());
  // The parser keeps unknown verbs (a device's answer may name one); a command we send must be one
  // the protocol defines, or its result could not be read.
  if (parsed->verb() == p::Verb::unknown) return answer_error(respond, call, 400, "line: unknown command verb");
  std::optional<std::int64_t> expires_in;
  if (json.contains("expires_in") && !json["expires_in"].is_null()) {
    if (!json["expires_in"].is_number_integer() || json["expires_in"].get<std::int64_t>() <= 0) {
      return answer_error(respond, call, 400, "expires_in: a positive number of seconds");
    }
    expires_in = json["expires_in"].get<std::int64_t>();
  }
  router.enqueue_command(sn, line, expires_in, [respond, who](storage::StoreResult<storage::CommandRow> r) {
    if (!r.ok()) return answer_store_refusal(respond, ApiCall{who}, r.error());
    spdlog::info("{}: command {} queued as C:{}: {}", r->sn, r->id, r->wire_id, r->line);
    answer_json(respond, 201, api::command_json(r.value(), {}));
  });
}

void Api::cancel(std::int64_t id, const std::string& who, const SharedResponder& respond) const {
  const ApiCall call{who};
  auto before = store.get_command(id);
  if (!before) return answer_error(respond, call, 404, "no command " + std::to_string(id));
  const auto key = std::make_pair(static_cast<const void*>(&router), id);
  bool counts = false;  // whether this request lowers the pending count if the store cancels
  if (before->status == storage::CommandStatus::queued) {
    std::lock_guard lock(g_cancel_mutex);
    counts = g_cancelling.insert(key).second;
  }
  store.cancel_command(id, [self = *this, respond, who, key, counts](storage::StoreResult<storage::CommandRow> r) {
    if (counts) {
      if (r.ok() && r->status == storage::CommandStatus::cancelled) self.registry.add_pending(r->sn, -1);
      std::lock_guard lock(g_cancel_mutex);
      g_cancelling.erase(key);
    }
    if (!r.ok()) return answer_store_refusal(respond, ApiCall{who}, r.error());
    spdlog::info("{}: command {} (C:{}) cancelled through the API", r->sn, r->id, r->wire_id);
    std::vector<storage::CommandData> data;
    try {
      data = self.store.get_command_data(r->id);
    } catch (const storage::StoreUnavailable& e) {
      spdlog::warn("{}: command {} cancelled; its data could not be read: {}", r->sn, r->id, e.what());
    }
    answer_json(respond, 200, api::command_json(r.value(), data));
  });
}

void Api::events(const http::Request& request, const std::string& who, const SharedResponder& respond) const {
  const ApiCall call{who};
  auto target = p::parse_target(request.target());
  storage::EventFilter filter;
  filter.sn = std::string(target.query.get_or("sn", ""));
  filter.limit = kDefaultEventLimit;
  // An empty parameter ("after_id=") is the same as none: the documented template leaves them empty.
  if (auto v = target.query.get("after_id"); v && !v->empty()) {
    auto after = to_int(*v);
    if (!after || *after < 0) return answer_error(respond, call, 400, "after_id: a number >= 0");
    filter.after_id = *after;
  }
  if (auto v = target.query.get("limit"); v && !v->empty()) {
    auto limit = to_int(*v);
    if (!limit || *limit <= 0) return answer_error(respond, call, 400, "limit: a number from 1 to 1000");
    filter.limit = std::min(*limit, kMaxEventLimit);
  }
  Json out = Json::array();
  for (const auto& e : store.list_events(filter)) out.push_back(api::event_json(e));
  answer_json(respond, 200, out);
}

}  // namespace zkpush::server
