#include "storage/postgres/sync.hpp"

#include <map>

#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace {

constexpr std::string_view kItemColumns =
    "sn, kind, key, desired, applied, sending, state, return_code, error, attempts, retry_at, updated_at, batch";

std::string select_items(std::string_view where) {
  return "SELECT " + std::string(kItemColumns) + " FROM sync_items " + std::string(where);
}

}  // namespace

std::optional<SyncItem> Sync::item(const SyncKey& id) {
  auto st = c_.prepare(select_items("WHERE sn = $1 AND kind = $2 AND key = $3"));
  st.bind(1, id.sn).bind(2, id.kind).bind(3, id.key);
  if (!st.step()) return std::nullopt;
  return rows::read_sync_item(st);
}

std::vector<SyncItem> Sync::items(const std::string& sn, const std::string& kind) {
  std::vector<SyncItem> out;
  auto st = c_.prepare(select_items("WHERE sn = $1 AND ($2 = '' OR kind = $2) ORDER BY kind, key"));
  st.bind(1, sn).bind(2, kind);
  while (st.step()) out.push_back(rows::read_sync_item(st));
  return out;
}

SyncCounts Sync::counts(const std::string& sn) {
  // One statement: each count reads an index of its table (sync_items_state, sync_panels' key,
  // sync_sends_item).
  SyncCounts c;
  auto st = c_.prepare(
      "SELECT count(*) FILTER (WHERE state = 'pending' OR state = 'sending'), count(*) FILTER (WHERE state = 'applied'), "
      "count(*) FILTER (WHERE state = 'failed'), (SELECT commands FROM sync_panels WHERE sn = $1), "
      "(SELECT count(DISTINCT command_id) FROM sync_sends WHERE sn = $1) FROM sync_items WHERE sn = $1");
  st.bind(1, sn);
  st.step();
  c.pending = st.column_int(0);
  c.applied = st.column_int(1);
  c.failed = st.column_int(2);
  c.commands = st.column_int(3);  // NULL (never counted) reads 0
  c.in_flight = st.column_int(4);
  return c;
}

std::vector<PanelSyncCounts> Sync::panel_counts() {
  // counts() for every panel at once, in one statement: each part reads an index whole
  // (sync_items_state, the sync_panels table, sync_sends_item), never an item's contents.
  std::map<std::string, SyncCounts> panels;  // by serial number, byte-wise whatever the collation
  auto st = c_.prepare(
      "SELECT sn, sum(pending), sum(applied), sum(failed), sum(commands), sum(in_flight) FROM ("
      "SELECT sn, count(*) FILTER (WHERE state = 'pending' OR state = 'sending') AS pending, "
      "count(*) FILTER (WHERE state = 'applied') AS applied, count(*) FILTER (WHERE state = 'failed') AS failed, "
      "0 AS commands, 0 AS in_flight FROM sync_items GROUP BY sn "
      "UNION ALL SELECT sn, 0, 0, 0, commands, 0 FROM sync_panels "
      "UNION ALL SELECT sn, 0, 0, 0, 0, count(DISTINCT command_id) FROM sync_sends GROUP BY sn) AS parts GROUP BY sn");
  while (st.step()) {
    auto& c = panels[st.column_text(0)];
    c.pending = st.column_int(1);
    c.applied = st.column_int(2);
    c.failed = st.column_int(3);
    c.commands = st.column_int(4);
    c.in_flight = st.column_int(5);
  }
  std::vector<PanelSyncCounts> out;
  out.reserve(panels.size());
  for (auto& [sn, counts] : panels) out.push_back(PanelSyncCounts{sn, counts});
  return out;
}

std::vector<SyncItem> Sync::items_on_panels(const std::string& kind, const std::string& key) {
  // The items' primary key leads with sn: the panels are walked one seek each (the recursive
  // `panels`, a loose index scan PostgreSQL does not do by itself), and the item looked up on each by
  // its whole key.
  std::vector<SyncItem> out;
  auto st = c_.prepare(
      "WITH RECURSIVE panels(sn) AS (SELECT (SELECT min(sn) FROM sync_items) UNION ALL "
      "SELECT (SELECT min(sn) FROM sync_items WHERE sn > panels.sn) FROM panels WHERE panels.sn IS NOT NULL) " +
      select_items("WHERE sn IN (SELECT sn FROM panels) AND kind = $1 AND key = $2 ORDER BY sn"));
  st.bind(1, kind).bind(2, key);
  while (st.step()) out.push_back(rows::read_sync_item(st));
  return out;
}

