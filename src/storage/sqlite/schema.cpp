// Schema of the SQLite store. Migrations are only ever appended (migrations.hpp): version 1 below is
// frozen once released; changes go into a version 2.
//
// Portable SQL on purpose (no STRICT tables, no RETURNING): it needs SQLite 3.24 (upsert) and keeps
// close to what the PostgreSQL backend will use. Times are Unix seconds. Foreign keys are immediate
// only: a deferred one is checked at COMMIT and would fail a whole group of unrelated writes.
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/audit.hpp"

namespace zkpush::storage::sqlite {

namespace {

constexpr std::string_view kVersion1 = R"sql(
-- One row per serial number. registry is the latest registration key list as a JSON record
-- (storage/record_json.hpp). next_wire_id is the device's next C:<id>: (0 until its first command,
-- which starts from the clock: storage/wire_ids.hpp); it only ever grows.
CREATE TABLE devices (
  sn            TEXT PRIMARY KEY NOT NULL,
  approved      INTEGER NOT NULL DEFAULT 0,
  registry_code TEXT NOT NULL DEFAULT '',
  session_id    TEXT NOT NULL DEFAULT '',
  push_version  TEXT NOT NULL DEFAULT '',
  ip            TEXT NOT NULL DEFAULT '',
  time_zone     TEXT NOT NULL DEFAULT '',
  registry      TEXT NOT NULL DEFAULT '[]',
  first_seen    INTEGER NOT NULL DEFAULT 0,
  last_seen     INTEGER NOT NULL DEFAULT 0,
  registered_at INTEGER NOT NULL DEFAULT 0,
  next_wire_id  INTEGER NOT NULL DEFAULT 0
);

-- Device parameters, latest value per key. Keys compare without case: firmware spells the same
-- parameter TimeZoneId or TimezoneId, and the latest value must replace the older spelling.
CREATE TABLE device_options (
  sn         TEXT NOT NULL REFERENCES devices(sn),
  key        TEXT NOT NULL COLLATE NOCASE,
  value      TEXT NOT NULL,
  source     TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (sn, key)
) WITHOUT ROWID;

-- Access events. No foreign key to devices: what a device uploads is kept whatever the order in
-- which the server records the device itself. A record is identified by the device's index (with
-- the record's time, so that a device whose log was cleared and restarts at index 1 is not taken
-- for a re-send), or, without an index, by the SHA-256 of the record (storage/event_digest.hpp).
-- AUTOINCREMENT: ids are API cursors (after_id) and must never come back after a deletion.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sn          TEXT NOT NULL,
  log_index   INTEGER,
  record_hash BLOB,
  time_local  TEXT NOT NULL,
  time_utc    INTEGER,
  pin         TEXT NOT NULL,
  cardno      TEXT NOT NULL,
  event       INTEGER,
  door        INTEGER,
  inout       INTEGER,
  verifytype  TEXT NOT NULL,
  alarm_type  INTEGER,
  raw         TEXT NOT NULL,
  source      TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  CHECK ((log_index IS NULL) <> (record_hash IS NULL))
);
CREATE UNIQUE INDEX events_by_index ON events (sn, log_index, time_local) WHERE log_index IS NOT NULL;
CREATE UNIQUE INDEX events_by_hash ON events (sn, record_hash) WHERE log_index IS NULL;
CREATE INDEX events_by_device ON events (sn, id);

