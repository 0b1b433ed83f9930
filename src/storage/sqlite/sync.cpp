#include "storage/sqlite/sync.hpp"

#include <map>

#include "storage/rows.hpp"

namespace zkpush::storage::sqlite {

namespace {

constexpr std::string_view kItemColumns =
    "sn, kind, key, desired, applied, sending, state, return_code, error, attempts, retry_at, updated_at, batch";

std::string select_items(std::string_view where) {
  return "SELECT " + std::string(kItemColumns) + " FROM sync_items " + std::string(where);
}

}  // namespace

std::optional<SyncItem> Sync::item(const SyncKey& id) {
  auto st = c_.prepare(select_items("WHERE sn = ?1 AND kind = ?2 AND key = ?3"));
  st->bind(1, id.sn).bind(2, id.kind).bind(3, id.key);
  if (!st->step()) return std::nullopt;
  return rows::read_sync_item(*st);
}

std::vector<SyncItem> Sync::items(const std::string& sn, const std::string& kind) {
  std::vector<SyncItem> out;
  auto st = c_.prepare(select_items("WHERE sn = ?1 AND (?2 = '' OR kind = ?2) ORDER BY kind, key"));
  st->bind(1, sn).bind(2, kind);
  while (st->step()) out.push_back(rows::read_sync_item(*st));
  return out;
}

SyncCounts Sync::counts(const std::string& sn) {
  SyncCounts c;
  {
    auto st = c_.prepare("SELECT state, count(*) FROM sync_items WHERE sn = ?1 GROUP BY state");
    st->bind(1, sn);
    while (st->step()) {
      const auto state = rows::sync_state_from(st->column_text(0));
      const auto n = st->column_int(1);
      if (state == SyncState::applied) c.applied += n;
      else if (state == SyncState::failed) c.failed += n;
      else c.pending += n;
    }
  }
  {
    auto st = c_.prepare("SELECT commands FROM sync_panels WHERE sn = ?1");
    st->bind(1, sn);
    if (st->step()) c.commands = st->column_int(0);
  }
  auto st = c_.prepare("SELECT count(DISTINCT command_id) FROM sync_sends WHERE sn = ?1");
  st->bind(1, sn);
  st->step();
  c.in_flight = st->column_int(0);
  return c;
}

std::vector<PanelSyncCounts> Sync::panel_counts() {
  // counts() for every panel at once: each query reads an index whole (sync_items_state, the
  // sync_panels table, sync_sends_item), never an item's contents.
  std::map<std::string, SyncCounts> panels;
  {
    auto st = c_.prepare("SELECT sn, state, count(*) FROM sync_items GROUP BY sn, state");
    while (st->step()) {
      auto& c = panels[st->column_text(0)];
      const auto state = rows::sync_state_from(st->column_text(1));
      const auto n = st->column_int(2);
      if (state == SyncState::applied) c.applied += n;
      else if (state == SyncState::failed) c.failed += n;
      else c.pending += n;
    }
  }
  {
    auto st = c_.prepare("SELECT sn, commands FROM sync_panels");
    while (st->step()) panels[st->column_text(0)].commands = st->column_int(1);
  }
  {
    auto st = c_.prepare("SELECT sn, count(DISTINCT command_id) FROM sync_sends GROUP BY sn");
    while (st->step()) panels[st->column_text(0)].in_flight = st->column_int(1);
  }
  std::vector<PanelSyncCounts> out;
  out.reserve(panels.size());
  for (auto& [sn, counts] : panels) out.push_back(PanelSyncCounts{sn, counts});
  return out;
}

std::vector<SyncItem> Sync::items_on_panels(const std::string& kind, const std::string& key) {
  // The items' primary key leads with sn: the panels are walked one seek each (the recursive
  // `panels`, a loose scan of sync_items_state), and the item looked up on each by its whole key.
  std::vector<SyncItem> out;
  auto st = c_.prepare(
      "WITH RECURSIVE panels(sn) AS (SELECT (SELECT min(sn) FROM sync_items) UNION ALL "
      "SELECT (SELECT min(sn) FROM sync_items WHERE sn > panels.sn) FROM panels WHERE panels.sn IS NOT NULL) " +
      select_items("WHERE sn IN (SELECT sn FROM panels) AND kind = ?1 AND key = ?2 ORDER BY sn"));
  st->bind(1, kind).bind(2, key);
  while (st->step()) out.push_back(rows::read_sync_item(*st));
  return out;
}

std::vector<SyncItem> Sync::failures(const std::string& sn, std::int64_t limit) {
  std::vector<SyncItem> out;
  auto st = c_.prepare(select_items("WHERE sn = ?1 AND state = 'failed' ORDER BY updated_at DESC, kind, key LIMIT ?2"));
  st->bind(1, sn).bind(2, limit > 0 ? limit : std::int64_t{-1});
  while (st->step()) out.push_back(rows::read_sync_item(*st));
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> Sync::due_panels() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto st = c_.prepare(
      "SELECT sn, min(CASE WHEN state = 'pending' THEN 0 ELSE retry_at END) FROM sync_items "
      "WHERE state IN ('pending', 'failed') AND sn NOT IN (SELECT sn FROM sync_sends) GROUP BY sn ORDER BY sn");
  while (st->step()) out.emplace_back(st->column_text(0), st->column_int(1));
  return out;
}

std::optional<std::int64_t> Sync::next_due(const std::string& sn) {
  {
    auto st = c_.prepare("SELECT 1 FROM sync_sends WHERE sn = ?1 LIMIT 1");
    st->bind(1, sn);
    if (st->step()) return std::nullopt;
  }
  auto st = c_.prepare(
      "SELECT min(CASE WHEN state = 'pending' THEN 0 ELSE retry_at END) FROM sync_items "
      "WHERE sn = ?1 AND state IN ('pending', 'failed')");
  st->bind(1, sn);
  if (!st->step()) return std::nullopt;
  return st->column_opt_int(0);
}

std::vector<SyncKey> Sync::carried_by(std::int64_t command_id) {
  std::vector<SyncKey> out;
  auto st = c_.prepare("SELECT sn, kind, key FROM sync_sends WHERE command_id = ?1 ORDER BY kind, key");
  st->bind(1, command_id);
  while (st->step()) out.push_back(SyncKey{st->column_text(0), st->column_text(1), st->column_text(2)});
  return out;
}

std::vector<SyncKey> Sync::carried_alone(std::int64_t command_id) {
  std::vector<SyncKey> out;
  auto st = c_.prepare(
      "SELECT sn, kind, key FROM sync_sends s WHERE command_id = ?1 AND NOT EXISTS (SELECT 1 FROM sync_sends o "
      "WHERE o.sn = s.sn AND o.kind = s.kind AND o.key = s.key AND o.command_id <> ?1) ORDER BY kind, key");
  st->bind(1, command_id);
  while (st->step()) out.push_back(SyncKey{st->column_text(0), st->column_text(1), st->column_text(2)});
  return out;
}

std::int64_t Sync::sends_of(const SyncKey& id) {
  auto st = c_.prepare("SELECT count(*) FROM sync_sends WHERE sn = ?1 AND kind = ?2 AND key = ?3");
  st->bind(1, id.sn).bind(2, id.kind).bind(3, id.key);
  st->step();
  return st->column_int(0);
}

bool Sync::in_flight(const std::string& sn) {
  auto st = c_.prepare("SELECT 1 FROM sync_sends WHERE sn = ?1 LIMIT 1");
  st->bind(1, sn);
  return st->step();
}

SyncPanel Sync::panel(const std::string& sn) {
  SyncPanel p;
  auto st = c_.prepare("SELECT commands, checked_at, check_wanted, check_result FROM sync_panels WHERE sn = ?1");
  st->bind(1, sn);
  if (!st->step()) return p;
  p.commands = st->column_int(0);
  p.checked_at = st->column_int(1);
  p.check_wanted = st->column_int(2) != 0;
  p.check_result = st->column_text(3);
  return p;
}

std::vector<std::pair<std::string, std::int64_t>> Sync::checked_panels() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  auto st = c_.prepare("SELECT sn, checked_at FROM sync_panels WHERE checked_at > 0 ORDER BY sn");
  while (st->step()) out.emplace_back(st->column_text(0), st->column_int(1));
  return out;
}