std::vector<SyncItem> Sync::failures(const std::string& sn, std::int64_t limit) {
  std::vector<SyncItem> out;
  auto st = c_.prepare(select_items("WHERE sn = $1 AND state = 'failed' ORDER BY updated_at DESC, kind, key LIMIT $2"));
  st.bind(1, sn);
  if (limit > 0) st.bind(2, limit);
  else st.bind_null(2);  // LIMIT NULL: all
  while (st.step()) out.push_back(rows::read_sync_item(st));
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> Sync::due_panels() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto st = c_.prepare(
      "SELECT sn, min(CASE WHEN state = 'pending' THEN 0 ELSE retry_at END) FROM sync_items "
      "WHERE state IN ('pending', 'failed') AND sn NOT IN (SELECT sn FROM sync_sends) GROUP BY sn ORDER BY sn");
  while (st.step()) out.emplace_back(st.column_text(0), st.column_int(1));
  return out;
}

std::optional<std::int64_t> Sync::next_due(const std::string& sn) {
  // NULL when a command is in flight or nothing is to send.
  auto st = c_.prepare(
      "SELECT CASE WHEN EXISTS (SELECT 1 FROM sync_sends WHERE sn = $1) THEN NULL ELSE "
      "(SELECT min(CASE WHEN state = 'pending' THEN 0 ELSE retry_at END) FROM sync_items "
      "WHERE sn = $1 AND state IN ('pending', 'failed')) END");
  st.bind(1, sn);
  if (!st.step()) return std::nullopt;
  return st.column_opt_int(0);
}

std::vector<SyncKey> Sync::carried_by(std::int64_t command_id) {
  std::vector<SyncKey> out;
  auto st = c_.prepare("SELECT sn, kind, key FROM sync_sends WHERE command_id = $1 ORDER BY kind, key");
  st.bind(1, command_id);
  while (st.step()) out.push_back(SyncKey{st.column_text(0), st.column_text(1), st.column_text(2)});
  return out;
}

std::vector<SyncKey> Sync::carried_alone(std::int64_t command_id) {
  std::vector<SyncKey> out;
  auto st = c_.prepare(
      "SELECT sn, kind, key FROM sync_sends s WHERE command_id = $1 AND NOT EXISTS (SELECT 1 FROM sync_sends o "
      "WHERE o.sn = s.sn AND o.kind = s.kind AND o.key = s.key AND o.command_id <> $1) ORDER BY kind, key");
  st.bind(1, command_id);
  while (st.step()) out.push_back(SyncKey{st.column_text(0), st.column_text(1), st.column_text(2)});
  return out;
}

std::int64_t Sync::sends_of(const SyncKey& id) {
  auto st = c_.prepare("SELECT count(*) FROM sync_sends WHERE sn = $1 AND kind = $2 AND key = $3");
  st.bind(1, id.sn).bind(2, id.kind).bind(3, id.key);
  st.step();
  return st.column_int(0);
}

bool Sync::in_flight(const std::string& sn) {
  auto st = c_.prepare("SELECT 1 FROM sync_sends WHERE sn = $1 LIMIT 1");
  st.bind(1, sn);
  return st.step();
}

SyncPanel Sync::panel(const std::string& sn) {
  SyncPanel p;
  auto st = c_.prepare("SELECT commands, checked_at, check_wanted, check_result FROM sync_panels WHERE sn = $1");
  st.bind(1, sn);
  if (!st.step()) return p;
  p.commands = st.column_int(0);
  p.checked_at = st.column_int(1);
  p.check_wanted = st.column_int(2) != 0;
  p.check_result = st.column_text(3);
  return p;
}

std::vector<std::pair<std::string, std::int64_t>> Sync::checked_panels() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto st = c_.prepare("SELECT sn, checked_at FROM sync_panels WHERE checked_at > 0 ORDER BY sn");
  while (st.step()) out.emplace_back(st.column_text(0), st.column_int(1));
  return out;
}