-- rtstate: the current state per device, and a history row only when sensor, relay or alarm
-- changed (devices repeat an unchanged state every few seconds).
CREATE TABLE door_state (
  sn          TEXT PRIMARY KEY NOT NULL,
  time_local  TEXT NOT NULL,
  sensor      TEXT NOT NULL,
  relay       TEXT NOT NULL,
  alarm       TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE TABLE door_state_history (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sn          TEXT NOT NULL,
  time_local  TEXT NOT NULL,
  sensor      TEXT NOT NULL,
  relay       TEXT NOT NULL,
  alarm       TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX door_state_history_by_device ON door_state_history (sn, id);

-- Table records a device uploads about itself (users, templates, photos...), latest per key.
-- A rowid table rather than WITHOUT ROWID: content holds photos of tens of kilobytes.
CREATE TABLE device_records (
  id         INTEGER PRIMARY KEY,
  sn         TEXT NOT NULL,
  tbl        TEXT NOT NULL,
  rkey       TEXT NOT NULL,
  fields     TEXT NOT NULL,
  content    BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (sn, tbl, rkey)
);

-- Append-only uploads (errorlog, irstate, enrollment...).
CREATE TABLE device_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sn          TEXT NOT NULL,
  kind        TEXT NOT NULL,
  data        TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX device_log_by_device ON device_log (sn, kind, id);

-- The command queue. id is the API id (AUTOINCREMENT: never reused); wire_id is C:<id>: on the
-- wire, unique per device. A command is queued -> sent (by getrequest; re-sent with the same wire id
-- while unanswered) -> done | failed (by devicecmd), or expired (deadline passed) / cancelled (while
-- queued). Rows are kept after completion: the device's answer is the audit trail.
CREATE TABLE commands (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sn          TEXT NOT NULL REFERENCES devices(sn),
  wire_id     INTEGER NOT NULL,
  line        TEXT NOT NULL,
  verb        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'done', 'failed', 'expired', 'cancelled')),
  return_code INTEGER,
  result      TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  sent_at     INTEGER NOT NULL DEFAULT 0,
  done_at     INTEGER NOT NULL DEFAULT 0,
  expires_at  INTEGER NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  UNIQUE (sn, wire_id)
);
-- The per-device FIFO of what may still be delivered. Queries must repeat this exact WHERE for
-- SQLite to use the partial index.
CREATE INDEX commands_pending ON commands (sn, id) WHERE status IN ('queued', 'sent');

-- What a device uploaded for a command (querydata packs, GET OPTIONS answers, ACCOUNT summaries),
-- in arrival order.
CREATE TABLE command_data (
  id          INTEGER PRIMARY KEY,
  command_id  INTEGER NOT NULL REFERENCES commands(id),
  kind        TEXT NOT NULL,
  tbl         TEXT NOT NULL,
  packidx     INTEGER NOT NULL,
  packcnt     INTEGER NOT NULL,
  body        BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX command_data_by_command ON command_data (command_id, id);
)sql";

// Version 2: where a device record's content came from and how it is kept, so that a photo can be
// served as an image and a template given back to a device as the base64 it sent.
constexpr std::string_view kVersion2 = R"sql(
ALTER TABLE device_records ADD COLUMN content_field TEXT NOT NULL DEFAULT '';
ALTER TABLE device_records ADD COLUMN content_encoding TEXT NOT NULL DEFAULT '';
)sql";

// Version 3: per-device overrides of the configuration sent at init and push (RequestDelay...),
// a JSON list of fields like `registry`.
constexpr std::string_view kVersion3 = R"sql(
ALTER TABLE devices ADD COLUMN config TEXT NOT NULL DEFAULT '[]';
)sql";

// Version 4: what getrequest takes, without walking the rest. Delivery used to walk a device's whole
// pending FIFO, reading every sent-but-unanswered command to skip it: a device that never answers
// (or a queue of thousands) made every poll slower. Now the queued FIFO and the re-send candidates
// (sent before a time) are each read from their own index, up to the per-poll cap, and expiry looks
// only at commands that have a deadline.
constexpr std::string_view kVersion4 = R"sql(
CREATE INDEX commands_queued ON commands (sn, id) WHERE status = 'queued';
CREATE INDEX commands_sent ON commands (sn, sent_at) WHERE status = 'sent';
CREATE INDEX commands_expiring ON commands (sn, expires_at) WHERE status IN ('queued', 'sent') AND expires_at > 0;
)sql";

