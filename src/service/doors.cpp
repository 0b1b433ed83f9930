#include "service/doors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::service {

namespace p = protocol;
using Json = nlohmann::ordered_json;
using Kind = DoorParam::Kind;

namespace {

// Appendix 10 (doors) and Appendix 12 (the panel); the ranges are what the manual states or what
// a panel's byte-wide setting holds.
constexpr std::array<DoorParam, 14> kParams{{
    {"drive_time", "Drivertime", Kind::number, 0, 254, false, "", "lock driver time, seconds"},
    {"sensor_type", "SensorType", Kind::number, 0, 2, false, "", "door sensor: 0 none, 1 normally open, 2 normally closed"},
    {"sensor_delay", "Detectortime", Kind::number, 0, 254, false, "", "door sensor delay, seconds (0: no alarm)"},
    {"verify_mode", "VerifyType", Kind::code, 0, 0, false, "verification_modes", "door opening mode (Appendix 3)"},
    {"normal_open_time_rule_id", "KeepOpenTimeZone", Kind::time_rule, 0, 0, false, "", "normal-open period (0: none)"},
    {"active_time_rule_id", "ValidTZ", Kind::time_rule, 0, 0, false, "", "period the door is active"},
    {"duress_password", "ForcePassWord", Kind::digits, 0, 6, false, "", "duress password, up to 6 digits"},
    {"emergency_password", "SupperPassWord", Kind::digits, 0, 8, false, "", "emergency password, up to 8 digits"},
    {"lock_on_close", "CloseAndLock", Kind::flag, 0, 1, false, "", "lock when the door closes"},
    {"first_card", "FirstCardOpenDoor", Kind::number, 0, 2, false, "", "0 off, 1 first-card normal open, 2 first-card activation"},
    {"multi_card", "MultiCardOpenDoor", Kind::flag, 0, 1, false, "", "multi-card opening"},
    {"in_out_anti_passback", "InOutAntiPassback", Kind::number, 0, 3, false, "", "0 none, 1 in, 2 out, 3 in and out"},
    {"anti_passback", "AntiPassback", Kind::code, 0, 0, true, "apb_values", "anti-passback (Appendix 8)"},
    {"interlock", "InterLock", Kind::code, 0, 0, true, "interlock_values", "interlock (Appendix 9)"},
}};

const DoorParam* find_param(std::string_view name) {
  for (const auto& param : kParams)
    if (param.name == name) return &param;
  return nullptr;
}

std::string check_value(const DoorParam& param, const Json& v) {
  const std::string name(param.name);
  switch (param.kind) {
    case Kind::number:
      if (!v.is_number_integer() || v.get<std::int64_t>() < param.lo || v.get<std::int64_t>() > param.hi)
        return name + ": " + std::to_string(param.lo) + " to " + std::to_string(param.hi);
      return "";
    case Kind::code:
      if (!v.is_number_integer() || !p::find_enum_entry(param.codes, std::to_string(v.get<std::int64_t>())))
        return name + ": a value of the manual's " + std::string(param.codes) + " table";
      return "";
    case Kind::time_rule:
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0) return name + ": the id of a time rule, or 0";
      return "";
    case Kind::digits: {
      if (!v.is_string()) return name + ": a string of digits";
      const auto text = v.get<std::string>();
      if (text.size() > static_cast<std::size_t>(param.hi) ||
          !std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
        return name + ": up to " + std::to_string(param.hi) + " digits";
      return "";
    }
    case Kind::flag:
      if (!v.is_boolean()) return name + ": true or false";
      return "";
  }
  return "";
}

Json parse_settings(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  return j.is_object() ? j : Json::object();
}

}  // namespace

std::span<const DoorParam> door_params() { return kParams; }

std::string apply_door_patch(storage::DoorSettings& current, std::string_view patch_json) {
  const auto patch = Json::parse(patch_json, nullptr, false);
  if (!patch.is_object()) return "the body must be a JSON object";
  auto settings = parse_settings(current.settings);
  std::string name = current.name;
  for (const auto& [key, v] : patch.items()) {
    if (key == "name") {
      if (!v.is_string()) return "name: a string";
      if (v.get<std::string>().size() > 64) return "name: at most 64 characters";
      name = v.get<std::string>();
      continue;
    }
    if (key == "sn" || key == "door") continue;  // echoed back from a GET: ignored
    const DoorParam* param = find_param(key);
    if (!param || param->panel != (current.door == 0)) {
      std::string known;
      for (const auto& p : kParams)
        if (p.panel == (current.door == 0)) known += (known.empty() ? "" : ", ") + std::string(p.name);
      return "unknown field " + p::text::quoted(key) + " (name, " + known + ")";
    }
    if (v.is_null()) {
      settings.erase(key);  // no longer set by us; the panel keeps what it has
      continue;
    }
    if (auto problem = check_value(*param, v); !problem.empty()) return problem;
    settings[key] = v;
  }
  // Kept in the order of the parameter table, so equal settings are equal text.
  Json ordered = Json::object();
  for (const auto& param : kParams)
    if (auto it = settings.find(std::string(param.name)); it != settings.end()) ordered[std::string(param.name)] = *it;
  current.settings = ordered.dump();
  current.name = std::move(name);
  return "";
}

std::vector<std::int64_t> rules_named(const storage::DoorSettings& settings) {
  std::vector<std::int64_t> out;
  const auto j = parse_settings(settings.settings);
  for (const auto& param : kParams) {
    if (param.kind != Kind::time_rule) continue;
    auto it = j.find(std::string(param.name));
    if (it != j.end() && it->is_number_integer() && it->get<std::int64_t>() > 0) out.push_back(it->get<std::int64_t>());
  }
  return out;
}

p::Record door_options(const storage::DoorSettings& settings) {
  p::Record out;
  const auto j = parse_settings(settings.settings);
  const std::string prefix = settings.door > 0 ? "Door" + std::to_string(settings.door) : "";
  for (const auto& param : kParams) {
    auto it = j.find(std::string(param.name));
    if (it == j.end()) continue;
    std::string value;
    if (it->is_boolean()) value = it->get<bool>() ? "1" : "0";
    else if (it->is_string()) value = it->get<std::string>();
    else if (it->is_number_integer()) value = std::to_string(it->get<std::int64_t>());
    else continue;
    out.add(prefix + std::string(param.option), value);
  }
  return out;
}

}  // namespace zkpush::service
