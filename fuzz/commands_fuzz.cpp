// Fuzzes the getrequest command parser and the devicecmd result parser. Beyond "no crash, no
// sanitizer report": whatever parses must format to text that parses back to the same commands
// (CmdFormat envelope included), and result formatting must be a fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"

using namespace zkpush::protocol;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

std::string format_all(const std::vector<Command>& commands) {
  std::string out;
  for (const Command& c : commands) {
    out += format_command(c, format_of(c));
    out += '\n';
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto commands = parse_commands(in)) {
    std::string once = format_all(*commands);
    auto again = parse_commands(once);
    check(again.ok());
    check(*again == *commands);
    check(format_all(*again) == once);
    for (const Command& c : *commands) {
      (void)validate_command(c);
      (void)effective_table(c);
      (void)catalogue_id(c);
      (void)interpret_return(c.verb(), 0);
      check(format_getrequest_body(std::span<const Command>(&c, 1)) == format_command(c) + "\n");
    }
  }

  if (auto results = parse_command_results(in)) {
    std::string once = format_command_results(*results);
    auto again = parse_command_results(once);
    check(again.ok());
    check(again->size() == results->size());
    check(format_command_results(*again) == once);
    for (std::size_t i = 0; i < results->size(); ++i) {
      check((*again)[i].id == (*results)[i].id);
      check((*again)[i].return_code == (*results)[i].return_code);
      (void)interpret_return(verb_of_result_cmd((*results)[i].cmd).value_or(Verb::unknown), (*results)[i].return_code);
    }
  }

  if (auto control = parse_control_device(in)) {
    std::string hex = format_control_device(*control);
    auto back = parse_control_device(hex);
    check(back.ok() && *back == *control);
    (void)validate_control_device(*control);
  }
  return 0;
}