// Version 5: command priorities. A door opened from the console must not wait behind a panel's full
// load of ten thousand users: delivery takes queued commands by priority (0 control, 1 normal,
// 2 bulk), then FIFO. The queued index follows that order; the old one is replaced.
constexpr std::string_view kVersion5 = R"sql(
ALTER TABLE commands ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
DROP INDEX commands_queued;
CREATE INDEX commands_queued ON commands (sn, priority, id) WHERE status = 'queued';
CREATE INDEX commands_deadlines ON commands (expires_at) WHERE status IN ('queued', 'sent') AND expires_at > 0;
)sql";

// Version 6: the access-control domain (persons, cards, credentials, time rules, access levels)
// and the sync engine's bookkeeping per panel and record. Panels in level_doors need not be known
// devices yet (a level may name a panel before it first connects): no foreign key to devices.
// Time rule 1 is "always" (00:00-23:59 every day and holiday type).
constexpr std::string_view kVersion6 = R"sql(
CREATE TABLE persons (
  pin         TEXT PRIMARY KEY,
  name        TEXT NOT NULL DEFAULT '',
  password    TEXT NOT NULL DEFAULT '',
  privilege   INTEGER NOT NULL DEFAULT 0,
  grp         INTEGER NOT NULL DEFAULT 1,
  valid_from  TEXT NOT NULL DEFAULT '',
  valid_until TEXT NOT NULL DEFAULT '',
  disabled    INTEGER NOT NULL DEFAULT 0,
  enrolled_at TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE cards (
  number   TEXT PRIMARY KEY,
  pin      TEXT NOT NULL REFERENCES persons(pin) ON DELETE CASCADE,
  lost     INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX cards_pin ON cards (pin, position);
CREATE TABLE credentials (
  id          INTEGER PRIMARY KEY,
  pin         TEXT NOT NULL REFERENCES persons(pin) ON DELETE CASCADE,
  type        TEXT NOT NULL,
  no          INTEGER NOT NULL DEFAULT 0,
  idx         INTEGER NOT NULL DEFAULT 0,
  duress      INTEGER NOT NULL DEFAULT 0,
  format      TEXT NOT NULL DEFAULT '',
  version     TEXT NOT NULL DEFAULT '',
  content     TEXT NOT NULL DEFAULT '',
  enrolled_at TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (pin, type, no, idx)
);
CREATE TABLE time_rules (
  id       INTEGER PRIMARY KEY,
  name     TEXT NOT NULL,
  segments TEXT NOT NULL
);
INSERT INTO time_rules (id, name, segments) VALUES (1, 'always',
  '{"sun":[[0,1439]],"mon":[[0,1439]],"tue":[[0,1439]],"wed":[[0,1439]],"thu":[[0,1439]],"fri":[[0,1439]],"sat":[[0,1439]],"hol1":[[0,1439]],"hol2":[[0,1439]],"hol3":[[0,1439]]}');
CREATE TABLE access_levels (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  time_rule_id INTEGER NOT NULL REFERENCES time_rules(id)
);
CREATE TABLE level_doors (
  level_id INTEGER NOT NULL REFERENCES access_levels(id) ON DELETE CASCADE,
  sn       TEXT NOT NULL,
  door     INTEGER NOT NULL,
  PRIMARY KEY (level_id, sn, door)
) WITHOUT ROWID;
CREATE INDEX level_doors_sn ON level_doors (sn);
CREATE TABLE person_levels (
  pin      TEXT NOT NULL REFERENCES persons(pin) ON DELETE CASCADE,
  level_id INTEGER NOT NULL REFERENCES access_levels(id) ON DELETE CASCADE,
  PRIMARY KEY (pin, level_id)
) WITHOUT ROWID;
CREATE INDEX person_levels_level ON person_levels (level_id);

CREATE TABLE sync_items (
  sn          TEXT NOT NULL,
  kind        TEXT NOT NULL,
  key         TEXT NOT NULL,
  desired     TEXT,
  applied     TEXT,
  sending     TEXT,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'applied', 'failed')),
  return_code INTEGER,
  error       TEXT NOT NULL DEFAULT '',
  attempts    INTEGER NOT NULL DEFAULT 0,
  batch       INTEGER NOT NULL DEFAULT 0,
  retry_at    INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sn, kind, key)
) WITHOUT ROWID;
CREATE INDEX sync_items_open ON sync_items (sn, state) WHERE state <> 'applied';
CREATE TABLE sync_sends (
  command_id INTEGER NOT NULL,
  sn         TEXT NOT NULL,
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  PRIMARY KEY (command_id, sn, kind, key)
) WITHOUT ROWID;
CREATE INDEX sync_sends_item ON sync_sends (sn, kind, key);
CREATE TABLE sync_panels (
  sn       TEXT PRIMARY KEY,
  commands INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 7: the sync view counts a panel's records by state for every GET (and the engine for every
// round): an index on (sn, state) answers that from the index alone, where the partial index of
// version 6 left the applied records to a scan of the table (their contents included).
constexpr std::string_view kVersion7 = R"sql(
DROP INDEX sync_items_open;
CREATE INDEX sync_items_state ON sync_items (sn, state, retry_at);
)sql";

