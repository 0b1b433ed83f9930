#include "protocol/describe_values.hpp"

#include "protocol/base64.hpp"
#include "protocol/charset.hpp"
#include "protocol/codecs.hpp"
#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol::describe_detail {

namespace {
Json optional_name(std::optional<std::string_view> name) {
  if (!name) return nullptr;
  return text::sanitize_utf8(*name);
}
}  // namespace

Json text_json(std::string_view value, const DescribeContext& ctx) { return text_to_utf8(value, ctx.language); }

Json failure_json(std::string_view value, const Error& error) {
  Json j = Json::object();
  j["raw"] = text::sanitize_utf8(value);
  j["error"] = text::sanitize_utf8(error.what);
  return j;
}

Json number_or_text(std::string_view value, const DescribeContext& ctx) {
  if (auto v = text::parse_int(value)) return *v;
  return text_json(value, ctx);
}

Json code_json(std::string_view value, std::optional<std::string_view> name) {
  Json j = Json::object();
  if (auto v = text::parse_int(value))
    j["code"] = *v;
  else
    j["code"] = text::sanitize_utf8(text::trim(value));
  j["name"] = optional_name(name);
  return j;
}

Json event_json(std::string_view value) {
  auto code = text::parse_int(value);
  if (!code) return failure_json(value, make_error(Errc::malformed, "an event code is a decimal number"));
  EventInfo info = event_info(*code);
  Json j = Json::object();
  j["code"] = *code;
  j["name"] = info.defined ? Json(text::sanitize_utf8(info.name)) : Json(nullptr);
  j["class"] = event_class_name(info.klass);
  return j;
}

Json verify_json(std::string_view value) {
  if (looks_like_vf_bits(value)) {
    auto bits = parse_vf_bits(value);
    if (!bits) return failure_json(value, bits.error());
    Json methods = Json::array();
    for (int b : vf_methods(*bits)) {
      std::string_view name = vf_bit_name(b);
      methods.push_back(name.empty() ? "bit " + std::to_string(b) : std::string(name));
    }
    Json j = Json::object();
    j["bits"] = format_vf_bits(*bits);
    j["logic"] = vf_and_logic(*bits) ? "and" : "or";
    j["methods"] = std::move(methods);
    return j;
  }
  auto code = text::parse_int(value);
  if (!code) return failure_json(value, make_error(Errc::malformed, "a verification mode is a code or a 16-bit string"));
  return code_json(value, verify_mode_name(*code));
}

Json return_json(std::string_view value, std::string_view cmd) {
  auto code = text::parse_int(value);
  if (!code) return failure_json(value, make_error(Errc::malformed, "Return is a decimal number"));
  Json j = code_json(value, return_code_name(*code));
  j["success"] = *code >= 0;
  // Under 9.1.4 QUERY, COUNT and ACCOUNT answer the number of records in Return.
  const std::string upper = text::to_upper(cmd);
  if (*code >= 0 && (upper.find("QUERY") != std::string::npos || upper.find("COUNT") != std::string::npos ||
                     upper.find("ACCOUNT") != std::string::npos))
    j["records"] = *code;
  return j;
}

Json card_json(std::string_view value) {
  auto card = parse_card_number(value);
  if (!card) return failure_json(value, card.error());
  Json j = Json::object();
  if (card->form != CardForm::none) j["decimal"] = std::to_string(card->value);
  j["form"] = card_form_name(card->form);
  return j;
}

Json datetime_json(std::string_view value) {
  auto t = parse_datetime(value);
  if (!t) return failure_json(value, t.error());
  return format_iso8601(*t);
}

Json zktime_json(std::string_view value, bool zero_means_unlimited) {
  if (zero_means_unlimited && text::trim(value) == "0") return "unlimited";
  auto t = parse_zktime(value);
  if (!t) return failure_json(value, t.error());
  return format_iso8601(*t);
}

Json validity_json(std::string_view value, const DescribeContext& ctx) {
  auto v = ctx.date_fmt_zktime ? parse_validity_time(value, *ctx.date_fmt_zktime) : guess_validity_time(value);
  if (!v) return failure_json(value, v.error());
  Json j = Json::object();
  if (v->form == ValidityForm::zktime) j["iso"] = format_iso8601(v->time);
  if (v->form == ValidityForm::date8) j["date"] = format_iso_date(v->time);
  j["form"] = validity_form_name(v->form);
  if (!ctx.date_fmt_zktime && v->form != ValidityForm::unlimited) j["guessed"] = true;
  return j;
}

Json date8_json(std::string_view value) {
  if (text::trim(value) == "0") return "none";
  auto t = parse_date8(value);
  if (!t) return failure_json(value, t.error());
  return format_iso_date(*t);
}

Json timerange_json(std::string_view value) {
  auto seg = decode_time_segment(value);
  if (!seg) return failure_json(value, seg.error());
  if (seg->empty()) return "none";
  return format_time_segment(*seg);
}

Json doors_json(std::string_view value, bool one_door_per_record) {
  auto doors = parse_authorize_doors(value, one_door_per_record);
  if (!doors) return failure_json(value, doors.error());
  return *doors;
}

Json floors_json(std::string_view value) {
  auto floors = decode_floor_bitmap(value);
  if (!floors) return failure_json(value, floors.error());
  return *floors;
}

Json inout_json(std::string_view value) {
  std::string_view v = text::trim(value);
  if (v == "0") return "in";
  if (v == "1") return "out";
  return code_json(value, std::nullopt);
}

