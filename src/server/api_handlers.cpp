// The minimal JSON API (Bearer token) and /healthz, members of DeviceRouter.
//   GET  /healthz                            200 "OK"
//   GET  /api/v1/devices                     [{sn, approved, registered, ip, last_seen, pending}]
//   POST /api/v1/devices/{sn}/approve        approves a device waiting under --registration approve
//   POST /api/v1/devices/{sn}/commands       {"line": "CONTROL DEVICE 01010105", "expires_in": 30}
//   GET  /api/v1/commands/{id}               the command and its result
//   GET  /api/v1/events?sn=&after_id=&limit= events, oldest first
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/commands.hpp"
#include "server/device_router.hpp"

namespace zkpush::server {

namespace p = protocol;
using json = nlohmann::ordered_json;

namespace {

void answer_json(const SharedResponder& respond, int status, const json& body) {
  (*respond)(http::make_response(static_cast<http::Status>(status), body.dump(), "application/json"));
}

void answer_error(const SharedResponder& respond, int status, const std::string& message) {
  answer_json(respond, status, json{{"error", message}});
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

json command_json(const storage::CommandRow& row) {
  json j{{"id", row.id},           {"sn", row.sn},
         {"wire_id", row.wire_id}, {"line", row.line},
         {"verb", row.verb},       {"status", storage::command_status_name(row.status)}};
  j["return_code"] = row.return_code ? json(*row.return_code) : json(nullptr);
  auto result = json::parse(row.result, nullptr, false);
  j["result"] = result.is_discarded() ? json(row.result) : result;
  j["created_at"] = row.created_at;
  j["sent_at"] = row.sent_at;
  j["done_at"] = row.done_at;
  j["expires_at"] = row.expires_at;
  j["attempts"] = row.attempts;
  return j;
}

json event_json(const storage::EventRow& e) {
  json j{{"id", e.id}, {"sn", e.sn}, {"time_local", e.time_local}};
  j["time_utc"] = e.time_utc ? json(*e.time_utc) : json(nullptr);
  j["pin"] = e.pin;
  j["cardno"] = e.cardno;
  j["event"] = e.event ? json(*e.event) : json(nullptr);
  j["door"] = e.door ? json(*e.door) : json(nullptr);
  j["inout"] = e.inout ? json(*e.inout) : json(nullptr);
  j["verifytype"] = e.verifytype;
  j["index"] = e.index ? json(*e.index) : json(nullptr);
  j["source"] = e.source;
  j["received_at"] = e.received_at;
  return j;
}

}  // namespace

void DeviceRouter::on_api(http::Request& request, const std::string& path, const SharedResponder& respond) {
  if (config_.api_token.empty()) return answer_error(respond, 404, "the API is disabled (no --api-token)");
  std::string_view auth = request.header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (auth.size() <= bearer.size() || auth.substr(0, bearer.size()) != bearer ||
      !same_secret(auth.substr(bearer.size()), config_.api_token)) {
    return answer_error(respond, 401, "missing or wrong bearer token");
  }
  auto target = p::parse_target(request.target());
  std::vector<std::string_view> parts;
  std::string_view rest(path);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto part = rest.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // parts[0] == "api", parts[1] == "v1"
  const bool get = request.method() == http::Verb::get;
  const bool post = request.method() == http::Verb::post;
  if (parts.size() == 3 && parts[2] == "devices" && get) {
    json out = json::array();
    for (const auto& s : registry_.all()) {
      out.push_back(json{{"sn", s.device.sn},
                         {"approved", s.device.approved},
                         {"registered", !s.device.registry_code.empty()},
                         {"ip", s.device.ip},
                         {"push_version", s.device.push_version},
                         {"last_seen", s.last_seen},
                         {"pending", s.pending}});
    }
    return answer_json(respond, 200, out);
  }
  if (parts.size() == 5 && parts[2] == "devices" && post && (parts[4] == "commands" || parts[4] == "approve")) {
    const std::string sn(parts[3]);
    auto state = registry_.get(sn);
    if (!state) return answer_error(respond, 404, "unknown device " + sn);
    if (parts[4] == "approve") {
      storage::Device d = state->device;
      d.approved = true;
      store_.save_device(d, [this, d, respond](storage::StoreStatus s) {
        if (!s.ok()) return answer_error(respond, s.error().transient ? 503 : 400, s.error().message);
        registry_.put_device(d);
        spdlog::info("{}: approved through the API", d.sn);
        answer_json(respond, 200, json{{"sn", d.sn}, {"approved", true}});
      });
      return;
    }
    auto body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("line") || !body["line"].is_string()) {
      return answer_error(respond, 400, "expected {\"line\": \"<command>\"}");
    }
    const std::string line = body["line"].get<std::string>();
    if (auto parsed = p::parse_command("C:1:" + line); !parsed) {
      return answer_error(respond, 400, parsed.error().to_string());
    }
    std::optional<std::int64_t> expires_in;
    if (body.contains("expires_in")) {
      if (!body["expires_in"].is_number_integer()) return answer_error(respond, 400, "expires_in: seconds");
      expires_in = body["expires_in"].get<std::int64_t>();
    }
    enqueue_command(sn, line, expires_in, [respond](storage::StoreResult<storage::CommandRow> r) {
      if (!r.ok()) {
        const auto& e = r.error();
        return answer_error(respond, e.transient ? 503 : (e.reason == storage::StoreError::Reason::not_found ? 404 : 400),
                            e.message);
      }
      answer_json(respond, 201, command_json(r.value()));
    });
    return;
  }
  if (parts.size() == 4 && parts[2] == "commands" && get) {
    auto id = to_int(parts[3]);
    if (!id) return answer_error(respond, 400, "command id must be a number");
    auto row = store_.get_command(*id);
    if (!row) return answer_error(respond, 404, "no command " + std::string(parts[3]));
    return answer_json(respond, 200, command_json(*row));
  }
  if (parts.size() == 3 && parts[2] == "events" && get) {
    storage::EventFilter filter;
    filter.sn = std::string(target.query.get_or("sn", ""));
    if (auto v = target.query.get("after_id")) filter.after_id = to_int(*v).value_or(0);
    if (auto v = target.query.get("limit")) filter.limit = std::min<std::int64_t>(to_int(*v).value_or(100), 1000);
    if (filter.limit <= 0) filter.limit = 100;
    json out = json::array();
    for (const auto& e : store_.list_events(filter)) out.push_back(event_json(e));
    return answer_json(respond, 200, out);
  }
  answer_error(respond, 404, "no such API route");
}

}  // namespace zkpush::server
