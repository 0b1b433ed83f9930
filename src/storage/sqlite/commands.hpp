// The command queue (tables commands, command_data) and the device's wire-id counter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::sqlite::commands {

// Writes (inside a job). `clock_now` is the wall clock, for a device's first wire id and the time a
// command is cancelled (the interface passes no time for those).
CommandRow enqueue(Connection& c, const NewCommand& command, std::int64_t clock_now);
std::vector<CommandRow> take_for_delivery(Connection& c, const DeliveryRequest& request);
std::vector<CommandRow> record_results(Connection& c, const std::string& sn, const std::vector<ResultUpdate>& results);
void add_data(Connection& c, const CommandData& data);
CommandRow cancel(Connection& c, std::int64_t id, std::int64_t clock_now);

// Reads.
std::optional<CommandRow> get(Connection& c, std::int64_t id);
std::optional<CommandRow> find(Connection& c, const std::string& sn, std::int64_t wire_id);
std::vector<CommandData> data(Connection& c, std::int64_t id);
std::vector<std::pair<std::string, std::int64_t>> pending_counts(Connection& c);
std::int64_t pending_total(Connection& c);

}  // namespace zkpush::storage::sqlite::commands
