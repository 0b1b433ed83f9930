#include "storage/postgres/device_data.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "protocol/text.hpp"
#include "storage/record_json.hpp"
#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres::device_data {

namespace {

// A statement per combination of filters rather than "($1 = '' OR sn = $1)", which would keep a
// generic plan from using the indexes: only the conditions given are in the text (each text is
// prepared once per connection). The parameters a text leaves out are still bound with their types,
// as a prepared statement needs.
std::string where_of(std::initializer_list<std::pair<bool, std::string_view>> conditions) {
  std::string out;
  for (const auto& [given, condition] : conditions)
    if (given) out.append(out.empty() ? " WHERE " : " AND ").append(condition);
  return out;
}

std::optional<std::int64_t> sql_limit(std::int64_t limit) {  // NULL: no limit
  return limit > 0 ? std::optional(limit) : std::nullopt;
}

// The columns rows::read_device_record reads; a listing may leave the content out and still learn its size.
std::string select_records(bool content) {
  return std::string("SELECT id, sn, tbl, rkey, fields, ") + (content ? "content" : "''::bytea") +
         ", updated_at, content_field, content_encoding, octet_length(content) FROM device_records";
}

}  // namespace

InsertCounts put_records(Connection& c, const std::vector<DeviceRecord>& records) {
  for (const auto& r : records) {
    if (r.sn.empty() || r.table.empty())
      throw Refused(StoreError::Reason::invalid, "a device record needs a serial number and a table");
  }
  // A device uploads its users, templates and photos by the thousand: one statement per run of
  // records, as parallel arrays (content as hex: the connection binds no bytea[]). The WHERE of DO
  // UPDATE leaves an identical re-upload untouched (not counted in changes()): it counts as a
  // duplicate and keeps its updated_at. One statement may not update a row twice, so a key seen
  // again in the upload starts the next run: it then meets the earlier record as stored, as it would
  // one record at a time.
  auto st = c.prepare(
      "INSERT INTO device_records (sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding) "
      "SELECT sn, tbl, rkey, fields, decode(content, 'hex'), updated_at, content_field, content_encoding "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) "
      "WITH ORDINALITY AS r(sn, tbl, rkey, fields, content, updated_at, content_field, content_encoding, n) "
      "ORDER BY n "
      "ON CONFLICT (sn, tbl, rkey) DO UPDATE SET fields = excluded.fields, content = excluded.content, "
      "updated_at = excluded.updated_at, content_field = excluded.content_field, "
      "content_encoding = excluded.content_encoding "
      "WHERE device_records.fields IS DISTINCT FROM excluded.fields "
      "OR device_records.content IS DISTINCT FROM excluded.content "
      "OR device_records.content_field IS DISTINCT FROM excluded.content_field "
      "OR device_records.content_encoding IS DISTINCT FROM excluded.content_encoding");
  InsertCounts counts;
  std::vector<std::string> sn, table, key, fields, content, field, encoding;
  std::vector<std::int64_t> updated_at;
  std::set<std::tuple<std::string, std::string, std::string>> run_keys;
  auto flush = [&] {
    if (sn.empty()) return;
    st.bind(1, sn).bind(2, table).bind(3, key).bind(4, fields).bind(5, content).bind(6, updated_at);
    st.bind(7, field).bind(8, encoding);
    const auto written = st.changes();
    counts.inserted += written;
    counts.duplicates += static_cast<std::int64_t>(sn.size()) - written;
    for (auto* column : {&sn, &table, &key, &fields, &content, &field, &encoding}) column->clear();
    updated_at.clear();
    run_keys.clear();
  };
  for (const auto& r : records) {
    auto k = std::make_tuple(as_text(r.sn), as_text(r.table), as_text(r.key));
    if (run_keys.count(k)) flush();
    sn.push_back(std::get<0>(k));
    table.push_back(std::get<1>(k));
    key.push_back(std::get<2>(k));
    run_keys.insert(std::move(k));
    fields.push_back(record_to_json(r.fields));
    content.push_back(to_hex(r.content));
    updated_at.push_back(r.updated_at);
    field.push_back(as_text(r.content_field));
    encoding.push_back(as_text(r.content_encoding));
  }
  flush();
  return counts;
}