std::int64_t Sync::applied_count(const std::string& sn, const std::string& kind) {
  auto st = c_.prepare("SELECT count(*) FROM sync_items WHERE sn = $1 AND kind = $2 AND applied IS NOT NULL");
  st.bind(1, sn).bind(2, kind);
  st.step();
  return st.column_int(0);
}

std::vector<SyncKey> Sync::unmanaged(const std::string& sn) {
  std::vector<SyncKey> out;
  auto st = c_.prepare("SELECT kind, key FROM sync_unmanaged WHERE sn = $1 ORDER BY kind, key");
  st.bind(1, sn);
  while (st.step()) out.push_back(SyncKey{sn, st.column_text(0), st.column_text(1)});
  return out;
}

void Sync::set_check(const std::string& sn, std::int64_t checked_at, bool wanted, const std::string& result) {
  auto st = c_.prepare(
      "INSERT INTO sync_panels (sn, checked_at, check_wanted, check_result) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (sn) DO UPDATE SET checked_at = $2, check_wanted = $3, check_result = $4");
  st.bind(1, sn).bind(2, checked_at).bind(3, std::int64_t{wanted ? 1 : 0}).bind(4, result);
  st.run();
}

void Sync::set_unmanaged(const std::string& sn, const std::string& kind, const std::vector<std::string>& keys) {
  {
    auto st = c_.prepare("DELETE FROM sync_unmanaged WHERE sn = $1 AND kind = $2");
    st.bind(1, sn).bind(2, kind);
    st.run();
  }
  if (keys.empty()) return;
  auto st = c_.prepare(
      "INSERT INTO sync_unmanaged (sn, kind, key) SELECT $1, $2, k FROM unnest($3::text[]) AS k ON CONFLICT DO NOTHING");
  st.bind(1, sn).bind(2, kind).bind(3, keys);
  st.run();
}

void Sync::put_desired(const SyncKey& id, const std::optional<std::string>& desired, std::int64_t now) {
  // One statement, as the reconciler calls this for every record of a panel: the three cases are
  // disjoint and each part sees the row as it was before the statement.
  // - no row: inserted, pending (nothing when nothing is desired);
  // - a row whose desired content changes to nothing, that holds nothing and is not in flight: gone;
  // - else a changed row: its state applied when desired equals applied, else pending, a failure of
  //   the old content forgotten (a new attempt); sending stays sending, the answer decides.
  // (Assumes this node is the only writer: another inserting the same new item meanwhile makes the
  // INSERT fail on the key.)
  auto st = c_.prepare(
      "WITH gone AS (DELETE FROM sync_items WHERE sn = $1 AND kind = $2 AND key = $3 AND $4::text IS NULL "
      "AND desired IS NOT NULL AND applied IS NULL AND state <> 'sending'), "
      "added AS (INSERT INTO sync_items (sn, kind, key, desired, state, updated_at) "
      "SELECT $1, $2, $3, $4::text, 'pending', $5 WHERE $4::text IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM sync_items WHERE sn = $1 AND kind = $2 AND key = $3)) "
      "UPDATE sync_items SET desired = $4::text, updated_at = $5, "
      "state = CASE WHEN state = 'sending' THEN 'sending' WHEN applied IS NOT DISTINCT FROM $4::text THEN 'applied' "
      "ELSE 'pending' END, "
      "attempts = CASE WHEN state = 'sending' THEN attempts ELSE 0 END, "
      "retry_at = CASE WHEN state = 'sending' THEN retry_at ELSE 0 END, "
      "return_code = CASE WHEN state = 'sending' THEN return_code END, "
      "error = CASE WHEN state = 'sending' THEN error ELSE '' END "
      "WHERE sn = $1 AND kind = $2 AND key = $3 AND desired IS DISTINCT FROM $4::text "
      "AND NOT ($4::text IS NULL AND applied IS NULL AND state <> 'sending')");
  st.bind(1, id.sn).bind(2, id.kind).bind(3, id.key).bind(4, desired).bind(5, now);
  st.run();
}

