#include "storage/sqlite/events.hpp"

#include "storage/event_digest.hpp"
#include "storage/result.hpp"

namespace zkpush::storage::sqlite::events {

namespace {

#define ZKPUSH_EVENT_COLUMNS                                                                                     \
  "id, sn, log_index, time_local, time_utc, pin, cardno, event, door, inout, verifytype, alarm_type, raw, source, " \
  "received_at"

constexpr std::string_view kListAll =
    "SELECT " ZKPUSH_EVENT_COLUMNS " FROM events WHERE id > ?1 ORDER BY id LIMIT ?2";
constexpr std::string_view kListDevice =
    "SELECT " ZKPUSH_EVENT_COLUMNS " FROM events WHERE sn = ?3 AND id > ?1 ORDER BY id LIMIT ?2";
#undef ZKPUSH_EVENT_COLUMNS

}  // namespace

EventRow read_row(const Statement& st, int at) {
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
  e.raw = st.column_text(at + 12);
  e.source = st.column_text(at + 13);
  e.received_at = st.column_int(at + 14);
  return e;
}

InsertCounts insert(Connection& c, const std::vector<NewEvent>& events) {
  // DO NOTHING on any uniqueness conflict (index+time, or digest when there is no index): a re-sent
  // record is counted as a duplicate, also within one batch.
  auto st = c.prepare(
      "INSERT INTO events (sn, log_index, record_hash, time_local, time_utc, pin, cardno, event, door, inout, "
      "verifytype, alarm_type, raw, source, received_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING");
  InsertCounts counts;
  for (const auto& e : events) {
    if (e.sn.empty()) throw Refused(StoreError::Reason::invalid, "an event needs the device's serial number");
    st->bind(1, e.sn).bind(2, e.index);
    if (e.index)
      st->bind_null(3);
    else
      st->bind_blob(3, event_digest(e));
    st->bind(4, e.time_local)
        .bind(5, e.time_utc)
        .bind(6, e.pin)
        .bind(7, e.cardno)
        .bind(8, e.event)
        .bind(9, e.door)
        .bind(10, e.inout)
        .bind(11, e.verifytype)
        .bind(12, e.alarm_type)
        .bind(13, e.raw)
        .bind(14, e.source)
        .bind(15, e.received_at);
    st->run();
    if (c.db().changes() > 0)
      ++counts.inserted;
    else
      ++counts.duplicates;
  }
  return counts;
}

std::vector<EventRow> list(Connection& c, const EventFilter& filter) {
  auto st = c.prepare(filter.sn.empty() ? kListAll : kListDevice);
  st->bind(1, filter.after_id).bind(2, filter.limit > 0 ? filter.limit : std::int64_t{-1});  // -1: no limit
  if (!filter.sn.empty()) st->bind(3, filter.sn);
  std::vector<EventRow> out;
  while (st->step()) out.push_back(read_row(*st, 0));
  return out;
}

std::int64_t last_id(Connection& c) {
  auto st = c.prepare("SELECT coalesce(max(id), 0) FROM events");
  st->step();
  return st->column_int(0);
}

std::int64_t count(Connection& c, const std::string& sn) {
  auto st = c.prepare(sn.empty() ? "SELECT count(*) FROM events" : "SELECT count(*) FROM events WHERE sn = ?1");
  if (!sn.empty()) st->bind(1, sn);
  st->step();
  return st->column_int(0);
}

}  // namespace zkpush::storage::sqlite::events
