#include "server/device_router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "protocol/codecs_session.hpp"
#include "protocol/commands.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"
#include "protocol/responses.hpp"

namespace zkpush::server {

namespace p = protocol;
using p::Endpoint;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void answer(const SharedResponder& respond, int status, std::string body) {
  (*respond)(http::make_response(static_cast<http::Status>(status), std::move(body), "text/plain;charset=UTF-8"));
}

void answer_store_error(const SharedResponder& respond, const storage::StoreError& error, const std::string& what) {
  if (error.transient || error.reason == storage::StoreError::Reason::none) {
    spdlog::error("{}: store failed: {}", what, error.message);
    answer(respond, 503, "store unavailable, retry later");
  } else {
    spdlog::warn("{}: refused: {}", what, error.message);
    answer(respond, 400, error.message);
  }
}

DeviceRouter::DeviceRouter(const ServerConfig& config, storage::Store& store, DeviceRegistry& registry)
    : config_(config), store_(store), registry_(registry) {}

std::optional<std::size_t> DeviceRouter::body_limit(const http::RequestHead& head) {
  auto target = p::parse_target(head.target());
  const std::string path = p::normalize_path(target.path);
  if (path.rfind("/api/", 0) == 0) return std::size_t{1} << 20;
  if (path == "/iclock/file") return std::size_t{96} << 20;
  if (path == "/iclock/querydata" || path == "/iclock/cdata") {
    if (p::text::iequals(target.query.get_or("tablename", ""), "transaction")) return std::size_t{96} << 20;
  }
  return std::nullopt;
}

void DeviceRouter::handle(http::Request request, http::Responder respond) {
  auto shared = std::make_shared<MeteredResponder>(
      std::move(respond), metrics_, classify_for_metrics(request.method_string(), request.target(), request.body()));
  try {
    route(request, shared);
  } catch (const storage::StoreUnavailable& e) {
    spdlog::error("{} {}: store unavailable: {}", request.method_string(), request.target(), e.what());
    if (*shared) answer(shared, 503, "store unavailable, retry later");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", request.method_string(), request.target(), e.what());
    if (*shared) answer(shared, 500, "internal error");
  }
}

bool DeviceRouter::token_ok(const http::Request& request, const DeviceState& state) {
  const auto& d = *state.device;
  if (d.registry_code.empty() || d.session_id.empty()) return true;  // no session: nothing to check
  auto cookie = p::parse_cookie_token(request.header("Cookie"));
  if (!cookie) {
    metrics_.token_missing();
    if (config_.allow_missing_cookie) return true;
    spdlog::warn("{}: request without token cookie refused", d.sn);
    return false;
  }
  const auto expected = p::compute_token(d.registry_code, d.sn, d.session_id);
  if (p::token_matches(cookie->token, expected)) return true;
  metrics_.token_mismatch(config_.token);
  // Accepted under warn: logged once per device, or a device polling every few seconds floods the log.
  if (config_.token == TokenPolicy::warn && !token_warned_.first(d.sn)) return true;
  auto variant = p::diagnose_token(cookie->token, d.registry_code, d.sn, d.session_id);
  spdlog::warn("{}: token mismatch ({}){}", d.sn, variant ? "device uses " + *variant : "no known variant",
               config_.token == TokenPolicy::strict ? ", refused" : ", accepted (token policy warn; logged once per device)");
  return config_.token != TokenPolicy::strict;
}

void DeviceRouter::route(http::Request& request, const SharedResponder& respond) {
  const std::string ip = request.remote.address().to_string();
  const std::string raw_path = p::parse_target(request.target()).path;
  const std::string path = p::normalize_path(raw_path);
  if (path == "/healthz") return answer(respond, 200, std::string(p::kOkBody));
  if (path == "/metrics") return on_metrics(respond);  // open like /healthz: no per-device label
  if (path.rfind("/api/", 0) == 0) return on_api(request, raw_path, respond);  // SNs keep their case
  // Upgrade packages (file_handlers.cpp): no SN, so only the network part of the allow-list.
  if (is_files_target(request.target())) {
    if (auto refused = access_.check_network(ip)) return answer(respond, 403, *refused);
    return on_files(request, ip, respond);
  }
  auto parsed = p::parse_device_request(request.method_string(), request.target(), request.body());
  if (!parsed) {
    spdlog::warn("{} {} {}: 400 {}", ip, request.method_string(), request.target(), parsed.error().to_string());
    answer(respond, 400, parsed.error().to_string());
    return;
  }
  const p::DeviceRequest& req = *parsed;
  if (auto refused = access_.check(ip, req.sn)) {  // allow-list: before the registry or the store
    answer(respond, 403, *refused);
    return;
  }
  if (req.endpoint == Endpoint::unknown) {
    spdlog::warn("{} {} {}: 400 unknown request", ip, request.method_string(), request.target());
    answer(respond, 400, "unknown request");
    return;
  }
  auto state = registry_.get(req.sn);
  switch (req.endpoint) {
    case Endpoint::init: return on_init(req, state, ip, respond);
    case Endpoint::registry: return on_registry(req, state, ip, respond);
    case Endpoint::firmware_range:  // a GET outside /iclock and /files/: nothing is published there
      spdlog::warn("{} GET {}: 404 not a published file (files are under /files/)", ip, request.target());
      return answer(respond, 404, "not found: files are published under /files/");
    default: break;
  }
  if (!state) {
    spdlog::warn("{} {}: 401 unknown device (no init yet)", ip, req.sn);
    answer(respond, 401, "unknown device: start with init");
    return;
  }
  if (!state->device->approved) {
    spdlog::warn("{} {}: 401 device not approved ({})", ip, req.sn, p::endpoint_id(req.endpoint));
    answer(respond, 401, "device not approved");
    return;
  }
  if (req.endpoint != Endpoint::push_config && !token_ok(request, *state)) {
    answer(respond, 401, "bad token");
    return;
  }
  registry_.touch(req.sn, unix_now());
  switch (req.endpoint) {
    case Endpoint::push_config: return on_push(req, *state, respond);
    case Endpoint::upload_options: return on_options(req, respond);
    case Endpoint::ping: return answer(respond, 200, std::string(p::kOkBody));
    case Endpoint::rtlog:
    case Endpoint::rtlog_cancel_alarm: return on_rtlog(req, *state, respond);
    case Endpoint::rtstate: return on_rtstate(req, respond);
    case Endpoint::tabledata_user:
    case Endpoint::tabledata_identitycard:
    case Endpoint::tabledata_templatev10:
    case Endpoint::tabledata_biophoto:
    case Endpoint::tabledata_attphoto:
    case Endpoint::tabledata_userpic:
    case Endpoint::tabledata_biodata:
    case Endpoint::tabledata_other: return on_tabledata(req, respond);
    case Endpoint::tabledata_errorlog: return on_device_log(req, "errorlog", respond);
    case Endpoint::irstate: return on_device_log(req, "irstate", respond);
    case Endpoint::testdata_wiegand: return on_device_log(req, "testdata", respond);
    case Endpoint::enroll_info_upload: return on_device_log(req, "enroll_info", respond);
    case Endpoint::enroll_bio_upload: return on_device_log(req, "enroll_bio", respond);
    case Endpoint::device_authorize_upload: return on_device_log(req, "device_authorize", respond);
    case Endpoint::getrequest: return on_getrequest(req, *state, respond);
    case Endpoint::devicecmd: return on_devicecmd(req, respond);
    case Endpoint::rtdata_time: return on_rtdata_time(*state, respond);
    case Endpoint::querydata_count: return on_querydata(req, "count", respond);
    case Endpoint::querydata_tabledata:
    case Endpoint::querydata_vmtable: return on_querydata(req, "tabledata", respond);
    case Endpoint::querydata_options: return on_querydata(req, "options", respond);
    case Endpoint::querydata_account_tgz: return on_querydata(req, "account", respond);
    case Endpoint::account_overview: return on_querydata(req, "overview", respond);
    case Endpoint::account_file: return on_querydata(req, "file", respond);
    case Endpoint::firmware_file: return on_firmware_file(req, request, ip, respond);
    default: break;
  }
  spdlog::warn("{} {}: 501 {} not supported yet", ip, req.sn, p::endpoint_id(req.endpoint));
  answer(respond, 501, "not supported yet: " + std::string(p::endpoint_id(req.endpoint)));
}

void DeviceRouter::enqueue_command(const std::string& sn, const std::string& line,
                                   std::optional<std::int64_t> expires_in,
                                   storage::Store::Reply<storage::CommandRow> done) {
  storage::NewCommand command;
  command.sn = sn;
  command.line = line;
  command.created_at = unix_now();
  if (auto parsed = p::parse_command("C:1:" + line)) {
    command.verb = std::string(p::verb_name(parsed->verb()));
  }
  std::int64_t expiry = expires_in.value_or(command.verb == "CONTROL DEVICE" ? config_.control_device_expiry : 0);
  command.expires_at = expiry > 0 ? command.created_at + expiry : 0;
  store_.enqueue_command(std::move(command), [this, sn, done = std::move(done)](storage::StoreResult<storage::CommandRow> r) {
    if (r.ok()) registry_.add_pending(sn, 1);
    done(std::move(r));
  });
}

}  // namespace zkpush::server
