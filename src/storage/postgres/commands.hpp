// The command queue's rows (tables commands, command_data) and the device's wire-id counter: the
// SQL of storage/areas/commands.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/postgres/database.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::postgres::commands {

CommandRow insert(Connection& c, const NewCommand& command, std::int64_t clock_now);
void update(Connection& c, const CommandRow& row);
void add_data(Connection& c, const CommandData& data);

// lock: inside a write; the rows read are locked until its commit (commands.cpp says how).
std::optional<CommandRow> get(Connection& c, std::int64_t id, bool lock);
std::optional<CommandRow> find(Connection& c, const std::string& sn, std::int64_t wire_id, bool lock);
std::optional<CommandRow> find_relayed(Connection& c, const std::string& master_sn, std::int64_t wire_id, bool lock);
std::vector<CommandData> data(Connection& c, std::int64_t id);
std::vector<CommandRow> queued(Connection& c, const std::string& sn, std::int64_t limit, bool lock);
std::vector<CommandRow> list(Connection& c, const CommandFilter& filter);
std::vector<CommandRow> unanswered(Connection& c, const std::string& sn, std::int64_t sent_before, std::int64_t limit, bool lock);
std::vector<CommandRow> overdue(Connection& c, const std::string& sn, std::int64_t now, std::int64_t limit, bool lock);
std::optional<std::int64_t> next_deadline(Connection& c);
std::vector<std::pair<std::string, std::int64_t>> pending_counts(Connection& c);
std::int64_t pending_count(Connection& c, const std::string& sn);
std::int64_t pending_total(Connection& c);

}  // namespace zkpush::storage::postgres::commands
