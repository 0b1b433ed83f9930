#include "service/doors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::service {

namespace p = protocol;
using Json = nlohmann::ordered_json;
using Kind = DoorParam::Kind;

namespace {

// Appendix 10 (doors) and Appendix 12 (the panel); the ranges are what the manual states or what
// a panel's byte-wide setting holds.
constexpr std::array<DoorParam, 15> kParams{{
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
    {"dst", "DSTOn", Kind::flag, 0, 1, true, "", "daylight saving time on (the rules in dst_rules)"},
}};

// Settings that are rows of the panel's tables rather than options (table_items): first-card
// persons and multi-card groups of a door; linkage and DST rules of the panel.
struct ListParam {
  std::string_view name;
  bool panel = false;
};
constexpr std::array<ListParam, 4> kLists{{
    {"first_card_persons", false},  // [{"pin", "time_rule_id"}]          -> firstcard
    {"multi_card_groups", false},   // [[group, ...], ...]                  -> multimcard
    {"linkages", true},             // [{"event", "in", "output", ...}]     -> inoutfun
    {"dst_rules", true},            // [{"year", "start", "end", "loop"}]   -> DSTSetting
}};

const ListParam* find_list(std::string_view name) {
  for (const auto& list : kLists)
    if (list.name == name) return &list;
  return nullptr;
}

bool int_in(const Json& v, std::int64_t lo, std::int64_t hi) {
  return v.is_number_integer() && v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi;
}

// The first-card persons: [{"pin", "time_rule_id"}], a pin once, the rule 1 (always) unless named.
std::string check_first_card(Json& v) {
  if (!v.is_array() || v.size() > 100) return "first_card_persons: a list of up to 100 {\"pin\", \"time_rule_id\"}";
  std::set<std::string> pins;
  for (auto& e : v) {
    if (!e.is_object() || !e.contains("pin") || !e["pin"].is_string())
      return "first_card_persons: each {\"pin\": \"...\", \"time_rule_id\": n}";
    for (const auto& [k, x] : e.items())
      if (k != "pin" && k != "time_rule_id") return "first_card_persons: unknown field " + p::text::quoted(k);
    if (!e.contains("time_rule_id")) e["time_rule_id"] = 1;
    if (!int_in(e["time_rule_id"], 1, 0xffffffffLL)) return "first_card_persons: time_rule_id is the id of a time rule";
    if (!pins.insert(e["pin"].get<std::string>()).second)
      return "first_card_persons: pin " + e["pin"].get<std::string>() + " twice";
  }
  return "";
}

std::string check_multi_card(const Json& v) {
  if (!v.is_array() || v.size() > 20) return "multi_card_groups: a list of up to 20 combinations";
  for (const auto& combination : v) {
    if (!combination.is_array() || combination.empty() || combination.size() > 5)
      return "multi_card_groups: each combination is a list of 1 to 5 person groups";
    for (const auto& g : combination)
      if (!int_in(g, 1, 99)) return "multi_card_groups: a group is 1 to 99 (a person's group)";
  }
  return "";
}

// A linkage: when `event` (Appendix 2) happens at `in` (a door or aux input 1-4, 0 any), drive
// `output` ("lock" or "aux") `out` (1-4) for `seconds` (0 close, 1-254, 255 normal open); `type`
// door (default), reader or ipc; `action` lock or unlock, or none.
std::string check_linkage(Json& e) {
  static const std::string shape =
      "linkages: each {\"event\": code, \"in\": 0-4, \"output\": \"lock\"|\"aux\", \"out\": 1-4, \"seconds\": 0-255, "
      "\"type\": \"door\"|\"reader\"|\"ipc\", \"action\": \"lock\"|\"unlock\"|null}";
  if (!e.is_object()) return shape;
  for (const auto& [k, x] : e.items())
    if (k != "event" && k != "in" && k != "output" && k != "out" && k != "seconds" && k != "type" && k != "action")
      return "linkages: unknown field " + p::text::quoted(k) + " (" + shape.substr(10) + ")";
  if (!e.contains("event") || !e["event"].is_number_integer() ||
      !p::find_enum_entry("events", std::to_string(e["event"].get<std::int64_t>())))
    return "linkages: event is an event code of the manual (Appendix 2)";
  if (!e.contains("in")) e["in"] = 0;
  if (!e.contains("type")) e["type"] = "door";
  if (!e.contains("action")) e["action"] = nullptr;
  if (!int_in(e["in"], 0, 4)) return "linkages: in is 0 (any) or a door or aux input 1 to 4";
  if (!e.contains("output") || !e["output"].is_string() || (e["output"] != "lock" && e["output"] != "aux"))
    return "linkages: output is \"lock\" or \"aux\"";
  if (!e.contains("out") || !int_in(e["out"], 1, 4)) return "linkages: out is the lock or aux output 1 to 4";
  if (!e.contains("seconds") || !int_in(e["seconds"], 0, 255))
    return "linkages: seconds is 0 (close), 1 to 254, or 255 (normal open)";
  if (e["type"] != "door" && e["type"] != "reader" && e["type"] != "ipc") return "linkages: type is door, reader or ipc";
  if (!e["action"].is_null() && e["action"] != "lock" && e["action"] != "unlock")
    return "linkages: action is \"lock\", \"unlock\" or null";
  return "";
}

std::string check_dst_moment(const Json& v, const char* which) {
  const std::string name = std::string("dst_rules: ") + which;
  if (!v.is_object()) return name + " is {\"month\": 1-12, \"week\": 1-5, \"weekday\": 0-6 (Sunday 0), \"hour\": 0-23}";
  for (const auto& [k, x] : v.items())
    if (k != "month" && k != "week" && k != "weekday" && k != "hour") return name + ": unknown field " + p::text::quoted(k);
  if (!v.contains("month") || !int_in(v["month"], 1, 12)) return name + ": month 1 to 12";
  if (!v.contains("week") || !int_in(v["week"], 1, 5)) return name + ": week of the month 1 to 5";
  if (!v.contains("weekday") || !int_in(v["weekday"], 0, 6)) return name + ": weekday 0 (Sunday) to 6";
  if (!v.contains("hour") || !int_in(v["hour"], 0, 23)) return name + ": hour 0 to 23";
  return "";
}

std::string check_dst(Json& v) {
  if (!v.is_array() || v.size() > 100) return "dst_rules: a list of up to 100 {\"year\", \"start\", \"end\", \"loop\"}";
  std::set<std::int64_t> years;
  for (auto& e : v) {
    if (!e.is_object()) return "dst_rules: each {\"year\", \"start\", \"end\", \"loop\"}";
    for (const auto& [k, x] : e.items())
      if (k != "year" && k != "start" && k != "end" && k != "loop") return "dst_rules: unknown field " + p::text::quoted(k);
    if (!e.contains("year") || !int_in(e["year"], 2000, 2099)) return "dst_rules: year 2000 to 2099";
    if (!years.insert(e["year"].get<std::int64_t>()).second) return "dst_rules: year " + e["year"].dump() + " twice";
    if (auto problem = check_dst_moment(e.value("start", Json()), "start"); !problem.empty()) return problem;
    if (auto problem = check_dst_moment(e.value("end", Json()), "end"); !problem.empty()) return problem;
    if (!e.contains("loop")) e["loop"] = false;
    if (!e["loop"].is_boolean()) return "dst_rules: loop is true (every year) or false";
  }
  return "";
}

std::string check_list(std::string_view name, Json& v) {
  if (name == "first_card_persons") return check_first_card(v);
  if (name == "multi_card_groups") return check_multi_card(v);
  if (name == "dst_rules") return check_dst(v);
  if (!v.is_array() || v.size() > 64) return "linkages: a list of up to 64 linkages";
  for (auto& e : v)
    if (auto problem = check_linkage(e); !problem.empty()) return problem;
  return "";
}

// MMIIWWHH as DSTSetting takes it.
std::string dst_moment(const Json& v) {
  auto two = [](std::int64_t n) { return std::string(n < 10 ? "0" : "") + std::to_string(n); };
  return two(v.at("month").get<std::int64_t>()) + two(v.at("week").get<std::int64_t>()) +
         two(v.at("weekday").get<std::int64_t>()) + two(v.at("hour").get<std::int64_t>());
}

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
      // Shown in the console, the events' CSV and the logs as one value: no line breaks or tabs.
      for (unsigned char ch : v.get<std::string>())
        if (ch < 0x20 || ch == 0x7F) return "name: no control characters (line breaks, tabs)";
      name = v.get<std::string>();
      continue;
    }
    if (key == "sn" || key == "door") continue;  // echoed back from a GET: ignored
    if (const ListParam* list = find_list(key); list && list->panel == (current.door == 0)) {
      if (v.is_null() || (v.is_array() && v.empty())) {
        settings.erase(key);
        continue;
      }
      Json value = v;
      if (auto problem = check_list(key, value); !problem.empty()) return problem;
      settings[key] = std::move(value);
      continue;
    }
    const DoorParam* param = find_param(key);
    if (!param || param->panel != (current.door == 0)) {
      std::string known;
      for (const auto& p : kParams)
        if (p.panel == (current.door == 0)) known += (known.empty() ? "" : ", ") + std::string(p.name);
      for (const auto& l : kLists)
        if (l.panel == (current.door == 0)) known += ", " + std::string(l.name);
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
  for (const auto& list : kLists)
    if (auto it = settings.find(std::string(list.name)); it != settings.end()) ordered[std::string(list.name)] = *it;
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
  if (auto it = j.find("first_card_persons"); it != j.end() && it->is_array())
    for (const auto& e : *it)
      if (auto rule = e.value("time_rule_id", std::int64_t{1}); std::find(out.begin(), out.end(), rule) == out.end())
        out.push_back(rule);
  return out;
}

