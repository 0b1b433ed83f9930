#include "protocol/decode.hpp"

#include <optional>
#include <string>
#include <variant>

#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/control_device.hpp"
#include "protocol/describe_messages.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using json = nlohmann::ordered_json;

namespace {

std::string utf8(std::string_view s) { return text::sanitize_utf8(s); }

Decoded failed(std::string_view what, std::string_view where) {
  return Decoded{json{{"error", utf8(what)}, {"where", utf8(where)}}, false};
}

// Headers in the order received. A name that comes again gets its values joined ("; " for
// Cookie, ", " for the others), as HTTP reads repeated headers.
json headers_json(const HttpHeaders& headers) {
  json out = json::object();
  for (const auto& h : headers.list) {
    std::string name = utf8(h.name), value = utf8(h.value);
    json* same = nullptr;
    for (auto& [key, v] : out.items())
      if (text::iequals(key, name)) same = &v;
    if (same == nullptr) {
      out[name] = value;
    } else {
      *same = same->get<std::string>() + (text::iequals(name, "Cookie") ? "; " : ", ") + value;
    }
  }
  return out;
}

json config_json(const Record& config, const DescribeContext& ctx) {
  return json{{"records", record_json(config)}, {"decoded", describe_options(config, ctx)}};
}

}  // namespace

Decoded decode_commands(std::string_view text, const DescribeContext& ctx) {
  auto commands = parse_commands(text);
  if (!commands) {
    return failed(commands.error().code == Errc::malformed ? commands.error().what : commands.error().to_string(),
                  commands.error().where);
  }
  if (commands->empty()) return failed("no command in the input", "line 1");
  if (commands->size() == 1) return Decoded{describe_command(commands->front(), ctx)};
  json all = json::array();
  for (const auto& c : *commands) all.push_back(describe_command(c, ctx));
  return Decoded{json{{"commands", std::move(all)}}};
}

Decoded decode_results(std::string_view text) {
  auto results = parse_command_results(text);
  if (!results) return failed(results.error().what, results.error().where);
  json all = json::array();
  for (const auto& r : *results) all.push_back(describe_result(r));
  return Decoded{json{{"results", std::move(all)}}};
}

// The first line starts with a verb of the protocol (one to three words: "ACCOUNT", "DATA UPDATE",
// "SET ADSCREEN OPTIONS") and is not an HTTP request line (those end in " HTTP/<version>").
bool is_bare_command(std::string_view head) {
  std::string_view line = text::trim_line(head.substr(0, head.find('\n')));
  if (std::size_t at = line.rfind(" HTTP/"); at != std::string_view::npos) {
    std::string_view version = line.substr(at + 6);
    if (!version.empty() && version.find_first_not_of("0123456789.") == std::string_view::npos) return false;
  }
  std::size_t end = 0;
  for (int words = 0; words < 3 && end < line.size(); ++words) {
    end = line.find_first_not_of(" \t", end);
    if (end == std::string_view::npos) break;
    end = line.find_first_of(" \t", end);
    if (end == std::string_view::npos) end = line.size();
    if (verb_from_name(line.substr(0, end))) return true;
  }
  return false;
}

// One bare command (with its continuation lines): read as "C:0:<text>", shown without the id.
Decoded decode_bare_command(std::string_view text, const DescribeContext& ctx) {
  Decoded out = decode_commands("C:0:" + std::string(text), ctx);
  if (!out.ok) return out;
  if (out.view.contains("commands"))  // a second line read as a command of its own
    return failed("one command without C:<id>: expected; give every line its C:<id>: prefix", "line 2");
  out.view["id"] = nullptr;
  return out;
}

Decoded decode_request(const HttpRequestCapture& capture, const DescribeContext& ctx) {
  ParseOptions options;
  options.check_sn = false;
  auto request = parse_device_request(capture, options);
  if (!request) return failed(request.error().what, request.error().where);
  json described = describe_request(*request, ctx);
  json headers = headers_json(capture.headers);
  std::optional<CookieToken> token;
  for (auto& [key, v] : headers.items())
    if (text::iequals(key, "Cookie")) token = parse_cookie_token(v.get<std::string>());
  // The request's own parts first, then its headers and the token they carry, then the body.
  json out = json::object();
  for (auto& [key, value] : described.items()) {
    out[key] = std::move(value);
    if (key != "sn") continue;
    out["headers"] = headers;
    if (token) {
      json t = {{"value", utf8(token->token)}, {"form", token->bare ? "bare" : "token="}};
      if (!token->timestamp.empty()) t["timestamp"] = utf8(token->timestamp);
      out["token"] = std::move(t);
    }
  }
  return Decoded{std::move(out)};
}