std::int64_t Sync::applied_count(const std::string& sn, const std::string& kind) {
  auto st = c_.prepare("SELECT count(*) FROM sync_items WHERE sn = ?1 AND kind = ?2 AND applied IS NOT NULL");
  st->bind(1, sn).bind(2, kind);
  st->step();
  return st->column_int(0);
}

std::vector<SyncKey> Sync::unmanaged(const std::string& sn) {
  std::vector<SyncKey> out;
  auto st = c_.prepare("SELECT kind, key FROM sync_unmanaged WHERE sn = ?1 ORDER BY kind, key");
  st->bind(1, sn);
  while (st->step()) out.push_back(SyncKey{sn, st->column_text(0), st->column_text(1)});
  return out;
}

void Sync::set_check(const std::string& sn, std::int64_t checked_at, bool wanted, const std::string& result) {
  auto st = c_.prepare(
      "INSERT INTO sync_panels (sn, checked_at, check_wanted, check_result) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (sn) DO UPDATE SET checked_at = ?2, check_wanted = ?3, check_result = ?4");
  st->bind(1, sn).bind(2, checked_at).bind(3, std::int64_t{wanted ? 1 : 0}).bind(4, result);
  st->run();
}

void Sync::set_unmanaged(const std::string& sn, const std::string& kind, const std::vector<std::string>& keys) {
  {
    auto st = c_.prepare("DELETE FROM sync_unmanaged WHERE sn = ?1 AND kind = ?2");
    st->bind(1, sn).bind(2, kind);
    st->run();
  }
  auto st = c_.prepare("INSERT OR IGNORE INTO sync_unmanaged (sn, kind, key) VALUES (?1, ?2, ?3)");
  for (const auto& key : keys) {
    st->bind(1, sn).bind(2, kind).bind(3, key);
    st->run();
    st->reset();
  }
}