// Version 8: holidays; the sync engine's per-panel checks (what a panel holds, read before the first
// write and verified since) and the records it holds that the domain does not know.
constexpr std::string_view kVersion8 = R"sql(
CREATE TABLE holidays (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  start_date TEXT NOT NULL,
  end_date   TEXT NOT NULL,
  type       INTEGER NOT NULL CHECK (type BETWEEN 1 AND 3),
  yearly     INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE sync_panels ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_panels ADD COLUMN check_wanted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_panels ADD COLUMN check_result TEXT NOT NULL DEFAULT '';
CREATE TABLE sync_unmanaged (
  sn   TEXT NOT NULL,
  kind TEXT NOT NULL,
  key  TEXT NOT NULL,
  PRIMARY KEY (sn, kind, key)
) WITHOUT ROWID;
)sql";

// Version 9: credentials keyed by the manual's biometric type (Appendix 18) and their format: a
// near-infrared and a visible-light face of one person are two credentials, a template and a
// photo of one type too.
constexpr std::string_view kVersion9 = R"sql(
CREATE TABLE credentials_v9 (
  id          INTEGER PRIMARY KEY,
  pin         TEXT NOT NULL REFERENCES persons(pin) ON DELETE CASCADE,
  type        TEXT NOT NULL,
  bio_type    INTEGER NOT NULL DEFAULT 1,
  no          INTEGER NOT NULL DEFAULT 0,
  idx         INTEGER NOT NULL DEFAULT 0,
  duress      INTEGER NOT NULL DEFAULT 0,
  format      TEXT NOT NULL DEFAULT '',
  version     TEXT NOT NULL DEFAULT '',
  content     TEXT NOT NULL DEFAULT '',
  enrolled_at TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (pin, bio_type, no, idx, format)
);
INSERT INTO credentials_v9 (id, pin, type, bio_type, no, idx, duress, format, version, content, enrolled_at, created_at)
  SELECT id, pin, type, CASE type WHEN 'fingerprint' THEN 1 WHEN 'face' THEN 9 WHEN 'palm' THEN 8 WHEN 'finger_vein' THEN 7
                                  WHEN 'iris' THEN 4 WHEN 'photo' THEN 0 ELSE 0 END,
         no, idx, duress, format, version, content, enrolled_at, created_at FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_v9 RENAME TO credentials;
)sql";

// Version 10: door settings (names, Appendix 10 door parameters; door 0 the panel's own).
constexpr std::string_view kVersion10 = R"sql(
CREATE TABLE door_settings (
  sn         TEXT NOT NULL,
  door       INTEGER NOT NULL,
  name       TEXT NOT NULL DEFAULT '',
  settings   TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sn, door)
) WITHOUT ROWID;
)sql";

