// Doors and their parameters: what the operator may set on a door (Appendix 10, sent as
// `SET OPTIONS Door<n><Name>=value`, as the manual's "Set access control parameters" example does)
// and on a panel as a whole (Appendix 12: anti-passback, interlock). Settings are kept as the API
// names them (storage::DoorSettings::settings, a JSON object); only what the operator set is sent,
// a parameter never set is left as the panel has it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/fields.hpp"
#include "storage/areas/access.hpp"

namespace zkpush::service {

struct DoorParam {
  enum class Kind {
    number,     // an integer lo..hi
    code,       // an integer of the manual's code table `codes` (find_enum)
    time_rule,  // the id of a time rule (0: none); the rule is sent to the panel first
    digits,     // up to hi digits ("" clears it)
    flag,       // true / false, sent as 1 / 0
  };
  std::string_view name;    // in the API
  std::string_view option;  // Appendix 10 suffix (Door<n><option>) or Appendix 12 name
  Kind kind = Kind::number;
  int lo = 0, hi = 0;
  bool panel = false;  // a panel's setting (door 0), not a door's
  std::string_view codes;
  std::string_view about;
};
std::span<const DoorParam> door_params();

// Applies `patch` (a JSON object: "name" and parameter names, null unsets one) to `current`.
// Returns the problem ("" = fine; refused: `current` unchanged); door 0 takes the panel
// parameters only, doors the others.
std::string apply_door_patch(storage::DoorSettings& current, std::string_view patch_json);
// The time rules the settings name (to be held by the panel, and not deleted while named).
std::vector<std::int64_t> rules_named(const storage::DoorSettings& settings);
// The pins the settings name (first-card persons): persons of the domain.
std::vector<std::string> pins_named(const storage::DoorSettings& settings);
// Drops a (deleted) person from the first-card persons; whether the settings changed.
bool forget_pin(storage::DoorSettings& settings, const std::string& pin);

// Settings that are rows of the panel's tables, not options: a door's first-card persons
// (firstcard, one item per door), its multi-card group combinations (multimcard, one item per
// combination, numbered across the panel's doors), the panel's linkages (inoutfun, one per
// linkage) and DST rules (DSTSetting, one item). Each item's content is its rows as JSON objects
// of wire fields, in wire order, so equal settings give equal text.
struct TableItem {
  std::string kind, key, content;
};
std::vector<TableItem> table_items(const std::vector<storage::DoorSettings>& panel_settings);

// The options that carry the settings to the panel: Door<n>Drivertime=5, AntiPassback=1...
protocol::Record door_options(const storage::DoorSettings& settings);

}  // namespace zkpush::service
