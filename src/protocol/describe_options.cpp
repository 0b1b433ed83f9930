// describe_options(): the meaning of registry / options parameters.
#include <vector>

#include "protocol/codecs.hpp"
#include "protocol/describe.hpp"
#include "protocol/describe_values.hpp"
#include "protocol/enums.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using describe_detail::Json;
namespace dd = describe_detail;

namespace {

// Parameters whose value is simply a code of an enums.hpp table.
struct EnumParameter {
  std::string_view key, enum_id;
};
constexpr EnumParameter kEnumParameters[] = {
    {"MachineType", "machine_types"},       {"Language", "languages"},
    {"DeviceType", "device_type"},          {"CommType", "comm_type"},
    {"QRCodeDecryptType", "qrcode_decrypt_type"}, {"IsSupportQRcode", "is_support_qrcode"},
    {"IRTempUnitTrans", "ir_temp_unit_trans"},    {"DevNSLevel", "ns_level"},
    {"SvrNSLevel", "ns_level"},             {"WGRuleVer", "wg_rule_ver"},
};

Json named_codes(const std::vector<int>& codes, auto&& name_of) {
  Json out = Json::array();
  for (int code : codes) {
    Json j = Json::object();
    j["code"] = code;
    std::optional<std::string_view> name = name_of(code);
    j["name"] = name ? Json(std::string(*name)) : Json(nullptr);
    out.push_back(std::move(j));
  }
  return out;
}

std::optional<std::string_view> event_name(int code) {
  EventInfo info = event_info(code);
  if (!info.defined) return std::nullopt;
  return info.name;
}

Json events_json(std::string_view value, int base) {
  auto codes = base == 0 ? decode_event_types(value) : decode_extended_event_types(value, base);
  if (!codes) return dd::failure_json(value, codes.error());
  return named_codes(*codes, event_name);
}

Json function_list_json(std::string_view value, std::string_view enum_id) {
  auto list = parse_function_list(value);
  if (!list) return dd::failure_json(value, list.error());
  Json out = Json::array();
  for (const NamedCode& f : supported_functions(*list, enum_id)) {
    Json j = Json::object();
    j["position"] = f.code;
    j["name"] = f.name.empty() ? Json(nullptr) : Json(std::string(f.name));
    out.push_back(std::move(j));
  }
  return out;
}

// MultiBio*: the supported types (0/1 lists) or the non-zero value per type (versions, counts).
Json multibio_json(std::string_view value, bool flags) {
  auto list = parse_multibio_list(value);
  if (!list) return dd::failure_json(value, list.error());
  Json out = Json::array();
  for (int type : multibio_types(*list)) {
    Json j = Json::object();
    j["type"] = type;
    auto name = biometric_type_name(type);
    j["name"] = name ? Json(std::string(*name)) : Json(nullptr);
    if (!flags) j["value"] = (*list)[static_cast<std::size_t>(type)];
    out.push_back(std::move(j));
  }
  return out;
}

Json vf_styles_json(std::string_view value) {
  auto bits = parse_vf_bits(value);
  if (!bits) return dd::failure_json(value, bits.error());
  Json methods = Json::array();
  for (int b : vf_methods(*bits)) {
    std::string_view name = vf_bit_name(b);
    methods.push_back(name.empty() ? "bit " + std::to_string(b) : std::string(name));
  }
  Json j = Json::object();
  j["bits"] = format_vf_bits(*bits);
  j["methods"] = std::move(methods);
  return j;
}

Json version_json(std::string_view value) {
  auto v = parse_protocol_version(value);
  if (!v) return dd::failure_json(value, v.error());
  Json j = Json::object();
  j["version"] = v->to_string();
  j["encryption"] = has_encryption_exchange(*v);
  j["errorlog"] = has_errorlog(*v);
  return j;
}

// "Door1VerifyType", "DoorVerifyType": verification modes, old codes or bit strings.
bool is_door_verify_type(std::string_view key) {
  if (!text::istarts_with(key, "Door") || key.size() < 14) return false;
  std::string_view tail = key.substr(key.size() - 10);
  std::string_view middle = key.substr(4, key.size() - 14);
  return text::iequals(tail, "VerifyType") && middle.find_first_not_of("0123456789") == std::string_view::npos;
}

Json describe_option(std::string_view key, std::string_view value, const DescribeContext& ctx) {
  using text::iequals;
  if (iequals(key, "VerifyStyles")) {
    auto codes = decode_verify_styles(value);
    if (!codes) return dd::failure_json(value, codes.error());
    return named_codes(*codes, [](int c) { return verify_mode_name(c); });
  }
  if (iequals(key, "EventTypes")) return events_json(value, 0);
  if (int base = extended_event_base(key)) return events_json(value, base);
  if (iequals(key, "AccSupportFunList")) return function_list_json(value, "acc_support_fun_list");
  if (iequals(key, "QRCodeDecryptFunList")) return function_list_json(value, "qrcode_decrypt_fun_list");
  if (iequals(key, "MultiBioDataSupport") || iequals(key, "MultiBioPhotoSupport")) return multibio_json(value, true);
  if (iequals(key, "MultiBioVersion") || iequals(key, "MaxMultiBioDataCount") || iequals(key, "MaxMultiBioPhotoCount") ||
      iequals(key, "MultiBioDataCount") || iequals(key, "MultiBioPhotoCount"))
    return multibio_json(value, false);
  if (iequals(key, "NewVFStyles")) return vf_styles_json(value);
  if (is_door_verify_type(key)) return dd::verify_json(value);
  if (iequals(key, "PushProtVer") || iequals(key, "pushver") || iequals(key, "PushVersion")) return version_json(value);
  if (iequals(key, "DateTime")) return dd::zktime_json(value, false);
  if (iequals(key, "ServerTZ")) {
    auto tz = parse_tz_offset(value);
    if (!tz) return dd::failure_json(value, make_error(Errc::malformed, "expected a zone offset such as +0800"));
    Json j = Json::object();
    j["offset_minutes"] = *tz;
    return j;
  }
  if (iequals(key, "AntiPassback") || iequals(key, "InterLock")) {
    auto n = text::parse_int(value);
    if (!n) return dd::text_json(value, ctx);
    return dd::code_json(value, iequals(key, "AntiPassback") ? apb_name(*n) : interlock_name(*n));
  }
  for (const auto& p : kEnumParameters)
    if (iequals(key, p.key)) return dd::enum_ref_json(p.enum_id, value);
  return dd::text_json(value, ctx);
}

}  // namespace

Json describe_options(const Record& options, const DescribeContext& ctx) {
  Json out = Json::object();
  for (const Field& f : options.fields) {
    std::string name = text::sanitize_utf8(f.key);
    for (int n = 2; out.contains(name); ++n) name = text::sanitize_utf8(f.key) + "#" + std::to_string(n);
    if (!f.has_value) {
      out[name] = nullptr;
      continue;
    }
    std::string_view key = f.key;
    if (!key.empty() && key.front() == '~') key.remove_prefix(1);
    out[name] = describe_option(key, f.value, ctx);
  }
  return out;
}

}  // namespace zkpush::protocol
