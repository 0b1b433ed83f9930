// Door state (rtstate): the current state per device and the history of changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/postgres/database.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::postgres::door_state {

void put(Connection& c, const DoorStateUpdate& update);
std::optional<DoorStateUpdate> get(Connection& c, const std::string& sn);
std::vector<DoorStateUpdate> all(Connection& c);
// `limit` changes (<= 0: all) with an id below `before_id` (0: from the newest), newest first.
std::vector<DoorStateUpdate> history(Connection& c, const std::string& sn, std::int64_t before_id, std::int64_t limit);

}  // namespace zkpush::storage::postgres::door_state