Decoded decode_response(const HttpResponseCapture& capture, const DescribeContext& ctx, std::optional<Endpoint> endpoint) {
  json headers = json::object();
  for (const auto& h : capture.headers.list) headers[utf8(h.name)] = utf8(h.value);
  json out{{"status", capture.status},
           {"reason", utf8(capture.reason)},
           {"headers", std::move(headers)},
           {"body", utf8(capture.body)}};
  // A getrequest answer carries commands; decode them too.
  std::string_view body = text::trim_line(capture.body);
  if (body.rfind("C:", 0) == 0 || text::istarts_with(body, "DataType=")) {
    Decoded commands = decode_commands(body, ctx);
    if (commands.ok)
      out["commands"] = commands.view.contains("commands") ? commands.view["commands"] : json::array({commands.view});
  }
  if (endpoint) out["answer"] = describe_answer(*endpoint, capture.status, capture.body, ctx);
  return Decoded{std::move(out)};
}

json describe_answer(Endpoint endpoint, int status, std::string_view body, const DescribeContext& ctx) {
  auto answer = parse_server_answer(endpoint, status, body);
  if (!answer) return json{{"error", utf8(answer.error().what)}, {"where", utf8(answer.error().where)}};
  struct Visitor {
    const DescribeContext& ctx;
    json operator()(const PlainOk&) const { return json{{"kind", "ok"}}; }
    json operator()(const InitAnswer& a) const {
      json out{{"kind", "init"}, {"registered", a.registered}};
      if (a.registered) out["registry_code"] = utf8(a.registry_code);
      out["config"] = config_json(a.config, ctx);
      return out;
    }
    json operator()(const RegistryAnswer& a) const {
      json out{{"kind", "registry"}, {"accepted", a.accepted}};
      if (a.accepted) out["registry_code"] = utf8(a.registry_code);
      return out;
    }
    json operator()(const ConfigAnswer& a) const {
      return json{{"kind", "config"}, {"config", config_json(a.config, ctx)}};
    }
    json operator()(const TableAck& a) const {
      return json{{"kind", "table_ack"}, {"table", utf8(a.table)}, {"count", a.count ? json(*a.count) : json(nullptr)}};
    }
    json operator()(const CommandQueue& a) const {
      json commands = json::array();
      if (!a.text.empty()) {
        Decoded d = decode_commands(a.text, ctx);
        if (!d.ok) return json{{"kind", "commands"}, {"error", d.view["error"]}, {"where", d.view["where"]}};
        if (d.view.contains("commands")) commands = d.view["commands"];
        else commands.push_back(d.view);
      }
      return json{{"kind", "commands"}, {"commands", std::move(commands)}};
    }
    json operator()(const TimeAnswer& a) const {
      json out{{"kind", "time"}, {"datetime", a.datetime}};
      if (a.datetime >= 0 && a.datetime <= 0xFFFFFFFFLL)
        out["datetime_gmt"] = format_iso8601(decode_zktime(static_cast<std::uint32_t>(a.datetime)));
      out["server_tz"] = utf8(a.server_tz);
      return out;
    }
    json operator()(const ExchangeAnswer& a) const {
      return json{{"kind", "exchange"}, {"key", utf8(a.key)}, {"value", utf8(a.value)}};
    }
    json operator()(const RemoteAuthAnswer& a) const {
      json out{{"kind", "remote_auth"}, {"auth", std::string(auth_result_name(a.auth))}};
      if (a.event) out["event"] = record_json(*a.event);
      if (!a.control.empty()) {
        auto control = parse_control_device(a.control);
        out["control"] = control ? describe_control_device(*control) : json(utf8(a.control));
      }
      if (a.tips) out["tips"] = utf8(*a.tips);
      return out;
    }
    json operator()(const RawAnswer&) const { return json{{"kind", "text"}}; }
  };
  return std::visit(Visitor{ctx}, *answer);
}

Decoded decode_message(std::string_view text, const DescribeContext& ctx) {
  std::string_view head = text::trim_line(text);
  if (head.empty()) return failed("empty input", "byte 0");
  if (head.rfind("C:", 0) == 0 || text::istarts_with(head, "DataType=")) return decode_commands(head, ctx);
  if (head.rfind("ID=", 0) == 0) return decode_results(head);
  if (head.rfind("HTTP/", 0) == 0) {
    auto response = parse_http_response(head);
    if (!response) return failed(response.error().what, response.error().where);
    return decode_response(*response, ctx);
  }
  if (is_bare_command(head)) return decode_bare_command(head, ctx);
  auto capture = parse_http_request(text);
  if (!capture) return failed(capture.error().what, capture.error().where);
  return decode_request(*capture, ctx);
}

}  // namespace zkpush::protocol
