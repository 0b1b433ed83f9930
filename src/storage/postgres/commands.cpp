#include "storage/postgres/commands.hpp"

#include "storage/result.hpp"
#include "storage/rows.hpp"
#include "storage/wire_ids.hpp"

namespace zkpush::storage::postgres::commands {

namespace {

#define ZKPUSH_COMMAND_COLUMNS \
  "id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at, expires_at, attempts, " \
  "priority"

constexpr std::string_view kList = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE true";
constexpr std::string_view kById = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE id = $1";
constexpr std::string_view kByWireId = "SELECT " ZKPUSH_COMMAND_COLUMNS " FROM commands WHERE sn = $1 AND wire_id = $2";
constexpr std::string_view kRelayedByWireId =
    "SELECT " ZKPUSH_COMMAND_COLUMNS
    " FROM commands WHERE wire_id = $2 AND sn IN (SELECT sn FROM sub_controllers WHERE master_sn = $1)"
    " ORDER BY id DESC LIMIT 1";
// Each query below repeats its partial index's WHERE: the planner uses a partial index only where it
// can prove the query's condition implies the index's.
//
// Several nodes share the queue: inside a write (`lock`), the rows a unit of work reads are locked
// until its commit. Delivery and expiry skip rows another node holds (SKIP LOCKED: that node is
// delivering or expiring them; skipping keeps two nodes from sending one command twice and never
// waits), and a command read to be updated by id or wire id (an answer, a cancel) waits for the
// other node's commit, so that no update is made on a stale copy.
constexpr std::string_view kQueued = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                     " FROM commands WHERE sn = $1 AND status = 'queued' ORDER BY priority, id LIMIT $2";
constexpr std::string_view kUnanswered = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                         " FROM commands WHERE sn = $1 AND status = 'sent' AND sent_at < $2"
                                         // Answered "received, result to follow" (-5000; SET ADSCREEN_OPTIONS's
                                         // printed 5000): the device has it, it is not sent again.
                                         " AND coalesce(return_code, 0) NOT IN (-5000, 5000)"
                                         " ORDER BY priority, id LIMIT $3";
constexpr std::string_view kOverdueOfDevice = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                              " FROM commands WHERE sn = $1 AND status IN ('queued', 'sent') AND "
                                              "expires_at > 0 AND expires_at <= $2 ORDER BY id LIMIT $3";
constexpr std::string_view kOverdue = "SELECT " ZKPUSH_COMMAND_COLUMNS
                                      " FROM commands WHERE status IN ('queued', 'sent') AND expires_at > 0 AND "
                                      "expires_at <= $1 ORDER BY id LIMIT $2";
#undef ZKPUSH_COMMAND_COLUMNS

// The query as it runs inside a write (row locks) or a read (none: a read-only snapshot cannot lock).
std::string locked(std::string_view sql, bool lock, bool skip) {
  std::string out(sql);
  if (lock) out += skip ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE";
  return out;
}

std::vector<CommandRow> read_rows(Statement& st) {
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(rows::read_command(st));
  return out;
}

// LIMIT NULL is no limit.
std::optional<std::int64_t> sql_limit(std::int64_t limit) {
  if (limit <= 0) return std::nullopt;
  return limit;
}

// Takes the next wire id from the counter's row (the device's, or its master's for a sub-controller)
// and appends the command, in one round trip: the unit of work's other statements wait on it.
//
// The UPDATE both reads and moves the counter, so it holds the counter row's lock until the
// transaction ends: another writer (a second node) queueing for the same device, or for a
// sub-controller of the same master, waits and then reads the moved counter (READ COMMITTED
// re-reads a row changed under it), so ids do not repeat across nodes either. Belt and braces: never
// below an id already used, whatever the counter says (a device row restored from an old copy); each
// device's highest wire id is one step down its (sn, wire_id) index.
//
// No row: the device is unknown. A wire id but no command id: the device has used every wire id;
// the caller refuses, which rolls the moved counter back with the unit of work.
constexpr std::string_view kInsert = R"sql(
WITH counter AS (
  SELECT coalesce(s.master_sn, d.sn) AS sn FROM devices d LEFT JOIN sub_controllers s ON s.sn = d.sn WHERE d.sn = $1
), taken AS (
  UPDATE devices SET next_wire_id = 1 + GREATEST(
    CASE WHEN devices.next_wire_id = 0 THEN $2 ELSE devices.next_wire_id END,
    1 + (SELECT coalesce(max(last.wire_id), 0)
         FROM (SELECT counter.sn UNION ALL SELECT sn FROM sub_controllers WHERE master_sn = counter.sn) AS dev (sn)
         CROSS JOIN LATERAL (SELECT wire_id FROM commands WHERE commands.sn = dev.sn ORDER BY wire_id DESC LIMIT 1) AS last))
  FROM counter WHERE devices.sn = counter.sn
  RETURNING devices.next_wire_id - 1 AS wire_id
), added AS (
  INSERT INTO commands (sn, wire_id, line, verb, status, created_at, expires_at, priority)
  SELECT $1, wire_id, $3, $4, 'queued', $5, $6, $7 FROM taken WHERE wire_id <= $8
  RETURNING id
)
SELECT taken.wire_id, added.id FROM taken LEFT JOIN added ON true)sql";

// Keeps an upload unless the same pack with the same body is there already (a device that did not
// get our answer posts it again; different bodies under one pack number are all kept). Counts the
// command: 0 when it is unknown, and nothing was added.
constexpr std::string_view kAddData = R"sql(
WITH command AS (SELECT id FROM commands WHERE id = $1), added AS (
  INSERT INTO command_data (command_id, kind, tbl, packidx, packcnt, body, received_at)
  SELECT id, $2, $3, $4, $5, $6, $7 FROM command
  WHERE NOT EXISTS (SELECT 1 FROM command_data WHERE command_id = $1 AND kind = $2 AND tbl = $3 AND packidx = $4
                    AND packcnt = $5 AND body = $6)
)
SELECT count(*) FROM command)sql";

}  // namespace

