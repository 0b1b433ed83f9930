// Area: door state (rtstate): the current state per device and the history of its changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace zkpush::storage {

class DoorStateReads {
 public:
  virtual ~DoorStateReads() = default;
  virtual std::optional<DoorStateUpdate> get(const std::string& sn) = 0;
  // Every device's current state, by serial number (a site's door board in one read).
  virtual std::vector<DoorStateUpdate> all() = 0;
  // The changes of a device's door state, newest first, with their ids: `limit` of them (<= 0: all)
  // with an id below `before_id` (0: from the newest).
  virtual std::vector<DoorStateUpdate> history(const std::string& sn, std::int64_t before_id, std::int64_t limit) = 0;
};

class DoorStateWrites : public DoorStateReads {
 public:
  // Keeps the current state and records it in the history when it changed.
  virtual void put(const DoorStateUpdate& update) = 0;
};

}  // namespace zkpush::storage
