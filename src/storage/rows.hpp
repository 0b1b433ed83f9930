// How a result row becomes an area's struct: the row readers of both backends (sqlite/, postgres/).
//
// Why one copy: the two backends keep every table with the same columns, select them in the same
// order and read them with the same Statement accessors (column_int, column_text, column_opt_int,
// column_opt_text, column_blob, is_null), so a reader written once as a template over the statement
// type serves both, and a column added to a table is read in one place. The SQL stays with each
// backend (placeholders, locks and plans differ): a reader reads the columns its comment names, in
// that order, from the SELECT of each folder. Only the lists that read_event and read_message count
// offsets in are here too (kEventColumns, select_messages). The contract tests
// (tests/storage/*_contract_test) run every area on both backends.
//
// Where the backends keep a column differently, the reader is told rather than left to guess: an
// event's raw record is TEXT in SQLite and bytea in PostgreSQL (RawColumn). A person's cards, levels
// and credentials, which PostgreSQL aggregates into the same row, are read by postgres/access.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "storage/areas/access.hpp"
#include "storage/areas/audit.hpp"
#include "storage/areas/campaigns.hpp"
#include "storage/areas/messages.hpp"
#include "storage/areas/sync.hpp"
#include "storage/areas/tokens.hpp"
#include "storage/areas/webhooks.hpp"
#include "storage/record_json.hpp"
#include "storage/types.hpp"

