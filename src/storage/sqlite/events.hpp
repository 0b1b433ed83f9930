// Access events (table events): deduplicated inserts, filtered listing by id, retention.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/rows.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::sqlite::events {

InsertCounts insert(Connection& c, const std::vector<NewEvent>& events);
std::vector<EventRow> list(Connection& c, const EventFilter& filter);
std::int64_t count(Connection& c, const std::string& sn);  // "" = every device
std::int64_t last_id(Connection& c);
std::vector<EventHourCount> hourly_counts(Connection& c, const std::string& sn, std::int64_t from, std::int64_t to);
std::int64_t prune(Connection& c, std::int64_t received_before, std::int64_t max_rows);
// How this backend keeps an event's raw record (schema.cpp), for rows::read_event.
inline constexpr rows::RawColumn kEventRaw = rows::RawColumn::text;

}  // namespace zkpush::storage::sqlite::events
