// Fuzzes everything a device sends: the capture parser, parse_device_request (with ACCOUNT
// archives unpacked under a small limit), and the server-answer parsers. Beyond "no crash, no
// sanitizer report" it checks consistency:
//   * a parsed request, formatted again with the device-side formatters, parses to the same
//     endpoint and the same records (table words may be added where the record had none);
//   * formatting a parsed server answer is a fixed point: format(parse(format(parse(x)))) ==
//     format(parse(x)).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/device_requests.hpp"
#include "protocol/http_capture.hpp"
#include "protocol/responses.hpp"

using namespace zkpush::protocol;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "inconsistency: %s\n", what);
    std::abort();
  }
}

bool same_fields(const Record& a, const Record& b) {
  if (a.fields != b.fields) return false;
  return a.prefix == b.prefix || a.prefix.empty();
}

bool equivalent(Endpoint a, Endpoint b) {
  if (a == b) return true;
  // The formatter picks type=vmtable for APList whatever type the device wrote.
  auto query = [](Endpoint e) { return e == Endpoint::querydata_tabledata || e == Endpoint::querydata_vmtable; };
  return query(a) && query(b);
}

void check_request(const DeviceRequest& req, const ParseOptions& options) {
  OutgoingRequest out = to_outgoing(req);
  auto again = parse_device_request(out.method, out.target, out.body, options);
  check(again.ok(), "a formatted request does not parse");
  if (!equivalent(again->endpoint, req.endpoint))
    std::fprintf(stderr, "%s -> %s\n", std::string(endpoint_id(req.endpoint)).c_str(),
                 std::string(endpoint_id(again->endpoint)).c_str());
  check(equivalent(again->endpoint, req.endpoint), "endpoint changed");
  check(again->sn == req.sn, "SN changed");
  switch (req.endpoint) {
    case Endpoint::querydata_count:
      check(counted_value(*again) == counted_value(req), "count changed");
      return;
    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors: {
      // Only the envelope's own key is formatted again.
      std::string_view key = req.endpoint == Endpoint::exchange_factors ? "Factors" : "PublicKey";
      check(!again->records.empty() && !req.records.empty(), "record lost");
      check(again->records.front().get(key) == req.records.front().get(key), "exchange value changed");
      return;
    }
    case Endpoint::remote_auth:
      // Only the first event record is formatted again.
      check(!again->records.empty() && !req.records.empty(), "record lost");
      check(same_fields(req.records.front(), again->records.front()), "event record changed");
      return;
    default:
      break;
  }
  check(again->records.size() == req.records.size(), "record count changed");
  for (std::size_t i = 0; i < req.records.size(); ++i)
    check(same_fields(req.records[i], again->records[i]), "record changed");
}

constexpr Endpoint kAnswerEndpoints[] = {Endpoint::init,           Endpoint::registry,   Endpoint::push_config,
                                         Endpoint::tabledata_user, Endpoint::getrequest, Endpoint::rtdata_time,
                                         Endpoint::exchange_factors, Endpoint::remote_auth};

void check_answers(std::string_view body) {
  for (Endpoint e : kAnswerEndpoints) {
    auto a = parse_server_answer(e, 200, body);
    if (!a) continue;
    std::string once = format_server_answer(*a);
    auto b = parse_server_answer(e, 200, once);
    check(b.ok(), "a formatted answer does not parse");
    check(format_server_answer(*b) == once, "answer formatting is not a fixed point");
  }
  (void)parse_table_ack(body);
  (void)parse_range_header(body);
  (void)parse_tz_offset(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ParseOptions options;
  options.archive_limits.max_total_bytes = 1u << 20;
  options.archive_limits.max_entries = 64;
  options.max_records = 20000;

  // 1. As a pasted capture.
  if (auto capture = parse_http_request(in)) {
    if (auto req = parse_device_request(*capture, options)) check_request(*req, options);
  }
  if (auto response = parse_http_response(in)) check_answers(response->body);

  // 2. As a bare target line + body (what the server hands over after Beast parsed the message),
  //    for a POST and a GET.
  std::size_t nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  for (std::string_view method : {"POST", "GET"}) {
    if (auto req = parse_device_request(method, target, body, options)) check_request(*req, options);
  }

  // 3. The whole input as a server answer body.
  check_answers(in);
  return 0;
}
