#include "storage/sqlite/commands.hpp"

#include <algorithm>

#include "storage/sqlite/devices.hpp"
#include "storage/result.hpp"
#include "storage/rows.hpp"
#include "storage/wire_ids.hpp"

namespace zkpush::storage::sqlite::commands {

namespace {

#define ZKPUSH_COMMAND_COLUMNS \
  "id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at, expires_at, attempts, " \
  "priority"

constexpr std::string_view kList =
    "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE (?1 = '' OR sn = ?1) AND (?2 = 0 OR id < ?2)";
constexpr std::string_view kById = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE id = ?1";
constexpr std::string_view kByWireId = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE sn = ?1 AND wire_id = ?2";
constexpr std::string_view kRelayedByWireId =
    "SELECT " ZKPUSH_COMMAND_COLUMNS
    " FROM commands WHERE wire_id = ?2 AND sn IN (SELECT sn FROM sub_controllers WHERE master_sn = ?1)"
    " ORDER BY id DESC LIMIT 1";
// Each query below repeats its partial index's WHERE exactly, or SQLite does not use the index.
constexpr std::string_view kQueued = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                     " FROM commands WHERE sn = ?1 AND status = 'queued' ORDER BY priority, id LIMIT ?2";
constexpr std::string_view kUnanswered = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                         " FROM commands WHERE sn = ?1 AND status = 'sent' AND sent_at < ?2"
                                         // Answered "received, result to follow" (-5000; SET ADSCREEN_OPTIONS's
                                         // printed 5000): the device has it, it is not sent again.
                                         " AND coalesce(return_code, 0) NOT IN (-5000, 5000)"
                                         " ORDER BY priority, id LIMIT ?3";
constexpr std::string_view kOverdueOfDevice = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                              " FROM commands WHERE sn = ?1 AND status IN ('queued', 'sent') AND "
                                              "expires_at > 0 AND expires_at <= ?2 ORDER BY id LIMIT ?3";
constexpr std::string_view kOverdue = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                      " FROM commands WHERE status IN ('queued', 'sent') AND expires_at > 0 AND "
                                      "expires_at <= ?1 ORDER BY id LIMIT ?2";
#undef ZKPUSH_COMMAND_COLUMNS

std::vector<CommandRow> read_rows(Connection::Lease& st) {
  std::vector<CommandRow> out;
  while (st->step()) out.push_back(rows::read_command(*st));
  return out;
}

std::int64_t sql_limit(std::int64_t limit) { return limit <= 0 ? -1 : limit; }

}  // namespace

std::optional<CommandRow> get(Connection& c, std::int64_t id) {
  auto st = c.prepare(kById);
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return rows::read_command(*st);
}

std::optional<CommandRow> find(Connection& c, const std::string& sn, std::int64_t wire_id) {
  auto st = c.prepare(kByWireId);
  st->bind(1, sn).bind(2, wire_id);
  if (!st->step()) return std::nullopt;
  return rows::read_command(*st);
}

std::optional<CommandRow> find_relayed(Connection& c, const std::string& master_sn, std::int64_t wire_id) {
  auto st = c.prepare(kRelayedByWireId);
  st->bind(1, master_sn).bind(2, wire_id);
  if (!st->step()) return std::nullopt;
  return rows::read_command(*st);
}

CommandRow insert(Connection& c, const NewCommand& command, std::int64_t clock_now) {
  if (!valid_command_text(command))
    throw Refused(StoreError::Reason::invalid,
                  "a command is one non-empty line (a DATA UPDATE may continue its records on more lines)");
  // Commands need the device row: it holds the device's wire-id counter. A device is saved when it
  // is first seen; an operator who queues ahead of a device's first contact saves it first.
  {
    auto st = c.prepare("SELECT 1 FROM devices WHERE sn = ?1");
    st->bind(1, command.sn);
    if (!st->step())
      throw Refused(StoreError::Reason::not_found, "queueing a command: unknown device '" + command.sn + "'");
  }
  // A sub-controller's commands reach it through its master, which must not see an id twice: the
  // master's counter numbers them all.
  std::string counter = command.sn;
  {
    auto st = c.prepare("SELECT master_sn FROM sub_controllers WHERE sn = ?1");
    st->bind(1, command.sn);
    if (st->step()) counter = st->column_text(0);
  }
  std::int64_t next = 0;
  {
    auto st = c.prepare("SELECT next_wire_id FROM devices WHERE sn = ?1");
    st->bind(1, counter);
    if (st->step()) next = st->column_int(0);
  }
  if (next == 0) next = first_wire_id(clock_now);
  {
    // Belt and braces: never below an id already used, whatever the counter says (the master's
    // sub-controllers included).
    auto st = c.prepare(
        "SELECT max(wire_id) FROM commands WHERE sn = ?1 OR sn IN (SELECT sn FROM sub_controllers WHERE master_sn = ?1)");
    st->bind(1, counter);
    if (st->step() && !st->is_null(0)) next = std::max(next, st->column_int(0) + 1);
  }
  if (next > kMaxWireId)
    throw Refused(StoreError::Reason::conflict,
                  "device '" + command.sn + "' has used every command id a device accepts (up to 2^31-1)");

  CommandRow row;
  row.sn = command.sn;
  row.wire_id = next;
  row.line = command.line;
  row.verb = command.verb;
  row.priority = command.priority;
  row.status = CommandStatus::queued;
  row.created_at = command.created_at;
  row.expires_at = command.expires_at;
  {
    auto st = c.prepare(
        "INSERT INTO commands (sn, wire_id, line, verb, status, created_at, expires_at, priority) "
        "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7)");
    st->bind(1, row.sn).bind(2, row.wire_id).bind(3, row.line).bind(4, row.verb).bind(5, row.created_at);
    st->bind(6, row.expires_at).bind(7, static_cast<std::int64_t>(row.priority));
    st->run();
    row.id = c.db().last_insert_rowid();
  }
  auto st = c.prepare("UPDATE devices SET next_wire_id = ?2 WHERE sn = ?1");
  st->bind(1, counter).bind(2, row.wire_id + 1);
  st->run();
  return row;
}

void update(Connection& c, const CommandRow& r) {
  auto st = c.prepare(
      "UPDATE commands SET status = ?2, return_code = ?3, result = ?4, sent_at = ?5, done_at = ?6, attempts = ?7, "
      "expires_at = ?8 WHERE id = ?1");
  st->bind(1, r.id)
      .bind(2, command_status_name(r.status))
      .bind(3, r.return_code)
      .bind(4, r.result)
      .bind(5, r.sent_at)
      .bind(6, r.done_at)
      .bind(7, r.attempts)
      .bind(8, r.expires_at);
  st->run();
  if (c.db().changes() != 1) throw Refused(StoreError::Reason::not_found, "command " + std::to_string(r.id) + " does not exist");
}

std::vector<CommandRow> queued(Connection& c, const std::string& sn, std::int64_t limit) {
  auto st = c.prepare(kQueued);
  st->bind(1, sn).bind(2, sql_limit(limit));
  return read_rows(st);
}

std::vector<CommandRow> list(Connection& c, const CommandFilter& filter) {
  // Statuses as bound parameters: at most the six names, checked by the caller.
  std::string sql = std::string(kList);
  if (!filter.statuses.empty()) {
    sql += " AND status IN (";
    for (std::size_t i = 0; i < filter.statuses.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 4);
    sql += ")";
  }
  const std::size_t first_verb = 4 + filter.statuses.size();
  if (!filter.verbs.empty()) {
    sql += " AND verb IN (";
    for (std::size_t i = 0; i < filter.verbs.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(first_verb + i);
    sql += ")";
  }
  sql += " ORDER BY id DESC LIMIT ?3";
  auto st = c.prepare(sql);
  st->bind(1, filter.sn).bind(2, filter.before_id).bind(3, sql_limit(filter.limit));
  for (std::size_t i = 0; i < filter.statuses.size(); ++i) st->bind(static_cast<int>(i + 4), filter.statuses[i]);
  for (std::size_t i = 0; i < filter.verbs.size(); ++i) st->bind(static_cast<int>(first_verb + i), filter.verbs[i]);
  return read_rows(st);
}

std::vector<CommandRow> unanswered(Connection& c, const std::string& sn, std::int64_t sent_before, std::int64_t limit) {
  auto st = c.prepare(kUnanswered);
  st->bind(1, sn).bind(2, sent_before).bind(3, sql_limit(limit));
  return read_rows(st);
}

std::vector<CommandRow> overdue(Connection& c, const std::string& sn, std::int64_t now, std::int64_t limit) {
  if (sn.empty()) {
    auto st = c.prepare(kOverdue);
    st->bind(1, now).bind(2, sql_limit(limit));
    return read_rows(st);
  }
  auto st = c.prepare(kOverdueOfDevice);
  st->bind(1, sn).bind(2, now).bind(3, sql_limit(limit));
  return read_rows(st);
}

std::optional<std::int64_t> next_deadline(Connection& c) {
  auto st = c.prepare(
      "SELECT min(expires_at) FROM commands WHERE status IN ('queued', 'sent') AND expires_at > 0");
  if (!st->step() || st->is_null(0)) return std::nullopt;
  return st->column_int(0);
}

void add_data(Connection& c, const CommandData& d) {
  {
    auto st = c.prepare("SELECT 1 FROM commands WHERE id = ?1");
    st->bind(1, d.command_id);
    if (!st->step())
      throw Refused(StoreError::Reason::not_found,
                      "command data for unknown command " + std::to_string(d.command_id));
  }
  {
    // A device that did not get our answer posts the same pack again: keep it once. Different
    // bodies are all kept (a device may post several bodies for one pack number).
    auto st = c.prepare(
        "SELECT 1 FROM command_data WHERE command_id = ?1 AND kind = ?2 AND tbl = ?3 AND packidx = ?4 "
        "AND packcnt = ?5 AND body = ?6");
    st->bind(1, d.command_id).bind(2, d.kind).bind(3, d.table).bind(4, d.packidx).bind(5, d.packcnt);
    st->bind_blob(6, d.body);
    if (st->step()) return;
  }
  auto st = c.prepare(
      "INSERT INTO command_data (command_id, kind, tbl, packidx, packcnt, body, received_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  st->bind(1, d.command_id).bind(2, d.kind).bind(3, d.table).bind(4, d.packidx).bind(5, d.packcnt);
  st->bind_blob(6, d.body).bind(7, d.received_at);
  st->run();
}

std::vector<CommandData> data(Connection& c, std::int64_t id) {
  auto st = c.prepare(
      "SELECT command_id, kind, tbl, packidx, packcnt, body, received_at FROM command_data "
      "WHERE command_id = ?1 ORDER BY id");
  st->bind(1, id);
  std::vector<CommandData> out;
  while (st->step()) {
    CommandData d;
    d.command_id = st->column_int(0);
    d.kind = st->column_text(1);
    d.table = st->column_text(2);
    d.packidx = st->column_int(3);
    d.packcnt = st->column_int(4);
    d.body = st->column_blob(5);
    d.received_at = st->column_int(6);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> pending_counts(Connection& c) {
  auto st = c.prepare(
      "SELECT sn, count(*) FROM commands WHERE status IN ('queued', 'sent') GROUP BY sn ORDER BY sn");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (st->step()) out.emplace_back(st->column_text(0), st->column_int(1));
  return out;
}

std::int64_t pending_count(Connection& c, const std::string& sn) {
  auto st = c.prepare("SELECT count(*) FROM commands WHERE sn = ?1 AND status IN ('queued', 'sent')");
  st->bind(1, sn);
  st->step();
  return st->column_int(0);
}

std::int64_t pending_total(Connection& c) {
  auto st = c.prepare("SELECT count(*) FROM commands WHERE status IN ('queued', 'sent')");
  st->step();
  return st->column_int(0);
}

}  // namespace zkpush::storage::sqlite::commands