// Version 11: the state columns' CHECK constraints as comparisons instead of IN lists. SQLite 3.40
// evaluates `x IN ('a', 'b', ...)` in a CHECK by building a temporary b-tree for every row written:
// that was a third of the cost of each sync record update and of each command written (make bench,
// sync row). A CHECK cannot be altered in place: both tables are rebuilt (the documented way, with
// foreign keys off: command_data references commands), ids and the id sequence kept (even when
// every command row is gone).
constexpr std::string_view kVersion11 = R"sql(
CREATE TABLE commands_v11 (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sn          TEXT NOT NULL REFERENCES devices(sn),
  wire_id     INTEGER NOT NULL,
  line        TEXT NOT NULL,
  verb        TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status = 'queued' OR status = 'sent' OR status = 'done' OR status = 'failed' OR
                                   status = 'expired' OR status = 'cancelled'),
  return_code INTEGER,
  result      TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  sent_at     INTEGER NOT NULL DEFAULT 0,
  done_at     INTEGER NOT NULL DEFAULT 0,
  expires_at  INTEGER NOT NULL DEFAULT 0,
  attempts    INTEGER NOT NULL DEFAULT 0,
  priority    INTEGER NOT NULL DEFAULT 1,
  UNIQUE (sn, wire_id)
);
INSERT INTO commands_v11 (id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at,
                          expires_at, attempts, priority)
  SELECT id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at, expires_at, attempts,
         priority FROM commands;
DELETE FROM sqlite_sequence WHERE name = 'commands_v11';
INSERT INTO sqlite_sequence (name, seq) SELECT 'commands_v11', seq FROM sqlite_sequence WHERE name = 'commands';
DROP TABLE commands;
ALTER TABLE commands_v11 RENAME TO commands;
CREATE INDEX commands_pending ON commands (sn, id) WHERE status IN ('queued', 'sent');
CREATE INDEX commands_sent ON commands (sn, sent_at) WHERE status = 'sent';
CREATE INDEX commands_expiring ON commands (sn, expires_at) WHERE status IN ('queued', 'sent') AND expires_at > 0;
CREATE INDEX commands_queued ON commands (sn, priority, id) WHERE status = 'queued';
CREATE INDEX commands_deadlines ON commands (expires_at) WHERE status IN ('queued', 'sent') AND expires_at > 0;

CREATE TABLE sync_items_v11 (
  sn          TEXT NOT NULL,
  kind        TEXT NOT NULL,
  key         TEXT NOT NULL,
  desired     TEXT,
  applied     TEXT,
  sending     TEXT,
  state       TEXT NOT NULL CHECK (state = 'pending' OR state = 'sending' OR state = 'applied' OR state = 'failed'),
  return_code INTEGER,
  error       TEXT NOT NULL DEFAULT '',
  attempts    INTEGER NOT NULL DEFAULT 0,
  batch       INTEGER NOT NULL DEFAULT 0,
  retry_at    INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (sn, kind, key)
) WITHOUT ROWID;
INSERT INTO sync_items_v11 SELECT sn, kind, key, desired, applied, sending, state, return_code, error, attempts, batch,
                                  retry_at, updated_at FROM sync_items;
DROP TABLE sync_items;
ALTER TABLE sync_items_v11 RENAME TO sync_items;
CREATE INDEX sync_items_state ON sync_items (sn, state, retry_at);
)sql";

// Version 12: API tokens with roles (only their SHA-256 is kept).
constexpr std::string_view kVersion12 = R"sql(
CREATE TABLE api_tokens (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role = 'admin' OR role = 'operator' OR role = 'viewer'),
  hash       TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
)sql";

