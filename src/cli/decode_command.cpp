// `zkpush decode`: one captured message in, one JSON object out.
//
// What the input is, is read from its first bytes: "C:" or "DataType=" starts server commands,
// "ID=" devicecmd result lines, "HTTP/" a server response; anything else is taken as a device
// request (request line, headers, blank line, body). Unparseable input exits with status 1 and
// {"error","where"} on stdout — never a crash.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "protocol/describe_messages.hpp"
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

json decode_request(std::string_view text, const p::DescribeContext& ctx, bool& ok) {
  auto request = p::parse_captured_request(text);
  if (!request) {
    ok = false;
    return error_json(request.error().what, request.error().where);
  }
  return p::describe_request(*request, ctx);
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
      "C:<id>: command lines, devicecmd result lines, or a server response");
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
