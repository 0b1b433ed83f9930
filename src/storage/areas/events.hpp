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
  // The events the filter selects, by id: oldest first, or newest first (filter.newest_first).
  virtual std::vector<EventRow> list(const EventFilter& filter) = 0;
  // Events stored for a device ("" = every device).
  virtual std::int64_t count(const std::string& sn) = 0;
  // The largest event id stored (0: none): where a stream that wants only new events starts.
  virtual std::int64_t last_id() = 0;
  // Events with from <= time_utc < to (of one device, or every one for ""), counted per hour of
  // time_utc and per code, by hour then code (events without a code first). One GROUP BY over the
  // time index: the rows are counted, never loaded. An event whose time was unreadable has no
  // time_utc and is not counted.
  virtual std::vector<EventHourCount> hourly_counts(const std::string& sn, std::int64_t from, std::int64_t to) = 0;
};

class EventWrites : public EventReads {
 public:
  // Inserts what is new. A re-sent record is recognised by (sn, index, time_local), or by (sn, the
  // whole record: SHA-256 of raw, or of the fields when raw is empty) when it has no index, and is
  // not inserted twice. The time is part of the key because a device whose log was cleared numbers
  // its records from 1 again: those are new events, not re-sends. Events need no device row.
  virtual InsertCounts insert(const std::vector<NewEvent>& events) = 0;
  // Retention: deletes the oldest events (by id) received before `received_before`, at most
  // `max_rows` of them, and returns how many. It walks ids upwards and stops at the first event
  // received later, so each call costs at most `max_rows` rows however many events are kept (an
  // event stored while the clock stood further back waits for the newer one before it).
  virtual std::int64_t prune(std::int64_t received_before, std::int64_t max_rows) = 0;
};

}  // namespace zkpush::storage