std::vector<std::string> pins_named(const storage::DoorSettings& settings) {
  std::vector<std::string> out;
  const auto j = parse_settings(settings.settings);
  if (auto it = j.find("first_card_persons"); it != j.end() && it->is_array())
    for (const auto& e : *it)
      if (e.is_object() && e.contains("pin") && e["pin"].is_string()) out.push_back(e["pin"].get<std::string>());
  return out;
}

bool forget_pin(storage::DoorSettings& settings, const std::string& pin) {
  auto j = parse_settings(settings.settings);
  auto it = j.find("first_card_persons");
  if (it == j.end() || !it->is_array()) return false;
  const auto before = it->size();
  Json kept = Json::array();
  for (const auto& e : *it)
    if (!(e.is_object() && e.value("pin", std::string()) == pin)) kept.push_back(e);
  if (kept.size() == before) return false;
  if (kept.empty()) j.erase("first_card_persons");
  else *it = std::move(kept);
  settings.settings = j.dump();
  return true;
}

std::vector<TableItem> table_items(const std::vector<storage::DoorSettings>& panel_settings) {
  std::vector<TableItem> out;
  std::vector<const storage::DoorSettings*> doors;
  doors.reserve(panel_settings.size());
  for (const auto& d : panel_settings) doors.push_back(&d);
  std::sort(doors.begin(), doors.end(), [](auto* a, auto* b) { return a->door < b->door; });
  int multi_index = 0, linkage_index = 0;
  for (const auto* d : doors) {
    const auto j = parse_settings(d->settings);
    const std::string door = std::to_string(d->door);
    if (auto it = j.find("first_card_persons"); d->door > 0 && it != j.end() && it->is_array() && !it->empty()) {
      std::map<std::string, std::int64_t> rows;  // by pin: equal lists are equal text
      for (const auto& e : *it) rows[e.value("pin", std::string())] = e.value("time_rule_id", std::int64_t{1});
      Json content = Json::array();
      for (const auto& [pin, rule] : rows)
        content.push_back(Json{{"DoorID", door}, {"TimezoneID", std::to_string(rule)}, {"Pin", pin}, {"DevID", "1"}});
      out.push_back(TableItem{"firstcard", door, content.dump()});
    }
    if (auto it = j.find("multi_card_groups"); d->door > 0 && it != j.end() && it->is_array()) {
      for (const auto& combination : *it) {
        const std::string index = std::to_string(++multi_index);
        Json row{{"Index", index}, {"DoorId", door}};
        for (std::size_t g = 0; g < 5; ++g)
          row["Group" + std::to_string(g + 1)] = g < combination.size() ? std::to_string(combination[g].get<std::int64_t>()) : "";
        row["DevID"] = "1";
        out.push_back(TableItem{"multicard", index, Json::array({row}).dump()});
      }
    }
    if (auto it = j.find("linkages"); d->door == 0 && it != j.end() && it->is_array()) {
      for (const auto& e : *it) {
        const std::string index = std::to_string(++linkage_index);
        int reserved = e.value("type", std::string("door")) == "reader" ? 1 : e.value("type", std::string("door")) == "ipc" ? 2 : 0;
        if (e.contains("action") && e["action"] == "lock") reserved |= 16;
        if (e.contains("action") && e["action"] == "unlock") reserved |= 32;
        Json row{{"Index", index},
                 {"EventType", std::to_string(e.at("event").get<std::int64_t>())},
                 {"InAddr", std::to_string(e.value("in", std::int64_t{0}))},
                 {"OutType", e.value("output", std::string("lock")) == "aux" ? "1" : "0"},
                 {"OutAddr", std::to_string(e.at("out").get<std::int64_t>())},
                 {"OutTime", std::to_string(e.at("seconds").get<std::int64_t>())},
                 {"Reserved", std::to_string(reserved)},
                 {"InDevID", "1"},
                 {"OutDevID", "1"}};
        out.push_back(TableItem{"linkage", index, Json::array({row}).dump()});
      }
    }
    if (auto it = j.find("dst_rules"); d->door == 0 && it != j.end() && it->is_array() && !it->empty()) {
      std::map<std::int64_t, Json> rows;
      for (const auto& e : *it) {
        const auto year = e.at("year").get<std::int64_t>();
        rows[year] = Json{{"Year", std::to_string(year)},
                          {"StartTime", dst_moment(e.at("start"))},
                          {"EndTime", dst_moment(e.at("end"))},
                          {"Loop", e.value("loop", false) ? "1" : "0"}};
      }
      Json content = Json::array();
      for (auto& [year, row] : rows) content.push_back(std::move(row));
      out.push_back(TableItem{"dst", "all", content.dump()});
    }
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
