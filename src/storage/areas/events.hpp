// Area: access events (rtlog, and records recovered by ACCOUNT / DATA QUERY transaction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace zkpush::storage {

class EventReads {
 public:
  virtual ~EventReads() = default;
  // Oldest first (by id), after filter.after_id; filter.limit <= 0: no limit.
  virtual std::vector<EventRow> list(const EventFilter& filter) = 0;
  // Events stored for a device ("" = every device).
  virtual std::int64_t count(const std::string& sn) = 0;
  // The largest event id stored (0: none): where a stream that wants only new events starts.
  virtual std::int64_t last_id() = 0;
};

class EventWrites : public EventReads {
 public:
  // Inserts what is new. A re-sent record is recognised by (sn, index, time_local), or by (sn, the
  // whole record: SHA-256 of raw, or of the fields when raw is empty) when it has no index, and is
  // not inserted twice. The time is part of the key because a device whose log was cleared numbers
  // its records from 1 again: those are new events, not re-sends. Events need no device row.
  virtual InsertCounts insert(const std::vector<NewEvent>& events) = 0;
};

}  // namespace zkpush::storage