std::vector<DeviceRecord> list_records(Connection& c, const std::string& sn, const std::string& table,
                                       std::int64_t limit) {
  auto st = c.prepare(select_records(true) + where_of({{!sn.empty(), "sn = $1"}, {!table.empty(), "tbl = $2"}}) +
                      " ORDER BY sn, tbl, rkey LIMIT $3");
  st.bind(1, as_text(sn)).bind(2, as_text(table)).bind(3, sql_limit(limit));
  std::vector<DeviceRecord> out;
  while (st.step()) out.push_back(rows::read_device_record(st));
  return out;
}

std::vector<DeviceRecord> record_page(Connection& c, const DeviceRecordFilter& f) {
  auto st = c.prepare(select_records(f.content) +
                      where_of({{!f.sn.empty(), "sn = $1"},
                                {!f.table.empty(), "lower(tbl) = $2"},
                                {!f.key.empty(), "rkey = $3"},
                                {true, "id > $4"}}) +
                      " ORDER BY id LIMIT $5");
  // The table without case (ASCII, as SQLite's NOCASE): firmware spells it either way.
  st.bind(1, as_text(f.sn)).bind(2, protocol::text::to_lower(as_text(f.table))).bind(3, as_text(f.key));
  st.bind(4, f.after_id);
  st.bind(5, sql_limit(f.limit));
  std::vector<DeviceRecord> out;
  while (st.step()) out.push_back(rows::read_device_record(st));
  return out;
}

std::optional<DeviceRecord> record(Connection& c, std::int64_t id) {
  auto st = c.prepare(select_records(true) + " WHERE id = $1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::read_device_record(st);
}

void append_log(Connection& c, const std::vector<DeviceLogEntry>& entries) {
  for (const auto& e : entries) {
    if (e.sn.empty() || e.kind.empty())
      throw Refused(StoreError::Reason::invalid, "a device log entry needs a serial number and a kind");
  }
  if (entries.empty()) return;
  // One statement for the upload, the entries in their order (ids follow it); data (bytea) as hex.
  std::vector<std::string> sn, kind, data;
  std::vector<std::int64_t> received_at;
  for (const auto& e : entries) {
    sn.push_back(as_text(e.sn));
    kind.push_back(as_text(e.kind));
    data.push_back(to_hex(e.data));
    received_at.push_back(e.received_at);
  }
  auto st = c.prepare(
      "INSERT INTO device_log (sn, kind, data, received_at) SELECT sn, kind, decode(data, 'hex'), received_at "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS e(sn, kind, data, received_at, n) "
      "ORDER BY n");
  st.bind(1, sn).bind(2, kind).bind(3, data).bind(4, received_at);
  st.run();
}

std::vector<DeviceLogEntry> log_page(Connection& c, const DeviceLogFilter& f) {
  auto st = c.prepare("SELECT id, sn, kind, data, received_at FROM device_log" +
                      where_of({{!f.sn.empty(), "sn = $1"}, {!f.kind.empty(), "kind = $2"}, {true, "id < $3"}}) +
                      " ORDER BY id DESC LIMIT $4");
  st.bind(1, as_text(f.sn)).bind(2, as_text(f.kind));
  st.bind(3, f.before_id > 0 ? f.before_id : std::numeric_limits<std::int64_t>::max()).bind(4, sql_limit(f.limit));
  std::vector<DeviceLogEntry> out;
  while (st.step()) {
    DeviceLogEntry e;
    e.id = st.column_int(0);
    e.sn = st.column_text(1);
    e.kind = st.column_text(2);
    e.data = st.column_blob(3);
    e.received_at = st.column_int(4);
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

}  // namespace zkpush::storage::postgres::device_data
