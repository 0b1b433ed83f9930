#include "storage/sqlite/device_data.hpp"

#include "storage/record_json.hpp"
#include "storage/result.hpp"

namespace zkpush::storage::sqlite::device_data {

namespace {

// One statement per combination of filters rather than "(?1 = '' OR sn = ?1)", which would keep
// SQLite from using the indexes.
constexpr std::string_view kRecords[4] = {
    "SELECT sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding FROM device_records "
    "ORDER BY sn, tbl, rkey LIMIT ?3",
    "SELECT sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding FROM device_records WHERE sn = ?1 "
    "ORDER BY sn, tbl, rkey LIMIT ?3",
    "SELECT sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding FROM device_records WHERE tbl = ?2 "
    "ORDER BY sn, tbl, rkey LIMIT ?3",
    "SELECT sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding FROM device_records WHERE sn = ?1 AND tbl = ?2 "
    "ORDER BY sn, tbl, rkey LIMIT ?3",
};

constexpr std::string_view kLog[4] = {
    "SELECT id, sn, kind, data, received_at FROM (SELECT * FROM device_log "
    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
    "SELECT id, sn, kind, data, received_at FROM (SELECT * FROM device_log WHERE sn = ?1 "
    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
    "SELECT id, sn, kind, data, received_at FROM (SELECT * FROM device_log WHERE kind = ?2 "
    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
    "SELECT id, sn, kind, data, received_at FROM (SELECT * FROM device_log WHERE sn = ?1 AND kind = ?2 "
    "ORDER BY id DESC LIMIT ?3) ORDER BY id",
};

std::size_t variant(const std::string& a, const std::string& b) { return (a.empty() ? 0 : 1) + (b.empty() ? 0 : 2); }

void bind_filters(Statement& st, const std::string& a, const std::string& b, std::int64_t limit) {
  if (!a.empty()) st.bind(1, a);
  if (!b.empty()) st.bind(2, b);
  st.bind(3, limit > 0 ? limit : std::int64_t{-1});
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
  auto st = c.prepare(kRecords[variant(sn, table)]);
  bind_filters(*st, sn, table, limit);
  std::vector<DeviceRecord> out;
  while (st->step()) {
    DeviceRecord r;
    r.sn = st->column_text(0);
    r.table = st->column_text(1);
    r.key = st->column_text(2);
    r.fields = record_from_json(st->column_text(3));
    r.content = st->column_blob(4);
    r.updated_at = st->column_int(5);
    r.content_field = st->column_text(6);
    r.content_encoding = st->column_text(7);
    out.push_back(std::move(r));
  }
  return out;
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

std::vector<DeviceLogEntry> list_log(Connection& c, const std::string& sn, const std::string& kind,
                                     std::int64_t limit) {
  auto st = c.prepare(kLog[variant(sn, kind)]);
  bind_filters(*st, sn, kind, limit);
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

}  // namespace zkpush::storage::sqlite::device_data