void Sync::update(const SyncItem& i) {
  if (!i.desired && !i.applied && i.state == SyncState::applied) {
    auto st = c_.prepare("DELETE FROM sync_items WHERE sn = $1 AND kind = $2 AND key = $3");
    st.bind(1, i.id.sn).bind(2, i.id.kind).bind(3, i.id.key);
    st.run();
    return;
  }
  auto bind = [&i](Statement& st) {
    st.bind(1, i.id.sn).bind(2, i.id.kind).bind(3, i.id.key).bind(4, i.desired).bind(5, i.applied).bind(6, i.sending);
    st.bind(7, sync_state_name(i.state)).bind(8, i.return_code).bind(9, i.error).bind(10, i.attempts);
    st.bind(11, i.retry_at).bind(12, i.updated_at).bind(13, i.batch);
    st.run();
  };
  // An UPDATE of the row that is there (the usual case) rather than an upsert, which tries the
  // INSERT first. (Assumes this node is the only writer: another inserting the item between the two
  // makes the INSERT fail on the key.)
  auto update = c_.prepare(
      "UPDATE sync_items SET desired = $4, applied = $5, sending = $6, state = $7, return_code = $8, error = $9, "
      "attempts = $10, retry_at = $11, updated_at = $12, batch = $13 WHERE sn = $1 AND kind = $2 AND key = $3");
  bind(update);
  if (c_.changes() > 0) return;
  auto insert = c_.prepare(
      "INSERT INTO sync_items (sn, kind, key, desired, applied, sending, state, return_code, error, attempts, "
      "retry_at, updated_at, batch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
  bind(insert);
}

void Sync::mark_sending(std::int64_t command_id, std::int64_t now) {
  auto st = c_.prepare(
      "UPDATE sync_items SET state = 'sending', sending = desired, return_code = NULL, error = '', updated_at = $2 "
      "WHERE (sn, kind, key) IN (SELECT sn, kind, key FROM sync_sends WHERE command_id = $1) AND state <> 'sending'");
  st.bind(1, command_id).bind(2, now);
  st.run();
}

std::vector<SyncKey> Sync::settle_sent(std::int64_t command_id, std::int64_t now) {
  // One statement for what a successful command carried; the contents move inside the server. An
  // item settled to nothing desired and nothing held is no longer tracked (as update() does): it is
  // deleted instead of updated (the two sets are disjoint: a row is changed once per statement).
  auto st = c_.prepare(
      "WITH carried AS (SELECT i.sn, i.kind, i.key, i.desired IS NULL AND i.sending IS NULL AS gone FROM sync_items i "
      "JOIN sync_sends s ON s.sn = i.sn AND s.kind = i.kind AND s.key = i.key "
      "WHERE s.command_id = $1 AND i.state = 'sending' AND i.error = '' "
      "AND NOT EXISTS (SELECT 1 FROM sync_sends o WHERE o.sn = i.sn AND o.kind = i.kind AND o.key = i.key "
      "AND o.command_id <> $1)), "
      "dropped AS (DELETE FROM sync_items i USING carried c WHERE c.gone AND i.sn = c.sn AND i.kind = c.kind "
      "AND i.key = c.key RETURNING i.sn, i.kind, i.key), "
      "settled AS (UPDATE sync_items i SET applied = i.sending, sending = NULL, attempts = 0, batch = 0, "
      "return_code = NULL, updated_at = $2, "
      "state = CASE WHEN i.desired IS NOT DISTINCT FROM i.sending THEN 'applied' ELSE 'pending' END "
      "FROM carried c WHERE NOT c.gone AND i.sn = c.sn AND i.kind = c.kind AND i.key = c.key "
      "RETURNING i.sn, i.kind, i.key) "
      "SELECT sn, kind, key FROM dropped UNION ALL SELECT sn, kind, key FROM settled");
  st.bind(1, command_id).bind(2, now);
  std::vector<SyncKey> out;
  while (st.step()) out.push_back(SyncKey{st.column_text(0), st.column_text(1), st.column_text(2)});
  return out;
}

std::vector<SyncItem> Sync::due(const std::string& sn, std::int64_t now, std::int64_t limit) {
  std::vector<SyncItem> out;
  // Pending items first, in what others name first: holidays and DST, time rules, options, persons,
  // then the rows that name persons (first-card, multi-card, linkage). A round cut at `limit` never
  // sends a row before what it names. Then failed ones whose retry is due, the earliest first (the
  // order the SQLite backend reads them in, along its (sn, state, retry_at) index).
  auto st = c_.prepare(select_items(
      "WHERE sn = $1 AND (state = 'pending' OR (state = 'failed' AND retry_at <= $2)) "
      "ORDER BY state = 'failed', CASE WHEN state = 'failed' THEN retry_at ELSE CASE kind WHEN 'holidays' THEN 0 "
      "WHEN 'dst' THEN 0 WHEN 'timerule' THEN 1 WHEN 'door' THEN 2 WHEN 'options' THEN 2 WHEN 'person' THEN 3 "
      "ELSE 4 END END, kind, key LIMIT $3"));
  st.bind(1, sn).bind(2, now);
  if (limit > 0) st.bind(3, limit);
  else st.bind_null(3);  // LIMIT NULL: all
  while (st.step()) out.push_back(rows::read_sync_item(st));
  return out;
}

void Sync::link(std::int64_t command_id, const std::vector<SyncKey>& items) {
  if (items.empty()) return;
  std::vector<std::string> sns, kinds, keys;
  for (const auto& id : items) {
    sns.push_back(id.sn);
    kinds.push_back(id.kind);
    keys.push_back(id.key);
  }
  auto st = c_.prepare(
      "INSERT INTO sync_sends (command_id, sn, kind, key) SELECT $1, t.sn, t.kind, t.key "
      "FROM unnest($2::text[], $3::text[], $4::text[]) AS t(sn, kind, key) ON CONFLICT DO NOTHING");
  st.bind(1, command_id).bind(2, sns).bind(3, kinds).bind(4, keys);
  st.run();
}

void Sync::unlink(std::int64_t command_id) {
  auto st = c_.prepare("DELETE FROM sync_sends WHERE command_id = $1");
  st.bind(1, command_id);
  st.run();
}

void Sync::count_commands(const std::string& sn, std::int64_t queued) {
  auto st = c_.prepare(
      "INSERT INTO sync_panels (sn, commands) VALUES ($1, $2) "
      "ON CONFLICT (sn) DO UPDATE SET commands = sync_panels.commands + excluded.commands");
  st.bind(1, sn).bind(2, queued);
  st.run();
}

void Sync::forget_applied(const std::string& sn, std::int64_t now) {
  // The items that would hold nothing and want nothing afterwards (nothing desired, not in flight)
  // go; the others hold nothing now. Disjoint sets, one statement.
  auto st = c_.prepare(
      "WITH gone AS (DELETE FROM sync_items WHERE sn = $1 AND desired IS NULL AND state <> 'sending') "
      "UPDATE sync_items SET applied = NULL, updated_at = $2, attempts = 0, batch = 0, retry_at = 0, return_code = NULL, "
      "error = '', state = CASE WHEN state = 'sending' THEN 'sending' ELSE 'pending' END "
      "WHERE sn = $1 AND NOT (desired IS NULL AND state <> 'sending')");
  st.bind(1, sn).bind(2, now);
  st.run();
}

void Sync::move_panel(const std::string& from, const std::string& to, std::int64_t now) {
  {
    auto st = c_.prepare("DELETE FROM sync_items WHERE sn = $1");
    st.bind(1, to);
    st.run();
  }
  {
    auto st = c_.prepare("UPDATE sync_items SET sn = $2 WHERE sn = $1");
    st.bind(1, from).bind(2, to);
    st.run();
  }
  {
    auto st = c_.prepare("DELETE FROM sync_sends WHERE sn = $1");
    st.bind(1, from);
    st.run();
  }
  {
    // What the new panel holds is its own: read before the first write, like any joining panel.
    auto st = c_.prepare("DELETE FROM sync_unmanaged WHERE sn IN ($1, $2)");
    st.bind(1, from).bind(2, to);
    st.run();
  }
  forget_applied(to, now);
  auto st = c_.prepare("UPDATE sync_items SET state = CASE WHEN desired IS NULL THEN 'applied' ELSE 'pending' END, "
                       "sending = NULL WHERE sn = $1 AND state = 'sending'");
  st.bind(1, to);
  st.run();
  auto gone = c_.prepare("DELETE FROM sync_items WHERE sn = $1 AND desired IS NULL AND state = 'applied'");
  gone.bind(1, to);
  gone.run();
}

}  // namespace zkpush::storage::postgres
