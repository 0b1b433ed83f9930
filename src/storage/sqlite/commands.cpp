#include "storage/sqlite/commands.hpp"

#include <algorithm>

#include "storage/sqlite/devices.hpp"
#include "storage/sqlite/rejection.hpp"
#include "storage/wire_ids.hpp"

namespace zkpush::storage::sqlite::commands {

namespace {

#define ZKPUSH_COMMAND_COLUMNS \
  "id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at, expires_at, attempts"

constexpr std::string_view kById = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE id = ?1";
constexpr std::string_view kByWireId = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE sn = ?1 AND wire_id = ?2";
// Delivery (take_for_delivery): each query matches its partial index's WHERE exactly (version 4).
constexpr std::string_view kQueuedFifo = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                         " FROM commands WHERE sn = ?1 AND status = 'queued' ORDER BY id LIMIT ?2";
constexpr std::string_view kResendDue = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                        " FROM commands WHERE sn = ?1 AND status = 'sent' AND sent_at < ?2"
                                        " ORDER BY id LIMIT ?3";
#undef ZKPUSH_COMMAND_COLUMNS

CommandStatus status_from(const std::string& name) {
  auto s = command_status_from_name(name);
  if (!s) throw std::runtime_error("stored command has an unknown status '" + name + "'");
  return *s;
}

CommandRow read_row(const Statement& st) {
  CommandRow r;
  r.id = st.column_int(0);
  r.sn = st.column_text(1);
  r.wire_id = st.column_int(2);
  r.line = st.column_text(3);
  r.verb = st.column_text(4);
  r.status = status_from(st.column_text(5));
  r.return_code = st.column_opt_int(6);
  r.result = st.column_text(7);
  r.created_at = st.column_int(8);
  r.sent_at = st.column_int(9);
  r.done_at = st.column_int(10);
  r.expires_at = st.column_int(11);
  r.attempts = st.column_int(12);
  return r;
}

bool is_final(CommandStatus s) { return s == CommandStatus::done || s == CommandStatus::failed; }

// Writes the mutable part of a row back.
void update_state(Connection& c, const CommandRow& r) {
  auto st = c.prepare(
      "UPDATE commands SET status = ?2, return_code = ?3, result = ?4, sent_at = ?5, done_at = ?6, attempts = ?7 "
      "WHERE id = ?1");
  st->bind(1, r.id)
      .bind(2, command_status_name(r.status))
      .bind(3, r.return_code)
      .bind(4, r.result)
      .bind(5, r.sent_at)
      .bind(6, r.done_at)
      .bind(7, r.attempts);
  st->run();
}

}  // namespace

std::optional<CommandRow> get(Connection& c, std::int64_t id) {
  auto st = c.prepare(kById);
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return read_row(*st);
}

std::optional<CommandRow> find(Connection& c, const std::string& sn, std::int64_t wire_id) {
  auto st = c.prepare(kByWireId);
  st->bind(1, sn).bind(2, wire_id);
  if (!st->step()) return std::nullopt;
  return read_row(*st);
}

CommandRow enqueue(Connection& c, const NewCommand& command, std::int64_t clock_now) {
  if (command.line.empty() || command.line.find_first_of("\r\n") != std::string::npos)
    throw Rejection(StoreError::Reason::invalid, "a command is one non-empty line");
  // Commands need the device row: it holds the device's wire-id counter. A device is saved when it
  // is first seen; an operator who queues ahead of a device's first contact saves it first.
  std::int64_t next = 0;
  {
    auto st = c.prepare("SELECT next_wire_id FROM devices WHERE sn = ?1");
    st->bind(1, command.sn);
    if (!st->step())
      throw Rejection(StoreError::Reason::not_found, "queueing a command: unknown device '" + command.sn + "'");
    next = st->column_int(0);
  }
  if (next == 0) next = first_wire_id(clock_now);
  {
    // Belt and braces: never below an id already used, whatever the counter says.
    auto st = c.prepare("SELECT max(wire_id) FROM commands WHERE sn = ?1");
    st->bind(1, command.sn);
    if (st->step() && !st->is_null(0)) next = std::max(next, st->column_int(0) + 1);
  }
  if (next > kMaxWireId)
    throw Rejection(StoreError::Reason::conflict,
                    "device '" + command.sn + "' has used every command id a device accepts (up to 2^31-1)");

  CommandRow row;
  row.sn = command.sn;
  row.wire_id = next;
  row.line = command.line;
  row.verb = command.verb;
  row.status = CommandStatus::queued;
  row.created_at = command.created_at;
  row.expires_at = command.expires_at;
  {
    auto st = c.prepare(
        "INSERT INTO commands (sn, wire_id, line, verb, status, created_at, expires_at) "
        "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)");
    st->bind(1, row.sn).bind(2, row.wire_id).bind(3, row.line).bind(4, row.verb).bind(5, row.created_at);
    st->bind(6, row.expires_at);
    st->run();
    row.id = c.db().last_insert_rowid();
  }
  auto st = c.prepare("UPDATE devices SET next_wire_id = ?2 WHERE sn = ?1");
  st->bind(1, row.sn).bind(2, row.wire_id + 1);
  st->run();
  return row;
}

std::vector<CommandRow> take_for_delivery(Connection& c, const DeliveryRequest& r) {
  {
    // Past their deadline: queued ones are never delivered, and sent ones are not re-sent (a door
    // opened minutes late is worse than not at all). A sent one's result is still recorded if the
    // device answers later (record_results).
    // The WHERE holds every term of the partial index commands_expiring (version 4), so only
    // commands with a deadline are looked at.
    auto st = c.prepare(
        "UPDATE commands SET status = 'expired', done_at = ?2 "
        "WHERE sn = ?1 AND status IN ('queued', 'sent') AND expires_at > 0 AND expires_at <= ?2");
    st->bind(1, r.sn).bind(2, r.now);
    st->run();
  }
  // Candidates in FIFO order: the queued ones and the sent ones due again (unanswered for longer than
  // the re-send time), each from its own index and at most `max_commands` of each. Sent ones still
  // within their answer time are not due and are never read.
  const std::int64_t limit = r.max_commands == 0 ? -1 : static_cast<std::int64_t>(r.max_commands);
  std::vector<CommandRow> candidates;
  {
    auto st = c.prepare(kQueuedFifo);
    st->bind(1, r.sn).bind(2, limit);
    while (st->step()) candidates.push_back(read_row(*st));
  }
  {
    auto st = c.prepare(kResendDue);
    st->bind(1, r.sn).bind(2, r.resend_sent_before).bind(3, limit);
    while (st->step()) candidates.push_back(read_row(*st));
  }
  std::sort(candidates.begin(), candidates.end(), [](const CommandRow& a, const CommandRow& b) { return a.id < b.id; });
  std::vector<CommandRow> taken;
  for (auto& row : candidates) {
    // The cap first: `fits` counts what it accepts into the caller's budget.
    if (r.max_commands != 0 && taken.size() >= r.max_commands) break;
    // FIFO: stop at the first that does not fit rather than let later ones overtake it.
    if (r.fits && !r.fits(row)) break;
    taken.push_back(std::move(row));
  }
  for (auto& row : taken) {
    row.status = CommandStatus::sent;
    row.sent_at = r.now;
    row.attempts += 1;
    update_state(c, row);
  }
  return taken;
}

std::vector<CommandRow> record_results(Connection& c, const std::string& sn, const std::vector<ResultUpdate>& results) {
  std::vector<CommandRow> out;
  for (const auto& u : results) {
    if (!is_final(u.status) && u.status != CommandStatus::sent)
      throw Rejection(StoreError::Reason::invalid, std::string("a command result cannot set status ") +
                                                       command_status_name(u.status));
    auto found = find(c, sn, u.wire_id);
    if (!found) continue;  // not ours (another server's, or from before a wiped data folder)
    CommandRow row = std::move(*found);
    CommandRow before = row;
    if (u.status == CommandStatus::sent) {
      // Pending (-5000): the device is still working on it. Keep the intermediate answer; a late
      // pending answer never undoes a final one, and expired/cancelled stay closed.
      if (!is_final(row.status)) {
        if (row.status == CommandStatus::queued) {  // it reached the device after all
          row.status = CommandStatus::sent;
          row.sent_at = u.at;
        }
        row.return_code = u.return_code;
        row.result = u.result;
      }
    } else {
      // The device ran it: that is recorded whatever we thought of the command meanwhile (expired
      // while the device was busy with it, or even cancelled). A repeated identical result (the
      // device did not get our answer and posts it again) changes nothing, done_at included.
      bool same = row.status == u.status && row.return_code == u.return_code && row.result == u.result;
      if (!same) {
        row.status = u.status;
        row.return_code = u.return_code;
        row.result = u.result;
        row.done_at = u.at;
      }
    }
    if (row.status != before.status || row.return_code != before.return_code || row.result != before.result ||
        row.done_at != before.done_at || row.sent_at != before.sent_at)
      update_state(c, row);
    out.push_back(std::move(row));
  }
  return out;
}

void add_data(Connection& c, const CommandData& d) {
  {
    auto st = c.prepare("SELECT 1 FROM commands WHERE id = ?1");
    st->bind(1, d.command_id);
    if (!st->step())
      throw Rejection(StoreError::Reason::not_found,
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

CommandRow cancel(Connection& c, std::int64_t id, std::int64_t clock_now) {
  auto found = get(c, id);
  if (!found) throw Rejection(StoreError::Reason::not_found, "command " + std::to_string(id) + " does not exist");
  CommandRow row = std::move(*found);
  switch (row.status) {
    case CommandStatus::queued:
      row.status = CommandStatus::cancelled;
      row.done_at = clock_now;
      update_state(c, row);
      return row;
    case CommandStatus::cancelled:
      return row;  // cancelling twice is not an error
    default:
      throw Rejection(StoreError::Reason::conflict,
                      "command " + std::to_string(id) + " is " + command_status_name(row.status) +
                          (row.status == CommandStatus::sent ? " (already delivered to the device)" : "") +
                          "; only queued commands can be cancelled");
  }
}

std::vector<std::pair<std::string, std::int64_t>> pending_counts(Connection& c) {
  auto st = c.prepare(
      "SELECT sn, count(*) FROM commands WHERE status IN ('queued', 'sent') GROUP BY sn ORDER BY sn");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (st->step()) out.emplace_back(st->column_text(0), st->column_int(1));
  return out;
}

std::int64_t pending_total(Connection& c) {
  auto st = c.prepare("SELECT count(*) FROM commands WHERE status IN ('queued', 'sent')");
  st->step();
  return st->column_int(0);
}

}  // namespace zkpush::storage::sqlite::commands
