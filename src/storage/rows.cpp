#include "storage/rows.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace zkpush::storage::rows {

CommandStatus command_status_from(const std::string& name) {
  auto s = command_status_from_name(name);
  if (!s) throw std::runtime_error("stored command has an unknown status '" + name + "'");
  return *s;
}

CommandPriority command_priority_from(std::int64_t value) {
  if (value < 0 || value > static_cast<std::int64_t>(CommandPriority::bulk))
    throw std::runtime_error("stored command has an unknown priority " + std::to_string(value));
  return static_cast<CommandPriority>(value);
}

SyncState sync_state_from(const std::string& text) {
  if (text == "pending") return SyncState::pending;
  if (text == "sending") return SyncState::sending;
  if (text == "applied") return SyncState::applied;
  if (text == "failed") return SyncState::failed;
  throw std::runtime_error("sync item: unknown state '" + text + "'");
}

std::string segments_json(const TimeRule& rule) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t d = 0; d < kRuleDays.size(); ++d) {
    auto periods = nlohmann::ordered_json::array();
    for (const auto& p : rule.days[d]) periods.push_back({p.start, p.end});
    j[kRuleDays[d]] = std::move(periods);
  }
  return j.dump();
}

decltype(TimeRule::days) rule_days_from_json(std::int64_t rule_id, const std::string& segments) {
  decltype(TimeRule::days) days;
  auto j = nlohmann::json::parse(segments, nullptr, false);
  if (!j.is_object()) throw std::runtime_error("time rule " + std::to_string(rule_id) + ": segments are not a JSON object");
  for (std::size_t d = 0; d < kRuleDays.size(); ++d) {
    auto it = j.find(kRuleDays[d]);
    if (it == j.end() || !it->is_array()) continue;
    for (const auto& p : *it)
      if (p.is_array() && p.size() == 2) days[d].push_back(Period{p[0].get<int>(), p[1].get<int>()});
  }
  return days;
}

}  // namespace zkpush::storage::rows
