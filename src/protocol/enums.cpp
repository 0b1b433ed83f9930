#include "protocol/enums.hpp"

#include <string>

#include "protocol/text.hpp"

namespace zkpush::protocol {

std::span<const EnumTable> all_enums() noexcept { return detail::enum_tables(); }

const EnumTable* find_enum(std::string_view id) noexcept {
  for (const auto& t : detail::enum_tables())
    if (t.id == id) return &t;
  return nullptr;
}

const EnumEntry* find_enum_entry(std::string_view id, std::string_view code, std::string_view group) noexcept {
  const EnumTable* table = find_enum(id);
  if (!table) return nullptr;
  for (const auto& e : table->entries)
    if (text::iequals(e.code, code) && (group.empty() || text::iequals(e.group, group))) return &e;
  return nullptr;
}

const char* event_class_name(EventClass c) noexcept {
  switch (c) {
    case EventClass::normal: return "normal";
    case EventClass::error: return "error";
    case EventClass::alarm: return "alarm";
    case EventClass::special: return "special";
    case EventClass::unknown: break;
  }
  return "unknown";
}

namespace {

std::optional<std::string_view> name_of(std::string_view id, std::int64_t code) noexcept {
  std::string s = std::to_string(code);
  if (const EnumEntry* e = find_enum_entry(id, s)) return e->name;
  return std::nullopt;
}

EventClass class_from_text(std::string_view k) noexcept {
  if (k == "normal") return EventClass::normal;
  if (k == "error" || k == "abnormal") return EventClass::error;
  if (k == "alarm" || k == "warning") return EventClass::alarm;
  if (k == "special") return EventClass::special;
  return EventClass::unknown;
}

constexpr EventCodeRange kNormal[] = {{0, 19}, {200, 253}, {4000, 4999}};
constexpr EventCodeRange kError[] = {{20, 99}};
constexpr EventCodeRange kAbnormal[] = {{5000, 5999}};
constexpr EventCodeRange kAlarm[] = {{100, 199}};
constexpr EventCodeRange kWarning[] = {{6000, 6999}};
constexpr EventCodeRange kSpecial[] = {{254, 255}};
constexpr EventClassRanges kEventClasses[] = {
    {"normal", kNormal}, {"error", kError},     {"abnormal", kAbnormal},
    {"alarm", kAlarm},   {"warning", kWarning}, {"special", kSpecial},
};

std::string_view class_of_code(std::int64_t code) noexcept {
  for (const auto& c : kEventClasses)
    for (const auto& r : c.ranges)
      if (code >= r.first && code <= r.last) return c.name;
  return {};
}

}  // namespace

std::span<const EventClassRanges> event_classes() noexcept { return kEventClasses; }

const EventClassRanges* find_event_class(std::string_view name) noexcept {
  for (const auto& c : kEventClasses)
    if (c.name == name) return &c;
  return nullptr;
}

EventInfo event_info(std::int64_t code) noexcept {
  EventInfo info;
  info.code = static_cast<int>(code);
  info.class_name = class_of_code(code);
  info.klass = class_from_text(info.class_name);
  const char* table = code >= 4000 ? "extended_events" : "events";
  std::string s = std::to_string(code);
  if (const EnumEntry* e = find_enum_entry(table, s)) {
    info.name = e->name;
    info.defined = true;
  }
  return info;
}

std::optional<std::string_view> verify_mode_name(std::int64_t code) noexcept { return name_of("verification_modes", code); }

std::optional<std::string_view> return_code_name(std::int64_t code) noexcept {
  if (code >= 0) {
    if (const EnumEntry* e = find_enum_entry("return_codes", ">=0")) return e->name;
    return std::nullopt;
  }
  return name_of("return_codes", code);
}

std::optional<std::string_view> errorlog_code_name(std::string_view code) noexcept {
  if (const EnumEntry* e = find_enum_entry("errorlog_codes", code)) return e->name;
  return std::nullopt;
}

std::optional<std::string_view> biometric_type_name(std::int64_t type) noexcept { return name_of("biometric_types", type); }
std::optional<std::string_view> machine_type_name(std::int64_t type) noexcept { return name_of("machine_types", type); }
std::optional<std::string_view> language_name(std::int64_t code) noexcept { return name_of("languages", code); }
std::optional<std::string_view> privilege_name(std::int64_t code) noexcept { return name_of("user_privilege", code); }

}  // namespace zkpush::protocol
