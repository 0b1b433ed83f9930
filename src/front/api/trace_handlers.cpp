// The wire trace of one device (docs/serve.md "Wire trace"): GET /api/v1/devices/{sn}/trace, its last
// exchanges newest first, each decoded as `zkpush decode` decodes a capture (protocol/decode.hpp),
// and DELETE to start afresh. The trace is the front's (front/wire_trace.hpp, filled by the device
// endpoints); decoding happens here, when it is read, never on the devices' path.
#include <boost/beast/http/status.hpp>

#include <string>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/decode.hpp"
#include "protocol/describe.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

// "2026-11-24T01:53:12.345Z"
Json iso_utc_ms(std::int64_t unix_ms) {
  const std::int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  auto civil = p::civil_from_unix(seconds);
  if (!civil) return nullptr;
  const auto ms = static_cast<int>(unix_ms - seconds * 1000);
  std::string out = p::format_iso8601(*civil);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

p::HttpHeaders parse_headers(const std::string& kept) {
  p::HttpHeaders headers;
  std::string_view rest = kept;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    const auto colon = line.find(": ");
    if (colon != std::string_view::npos) headers.add(line.substr(0, colon), line.substr(colon + 2));
  }
  return headers;
}

Json body_json(const TraceBody& body) {
  return Json{{"body", p::text::sanitize_utf8(body.text)}, {"bytes", body.bytes}, {"truncated", body.truncated}};
}

Json exchange_json(const TraceExchange& x, const p::DescribeContext& ctx) {
  const p::HttpHeaders headers = parse_headers(x.headers);
  Json request = Json::object();
  Json header_view = Json::object();
  for (const auto& h : headers.list) header_view[p::text::sanitize_utf8(h.name)] = p::text::sanitize_utf8(h.value);
  request["headers"] = std::move(header_view);
  Json body = body_json(x.request);
  for (auto& [key, value] : body.items()) request[key] = std::move(value);

  // The exchange as captures of its two messages, decoded by the functions of `zkpush decode`.
  p::HttpRequestCapture rq;
  rq.method = x.method;
  rq.target = x.target;
  rq.version = "HTTP/1.1";
  rq.headers = headers;
  rq.body = x.request.text;
  p::Decoded decoded_request = p::decode_request(rq, ctx);
  if (decoded_request.ok) {
    // The Cookie's value is not kept: there is no token to show.
    if (auto* cookie = headers.find("Cookie"); cookie && cookie->value == WireTrace::kNotKept)
      decoded_request.view.erase("token");
    if (x.request.truncated)
      decoded_request.view["note"] = "the body was cut at " + std::to_string(x.request.text.size()) + " of " +
                                     std::to_string(x.request.bytes) + " bytes: this decodes what was kept";
  }
  p::HttpResponseCapture rs;
  rs.version = "HTTP/1.1";
  rs.status = x.status;
  rs.reason = std::string(boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(static_cast<unsigned>(x.status))));
  rs.body = x.response.text;
  const p::Decoded decoded_response = p::decode_response(rs, ctx, p::endpoint_from_id(x.endpoint));

  return Json{{"seq", x.seq},
              {"last_seq", x.last_seq},
              {"time", iso_utc_ms(x.time_ms)},
              {"time_unix_ms", x.time_ms},
              {"last_time", iso_utc_ms(x.last_time_ms)},
              {"last_time_unix_ms", x.last_time_ms},
              {"repeat", x.repeat},
              {"method", p::text::sanitize_utf8(x.method)},
              {"target", p::text::sanitize_utf8(x.target)},
              {"endpoint", std::string(x.endpoint)},
              {"duration_ms", static_cast<double>(x.duration_us) / 1000.0},
              {"status", x.status},
              {"request", std::move(request)},
              {"response", body_json(x.response)},
              {"decoded", {{"request", std::move(decoded_request.view)}, {"response", decoded_response.view}}}};
}

bool tracing(const ApiServices& s) { return s.trace != nullptr && s.trace->enabled(); }

// The device of the path has a trace or is known; else a 404 answered.
bool traced_device(const ApiServices& s, const Call& call) {
  const auto& sn = call.params.at(0);
  if (s.trace->holds(sn) || s.devices.get(sn)) return true;
  answer_error(call.respond, call.who, 404, "no trace of device " + p::text::quoted(sn) + ", and no such device");
  return false;
}

void get_trace(const ApiServices& s, const Call& call) {
  const auto& sn = call.params.at(0);
  if (!tracing(s))
    return answer_json(call.respond, 200,
                       Json{{"sn", sn}, {"enabled", false}, {"depth", 0}, {"exchanges", Json::array()}});
  auto limit = limit_param(call, static_cast<std::int64_t>(s.trace->options().depth));
  if (!limit) return;
  auto after = id_param(call, "after", "an exchange's last_seq");
  if (!after) return;
  if (!traced_device(s, call)) return;
  // Described with what the device said of itself (language, door count, date format), when known.
  p::DescribeContext ctx;
  if (auto state = s.devices.get(sn)) ctx = p::context_from_options(state->device->options);
  Json exchanges = Json::array();
  for (const auto& x : s.trace->newest(sn, static_cast<std::size_t>(*limit), static_cast<std::uint64_t>(*after)))
    exchanges.push_back(exchange_json(x, ctx));
  answer_json(call.respond, 200,
              Json{{"sn", sn},
                   {"enabled", true},
                   {"depth", s.trace->options().depth},
                   {"exchanges", std::move(exchanges)}});
}

void clear_trace(const ApiServices& s, const Call& call) {
  const auto& sn = call.params.at(0);
  if (!tracing(s)) return answer_json(call.respond, 200, Json{{"sn", sn}, {"enabled", false}, {"cleared", 0}});
  if (!traced_device(s, call)) return;
  const auto cleared = s.trace->clear(sn);
  answer_json(call.respond, 200, Json{{"sn", sn}, {"enabled", true}, {"cleared", cleared}});
}

}  // namespace

void add_trace_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices& s = services;  // the routes capture copies
  table.add({V::get, "/api/v1/devices/{sn}/trace", Role::operator_, "getDeviceTrace",
             "The device's last exchanges with the server (requests and answers as on the wire, bodies cut at "
             "4 KiB, identical ones in a row counted as one), newest first, each decoded as zkpush decode does; "
             "kept in memory for devices known or not (--trace-memory)",
             "", "200 DeviceTrace",
             {{"limit", "integer", "at most this many (default: the trace's depth, 100; values above 1000 give 1000)"},
              {"after", "integer", "only exchanges whose last_seq is larger (polling: the largest last_seq seen)"}},
             [s](Call& c) { get_trace(s, c); }});
  table.add({V::delete_, "/api/v1/devices/{sn}/trace", Role::operator_, "clearDeviceTrace",
             "Forgets the device's trace (its next exchanges start a new one)", "", "200 TraceCleared", {},
             [s](Call& c) { clear_trace(s, c); }});
}

}  // namespace zkpush::front::api
