#include "front/device_endpoints.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "protocol/codecs_session.hpp"
#include "protocol/commands.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"
#include "protocol/responses.hpp"

namespace zkpush::front {

namespace p = protocol;
using p::Endpoint;

DeviceEndpoints::DeviceEndpoints(const ServerConfig& config, service::Devices& devices, service::CommandQueue& queue,
                                 service::Ingest& ingest, Metrics& metrics, FileDownloads& downloads)
    : config_(config), devices_(devices), queue_(queue), ingest_(ingest), metrics_(metrics), downloads_(downloads) {}

std::optional<std::size_t> DeviceEndpoints::body_limit(const http::RequestHead& head, const std::string& path) {
  if (path == "/iclock/file") return std::size_t{96} << 20;
  if (path == "/iclock/querydata" || path == "/iclock/cdata") {
    auto target = p::parse_target(head.target());
    if (p::text::iequals(target.query.get_or("tablename", ""), "transaction")) return std::size_t{96} << 20;
  }
  return std::nullopt;
}

bool DeviceEndpoints::token_ok(const http::Request& request, const service::DeviceState& state) {
  using Outcome = service::TokenCheck::Outcome;
  const auto& d = *state.device;
  const auto check = devices_.check_token(d, request.header("Cookie"));
  switch (check.outcome) {
    case Outcome::no_session:
    case Outcome::ok: return true;
    case Outcome::missing_accepted: metrics_.token_missing(); return true;
    case Outcome::missing_refused:
      metrics_.token_missing();
      spdlog::warn("{}: request without token cookie refused", d.sn);
      return false;
    case Outcome::mismatch_accepted:
    case Outcome::mismatch_refused: break;
  }
  metrics_.token_mismatch(config_.token);
  // Accepted under warn: logged once per device, or a device polling every few seconds floods the log.
  if (check.accepted() && !token_warned_.first(d.sn)) return true;
  spdlog::warn("{}: token mismatch ({}){}", d.sn, check.variant ? "device uses " + *check.variant : "no known variant",
               check.accepted() ? ", accepted (token policy warn; logged once per device)" : ", refused");
  return check.accepted();
}

void DeviceEndpoints::handle(http::Request& request, const std::string&, const SharedResponder& respond) {
  const std::string ip = request.remote.address().to_string();
  auto parsed = p::parse_device_request(request.method_string(), request.target(), request.body());
  if (!parsed) {
    spdlog::warn("{} {} {}: 400 {}", ip, request.method_string(), p::text::printable(request.target()), parsed.error().to_string());
    answer(respond, 400, parsed.error().to_string());
    return;
  }
  const p::DeviceRequest& req = *parsed;
  if (auto refused = access_.check(ip, req.sn)) {  // allow-list: before the registry or the store
    answer(respond, 403, *refused);
    return;
  }
  if (req.endpoint == Endpoint::unknown) {
    spdlog::warn("{} {} {}: 400 unknown request", ip, request.method_string(), p::text::printable(request.target()));
    answer(respond, 400, "unknown request");
    return;
  }
  auto state = devices_.get(req.sn);
  switch (req.endpoint) {
    case Endpoint::init: return on_init(req, state, ip, respond);
    case Endpoint::registry: return on_registry(req, ip, respond);
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
  devices_.touch(req.sn);
  if (is_tabledata(req.endpoint) && req.endpoint != Endpoint::tabledata_errorlog) return on_tabledata(req, respond);
  switch (req.endpoint) {
    case Endpoint::push_config: return on_push(req, respond);
    case Endpoint::upload_options: return on_options(req, respond);
    case Endpoint::ping: return answer(respond, 200, std::string(p::kOkBody));
    case Endpoint::rtlog:
    case Endpoint::rtlog_cancel_alarm: return on_rtlog(req, respond);
    case Endpoint::rtstate: return on_rtstate(req, respond);
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

}  // namespace zkpush::front