namespace zkpush::storage::rows {

// Stored values read back; each throws std::runtime_error for a value the store never writes.
CommandStatus command_status_from(const std::string& name);
CommandPriority command_priority_from(std::int64_t value);
SyncState sync_state_from(const std::string& text);

// A time rule's segments column: a JSON object of kRuleDays' names, each an array of [start, end].
// Kept out of line so that this header does not bring nlohmann/json to every area.
std::string segments_json(const TimeRule& rule);
decltype(TimeRule::days) rule_days_from_json(std::int64_t rule_id, const std::string& segments);

// How a backend keeps an event's raw record (events.raw): SQLite as TEXT, PostgreSQL as bytea (the
// bytes the device sent, which need not be valid UTF-8). Each reads it as it always has.
enum class RawColumn { text, bytea };

// ---- access ------------------------------------------------------------------------------------------

// pin, name, password, privilege, grp, valid_from, valid_until, disabled, enrolled_at, created_at,
// updated_at (persons); the cards, levels and credentials are read apart.
template <class Row>
Person read_person(const Row& st) {
  Person p;
  p.pin = st.column_text(0);
  p.name = st.column_text(1);
  p.password = st.column_text(2);
  p.privilege = static_cast<int>(st.column_int(3));
  p.group = static_cast<int>(st.column_int(4));
  p.valid_from = st.column_text(5);
  p.valid_until = st.column_text(6);
  p.disabled = st.column_int(7) != 0;
  p.enrolled_at = st.column_text(8);
  p.created_at = st.column_int(9);
  p.updated_at = st.column_int(10);
  return p;
}

// id, name, segments (time_rules).
template <class Row>
TimeRule read_rule(const Row& st) {
  TimeRule r;
  r.id = st.column_int(0);
  r.name = st.column_text(1);
  r.days = rule_days_from_json(r.id, st.column_text(2));
  return r;
}

// id, name, start_date, end_date, type, yearly (holidays).
template <class Row>
Holiday read_holiday(const Row& st) {
  Holiday h;
  h.id = st.column_int(0);
  h.name = st.column_text(1);
  h.start = st.column_text(2);
  h.end = st.column_text(3);
  h.type = static_cast<int>(st.column_int(4));
  h.yearly = st.column_int(5) != 0;
  return h;
}

// sn, door, name, settings, updated_at (door_settings).
template <class Row>
DoorSettings read_door_settings(const Row& st) {
  DoorSettings d;
  d.sn = st.column_text(0);
  d.door = static_cast<int>(st.column_int(1));
  d.name = st.column_text(2);
  d.settings = st.column_text(3);
  d.updated_at = st.column_int(4);
  return d;
}

// zone_id, pin, inside, entered_at, exited_at (apb_presence).
template <class Row>
ApbPresence read_presence(const Row& st) {
  return ApbPresence{st.column_int(0), st.column_text(1), st.column_int(2) != 0, st.column_int(3), st.column_int(4)};
}

// ---- audit -------------------------------------------------------------------------------------------

// id, at, actor, role, remote, method, target, operation, status, hash (audit_log).
template <class Row>
AuditEntry read_audit_entry(const Row& st) {
  AuditEntry e;
  e.id = st.column_int(0);
  e.at = st.column_int(1);
  e.actor = st.column_text(2);
  e.role = st.column_text(3);
  e.remote = st.column_text(4);
  e.method = st.column_text(5);
  e.target = st.column_text(6);
  e.operation = st.column_text(7);
  e.status = st.column_int(8);
  e.hash = st.column_text(9);
  return e;
}

// ---- campaigns ---------------------------------------------------------------------------------------

// id, file, size, md5, method, type, url_base, created_by, created_at, cancelled_at (campaigns); the
// targets are read apart.
template <class Row>
Campaign read_campaign(const Row& st) {
  Campaign c;
  c.id = st.column_int(0);
  c.file = st.column_text(1);
  c.size = static_cast<std::uint64_t>(st.column_int(2));
  c.md5 = st.column_text(3);
  c.method = st.column_text(4);
  c.type = st.column_text(5);
  c.url_base = st.column_text(6);
  c.created_by = st.column_text(7);
  c.created_at = st.column_int(8);
  c.cancelled_at = st.column_int(9);
  return c;
}

// ---- commands ----------------------------------------------------------------------------------------

// id, sn, wire_id, line, verb, status, return_code, result, created_at, sent_at, done_at, expires_at,
// attempts, priority (commands).
template <class Row>
CommandRow read_command(const Row& st) {
  CommandRow r;
  r.id = st.column_int(0);
  r.sn = st.column_text(1);
  r.wire_id = st.column_int(2);
  r.line = st.column_text(3);
  r.verb = st.column_text(4);
  r.status = command_status_from(st.column_text(5));
  r.return_code = st.column_opt_int(6);
  r.result = st.column_text(7);
  r.created_at = st.column_int(8);
  r.sent_at = st.column_int(9);
  r.done_at = st.column_int(10);
  r.expires_at = st.column_int(11);
  r.attempts = st.column_int(12);
  r.priority = command_priority_from(st.column_int(13));
  return r;
}

// ---- device data -------------------------------------------------------------------------------------

// id, sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding, length of content
// (device_records).
template <class Row>
DeviceRecord read_device_record(const Row& st) {
  DeviceRecord r;
  r.id = st.column_int(0);
  r.sn = st.column_text(1);
  r.table = st.column_text(2);
  r.key = st.column_text(3);
  r.fields = record_from_json(st.column_text(4));
  r.content = st.column_blob(5);
  r.updated_at = st.column_int(6);
  r.content_field = st.column_text(7);
  r.content_encoding = st.column_text(8);
  r.content_size = st.column_int(9);
  return r;
}

// ---- devices -----------------------------------------------------------------------------------------

// sn, approved, registry_code, session_id, push_version, ip, time_zone, registry (or ''), first_seen,
// last_seen, registered_at, config (devices).
template <class Row>
Device read_device(const Row& st) {
  Device d;
  d.sn = st.column_text(0);
  d.approved = st.column_int(1) != 0;
  d.registry_code = st.column_text(2);
  d.session_id = st.column_text(3);
  d.push_version = st.column_text(4);
  d.ip = st.column_text(5);
  d.time_zone = st.column_text(6);
  const std::string registry = st.column_text(7);
  if (!registry.empty()) d.registry = record_from_json(registry);  // get_row() leaves it out
  d.first_seen = st.column_int(8);
  d.last_seen = st.column_int(9);
  d.registered_at = st.column_int(10);
  d.config = record_from_json(st.column_text(11));
  return d;
}

// sn, master_sn, online, is_authorize, requested, authorize_info, register_info, first_seen, last_seen
// (sub_controllers).
template <class Row>
SubController read_sub_controller(const Row& st) {
  SubController s;
  s.sn = st.column_text(0);
  s.master_sn = st.column_text(1);
  s.online = st.column_int(2) != 0;
  s.is_authorize = static_cast<int>(st.column_int(3));
  s.requested = static_cast<int>(st.column_int(4));
  s.authorize_info = st.column_text(5);
  s.register_info = st.column_text(6);
  s.first_seen = st.column_int(7);
  s.last_seen = st.column_int(8);
  return s;
}

// ---- door state --------------------------------------------------------------------------------------

// sn, time_local, sensor, relay, alarm, received_at, id (door_state with 0 for the id, or
// door_state_history).
template <class Row>
DoorStateUpdate read_door_state(const Row& st) {
  DoorStateUpdate d;
  d.sn = st.column_text(0);
  d.time_local = st.column_text(1);
  d.sensor = st.column_text(2);
  d.relay = st.column_text(3);
  d.alarm = st.column_text(4);
  d.received_at = st.column_int(5);
  d.id = st.column_int(6);
  return d;
}

// ---- events ------------------------------------------------------------------------------------------

// An event's columns, as each backend's events.cpp selects them and read_event reads them.
inline constexpr std::string_view kEventColumns =
    "id, sn, log_index, time_local, time_utc, pin, cardno, event, door, inout, verifytype, alarm_type, raw, source, "
    "received_at";

// The event in columns [at, at + 15) of a row, in the order of kEventColumns.
template <class Row>
EventRow read_event(const Row& st, int at, RawColumn raw) {
  EventRow e;
  e.id = st.column_int(at + 0);
  e.sn = st.column_text(at + 1);
  e.index = st.column_opt_int(at + 2);
  e.time_local = st.column_text(at + 3);
  e.time_utc = st.column_opt_int(at + 4);
  e.pin = st.column_text(at + 5);
  e.cardno = st.column_text(at + 6);
  e.event = st.column_opt_int(at + 7);
  e.door = st.column_opt_int(at + 8);
  e.inout = st.column_opt_int(at + 9);
  e.verifytype = st.column_text(at + 10);
  e.alarm_type = st.column_opt_int(at + 11);
  e.raw = raw == RawColumn::text ? st.column_text(at + 12) : st.column_blob(at + 12);
  e.source = st.column_text(at + 13);
  e.received_at = st.column_int(at + 14);
  return e;
}

// ---- messages ----------------------------------------------------------------------------------------

// The messages with the row each names, then `where` (a WHERE and ORDER BY clause in the backend's
// SQL): m.id, m.kind, m.sn, m.ref, m.body, m.at, the event's columns from 6 (NULL unless an event),
// the door state's sn, time_local, sensor, relay, alarm, received_at from 21 (NULL unless a door
// state). What read_message reads.
std::string select_messages(std::string_view where);

template <class Row>
Message read_message(const Row& st, RawColumn event_raw) {
  Message m;
  m.id = st.column_int(0);
  m.kind = st.column_text(1);
  m.sn = st.column_text(2);
  m.ref = st.column_opt_int(3).value_or(0);
  m.body = st.column_opt_text(4).value_or("");
  m.at = st.column_int(5);
  if (!st.is_null(6)) m.event = read_event(st, 6, event_raw);
  if (!st.is_null(21)) {
    DoorStateUpdate d;
    d.sn = st.column_text(21);
    d.time_local = st.column_text(22);
    d.sensor = st.column_text(23);
    d.relay = st.column_text(24);
    d.alarm = st.column_text(25);
    d.received_at = st.column_int(26);
    d.id = m.ref;
    m.door_state = std::move(d);
  }
  return m;
}

// ---- sync --------------------------------------------------------------------------------------------

// sn, kind, key, desired, applied, sending, state, return_code, error, attempts, retry_at, updated_at,
// batch (sync_items).
template <class Row>
SyncItem read_sync_item(const Row& st) {
  SyncItem i;
  i.id = SyncKey{st.column_text(0), st.column_text(1), st.column_text(2)};
  i.desired = st.column_opt_text(3);
  i.applied = st.column_opt_text(4);
  i.sending = st.column_opt_text(5);
  i.state = sync_state_from(st.column_text(6));
  i.return_code = st.column_opt_int(7);
  i.error = st.column_text(8);
  i.attempts = st.column_int(9);
  i.retry_at = st.column_int(10);
  i.updated_at = st.column_int(11);
  i.batch = st.column_int(12);
  return i;
}

// ---- tokens ------------------------------------------------------------------------------------------

// id, name, role, hash, created_at, revoked_at (api_tokens).
template <class Row>
ApiToken read_token(const Row& st) {
  ApiToken t;
  t.id = st.column_int(0);
  t.name = st.column_text(1);
  t.role = st.column_text(2);
  t.hash = st.column_text(3);
  t.created_at = st.column_int(4);
  t.revoked_at = st.column_int(5);
  return t;
}

// ---- webhooks ----------------------------------------------------------------------------------------

// id, url, secret, kinds, sn, max_attempts, cursor, created_at, delivered, last_status, last_error,
// last_attempt_at, last_success_at, the count of its dead letters (webhooks).
template <class Row>
Webhook read_webhook(const Row& st) {
  Webhook w;
  w.id = st.column_int(0);
  w.url = st.column_text(1);
  w.secret = st.column_text(2);
  w.kinds = st.column_text(3);
  w.sn = st.column_text(4);
  w.max_attempts = st.column_int(5);
  w.cursor = st.column_int(6);
  w.created_at = st.column_int(7);
  w.delivered = st.column_int(8);
  w.last_status = st.column_int(9);
  w.last_error = st.column_text(10);
  w.last_attempt_at = st.column_int(11);
  w.last_success_at = st.column_int(12);
  w.dead_letters = st.column_int(13);
  return w;
}

// id, webhook_id, message_id, attempts, last_status, last_error, failed_at, redeliver
// (webhook_dead_letters).
template <class Row>
DeadLetter read_dead_letter(const Row& st) {
  DeadLetter d;
  d.id = st.column_int(0);
  d.webhook_id = st.column_int(1);
  d.message_id = st.column_int(2);
  d.attempts = st.column_int(3);
  d.last_status = st.column_int(4);
  d.last_error = st.column_text(5);
  d.failed_at = st.column_int(6);
  d.redeliver = st.column_int(7) != 0;
  return d;
}

}  // namespace zkpush::storage::rows