void Sync::put_desired(const SyncKey& id, const std::optional<std::string>& desired, std::int64_t now) {
  auto current = item(id);
  if (!current) {
    if (!desired) return;  // should hold nothing, holds nothing
    auto st = c_.prepare(
        "INSERT INTO sync_items (sn, kind, key, desired, state, updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)");
    st->bind(1, id.sn).bind(2, id.kind).bind(3, id.key).bind(4, *desired).bind(5, now);
    st->run();
    return;
  }
  if (current->desired == desired) return;
  SyncItem next = *current;
  next.desired = desired;
  next.updated_at = now;
  if (next.state != SyncState::sending) {
    next.state = next.desired == next.applied ? SyncState::applied : SyncState::pending;
    // A change is a new attempt: a failure of the old content does not delay the new one.
    next.attempts = 0;
    next.retry_at = 0;
    if (next.state != SyncState::failed) {
      next.return_code.reset();
      next.error.clear();
    }
  }
  if (!next.desired && !next.applied && next.state != SyncState::sending) {
    auto st = c_.prepare("DELETE FROM sync_items WHERE sn = ?1 AND kind = ?2 AND key = ?3");
    st->bind(1, id.sn).bind(2, id.kind).bind(3, id.key);
    st->run();
    return;
  }
  update(next);
}