// Version 13: the message log (the outbox of the live stream, webhooks and MQTT) and webhooks.
// Events and door-state changes enter the log by trigger, so nothing can store one without its
// message, in the same transaction; so does a command's closing (done, failed, expired, cancelled).
// Device presence changes carry their body (no row holds them). A webhook's cursor is the last
// message it delivered or gave up on.
constexpr std::string_view kVersion13 = R"sql(
CREATE TABLE messages (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  sn   TEXT NOT NULL,
  ref  INTEGER,
  body TEXT,
  at   INTEGER NOT NULL
);
CREATE INDEX messages_by_device ON messages (sn, id);
CREATE INDEX messages_by_time ON messages (at);
CREATE TRIGGER events_message AFTER INSERT ON events BEGIN
  INSERT INTO messages (kind, sn, ref, at) VALUES ('event', NEW.sn, NEW.id, NEW.received_at);
END;
CREATE TRIGGER door_state_message AFTER INSERT ON door_state_history BEGIN
  INSERT INTO messages (kind, sn, ref, at) VALUES ('door_state', NEW.sn, NEW.id, NEW.received_at);
END;
CREATE TRIGGER command_message AFTER UPDATE OF status ON commands
  WHEN NEW.status <> OLD.status AND (NEW.status = 'done' OR NEW.status = 'failed' OR NEW.status = 'expired' OR
                                     NEW.status = 'cancelled') BEGIN
  INSERT INTO messages (kind, sn, ref, at) VALUES ('command', NEW.sn, NEW.id, NEW.done_at);
END;

CREATE TABLE webhooks (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  url             TEXT NOT NULL,
  secret          TEXT NOT NULL,
  kinds           TEXT NOT NULL,
  sn              TEXT NOT NULL DEFAULT '',
  max_attempts    INTEGER NOT NULL,
  cursor          INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  delivered       INTEGER NOT NULL DEFAULT 0,
  last_status     INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  last_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_success_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE webhook_dead_letters (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  message_id  INTEGER NOT NULL,
  attempts    INTEGER NOT NULL,
  last_status INTEGER NOT NULL,
  last_error  TEXT NOT NULL,
  failed_at   INTEGER NOT NULL,
  redeliver   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_dead_letters_by_webhook ON webhook_dead_letters (webhook_id, id);
)sql";

// Version 14: where each consumer of the message log other than a webhook stands (MQTT).
constexpr std::string_view kVersion14 = R"sql(
CREATE TABLE message_cursors (
  name   TEXT PRIMARY KEY NOT NULL,
  cursor INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 15: the audit log of the API's state-changing calls.
constexpr std::string_view kVersion15 = R"sql(
CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  role      TEXT NOT NULL,
  remote    TEXT NOT NULL,
  method    TEXT NOT NULL,
  target    TEXT NOT NULL,
  operation TEXT NOT NULL,
  status    INTEGER NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
)sql";

// Version 16: event queries over millions of rows (GET /api/v1/events filters): by person in id
// order, by time range across devices, by device within a time range. By device alone keeps
// events_by_device (sn, id); the other filters (card, door, code, class) are checked on the rows
// these give. Each index costs every insert one more B-tree write.
constexpr std::string_view kVersion16 = R"sql(
CREATE INDEX events_by_person ON events (pin, id);
CREATE INDEX events_by_time ON events (time_utc);
CREATE INDEX events_by_device_time ON events (sn, time_utc);
)sql";

// Version 17: global anti-passback (remote identification): zones of doors on any panels, each
// door an entry or an exit, and where each person stands in each zone (kept across restarts).
constexpr std::string_view kVersion17 = R"sql(
CREATE TABLE apb_zones (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  mode TEXT NOT NULL,
  minutes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE apb_zone_doors (
  zone_id INTEGER NOT NULL,
  sn TEXT NOT NULL,
  door INTEGER NOT NULL,
  direction TEXT NOT NULL,
  PRIMARY KEY (zone_id, sn, door)
);
CREATE INDEX apb_zone_doors_by_door ON apb_zone_doors (sn, door);
CREATE TABLE apb_presence (
  zone_id INTEGER NOT NULL,
  pin TEXT NOT NULL,
  inside INTEGER NOT NULL,
  entered_at INTEGER NOT NULL DEFAULT 0,
  exited_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (zone_id, pin)
);
)sql";

