// libFuzzer target for the value codecs, the charset policy and the decoded view.
//
// Input: one selector byte, then the text. Every codec sees the text; decoders that succeed must
// round-trip through their encoder, text made for JSON must be valid UTF-8, and describe output
// must serialise (nlohmann throws on invalid UTF-8, which the fuzzer reports as a crash).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/charset.hpp"
#include "protocol/codecs.hpp"
#include "protocol/describe.hpp"
#include "protocol/fields.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

using namespace zkpush::protocol;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void time_codecs(std::string_view in) {
  if (auto t = parse_zktime(in)) {
    auto back = encode_zktime(*t);
    check(back.ok() || !is_valid_civil_time(*t));
    if (back) check(decode_zktime(*back) == *t);
  }
  if (auto t = parse_datetime(in)) check(*parse_datetime(format_datetime(*t)) == *t);
  if (auto t = parse_date8(in)) check(*parse_date8(format_date8(*t)) == *t);
  for (bool zk : {false, true}) {
    if (auto v = parse_validity_time(in, zk); v && v->form != ValidityForm::unlimited) {
      auto text = format_validity_time(v->time, zk);
      check(text.ok() || (zk && !is_valid_civil_time(v->time)));
    }
  }
  (void)guess_validity_time(in);
  if (auto s = decode_time_segment(in)) {
    auto back = encode_time_segment(*s);
    const bool ordered = s->start_hour * 60 + s->start_minute <= s->end_hour * 60 + s->end_minute;
    check(back.ok() == ordered);
    if (back) check(*decode_time_segment(*back) == *s);
  }
  if (auto s = parse_time_segment(in)) check(*parse_time_segment(format_time_segment(*s)) == *s);
  if (auto t = parse_http_date(in)) check(*parse_http_date(format_http_date(*t)) == *t);
  if (auto n = text::parse_int(in)) {
    if (auto t = civil_from_unix(*n)) check(*unix_from_civil(*t) == *n);
    (void)zktime_from_unix(*n, 480);
  }
}

void bitmap_codecs(std::string_view in) {
  if (auto codes = decode_event_types(in)) {
    std::vector<int> low;
    for (int c : *codes)
      if (c < 256) low.push_back(c);
    check(*decode_event_types(*encode_event_types(low)) == low);
  }
  if (auto codes = decode_verify_styles(in)) {
    std::vector<int> low;
    for (int c : *codes)
      if (c < 32) low.push_back(c);
    check(*decode_verify_styles(*encode_verify_styles(low)) == low);
  }
  if (auto codes = decode_extended_event_types(in, 5000)) {
    std::vector<int> in_range;
    for (int c : *codes)
      if (c < 5000 + 2048) in_range.push_back(c);
    check(*decode_extended_event_types(*encode_extended_event_types(in_range, 5000), 5000) == in_range);
  }
  if (auto list = parse_function_list(in)) {
    for (std::size_t p : supported_positions(*list)) check(function_supported(*list, p));
    (void)supported_functions(*list, "acc_support_fun_list");
  }
  if (auto bits = parse_vf_bits(in)) {
    check(*parse_vf_bits(format_vf_bits(*bits)) == *bits);
    check(make_vf_bits(vf_methods(*bits), vf_and_logic(*bits)) == *bits);
  }
  if (auto list = parse_multibio_list(in)) {
    check(*parse_multibio_list(format_multibio_list(*list, 0)) == *list || list->empty());
    (void)multibio_effective(*list, *list);
  }
}

void door_and_card_codecs(std::string_view in) {
  if (auto floors = decode_floor_bitmap(in)) check(*decode_floor_bitmap(*encode_floor_bitmap(*floors)) == *floors);
  for (bool one : {false, true})
    if (auto doors = parse_authorize_doors(in, one); doors && !doors->empty()) {
      if (!one || doors->size() == 1) check(*parse_authorize_doors(*format_authorize_doors(*doors, one), one) == *doors);
    }
  // rtstate: "sensor,relay,alarm".
  auto parts = text::split(in, ',');
  if (parts.size() == 3) {
    // (An empty decode has no door count to hand back: 0 means "from the data".)
    if (auto doors = decode_rtstate(parts[0], parts[1], parts[2]); doors && !doors->empty()) {
      auto fields = encode_rtstate(*doors);
      check(fields.ok());
      auto back = decode_rtstate(fields->sensor, fields->relay, fields->alarm, static_cast<int>(doors->size()));
      check(back.ok() && *back == *doors);
      for (const auto& d : *doors) (void)alarm_names(d.alarms);
    }
  }
  if (auto card = parse_card_number(in)) {
    if (card->form != CardForm::none) {
      check(parse_card_number(format_card_number(card->value, card->form))->value == card->value);
      check(parse_card_number(format_card_number(card->value))->value == card->value);
    }
  }
  if (auto n = text::parse_int(in)) {
    (void)apb_name(*n);
    const int v = static_cast<int>(*n % 100);
    (void)templatev10_from_upload(v, v % 4);
    (void)templatev10_upload_mark(v, 3);
  }
}

void session_codecs(std::string_view in) {
  (void)parse_cookie_token(in);
  if (auto v = parse_protocol_version(in)) check(compare_versions(v->to_string(), in) == 0);
  (void)negotiate_protocol_version(in, "3.1.2");
  const std::size_t third = in.size() / 3;
  const std::string token = compute_token(in.substr(0, third), in.substr(third, third), in.substr(2 * third));
  check(token.size() == 32);
  check(diagnose_token(token, in.substr(0, third), in.substr(third, third), in.substr(2 * third)).has_value());
}

void charset_and_describe(std::uint8_t selector, std::string_view in) {
  for (int lang : {0, 69, 83}) check(text::is_valid_utf8(text_to_utf8(in, lang)));
  check(text::is_valid_utf8(gb18030_to_utf8_lenient(in)));
  if (auto utf8 = gb18030_to_utf8(in)) check(text::is_valid_utf8(*utf8));
  if (auto gb = utf8_to_gb(in)) check(gb18030_to_utf8(*gb).has_value());
  (void)text_for_device(in, 83, true);

  auto tables = all_tables();
  const TableSpec& table = tables[selector % tables.size()];
  DescribeContext ctx;
  ctx.language = (selector & 0x40) ? 83 : 0;
  if (selector & 0x80) ctx.date_fmt_zktime = (selector & 0x20) != 0;
  ctx.one_door_authorize = (selector & 0x10) != 0;
  const Record record = parse_tab_record(in);
  (void)describe_record(table.name, record, ctx).dump();
  (void)describe_record("rtstate", record, ctx).dump();
  (void)describe_record("rtlog", record, ctx).dump();
  const Record options = parse_comma_list(in);
  (void)describe_options(options, context_from_options(options, ctx)).dump();
  (void)describe_value(table.name, "cardno", in, ctx).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 4096) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  time_codecs(in);
  bitmap_codecs(in);
  door_and_card_codecs(in);
  session_codecs(in);
  charset_and_describe(selector, in);
  return 0;
}