void Sync::update(const SyncItem& i) {
  if (!i.desired && !i.applied && i.state == SyncState::applied) {
    auto st = c_.prepare("DELETE FROM sync_items WHERE sn = ?1 AND kind = ?2 AND key = ?3");
    st->bind(1, i.id.sn).bind(2, i.id.kind).bind(3, i.id.key);
    st->run();
    return;
  }
  auto bind = [&i](Connection::Lease& st) {
    st->bind(1, i.id.sn).bind(2, i.id.kind).bind(3, i.id.key).bind(4, i.desired).bind(5, i.applied).bind(6, i.sending);
    st->bind(7, sync_state_name(i.state)).bind(8, i.return_code).bind(9, i.error).bind(10, i.attempts);
    st->bind(11, i.retry_at).bind(12, i.updated_at).bind(13, i.batch);
    st->run();
  };
  // An UPDATE of the row that is there (the usual case) rather than an upsert, which tries the
  // INSERT first.
  auto update = c_.prepare(
      "UPDATE sync_items SET desired = ?4, applied = ?5, sending = ?6, state = ?7, return_code = ?8, error = ?9, "
      "attempts = ?10, retry_at = ?11, updated_at = ?12, batch = ?13 WHERE sn = ?1 AND kind = ?2 AND key = ?3");
  bind(update);
  if (c_.db().changes() > 0) return;
  auto insert = c_.prepare(
      "INSERT INTO sync_items (sn, kind, key, desired, applied, sending, state, return_code, error, attempts, "
      "retry_at, updated_at, batch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  bind(insert);
}

void Sync::mark_sending(std::int64_t command_id, std::int64_t now) {
  auto st = c_.prepare(
      "UPDATE sync_items SET state = 'sending', sending = desired, return_code = NULL, error = '', updated_at = ?2 "
      "WHERE (sn, kind, key) IN (SELECT sn, kind, key FROM sync_sends WHERE command_id = ?1) AND state <> 'sending'");
  st->bind(1, command_id).bind(2, now);
  st->run();
}

std::vector<SyncKey> Sync::settle_sent(std::int64_t command_id, std::int64_t now) {
  // One statement for what a successful command carried; the contents move inside SQLite.
  auto st = c_.prepare(
      "UPDATE sync_items SET applied = sending, sending = NULL, attempts = 0, batch = 0, return_code = NULL, "
      "updated_at = ?2, state = CASE WHEN desired IS sending THEN 'applied' ELSE 'pending' END "
      "WHERE state = 'sending' AND error = '' "
      "AND (sn, kind, key) IN (SELECT sn, kind, key FROM sync_sends WHERE command_id = ?1) "
      "AND NOT EXISTS (SELECT 1 FROM sync_sends o WHERE o.sn = sync_items.sn AND o.kind = sync_items.kind "
      "AND o.key = sync_items.key AND o.command_id <> ?1) "
      // typeof() rather than IS NULL: SQLite 3.40 evaluates `x IS NULL` wrongly in a RETURNING clause.
      "RETURNING sn, kind, key, state = 'applied' AND typeof(desired) = 'null' AND typeof(applied) = 'null'");
  st->bind(1, command_id).bind(2, now);
  std::vector<SyncKey> out, gone;
  while (st->step()) {
    out.push_back(SyncKey{st->column_text(0), st->column_text(1), st->column_text(2)});
    if (st->column_int(3) != 0) gone.push_back(out.back());
  }
  // A record deleted from the panel as desired is no longer tracked (as update() does).
  if (!gone.empty()) {
    auto del = c_.prepare("DELETE FROM sync_items WHERE sn = ?1 AND kind = ?2 AND key = ?3");
    for (const auto& k : gone) {
      del->bind(1, k.sn).bind(2, k.kind).bind(3, k.key);
      del->run();
      del->reset();
    }
  }
  return out;
}

std::vector<SyncItem> Sync::due(const std::string& sn, std::int64_t now, std::int64_t limit) {
  std::vector<SyncItem> out;
  // Two lookups on the (sn, state, retry_at) index rather than one OR, which SQLite may scan for.
  const std::int64_t cap = limit > 0 ? limit : std::int64_t{-1};
  {
    // What others name first: holidays and DST, time rules, options, persons, then the rows that
    // name persons (first-card, multi-card, linkage). A round cut at `limit` never sends a row
    // before what it names.
    auto st = c_.prepare(select_items(
        "WHERE sn = ?1 AND state = 'pending' ORDER BY CASE kind WHEN 'holidays' THEN 0 WHEN 'dst' THEN 0 "
        "WHEN 'timerule' THEN 1 WHEN 'door' THEN 2 WHEN 'options' THEN 2 WHEN 'person' THEN 3 ELSE 4 END, kind, key "
        "LIMIT ?2"));
    st->bind(1, sn).bind(2, cap);
    while (st->step()) out.push_back(rows::read_sync_item(*st));
  }
  if (limit > 0 && static_cast<std::int64_t>(out.size()) >= limit) return out;
  auto st = c_.prepare(select_items("WHERE sn = ?1 AND state = 'failed' AND retry_at <= ?2 LIMIT ?3"));
  st->bind(1, sn).bind(2, now).bind(3, limit > 0 ? limit - static_cast<std::int64_t>(out.size()) : std::int64_t{-1});
  while (st->step()) out.push_back(rows::read_sync_item(*st));
  return out;
}

void Sync::link(std::int64_t command_id, const std::vector<SyncKey>& items) {
  auto st = c_.prepare("INSERT OR IGNORE INTO sync_sends (command_id, sn, kind, key) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& id : items) {
    st->bind(1, command_id).bind(2, id.sn).bind(3, id.kind).bind(4, id.key);
    st->run();
    st->reset();
  }
}

void Sync::unlink(std::int64_t command_id) {
  auto st = c_.prepare("DELETE FROM sync_sends WHERE command_id = ?1");
  st->bind(1, command_id);
  st->run();
}

void Sync::count_commands(const std::string& sn, std::int64_t queued) {
  auto st = c_.prepare(
      "INSERT INTO sync_panels (sn, commands) VALUES (?1, ?2) ON CONFLICT (sn) DO UPDATE SET commands = commands + ?2");
  st->bind(1, sn).bind(2, queued);
  st->run();
}

void Sync::forget_applied(const std::string& sn, std::int64_t now) {
  auto st = c_.prepare(
      "UPDATE sync_items SET applied = NULL, updated_at = ?2, attempts = 0, batch = 0, retry_at = 0, return_code = NULL, "
      "error = '', state = CASE WHEN state = 'sending' THEN 'sending' WHEN desired IS NULL THEN 'applied' "
      "ELSE 'pending' END WHERE sn = ?1");
  st->bind(1, sn).bind(2, now);
  st->run();
  auto gone = c_.prepare("DELETE FROM sync_items WHERE sn = ?1 AND desired IS NULL AND state = 'applied'");
  gone->bind(1, sn);
  gone->run();
}

void Sync::move_panel(const std::string& from, const std::string& to, std::int64_t now) {
  {
    auto st = c_.prepare("DELETE FROM sync_items WHERE sn = ?1");
    st->bind(1, to);
    st->run();
  }
  {
    auto st = c_.prepare("UPDATE sync_items SET sn = ?2 WHERE sn = ?1");
    st->bind(1, from).bind(2, to);
    st->run();
  }
  {
    auto st = c_.prepare("DELETE FROM sync_sends WHERE sn = ?1");
    st->bind(1, from);
    st->run();
  }
  {
    // What the new panel holds is its own: read before the first write, like any joining panel.
    auto st = c_.prepare("DELETE FROM sync_unmanaged WHERE sn IN (?1, ?2)");
    st->bind(1, from).bind(2, to);
    st->run();
  }
  forget_applied(to, now);
  auto st = c_.prepare("UPDATE sync_items SET state = CASE WHEN desired IS NULL THEN 'applied' ELSE 'pending' END, "
                       "sending = NULL WHERE sn = ?1 AND state = 'sending'");
  st->bind(1, to);
  st->run();
  auto gone = c_.prepare("DELETE FROM sync_items WHERE sn = ?1 AND desired IS NULL AND state = 'applied'");
  gone->bind(1, to);
  gone->run();
}

}  // namespace zkpush::storage::sqlite