std::optional<CommandRow> get(Connection& c, std::int64_t id, bool lock) {
  auto st = c.prepare(locked(kById, lock, false));
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_command(st);
}

std::optional<CommandRow> find(Connection& c, const std::string& sn, std::int64_t wire_id, bool lock) {
  auto st = c.prepare(locked(kByWireId, lock, false));
  st.bind(1, sn).bind(2, wire_id);
  if (!st.step()) return std::nullopt;
  return rows::read_command(st);
}

std::optional<CommandRow> find_relayed(Connection& c, const std::string& master_sn, std::int64_t wire_id, bool lock) {
  auto st = c.prepare(locked(kRelayedByWireId, lock, false));
  st.bind(1, master_sn).bind(2, wire_id);
  if (!st.step()) return std::nullopt;
  return rows::read_command(st);
}

CommandRow insert(Connection& c, const NewCommand& command, std::int64_t clock_now) {
  if (!valid_command_text(command))
    throw Refused(StoreError::Reason::invalid,
                  "a command is one non-empty line (a DATA UPDATE may continue its records on more lines)");
  // Commands need the device row: it holds the device's wire-id counter. A device is saved when it
  // is first seen; an operator who queues ahead of a device's first contact saves it first. A
  // sub-controller's commands reach it through its master, which must not see an id twice: the
  // master's counter numbers them all.
  CommandRow row;
  row.sn = command.sn;
  row.line = command.line;
  row.verb = command.verb;
  row.priority = command.priority;
  row.status = CommandStatus::queued;
  row.created_at = command.created_at;
  row.expires_at = command.expires_at;
  auto st = c.prepare(kInsert);
  st.bind(1, row.sn).bind(2, first_wire_id(clock_now)).bind(3, row.line).bind(4, row.verb).bind(5, row.created_at);
  st.bind(6, row.expires_at).bind(7, static_cast<std::int64_t>(row.priority)).bind(8, kMaxWireId);
  if (!st.step())
    throw Refused(StoreError::Reason::not_found, "queueing a command: unknown device '" + command.sn + "'");
  if (st.is_null(1))
    throw Refused(StoreError::Reason::conflict,
                  "device '" + command.sn + "' has used every command id a device accepts (up to 2^31-1)");
  row.wire_id = st.column_int(0);
  row.id = st.column_int(1);
  return row;
}

void update(Connection& c, const CommandRow& r) {
  auto st = c.prepare(
      "UPDATE commands SET status = $2, return_code = $3, result = $4, sent_at = $5, done_at = $6, attempts = $7, "
      "expires_at = $8 WHERE id = $1");
  st.bind(1, r.id)
      .bind(2, command_status_name(r.status))
      .bind(3, r.return_code)
      .bind(4, r.result)
      .bind(5, r.sent_at)
      .bind(6, r.done_at)
      .bind(7, r.attempts)
      .bind(8, r.expires_at);
  st.run();
  if (c.changes() != 1) throw Refused(StoreError::Reason::not_found, "command " + std::to_string(r.id) + " does not exist");
}

