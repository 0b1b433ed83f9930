// `zkpush decode`: one captured message in, one JSON object out.
//
// What the input is, is read from its first bytes: "C:" or "DataType=" starts server commands,
// "ID=" devicecmd result lines, "HTTP/" a server response, a first line that starts with a command
// verb and is not an HTTP request line ("CONTROL DEVICE 01010105", the JSON API's "line") one
// command without its C:<id>: prefix; anything else is taken as a device request (request line,
// headers, blank line, body). Unparseable input exits with status 1 and {"error","where"} on
// stdout — never a crash.
#include <fstream>
#include <optional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/commands.hpp"
#include "protocol/describe_messages.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/http_capture.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli {

namespace {

int g_exit_code = 0;

using json = nlohmann::ordered_json;
namespace p = protocol;

struct DecodeOptions {
  std::string input = "-";
  int language = 0;
  std::string date_format;  // "", "zktime", "date8"
  bool compact = false;
};

bool read_input(const std::string& path, std::string& out, std::string& error) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

json error_json(std::string what, std::string where) {
  return json{{"error", p::text::sanitize_utf8(what)}, {"where", p::text::sanitize_utf8(where)}};
}

json decode_commands(std::string_view text, const p::DescribeContext& ctx, bool& ok) {
  auto commands = p::parse_commands(text);
  if (!commands) {
    ok = false;
    return error_json(commands.error().code == p::Errc::malformed ? commands.error().what : commands.error().to_string(),
                      commands.error().where);
  }
  if (commands->empty()) {
    ok = false;
    return error_json("no command in the input", "line 1");
  }
  if (commands->size() == 1) return p::describe_command(commands->front(), ctx);
  json all = json::array();
  for (const auto& c : *commands) all.push_back(p::describe_command(c, ctx));
  return json{{"commands", std::move(all)}};
}

json decode_results(std::string_view text, bool& ok) {
  auto results = p::parse_command_results(text);
  if (!results) {
    ok = false;
    return error_json(results.error().what, results.error().where);
  }
  json all = json::array();
  for (const auto& r : *results) all.push_back(p::describe_result(r));
  return json{{"results", std::move(all)}};
}

json decode_response(std::string_view text, const p::DescribeContext& ctx, bool& ok) {
  auto response = p::parse_http_response(text);
  if (!response) {
    ok = false;
    return error_json(response.error().what, response.error().where);
  }
  json headers = json::object();
  for (const auto& h : response->headers.list) headers[p::text::sanitize_utf8(h.name)] = p::text::sanitize_utf8(h.value);
  json out{{"status", response->status},
           {"reason", p::text::sanitize_utf8(response->reason)},
           {"headers", std::move(headers)},
           {"body", p::text::sanitize_utf8(response->body)}};
  // A getrequest answer carries commands; decode them too.
  std::string_view body = p::text::trim_line(response->body);
  if (body.rfind("C:", 0) == 0 || p::text::istarts_with(body, "DataType=")) {
    bool commands_ok = true;
    json commands = decode_commands(body, ctx, commands_ok);
    if (commands_ok) out["commands"] = commands.contains("commands") ? commands["commands"] : json::array({commands});
  }
  return out;
}

// "CONTROL DEVICE 01010105": a command without its "C:<id>:" prefix, as the JSON API takes it. The
// first line starts with a verb of the protocol (one to three words: "ACCOUNT", "DATA UPDATE",
// "SET ADSCREEN OPTIONS") and is not an HTTP request line (those end in " HTTP/<version>").
bool is_bare_command(std::string_view head) {
  std::string_view line = p::text::trim_line(head.substr(0, head.find('\n')));
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
    if (p::verb_from_name(line.substr(0, end))) return true;
  }
  return false;
}

// One bare command (with its continuation lines): read as "C:0:<text>", shown without the id.
json decode_bare_command(std::string_view text, const p::DescribeContext& ctx, bool& ok) {
  json out = decode_commands("C:0:" + std::string(text), ctx, ok);
  if (!ok) return out;
  if (out.contains("commands")) {  // a second line read as a command of its own
    ok = false;
    return error_json("one command without C:<id>: expected; give every line its C:<id>: prefix", "line 2");
  }
  out["id"] = nullptr;
  return out;
}

