// Enumerations of PUSH 3.1.2 with their meanings: event codes, verification modes, return values,
// error-log codes, biometric types, machine types, languages, privileges and the rest of the
// catalogue's code tables.
//
// The rows are generated from the catalogue (tools/gen_spec_tables.py). Every table is reachable
// by its catalogue id through find_enum(); the typed helpers below cover the ones the server and
// the decoder use all the time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace zkpush::protocol {

struct EnumEntry {
  std::string_view group;  // sub-table inside one id ("sensor", "MODE"...); "" for plain tables
  std::string_view code;   // as written in the manual: "27", "-1001", "D01E0001", "0x02", "SUCCESS"
  std::string_view name;
  std::string_view klass;  // events: normal/error/alarm/special; return codes: their range
};

struct EnumTable {
  std::string_view id;       // catalogue id, e.g. "events", "verification_modes"
  std::string_view section;  // manual section / appendix
  std::span<const EnumEntry> entries;
};

std::span<const EnumTable> all_enums() noexcept;
const EnumTable* find_enum(std::string_view id) noexcept;
// Entry of `code` in table `id` (and `group`, when the table has groups); nullptr if unknown.
const EnumEntry* find_enum_entry(std::string_view id, std::string_view code,
                                 std::string_view group = {}) noexcept;

// ---- events (Appendix 2 and 19) ---------------------------------------------------------------------

// The severity of an event: Appendix 19's "abnormal" counts as error and its "warning" as alarm.
enum class EventClass { normal, error, alarm, special, unknown };
const char* event_class_name(EventClass c) noexcept;

// The classes as the catalogue words them, each a set of code ranges: Appendix 2 gives normal
// (0-19, 200-253), error (20-99), alarm (100-199) and special (254, 255); Appendix 19 normal
// (4000-4999), abnormal (5000-5999) and warning (6000-6999). Every code the catalogue defines has
// its range's class (tests/protocol/enums_test.cpp), so a class is exactly its ranges: what the API
// shows as an event's class and filters by.
struct EventCodeRange {
  std::int64_t first;
  std::int64_t last;
};
struct EventClassRanges {
  std::string_view name;
  std::span<const EventCodeRange> ranges;
};
std::span<const EventClassRanges> event_classes() noexcept;  // normal, error, abnormal, alarm, warning, special
const EventClassRanges* find_event_class(std::string_view name) noexcept;  // nullptr: not a class name

struct EventInfo {
  int code = 0;
  std::string_view name;  // "" when the code is not defined by the manual
  EventClass klass = EventClass::unknown;
  std::string_view class_name;  // the catalogue's word (event_classes()); "" outside every range
  bool defined = false;
};
// Codes 0-255 (Appendix 2) and 4000-6999 (Appendix 19; undefined codes of those ranges still get
// their class from the range: 4xxx normal, 5xxx error, 6xxx alarm).
EventInfo event_info(std::int64_t code) noexcept;

// ---- verification modes (Appendix 3) ---------------------------------------------------------------
std::optional<std::string_view> verify_mode_name(std::int64_t code) noexcept;

// ---- return values (Appendix 1) ----------------------------------------------------------------------
// ">= 0" is "Successful"; unknown negative codes give nullopt.
std::optional<std::string_view> return_code_name(std::int64_t code) noexcept;

// ---- others ------------------------------------------------------------------------------------------
std::optional<std::string_view> errorlog_code_name(std::string_view code) noexcept;  // Appendix 17
std::optional<std::string_view> biometric_type_name(std::int64_t type) noexcept;     // Appendix 18
std::optional<std::string_view> machine_type_name(std::int64_t type) noexcept;       // Appendix 7
std::optional<std::string_view> language_name(std::int64_t code) noexcept;           // Appendix 4
std::optional<std::string_view> privilege_name(std::int64_t code) noexcept;

namespace detail {
std::span<const EnumTable> enum_tables() noexcept;  // generated
}

}  // namespace zkpush::protocol
