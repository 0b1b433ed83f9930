// `zkpush decode`: one captured message in, one JSON object out.
//
// What the input is, is read from its first bytes: "C:" or "DataType=" starts server commands,
// "ID=" devicecmd result lines, "HTTP/" a server response, a first line that starts with a command
// verb and is not an HTTP request line ("CONTROL DEVICE 01010105", the JSON API's "line") one
// command without its C:<id>: prefix; anything else is taken as a device request (request line,
// headers, blank line, body). Unparseable input exits with status 1 and {"error","where"} on
// stdout — never a crash.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "cli/commands.hpp"
#include "protocol/decode.hpp"
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

int run_decode(const DecodeOptions& options) {
  std::string input, read_error;
  json out;
  bool ok = true;
  if (!read_input(options.input, input, read_error)) {
    ok = false;
    out = json{{"error", p::text::sanitize_utf8(read_error)}, {"where", p::text::sanitize_utf8(options.input)}};
  } else {
    p::DescribeContext ctx;
    ctx.language = options.language;
    if (options.date_format == "zktime") ctx.date_fmt_zktime = true;
    if (options.date_format == "date8") ctx.date_fmt_zktime = false;
    // The decoding itself is the protocol core's (protocol/decode.hpp), shared with the server's
    // wire trace.
    p::Decoded decoded = p::decode_message(input, ctx);
    out = std::move(decoded.view);
    ok = decoded.ok;
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