// Headers in the order received. A name that comes again gets its values joined ("; " for
// Cookie, ", " for the others), as HTTP reads repeated headers.
json headers_json(const p::HttpHeaders& headers) {
  json out = json::object();
  for (const auto& h : headers.list) {
    std::string name = p::text::sanitize_utf8(h.name), value = p::text::sanitize_utf8(h.value);
    json* same = nullptr;
    for (auto& [key, v] : out.items())
      if (p::text::iequals(key, name)) same = &v;
    if (same == nullptr) {
      out[name] = value;
    } else {
      *same = same->get<std::string>() + (p::text::iequals(name, "Cookie") ? "; " : ", ") + value;
    }
  }
  return out;
}

json decode_request(std::string_view text, const p::DescribeContext& ctx, bool& ok) {
  auto capture = p::parse_http_request(text);
  if (!capture) {
    ok = false;
    return error_json(capture.error().what, capture.error().where);
  }
  // A serial number a server would refuse is shown with a note rather than refused: the decoder
  // is where one looks to see why.
  p::ParseOptions options;
  options.check_sn = false;
  auto request = p::parse_device_request(*capture, options);
  if (!request) {
    ok = false;
    return error_json(request.error().what, request.error().where);
  }
  json described = p::describe_request(*request, ctx);
  json headers = headers_json(capture->headers);
  std::optional<p::CookieToken> token;
  for (auto& [key, v] : headers.items())
    if (p::text::iequals(key, "Cookie")) token = p::parse_cookie_token(v.get<std::string>());
  // The request's own parts first, then its headers and the token they carry, then the body.
  json out = json::object();
  for (auto& [key, value] : described.items()) {
    out[key] = std::move(value);
    if (key != "sn") continue;
    out["headers"] = std::move(headers);
    if (token) {
      json t = {{"value", p::text::sanitize_utf8(token->token)}, {"form", token->bare ? "bare" : "token="}};
      if (!token->timestamp.empty()) t["timestamp"] = p::text::sanitize_utf8(token->timestamp);
      out["token"] = std::move(t);
    }
  }
  return out;
}

int run_decode(const DecodeOptions& options) {
  std::string input, read_error;
  json out;
  bool ok = true;
  if (!read_input(options.input, input, read_error)) {
    ok = false;
    out = error_json(read_error, options.input);
  } else {
    p::DescribeContext ctx;
    ctx.language = options.language;
    if (options.date_format == "zktime") ctx.date_fmt_zktime = true;
    if (options.date_format == "date8") ctx.date_fmt_zktime = false;

    std::string_view text = input;
    std::string_view head = p::text::trim_line(text);
    if (head.empty()) {
      ok = false;
      out = error_json("empty input", "byte 0");
    } else if (head.rfind("C:", 0) == 0 || p::text::istarts_with(head, "DataType=")) {
      out = decode_commands(head, ctx, ok);
    } else if (head.rfind("ID=", 0) == 0) {
      out = decode_results(head, ok);
    } else if (head.rfind("HTTP/", 0) == 0) {
      out = decode_response(head, ctx, ok);
    } else if (is_bare_command(head)) {
      out = decode_bare_command(head, ctx, ok);
    } else {
      out = decode_request(text, ctx, ok);
    }
  }
  std::cout << (options.compact ? out.dump(-1, ' ', false, json::error_handler_t::replace)
                                : out.dump(2, ' ', false, json::error_handler_t::replace))
            << '\n';
  return ok ? 0 : 1;
}

}  // namespace

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void register_decode(CLI::App& app) {
  auto options = std::make_shared<DecodeOptions>();
  auto* cmd = app.add_subcommand(
      "decode",
      "Explain one captured message as JSON: a device request (request line, headers, body), "
      "C:<id>: command lines, one command without its C:<id>: (CONTROL DEVICE 01010105), "
      "devicecmd result lines, or a server response");
  cmd->add_option("input", options->input, "file to read, or - for standard input")->capture_default_str();
  cmd->add_option("--language", options->language,
                  "the device's language code (Appendix 4); 83 reads non-UTF-8 names as GB2312");
  cmd->add_option("--date-format", options->date_format,
                  "user StartTime/EndTime encoding when known: zktime (DateFmtFunOn=1) or date8")
      ->check(CLI::IsMember({"zktime", "date8"}));
  cmd->add_flag("--compact", options->compact, "one line of JSON");
  cmd->callback([options] { set_exit_code(run_decode(*options)); });
}

}  // namespace zkpush::cli
