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

std::string select_messages(std::string_view where) {
  std::string sql = "SELECT m.id, m.kind, m.sn, m.ref, m.body, m.at, ";
  for (std::size_t i = 0, start = 0; start <= kEventColumns.size(); ++i) {
    auto end = kEventColumns.find(',', start);
    if (end == std::string_view::npos) end = kEventColumns.size();
    auto column = kEventColumns.substr(start, end - start);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    sql += (i ? ", e." : "e.") + std::string(column);
    start = end + 1;
  }
  sql +=
      ", h.sn, h.time_local, h.sensor, h.relay, h.alarm, h.received_at FROM messages m "
      "LEFT JOIN events e ON m.kind = 'event' AND e.id = m.ref "
      "LEFT JOIN door_state_history h ON m.kind = 'door_state' AND h.id = m.ref ";
  sql += where;
  return sql;
}

}  // namespace zkpush::storage::rows
