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

enum class EventClass { normal, error, alarm, special, unknown };
const char* event_class_name(EventClass c) noexcept;

struct EventInfo {
  int code = 0;
  std::string_view name;  // "" when the code is not defined by the manual
  EventClass klass = EventClass::unknown;
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
