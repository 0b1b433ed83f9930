// Fuzzes the record layer every body parser builds on. Beyond "no crash, no sanitizer report", it
// checks that formatting is a fixed point: format(parse(format(parse(x)))) == format(parse(x)).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/base64.hpp"
#include "protocol/fields.hpp"
#include "protocol/text.hpp"

using namespace zkpush::protocol;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  static constexpr std::string_view keys[] = {"time", "pin", "cardno", "event", "Name", "index"};
  TabRecordOptions schema;
  schema.known_keys = keys;
  schema.expected_prefix = "user";
  for (const TabRecordOptions& opt : {TabRecordOptions{}, schema}) {
    std::string once = format_tab_records(parse_tab_records(in, opt));
    std::string twice = format_tab_records(parse_tab_records(once, opt));
    check(once == twice);
  }

  std::string comma = format_comma_list(parse_comma_list(in));
  check(format_comma_list(parse_comma_list(comma)) == comma);
  std::string amp = format_amp_list(parse_amp_list(in));
  check(format_amp_list(parse_amp_list(amp)) == amp);
  (void)format_line_list(parse_line_list(in));
  Target t = parse_target(in);
  std::string target = format_target(t);
  check(format_target(parse_target(target)) == target);

  if (auto decoded = base64_decode(in)) check(base64_decode(base64_encode(*decoded)) == *decoded);
  check(text::is_valid_utf8(text::sanitize_utf8(in)));
  (void)text::parse_int(in);
  (void)text::parse_hex_bytes(in);
  return 0;
}
