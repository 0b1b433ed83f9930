// Area: the command queue's rows (tables commands, command_data) and each device's wire-id counter.
//
// Rows only: what a status may become, and when, is the command queue's (service/command_queue.hpp),
// which reads and updates rows through this interface inside one unit of work.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/types.hpp"

namespace zkpush::storage {

class CommandReads {
 public:
  virtual ~CommandReads() = default;
  virtual std::optional<CommandRow> get(std::int64_t id) = 0;
  // By the device's wire id (C:<wire id>:).
  virtual std::optional<CommandRow> find(const std::string& sn, std::int64_t wire_id) = 0;
  // A command of one of the master's sub-controllers by its wire id (the master answers for them;
  // their ids come from the master's counter, so at most one matches).
  virtual std::optional<CommandRow> find_relayed(const std::string& master_sn, std::int64_t wire_id) = 0;
  // What the device uploaded for a command, in arrival order.
  virtual std::vector<CommandData> data(std::int64_t id) = 0;
  // Queued commands of a device in delivery order (priority, then id); limit <= 0: all.
  virtual std::vector<CommandRow> queued(const std::string& sn, std::int64_t limit) = 0;
  // Sent commands of a device unanswered since before `sent_before`, in delivery order (priority,
  // then id); limit <= 0: all. Those answered "received, result to follow" (-5000, or 5000) are not among them.
  virtual std::vector<CommandRow> unanswered(const std::string& sn, std::int64_t sent_before, std::int64_t limit) = 0;
  // Queued or sent commands whose deadline passed (0 < expires_at <= now), of one device ("" = every
  // device), by id; limit <= 0: all.
  virtual std::vector<CommandRow> overdue(const std::string& sn, std::int64_t now, std::int64_t limit) = 0;
  // The earliest deadline of a queued or sent command, if any has one.
  virtual std::optional<std::int64_t> next_deadline() = 0;
  // Queued or sent commands per device, and of one device.
  virtual std::vector<std::pair<std::string, std::int64_t>> pending_counts() = 0;
  virtual std::int64_t pending_count(const std::string& sn) = 0;
  virtual std::int64_t pending_total() = 0;
  // Commands as the filter says, newest first.
  virtual std::vector<CommandRow> list(const CommandFilter& filter) = 0;
};

class CommandWrites : public CommandReads {
 public:
  // Appends a command. Assigns the API id and the device's wire id, which never repeats for a
  // device: strictly increasing, the first one derived from `clock_now` (storage/wire_ids.hpp) so
  // that a wiped server does not replay old ids. Refused: not_found for an unknown device (its row
  // holds the counter), invalid for a text valid_command_text() refuses, conflict when the device
  // has used every wire id. A sub-controller's commands take their wire ids from its master's
  // counter: the master receives them all, so ids are unique among a master and its sub-controllers.
  virtual CommandRow insert(const NewCommand& command, std::int64_t clock_now) = 0;
  // Writes a row's mutable part back: status, return_code, result, sent_at, done_at, attempts,
  // expires_at (a pending answer gives an open command a deadline).
  // Refused (not_found) for an unknown id.
  virtual void update(const CommandRow& row) = 0;
  // Keeps data uploaded for a command; an identical re-post (same kind, table, pack and body) is
  // kept once. Refused (not_found) for an unknown command.
  virtual void add_data(const CommandData& data) = 0;
};

}  // namespace zkpush::storage