std::vector<CommandRow> queued(Connection& c, const std::string& sn, std::int64_t limit, bool lock) {
  auto st = c.prepare(locked(kQueued, lock, true));
  st.bind(1, sn).bind(2, sql_limit(limit));
  return read_rows(st);
}

std::vector<CommandRow> list(Connection& c, const CommandFilter& filter) {
  // Only the conditions the filter sets, so that each of the (at most 16) texts gets a plan of its
  // own that walks the index serving it; statuses and verbs as arrays.
  std::string sql = std::string(kList);
  int n = 0;
  auto next = [&n] { return "$" + std::to_string(++n); };
  if (!filter.sn.empty()) sql += " AND sn = " + next();
  if (filter.before_id != 0) sql += " AND id < " + next();
  if (!filter.statuses.empty()) sql += " AND status = ANY(" + next() + ")";
  if (!filter.verbs.empty()) sql += " AND verb = ANY(" + next() + ")";
  sql += " ORDER BY id DESC LIMIT " + next();
  auto st = c.prepare(sql);
  n = 0;
  if (!filter.sn.empty()) st.bind(++n, filter.sn);
  if (filter.before_id != 0) st.bind(++n, filter.before_id);
  if (!filter.statuses.empty()) st.bind(++n, filter.statuses);
  if (!filter.verbs.empty()) st.bind(++n, filter.verbs);
  st.bind(++n, sql_limit(filter.limit));
  return read_rows(st);
}

std::vector<CommandRow> unanswered(Connection& c, const std::string& sn, std::int64_t sent_before, std::int64_t limit, bool lock) {
  auto st = c.prepare(locked(kUnanswered, lock, true));
  st.bind(1, sn).bind(2, sent_before).bind(3, sql_limit(limit));
  return read_rows(st);
}

std::vector<CommandRow> overdue(Connection& c, const std::string& sn, std::int64_t now, std::int64_t limit, bool lock) {
  if (sn.empty()) {
    auto st = c.prepare(locked(kOverdue, lock, true));
    st.bind(1, now).bind(2, sql_limit(limit));
    return read_rows(st);
  }
  auto st = c.prepare(locked(kOverdueOfDevice, lock, true));
  st.bind(1, sn).bind(2, now).bind(3, sql_limit(limit));
  return read_rows(st);
}

std::optional<std::int64_t> next_deadline(Connection& c) {
  auto st = c.prepare(
      "SELECT min(expires_at) FROM commands WHERE status IN ('queued', 'sent') AND expires_at > 0");
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.column_int(0);
}

void add_data(Connection& c, const CommandData& d) {
  auto st = c.prepare(kAddData);
  st.bind(1, d.command_id).bind(2, d.kind).bind(3, d.table).bind(4, d.packidx).bind(5, d.packcnt);
  st.bind_blob(6, d.body).bind(7, d.received_at);
  st.step();
  if (st.column_int(0) == 0)
    throw Refused(StoreError::Reason::not_found, "command data for unknown command " + std::to_string(d.command_id));
}

std::vector<CommandData> data(Connection& c, std::int64_t id) {
  auto st = c.prepare(
      "SELECT command_id, kind, tbl, packidx, packcnt, body, received_at FROM command_data "
      "WHERE command_id = $1 ORDER BY id");
  st.bind(1, id);
  std::vector<CommandData> out;
  while (st.step()) {
    CommandData d;
    d.command_id = st.column_int(0);
    d.kind = st.column_text(1);
    d.table = st.column_text(2);
    d.packidx = st.column_int(3);
    d.packcnt = st.column_int(4);
    d.body = st.column_blob(5);
    d.received_at = st.column_int(6);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> pending_counts(Connection& c) {
  auto st = c.prepare(
      "SELECT sn, count(*) FROM commands WHERE status IN ('queued', 'sent') GROUP BY sn ORDER BY sn COLLATE \"C\"");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (st.step()) out.emplace_back(st.column_text(0), st.column_int(1));
  return out;
}

std::int64_t pending_count(Connection& c, const std::string& sn) {
  auto st = c.prepare("SELECT count(*) FROM commands WHERE sn = $1 AND status IN ('queued', 'sent')");
  st.bind(1, sn);
  st.step();
  return st.column_int(0);
}

std::int64_t pending_total(Connection& c) {
  auto st = c.prepare("SELECT count(*) FROM commands WHERE status IN ('queued', 'sent')");
  st.step();
  return st.column_int(0);
}

}  // namespace zkpush::storage::postgres::commands
