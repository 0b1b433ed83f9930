#include "front/device_endpoints.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <stdexcept>

#include "protocol/codecs_session.hpp"
#include "protocol/commands.hpp"
#include "protocol/encryption.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"
#include "protocol/responses.hpp"
#include "server/http/limits.hpp"

namespace zkpush::front {

namespace p = protocol;
using p::Endpoint;

namespace {

RateLimit parse_rate_option(const char* option, const std::string& text) {
  try {
    return parse_rate_limit(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(option) + " '" + text + "': " + e.what());
  }
}

// Whole seconds for Retry-After, at least 1.
std::string endpoints_retry_after(std::chrono::milliseconds wait) {
  return std::to_string(std::max<std::int64_t>(1, (wait.count() + 999) / 1000));
}

void endpoints_refuse(const SharedResponder& respond, int status, std::string body, const std::string& retry_after) {
  auto response = http::make_response(static_cast<http::Status>(status), std::move(body), "text/plain;charset=UTF-8");
  response.set("Retry-After", retry_after);
  (*respond)(std::move(response));
}

}  // namespace

DeviceEndpoints::DeviceEndpoints(const ServerConfig& config, service::Devices& devices, service::CommandQueue& queue,
                                 service::Ingest& ingest, service::RemoteAuth& remote_auth, Metrics& metrics,
                                 FileDownloads& downloads, WireTrace& trace)
    : config_(config),
      devices_(devices),
      queue_(queue),
      ingest_(ingest),
      remote_auth_(remote_auth),
      metrics_(metrics),
      downloads_(downloads),
      trace_(trace),
      device_rate_(parse_rate_option("--device-rate", config.device_rate)),
      address_rate_(parse_rate_option("--address-rate", config.address_rate)),
      rate_logged_(10'000) {
  spdlog::info("device rate limits: per serial number {}, per address {}{}", describe_rate_limit(device_rate_.limit()),
               describe_rate_limit(address_rate_.limit()),
               config.limit_loopback ? "" : " (loopback exempt; --limit-loopback to include it)");
  if (encryption_.on())
    spdlog::info("communication encryption {}: {}", server::encryption_mode_name(encryption_.mode()),
                 p::encryption::kSchemeName);
}

std::optional<std::size_t> DeviceEndpoints::body_limit(const http::RequestHead& head, const std::string& path) {
  std::optional<std::size_t> limit;
  const auto target = p::parse_target(head.target());
  if (path == "/iclock/file") limit = std::size_t{96} << 20;
  if (path == "/iclock/querydata" || path == "/iclock/cdata") {
    if (p::text::iequals(target.query.get_or("tablename", ""), "transaction")) limit = std::size_t{96} << 20;
  }
  // An encrypted body is base64 of the plain one: the same plain size is allowed.
  if (encryption_.on() && encryption_.session(std::string(target.query.get_or("SN", ""))))
    return limit.value_or(http::Limits{}.body_limit) / 3 * 4 + 1024;
  return limit;
}

bool DeviceEndpoints::guard(const http::Request& request, const std::string& ip, const SharedResponder& respond) {
  const bool guarded = config_.limit_loopback || !is_loopback(ip);
  const bool limits = guarded && (address_rate_.limit().on() || device_rate_.limit().on());
  if (!limits && !lockouts_) return true;
  const auto target = p::parse_target(request.target());
  const std::string sn(p::text::trim(target.query.get_or("SN", "")).substr(0, 64));
  if (limits) {
    const auto now = std::chrono::steady_clock::now();
    using Scope = Metrics::GuardScope;
    const auto over = [&](RateLimiter& limiter, const std::string& key, Scope scope) {
      auto wait = limiter.take(key, now);
      if (!wait) return false;
      metrics_.device_rate_limited(scope);
      const char* what = scope == Scope::device ? "serial number" : "address";
      // One line per key until the memory of logged keys is full and starts again: a device polling
      // too fast would otherwise write one per request.
      if (rate_logged_.first(std::string(scope == Scope::device ? "d " : "a ") + key))
        spdlog::warn("{} {}: 503 rate limited ({} over {}; further refusals counted in "
                     "zkpush_device_rate_limited_total, not logged)",
                     ip, p::text::printable(sn), what, describe_rate_limit(limiter.limit()));
      endpoints_refuse(respond, 503, std::string("rate limited: too many requests from this ") + what + ", retry later",
                       endpoints_retry_after(*wait));
      return true;
    };
    if (over(address_rate_, ip, Scope::address)) return false;
    if (!sn.empty() && over(device_rate_, sn, Scope::device)) return false;
  }
  if (lockouts_) {
    if (auto locked = lockouts_->locked(sn, ip, guarded)) {
      const bool device = locked->scope == service::LockScope::device;
      metrics_.device_locked_out(device ? Metrics::GuardScope::device : Metrics::GuardScope::address);
      const auto left = std::max<std::int64_t>(1, locked->until - devices_.clock().now());
      // Logged when the lockout started (service/lockouts.cpp), not on every refused request.
      endpoints_refuse(respond, 403,
                       std::string(device ? "serial number" : "address") +
                           " locked out after repeated wrong device tokens; retry later",
                       std::to_string(left));
      return false;
    }
  }
  return true;
}

bool DeviceEndpoints::token_ok(const http::Request& request, const service::DeviceState& state) {
  using Outcome = service::TokenCheck::Outcome;
  const auto& d = *state.device;
  const auto check = devices_.check_token(d, request.header("Cookie"));
  // A refused token counts towards the lockouts of the device and of the address.
  const auto refused = [&] {
    if (!lockouts_) return;
    const std::string ip = request.remote.address().to_string();
    std::string target(request.target());
    WireTrace::redact(target);
    for (const auto& l : lockouts_->failed(d.sn, ip, std::string(request.method_string()), target,
                                           config_.limit_loopback || !is_loopback(ip)))
      metrics_.device_lockout(l.scope == service::LockScope::device ? Metrics::GuardScope::device
                                                                     : Metrics::GuardScope::address);
  };
  switch (check.outcome) {
    case Outcome::ok:
      if (lockouts_) lockouts_->succeeded(d.sn);
      return true;
    case Outcome::no_session: return true;
    case Outcome::missing_accepted: metrics_.token_missing(); return true;
    case Outcome::missing_refused:
      metrics_.token_missing();
      spdlog::warn("{}: request without token cookie refused", d.sn);
      refused();
      return false;
    case Outcome::mismatch_accepted:
    case Outcome::mismatch_refused: break;
  }
  metrics_.token_mismatch(config_.token);
  // Accepted under warn: logged once per device, or a device polling every few seconds floods the log.
  if (check.accepted() && !token_warned_.first(d.sn)) return true;
  spdlog::warn("{}: token mismatch ({}){}", d.sn, check.variant ? "device uses " + *check.variant : "no known variant",
               check.accepted() ? ", accepted (token policy warn; logged once per device)" : ", refused");
  if (!check.accepted()) refused();
  return check.accepted();
}

void DeviceEndpoints::trace(const http::Request& request, std::string_view sn, std::string_view endpoint, bool download,
                            const SharedResponder& respond) {
  if (sn.empty()) return;
  // Everything kept is copied and cut here, on the request's thread; the answer's side in the tap,
  // on the answering thread. WireTrace::record only moves it in.
  const std::size_t max = trace_.options().max_body;
  TraceExchange x;
  x.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
  x.method = std::string(request.method_string());
  x.target = std::string(request.target().substr(0, max));
  WireTrace::redact(x.target);
  x.endpoint = endpoint;
  for (const auto& field : request.fields()) {
    if (x.headers.size() >= max) break;
    const std::string_view name(field.name_string().data(), field.name_string().size());
    const std::string_view value(field.value().data(), field.value().size());
    x.headers.append(name).append(": ").append(WireTrace::secret_header(name) ? WireTrace::kNotKept : value).append("\n");
  }
  x.request = trace_.keep(request.body());
  respond->on_answered([trace = &trace_, sn = std::string(sn.substr(0, 64)), x = std::move(x),
                        download](const MeteredResponder::Answered& a) mutable {
    x.status = a.status;
    x.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(a.elapsed).count();
    if (a.response == nullptr) {
      x.response = TraceBody{"(no answer: the transport answered 500)", 0, true};
    } else if (download && a.status / 100 == 2) {  // a file: its size, not its bytes
      const auto n = a.response->body().size();
      x.response = TraceBody{"(" + std::to_string(n) + " bytes)", n, n > 0};
    } else {
      x.response = trace->keep(a.response->body());
    }
    trace->record(sn, std::move(x));
  });
}

std::optional<std::string> DeviceEndpoints::encryption_required(const p::DeviceRequest& req) const {
  switch (req.endpoint) {
    case Endpoint::init: {
      // Appendix 16: the lower of pushver and PushProtVer decides; below 3.1.1 there is no exchange.
      const auto pushver = req.query.get("pushver");
      const auto v = p::negotiate_protocol_version(pushver, config_.push_prot_ver);
      if (p::has_encryption_exchange(v)) return std::nullopt;
      return "pushver " + std::string(pushver.value_or("(none)")) + " negotiates PUSH " + v.to_string() +
             ", below 3.1.1: the device cannot exchange keys";
    }
    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors: return std::nullopt;
    default: break;
  }
  if (encryption_.session(req.sn)) return std::nullopt;
  return "exchange keys first (4.2, 4.3)";
}

bool DeviceEndpoints::open_body(http::Request& request, const std::string& path, const std::string& ip,
                                const SharedResponder& respond, std::shared_ptr<DeviceEncryption::Session>& sealed) {
  // The exchange itself travels in plain text (4.2, 4.3).
  if (path == "/iclock/exchange") return true;
  const auto target = p::parse_target(request.target());
  const std::string sn(target.query.get_or("SN", ""));
  auto session = encryption_.session(sn);
  const bool encrypted = p::encryption::looks_encrypted(request.body());
  auto refuse = [&](std::string_view reason, const std::string& why) {
    metrics_.encryption_failure(reason);
    if (trace_.enabled()) trace(request, sn, "encryption", false, respond);
    spdlog::warn("{} {} {}: 400 {} (nothing stored)", ip, p::text::printable(sn), p::text::printable(target.path), why);
    answer(respond, 400, why);
    return false;
  };
  if (!session) {
    if (encrypted) return refuse("no_session", "encrypted body without a key exchange: exchange keys again (4.2, 4.3)");
    return true;
  }
  if (!encrypted) {
    // A body that arrives in plain text after the exchange could be anyone's; an empty one (the
    // GET requests) has nothing to protect. The answer is encrypted all the same.
    if (!p::text::trim_line(request.body()).empty())
      return refuse("plain_body", "plain-text body after the key exchange: bodies must be encrypted");
    sealed = std::move(session);
    return true;
  }
  auto opened = session->open(request.body());
  if (!opened.ok) {
    const auto reason = p::encryption::failure_name(opened.failure);
    return refuse(reason, "encrypted body refused: " + std::string(reason));
  }
  request.body() = std::move(opened.plain);
  sealed = std::move(session);
  return true;
}

void DeviceEndpoints::handle(http::Request& request, const std::string& path, const SharedResponder& respond) {
  const std::string ip = request.remote.address().to_string();
  if (!guard(request, ip, respond)) return;
  std::shared_ptr<DeviceEncryption::Session> sealed;
  if (encryption_.on() && !open_body(request, path, ip, respond, sealed)) return;
  auto parsed = p::parse_device_request(request.method_string(), request.target(), request.body());
  // Traced from here, whatever the answer: the refused and the unknown devices are the ones an
  // installer looks at. A request that does not parse is kept under the SN= it names, if any.
  if (trace_.enabled()) {
    if (parsed) {
      trace(request, parsed->sn, p::endpoint_id(parsed->endpoint), parsed->endpoint == Endpoint::firmware_file, respond);
    } else {
      const auto target = p::parse_target(request.target());
      trace(request, target.query.get_or("SN", ""), slot_label(respond->slot()), false, respond);
    }
  }
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
  if (subs_ && req.endpoint != Endpoint::unknown) {
    if (auto master = subs_->master_of(req.sn)) {
      spdlog::warn("{} {}: 403 {} for a sub-controller of {}: it talks through its master", ip, req.sn,
                   p::endpoint_id(req.endpoint), *master);
      answer(respond, 403, "a sub-controller talks to the server through its master " + *master);
      return;
    }
  }
  // Every answer of an established session is encrypted, but init's (the device reconnects and
  // exchanges keys again: Appendix 16 a) and a firmware file's (served as bytes, with ranges).
  if (req.endpoint == Endpoint::init) {
    sealed.reset();
    encryption_.reset(req.sn);
  }
  if (sealed && req.endpoint != Endpoint::firmware_file) {
    respond->before_sending([session = std::move(sealed)](http::Response& response) {
      response.body() = session->seal(response.body());
      response.prepare_payload();
    });
  }
  if (req.endpoint == Endpoint::unknown) {
    spdlog::warn("{} {} {}: 400 unknown request", ip, request.method_string(), p::text::printable(request.target()));
    answer(respond, 400, "unknown request");
    return;
  }
  if (encryption_.mode() == server::EncryptionMode::required) {
    if (auto refused = encryption_required(req)) {
      metrics_.encryption_failure("not_encrypted");
      spdlog::warn("{} {}: 403 {}: {} (--encryption required)", ip, req.sn, p::endpoint_id(req.endpoint), *refused);
      return answer(respond, 403, "encryption required: " + *refused);
    }
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
  const bool exchange = req.endpoint == Endpoint::exchange_publickey || req.endpoint == Endpoint::exchange_factors;
  // Before approval and without a token: the manual places the exchange before registration. With
  // encryption off it goes through the checks of every request, as before, to a 501.
  if (exchange && encryption_.on()) return on_exchange(req, *state, ip, respond);
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
    case Endpoint::remote_auth: return on_remote_auth(req, respond);
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
  if (exchange) {
    spdlog::warn("{} {}: 501 {}: communication encryption is off", ip, req.sn, p::endpoint_id(req.endpoint));
    return answer(respond, 501, "communication encryption is off on this server (zkpush serve --encryption)");
  }
  spdlog::warn("{} {}: 501 {} not supported yet", ip, req.sn, p::endpoint_id(req.endpoint));
  answer(respond, 501, "not supported yet: " + std::string(p::endpoint_id(req.endpoint)));
}

}  // namespace zkpush::front
