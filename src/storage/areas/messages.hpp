// Area: the message log — everything that happened, in one order: access events, door-state changes,
// commands that closed, devices that came online or went offline. It is the outbox of the live
// stream, the webhooks and MQTT: each reads it from its own cursor (a message id), so a consumer
// that was away resumes where it stopped and nothing is told twice out of order.
//
// The store writes the messages of events, door-state changes and closed commands itself, in the
// transaction that stored them (an event cannot be stored without its message). A message names its
// row (`ref`) rather than copying it; presence changes, which no row holds, carry a JSON `body`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/types.hpp"

namespace zkpush::storage {

struct Message {
  std::int64_t id = 0;
  std::string kind;  // "event" | "door_state" | "command" | "device" | "sync" | "security" (a lockout)
  std::string sn;
  std::int64_t ref = 0;  // events.id, the door-state history row, commands.id; 0 for "device"
  std::string body;      // JSON, for "device"
  std::int64_t at = 0;   // when the server stored what it tells of (Unix seconds)
  // The row it names, read with it (absent when retention removed the row).
  std::optional<EventRow> event;
  std::optional<DoorStateUpdate> door_state;
};

struct MessageFilter {
  std::int64_t after_id = 0;
  std::int64_t limit = 100;
  std::string sn;                  // "" = every device
  std::vector<std::string> kinds;  // empty = every kind
};

class MessageReads {
 public:
  virtual ~MessageReads() = default;
  // Oldest first, after filter.after_id.
  virtual std::vector<Message> list(const MessageFilter& filter) = 0;
  // By id, oldest first; ids not stored (pruned) are left out.
  virtual std::vector<Message> get(const std::vector<std::int64_t>& ids) = 0;
  // The newest message's id (0: none): where a consumer that wants only what comes next starts.
  virtual std::int64_t last_id() = 0;
  // Where a named consumer (MQTT) stands: the last message it handled; nullopt before its first.
  virtual std::optional<std::int64_t> cursor(const std::string& consumer) = 0;
};

class MessageWrites : public MessageReads {
 public:
  // A message with a body (presence); its id.
  virtual std::int64_t add(const std::string& kind, const std::string& sn, const std::string& body,
                           std::int64_t at) = 0;
  // Removes at most `limit` (<= 0: all) of the oldest messages stored before `before` (Unix
  // seconds); how many.
  virtual std::int64_t prune(std::int64_t before, std::int64_t limit) = 0;
  // Moves a consumer's cursor forward (never back).
  virtual void set_cursor(const std::string& consumer, std::int64_t id) = 0;
};

}  // namespace zkpush::storage
