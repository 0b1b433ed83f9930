#include "storage/sqlite/device_data.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "storage/record_json.hpp"
#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::sqlite::device_data {

namespace {

// A statement per combination of filters rather than "(?1 = '' OR sn = ?1)", which would keep
// SQLite from using the indexes: only the conditions given are in the text (each text is prepared
// once per connection). Every statement names its highest parameter, so binding the unused lower
// ones is harmless.
std::string where_of(std::initializer_list<std::pair<bool, std::string_view>> conditions) {
  std::string out;
  for (const auto& [given, condition] : conditions)
    if (given) out.append(out.empty() ? " WHERE " : " AND ").append(condition);
  return out;
}

std::int64_t sql_limit(std::int64_t limit) { return limit > 0 ? limit : -1; }

// The columns rows::read_device_record reads; a listing may leave the content out and still learn its size.
std::string select_records(bool content) {
  return std::string("SELECT id, sn, tbl, rkey, fields, ") + (content ? "content" : "X''") +
         ", updated_at, content_field, content_encoding, length(content) FROM device_records";
}

}  // namespace

InsertCounts put_records(Connection& c, const std::vector<DeviceRecord>& records) {
  // The WHERE of DO UPDATE leaves an identical re-upload untouched (changes() == 0): it counts as a
  // duplicate and keeps its updated_at.
  auto st = c.prepare(
      "INSERT INTO device_records (sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (sn, tbl, rkey) DO UPDATE SET fields = excluded.fields, content = excluded.content, "
      "updated_at = excluded.updated_at, content_field = excluded.content_field, "
      "content_encoding = excluded.content_encoding "
      "WHERE fields IS NOT excluded.fields OR content IS NOT excluded.content "
      "OR content_field IS NOT excluded.content_field OR content_encoding IS NOT excluded.content_encoding");
  InsertCounts counts;
  for (const auto& r : records) {
    if (r.sn.empty() || r.table.empty())
      throw Refused(StoreError::Reason::invalid, "a device record needs a serial number and a table");
    st->bind(1, r.sn).bind(2, r.table).bind(3, r.key).bind(4, record_to_json(r.fields));
    st->bind_blob(5, r.content).bind(6, r.updated_at).bind(7, r.content_field).bind(8, r.content_encoding);
    st->run();
    if (c.db().changes() > 0)
      ++counts.inserted;
    else
      ++counts.duplicates;
  }
  return counts;
}

std::vector<DeviceRecord> list_records(Connection& c, const std::string& sn, const std::string& table,
                                       std::int64_t limit) {
  auto st = c.prepare(select_records(true) + where_of({{!sn.empty(), "sn = ?1"}, {!table.empty(), "tbl = ?2"}}) +
                      " ORDER BY sn, tbl, rkey LIMIT ?3");
  st->bind(1, sn).bind(2, table).bind(3, sql_limit(limit));
  std::vector<DeviceRecord> out;
  while (st->step()) out.push_back(rows::read_device_record(*st));
  return out;
}

std::vector<DeviceRecord> record_page(Connection& c, const DeviceRecordFilter& f) {
  auto st = c.prepare(select_records(f.content) +
                      where_of({{!f.sn.empty(), "sn = ?1"},
                                {!f.table.empty(), "tbl = ?2 COLLATE NOCASE"},
                                {!f.key.empty(), "rkey = ?3"},
                                {true, "id > ?4"}}) +
                      " ORDER BY id LIMIT ?5");
  st->bind(1, f.sn).bind(2, f.table).bind(3, f.key).bind(4, f.after_id).bind(5, sql_limit(f.limit));
  std::vector<DeviceRecord> out;
  while (st->step()) out.push_back(rows::read_device_record(*st));
  return out;
}

std::optional<DeviceRecord> record(Connection& c, std::int64_t id) {
  auto st = c.prepare(select_records(true) + " WHERE id = ?1");
  st->bind(1, id);
  if (!st->step()) return std::nullopt;
  return rows::read_device_record(*st);
}

void append_log(Connection& c, const std::vector<DeviceLogEntry>& entries) {
  auto st = c.prepare("INSERT INTO device_log (sn, kind, data, received_at) VALUES (?1, ?2, ?3, ?4)");
  for (const auto& e : entries) {
    if (e.sn.empty() || e.kind.empty())
      throw Refused(StoreError::Reason::invalid, "a device log entry needs a serial number and a kind");
    st->bind(1, e.sn).bind(2, e.kind).bind(3, e.data).bind(4, e.received_at);
    st->run();
  }
}

std::vector<DeviceLogEntry> log_page(Connection& c, const DeviceLogFilter& f) {
  auto st = c.prepare("SELECT id, sn, kind, data, received_at FROM device_log" +
                      where_of({{!f.sn.empty(), "sn = ?1"}, {!f.kind.empty(), "kind = ?2"}, {true, "id < ?3"}}) +
                      " ORDER BY id DESC LIMIT ?4");
  st->bind(1, f.sn).bind(2, f.kind);
  st->bind(3, f.before_id > 0 ? f.before_id : std::numeric_limits<std::int64_t>::max()).bind(4, sql_limit(f.limit));
  std::vector<DeviceLogEntry> out;
  while (st->step()) {
    DeviceLogEntry e;
    e.id = st->column_int(0);
    e.sn = st->column_text(1);
    e.kind = st->column_text(2);
    e.data = st->column_text(3);
    e.received_at = st->column_int(4);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<DeviceLogEntry> list_log(Connection& c, const std::string& sn, const std::string& kind,
                                     std::int64_t limit) {
  auto latest = log_page(c, DeviceLogFilter{sn, kind, 0, limit});
  std::reverse(latest.begin(), latest.end());
  return latest;
}

}  // namespace zkpush::storage::sqlite::device_data
