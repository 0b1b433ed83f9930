// Access events (table events): deduplicated inserts, listing by id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::sqlite::events {

InsertCounts insert(Connection& c, const std::vector<NewEvent>& events);
std::vector<EventRow> list(Connection& c, const EventFilter& filter);
std::int64_t count(Connection& c, const std::string& sn);  // "" = every device
std::int64_t last_id(Connection& c);

}  // namespace zkpush::storage::sqlite::events