Json errorlog_json(std::string_view value) {
  std::string_view code = text::trim(value);
  Json j = code_json(code, errorlog_code_name(code));
  j["code"] = text::sanitize_utf8(code);  // keep "00000000" and "D01E0001" as written
  // Appendix 17: the first character says who raised it.
  if (!code.empty() && (code[0] == 'D' || code[0] == 'd')) j["origin"] = "device";
  if (!code.empty() && (code[0] == 'S' || code[0] == 's')) j["origin"] = "software";
  // Generator, module (2 digits), type (E), value (4 digits): the device modules Appendix 17 names.
  static constexpr std::string_view kDeviceModules[] = {"",
                                                        "PUSH communication",
                                                        "template processing",
                                                        "hardware interaction",
                                                        "PULL communication",
                                                        "standalone communication",
                                                        "data relay",
                                                        "license service"};
  if (code.size() == 8 && (code[0] == 'D' || code[0] == 'd')) {
    if (auto module = text::parse_int(code.substr(1, 2)); module && *module >= 1 && *module <= 7)
      j["module"] = kDeviceModules[*module];
  }
  if (code.size() == 8 && (code[3] == 'E' || code[3] == 'e')) {
    j["type"] = "error";
    if (auto v = text::parse_int(code.substr(4)); v && code.substr(4).find_first_not_of("0123456789") == std::string_view::npos)
      j["value"] = *v;
  }
  return j;
}

Json base64_json(std::string_view value) {
  Json j = Json::object();
  j["chars"] = value.size();
  if (auto bytes = base64_decode(value))
    j["bytes"] = bytes->size();
  else
    j["error"] = "not base64";
  return j;
}

Json boolean_json(std::string_view value, const DescribeContext& ctx) {
  std::string_view v = text::trim(value);
  if (v == "0") return false;
  if (v == "1") return true;
  return text_json(value, ctx);
}

Json dst_json(std::string_view value) {
  std::string_view v = text::trim(value);
  if (v.size() != 8 || v.find_first_not_of("0123456789") != std::string_view::npos)
    return failure_json(value, make_error(Errc::malformed, "expected MMIIWWHH"));
  auto two = [&](std::size_t pos) { return (v[pos] - '0') * 10 + (v[pos + 1] - '0'); };
  Json j = Json::object();
  j["month"] = two(0);
  j["week"] = two(2);
  j["weekday"] = two(4);  // numbering not defined by the manual: reported as sent
  j["hour"] = two(6);
  return j;
}

Json enum_ref_json(std::string_view enum_ref, std::string_view value) {
  if (enum_ref == "events") return event_json(value);
  if (enum_ref == "verification_modes") return verify_json(value);
  if (enum_ref == "errorlog_codes") return errorlog_json(value);
  std::string_view code = text::trim(value);
  const EnumEntry* e = find_enum_entry(enum_ref, code);
  if (!e) {
    // "01" for code 1: compare as numbers too.
    if (auto n = text::parse_int(code)) e = find_enum_entry(enum_ref, std::to_string(*n));
  }
  return code_json(code, e ? std::optional<std::string_view>(e->name) : std::nullopt);
}

namespace {
const EnumValue* find_value(const FieldSpec& spec, std::string_view value) {
  std::string_view v = text::trim(value);
  auto n = text::parse_int(v);
  for (const auto& ev : spec.values) {
    if (text::iequals(ev.code, v)) return &ev;
    if (n && text::parse_int(ev.code) == n) return &ev;
  }
  return nullptr;
}
}  // namespace

Json enumerated_json(const FieldSpec& spec, std::string_view value, const DescribeContext& ctx) {
  if (const EnumValue* ev = find_value(spec, value)) return code_json(value, ev->name);
  if (!spec.enum_ref.empty()) return enum_ref_json(spec.enum_ref, value);
  if (text::trim(value).empty()) return text_json(value, ctx);
  return code_json(value, std::nullopt);
}

Json bitmask_json(const FieldSpec& spec, std::string_view value, const DescribeContext& ctx) {
  if (const EnumValue* ev = find_value(spec, value)) return code_json(value, ev->name);
  auto n = text::parse_uint(value);
  if (!n) return text_json(value, ctx);
  Json bits = Json::array();
  for (int b = 0; b < 64; ++b)
    if (*n & (std::uint64_t{1} << b)) bits.push_back(b);
  Json j = Json::object();
  j["value"] = *n;
  j["bits"] = std::move(bits);
  return j;
}

Json rtstate_doors_json(std::string_view sensor, std::string_view relay, std::string_view alarm,
                        const DescribeContext& ctx) {
  auto doors = decode_rtstate(sensor, relay, alarm, ctx.door_count);
  if (!doors) return failure_json(std::string(sensor) + " " + std::string(relay) + " " + std::string(alarm), doors.error());
  Json out = Json::array();
  for (const DoorStatus& d : *doors) {
    Json door = Json::object();
    door["door"] = d.door;
    door["sensor"] = door_sensor_name(d.sensor);
    door["relay"] = d.relay_disconnected ? "disconnected" : "connected";
    Json alarms = Json::array();
    for (std::string_view name : alarm_names(d.alarms)) alarms.push_back(std::string(name));
    door["alarms"] = std::move(alarms);
    out.push_back(std::move(door));
  }
  return out;
}

}  // namespace zkpush::protocol::describe_detail
