#include "storage/postgres/door_state.hpp"

#include <limits>

#include "protocol/text.hpp"
#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres::door_state {

void put(Connection& c, const DoorStateUpdate& u) {
  if (u.sn.empty()) throw Refused(StoreError::Reason::invalid, "a door state needs the device's serial number");
  // One statement (devices repeat their state every few seconds): a history row only when sensor,
  // relay or alarm differ from the current state, then the current state replaced. The history's
  // NOT EXISTS reads door_state as it was before this statement (a WITH's parts share a snapshot).
  // Another node writing the same device's state at the same moment could add a second history row
  // for one change; only one node holds a device's connection.
  auto st = c.prepare(
      "WITH changed AS (INSERT INTO door_state_history (sn, time_local, sensor, relay, alarm, received_at) "
      "SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS "
      "(SELECT 1 FROM door_state WHERE sn = $1 AND sensor = $3 AND relay = $4 AND alarm = $5)) "
      "INSERT INTO door_state (sn, time_local, sensor, relay, alarm, received_at) VALUES ($1, $2, $3, $4, $5, $6) "
      "ON CONFLICT (sn) DO UPDATE SET time_local = excluded.time_local, sensor = excluded.sensor, "
      "relay = excluded.relay, alarm = excluded.alarm, received_at = excluded.received_at");
  st.bind(1, as_text(u.sn)).bind(2, as_text(u.time_local)).bind(3, as_text(u.sensor));
  st.bind(4, as_text(u.relay)).bind(5, as_text(u.alarm)).bind(6, u.received_at);
  st.run();
}

std::optional<DoorStateUpdate> get(Connection& c, const std::string& sn) {
  auto st = c.prepare("SELECT sn, time_local, sensor, relay, alarm, received_at, 0 FROM door_state WHERE sn = $1");
  st.bind(1, sn);
  if (!st.step()) return std::nullopt;
  return rows::read_door_state(st);
}

std::vector<DoorStateUpdate> all(Connection& c) {
  auto st = c.prepare("SELECT sn, time_local, sensor, relay, alarm, received_at, 0 FROM door_state ORDER BY sn");
  std::vector<DoorStateUpdate> out;
  while (st.step()) out.push_back(rows::read_door_state(st));
  return out;
}

std::vector<DoorStateUpdate> history(Connection& c, const std::string& sn, std::int64_t before_id, std::int64_t limit) {
  // "id < $2" rather than "($2 = 0 OR id < $2)": the index on (sn, id) then starts at the page.
  auto st = c.prepare(
      "SELECT sn, time_local, sensor, relay, alarm, received_at, id FROM door_state_history "
      "WHERE sn = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
  st.bind(1, sn).bind(2, before_id > 0 ? before_id : std::numeric_limits<std::int64_t>::max());
  st.bind(3, limit > 0 ? std::optional(limit) : std::nullopt);  // NULL: no limit
  std::vector<DoorStateUpdate> out;
  while (st.step()) out.push_back(rows::read_door_state(st));
  return out;
}

}  // namespace zkpush::storage::postgres::door_state
