#include "storage/sqlite/door_state.hpp"

#include <limits>

#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::sqlite::door_state {

void put(Connection& c, const DoorStateUpdate& u) {
  if (u.sn.empty()) throw Refused(StoreError::Reason::invalid, "a door state needs the device's serial number");
  bool changed = true;
  {
    auto st = c.prepare("SELECT sensor, relay, alarm FROM door_state WHERE sn = ?1");
    st->bind(1, u.sn);
    if (st->step())
      changed = st->column_text(0) != u.sensor || st->column_text(1) != u.relay || st->column_text(2) != u.alarm;
  }
  if (changed) {
    auto st = c.prepare(
        "INSERT INTO door_state_history (sn, time_local, sensor, relay, alarm, received_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st->bind(1, u.sn).bind(2, u.time_local).bind(3, u.sensor).bind(4, u.relay).bind(5, u.alarm).bind(6, u.received_at);
    st->run();
  }
  auto st = c.prepare(
      "INSERT INTO door_state (sn, time_local, sensor, relay, alarm, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (sn) DO UPDATE SET time_local = excluded.time_local, sensor = excluded.sensor, "
      "relay = excluded.relay, alarm = excluded.alarm, received_at = excluded.received_at");
  st->bind(1, u.sn).bind(2, u.time_local).bind(3, u.sensor).bind(4, u.relay).bind(5, u.alarm).bind(6, u.received_at);
  st->run();
}

std::optional<DoorStateUpdate> get(Connection& c, const std::string& sn) {
  auto st = c.prepare("SELECT sn, time_local, sensor, relay, alarm, received_at, 0 FROM door_state WHERE sn = ?1");
  st->bind(1, sn);
  if (!st->step()) return std::nullopt;
  return rows::read_door_state(*st);
}

std::vector<DoorStateUpdate> all(Connection& c) {
  auto st = c.prepare("SELECT sn, time_local, sensor, relay, alarm, received_at, 0 FROM door_state ORDER BY sn");
  std::vector<DoorStateUpdate> out;
  while (st->step()) out.push_back(rows::read_door_state(*st));
  return out;
}

std::vector<DoorStateUpdate> history(Connection& c, const std::string& sn, std::int64_t before_id, std::int64_t limit) {
  // "id < ?2" rather than "(?2 = 0 OR id < ?2)": the index on (sn, id) then starts at the page.
  auto st = c.prepare(
      "SELECT sn, time_local, sensor, relay, alarm, received_at, id FROM door_state_history "
      "WHERE sn = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3");
  st->bind(1, sn).bind(2, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max());
  st->bind(3, limit > 0 ? limit : std::int64_t{-1});
  std::vector<DoorStateUpdate> out;
  while (st->step()) out.push_back(rows::read_door_state(*st));
  return out;
}

}  // namespace zkpush::storage::sqlite::door_state