// Version 18: firmware and resource campaigns: one UPGRADE file on a set of panels, and per panel
// the command queued for it (its state is the command's).
constexpr std::string_view kVersion18 = R"sql(
CREATE TABLE campaigns (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  file         TEXT NOT NULL,
  size         INTEGER NOT NULL,
  md5          TEXT NOT NULL,
  method       TEXT NOT NULL,
  type         TEXT NOT NULL DEFAULT '1',
  url_base     TEXT NOT NULL,
  created_by   TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  cancelled_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE campaign_targets (
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  sn          TEXT NOT NULL,
  command_id  INTEGER NOT NULL,
  method      INTEGER NOT NULL,
  url         TEXT NOT NULL,
  PRIMARY KEY (campaign_id, sn)
) WITHOUT ROWID;
)sql";

// Multi-level control (manual 5, Appendix 15): the sub-controllers a master reports in its
// DeviceAuthorize table. Each also has a devices row (its commands' foreign key and API object);
// this row says whose it is, what the master last reported (is_authorize 0/1/2) and which step of
// the two-step authorization the server asked for (requested: 0 none, 1, 2, -1 de-authorized by the
// operator: never authorized again without the operator).
constexpr std::string_view kVersion19 = R"sql(
CREATE TABLE sub_controllers (
  sn             TEXT PRIMARY KEY NOT NULL REFERENCES devices(sn),
  master_sn      TEXT NOT NULL REFERENCES devices(sn),
  online         INTEGER NOT NULL DEFAULT 0,
  is_authorize   INTEGER NOT NULL DEFAULT 0,
  requested      INTEGER NOT NULL DEFAULT 0,
  authorize_info TEXT NOT NULL DEFAULT '',
  register_info  TEXT NOT NULL DEFAULT '',
  first_seen     INTEGER NOT NULL DEFAULT 0,
  last_seen      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sub_controllers_by_master ON sub_controllers (master_sn, sn);
)sql";

// Version 20: the audit log's hash chain (storage/audit_chain.hpp); the rows already there are
// chained in id order by chain_audit_log.
constexpr std::string_view kVersion20 = R"sql(
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
)sql";

constexpr Migration kMigrations[] = {
    {1, "devices, events, door state, device records and logs, command queue", kVersion1},
    {2, "device records: content field and encoding", kVersion2},
    {3, "devices: per-device configuration overrides", kVersion3},
    {4, "commands: indexes for delivery", kVersion4},
    {5, "commands: priorities, deadlines across devices", kVersion5},
    {6, "access-control domain and sync engine", kVersion6},
    {7, "sync: records counted by state from an index", kVersion7},
    {8, "holidays; sync: panel checks and unmanaged records", kVersion8},
    {9, "credentials: keyed by biometric type and format", kVersion9},
    {10, "door settings", kVersion10},
    {11, "commands, sync items: state checks without IN lists", kVersion11, "command_data"},
    {12, "API tokens", kVersion12},
    {13, "message log, webhooks", kVersion13},
    {14, "message log cursors", kVersion14},
    {15, "audit log", kVersion15},
    {16, "events: indexes by person, by time, by device and time", kVersion16},
    {17, "global anti-passback zones and presence", kVersion17},
    {18, "firmware and resource campaigns", kVersion18},
    {19, "multi-level control: sub-controllers of a master", kVersion19},
    {20, "audit log: hash chain", kVersion20, "", chain_audit_log},
};

}  // namespace

std::span<const Migration> store_migrations() noexcept { return kMigrations; }

}  // namespace zkpush::storage::sqlite
