#include "storage/postgres/events.hpp"

#include <limits>
#include <optional>

#include "protocol/text.hpp"
#include "storage/event_digest.hpp"
#include "storage/result.hpp"

namespace zkpush::storage::postgres::events {

namespace {

// How a listing with a time range finds its page. `scan`: one statement, the planner choosing
// between the id index (walked in the page's order, the range checked on each row) and the time
// index (the range's rows, then sorted by id). `walk`: the first kWalkRows events in id order (of
// the device or person when given), the range checked on each, tried first: a prepared statement
// soon runs a generic plan, costed without the range's bounds, which takes the time index for any
// range; a wide range (a year of events, newest first) would then sort most of the table for one
// page. The walk answers those within kWalkRows rows whatever the plan; the scan is kept for the
// narrow or sparse ranges it could not fill a page from, where the time index is the right plan.
enum class Plan { scan, walk };
constexpr std::int64_t kWalkRows = 1024;

// The filters checked on the rows an index or the walk gives: bound, or NULL in every text (cast:
// nothing else in the text says a NULL's type).
constexpr std::string_view kResidualFilters =
    " AND ($7::text IS NULL OR cardno = $7) AND ($8::bigint IS NULL OR door = $8)"
    " AND ($9::bigint[] IS NULL OR event = ANY($9))"
    " AND ($10::bigint[] IS NULL OR EXISTS (SELECT 1 FROM unnest($10::bigint[], $11::bigint[]) AS r(first, last)"
    " WHERE events.event BETWEEN r.first AND r.last))";

// The listing's SQL for a filter. The columns an index can lead with (sn, pin, time_utc) appear
// only when their filter is given: in a `$N IS NULL OR col = $N` form a generic plan cannot know
// the parameter is bound and scans the table. So do the id bounds: a generic plan costs `id > $1 AND
// id < $2` as a narrow range and combined the whole primary key with the time index for every
// listing (60 ms for a day of 300,000 events, against 2 ms by the time index alone). The other
// filters are in every text (kResidualFilters). So there are at most 128 texts (bounds, device,
// person, time range, order, plan), each prepared once per connection.
//   $1 after_id  $2 before_id  $3 sn  $4 pin  $5 from  $6 to  $7 cardno  $8 door  $9 codes
//   $10, $11 code ranges (their first and last codes)  $12 limit (NULL: none)
// The parameters a text leaves out are bound all the same, typed, as a prepared statement needs.
std::string list_sql(const EventFilter& f, Plan plan) {
  const bool timed = f.from || f.to;
  const std::string order = f.newest_first ? " ORDER BY id DESC" : " ORDER BY id";
  std::string where = " WHERE true";  // the page's bounds, the device's or person's events
  if (f.after_id > 0) where += " AND id > $1";  // ids start at 1: a bound below is none
  if (f.before_id > 0) where += " AND id < $2";
  if (!f.sn.empty()) where += " AND sn = $3";
  if (!f.pin.empty()) where += " AND pin = $4";
  const std::string columns = "SELECT " + std::string(rows::kEventColumns);
  std::string sql;
  if (plan == Plan::walk) {
    // Aliased `events`, so that kResidualFilters reads the walked rows.
    sql = columns + " FROM (SELECT * FROM events" + where + order + " LIMIT " + std::to_string(kWalkRows) +
          ") AS events WHERE time_utc >= $5 AND time_utc < $6";
  } else {
    sql = columns + " FROM events" + where;
    if (timed) sql += " AND time_utc >= $5 AND time_utc < $6";
  }
  return sql + std::string(kResidualFilters) + order + " LIMIT $12";
}

std::optional<std::vector<std::int64_t>> unless_empty(const std::vector<std::int64_t>& codes) {
  return codes.empty() ? std::nullopt : std::optional(codes);
}

std::optional<std::string> unless_empty(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional(text);
}

// A nullable integer as an element of a text[] ('' for NULL): bigint[] has no room for a NULL in
// what the connection binds.
std::string nullable(const std::optional<std::int64_t>& value) { return value ? std::to_string(*value) : ""; }

}  // namespace

InsertCounts insert(Connection& c, const std::vector<NewEvent>& events) {
  // The ingest path: one statement per batch, the events as parallel arrays, inserted in their order
  // (WITH ORDINALITY: ids follow the batch). DO NOTHING on any uniqueness conflict (index+time, or
  // digest when there is no index): a re-sent record is not inserted, also when it repeats a record
  // earlier in the same batch (the statement sees its own inserted rows), and every event not
  // inserted is a duplicate. Nullable integers travel as text ('' for NULL), digests and the raw
  // record (bytea) as hex.
  for (const auto& e : events) {
    if (e.sn.empty()) throw Refused(StoreError::Reason::invalid, "an event needs the device's serial number");
  }
  InsertCounts counts;
  if (events.empty()) return counts;
  const std::size_t n = events.size();
  std::vector<std::string> sn, index, digest, time_local, time_utc, pin, cardno, event, door, inout, verifytype,
      alarm_type, raw, source;
  std::vector<std::int64_t> received_at;
  for (auto* column : {&sn, &index, &digest, &time_local, &time_utc, &pin, &cardno, &event, &door, &inout, &verifytype,
                       &alarm_type, &raw, &source})
    column->reserve(n);
  received_at.reserve(n);
  for (const auto& e : events) {
    sn.push_back(as_text(e.sn));
    index.push_back(nullable(e.index));
    digest.push_back(e.index ? "" : to_hex(event_digest(e)));
    time_local.push_back(as_text(e.time_local));
    time_utc.push_back(nullable(e.time_utc));
    pin.push_back(as_text(e.pin));
    cardno.push_back(as_text(e.cardno));
    event.push_back(nullable(e.event));
    door.push_back(nullable(e.door));
    inout.push_back(nullable(e.inout));
    verifytype.push_back(as_text(e.verifytype));
    alarm_type.push_back(nullable(e.alarm_type));
    raw.push_back(to_hex(e.raw));
    source.push_back(as_text(e.source));
    received_at.push_back(e.received_at);
  }
  auto st = c.prepare(
      "INSERT INTO events (sn, log_index, record_hash, time_local, time_utc, pin, cardno, event, door, inout, "
      "verifytype, alarm_type, raw, source, received_at) "
      "SELECT sn, NULLIF(log_index, '')::bigint, decode(NULLIF(record_hash, ''), 'hex'), time_local, "
      "NULLIF(time_utc, '')::bigint, pin, cardno, NULLIF(event, '')::bigint, NULLIF(door, '')::bigint, "
      "NULLIF(inout, '')::bigint, verifytype, NULLIF(alarm_type, '')::bigint, decode(raw, 'hex'), source, received_at "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
      "$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bigint[]) WITH ORDINALITY "
      "AS e(sn, log_index, record_hash, time_local, time_utc, pin, cardno, event, door, inout, verifytype, "
      "alarm_type, raw, source, received_at, n) "
      "ORDER BY n ON CONFLICT DO NOTHING");
  st.bind(1, sn).bind(2, index).bind(3, digest).bind(4, time_local).bind(5, time_utc).bind(6, pin).bind(7, cardno);
  st.bind(8, event).bind(9, door).bind(10, inout).bind(11, verifytype).bind(12, alarm_type).bind(13, raw);
  st.bind(14, source).bind(15, received_at);
  counts.inserted = st.changes();
  counts.duplicates = static_cast<std::int64_t>(n) - counts.inserted;
  return counts;
}

namespace {

std::vector<EventRow> list_by(Connection& c, const EventFilter& filter, Plan plan) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> firsts;
  std::vector<std::int64_t> lasts;
  for (const auto& r : filter.classes) {
    firsts.push_back(r.first);
    lasts.push_back(r.last);
  }
  auto st = c.prepare(list_sql(filter, plan));
  st.bind(1, filter.after_id)
      .bind(2, filter.before_id > 0 ? filter.before_id : kMax)
      .bind(3, as_text(filter.sn))
      .bind(4, as_text(filter.pin))
      .bind(5, filter.from.value_or(kMin))
      .bind(6, filter.to.value_or(kMax))
      .bind(7, unless_empty(as_text(filter.cardno)))
      .bind(8, filter.door)
      .bind(9, unless_empty(filter.events))
      .bind(10, unless_empty(firsts))
      .bind(11, unless_empty(lasts))
      .bind(12, filter.limit > 0 ? std::optional(filter.limit) : std::nullopt);  // NULL: no limit
  std::vector<EventRow> out;
  while (st.step()) out.push_back(rows::read_event(st, 0, kEventRaw));
  return out;
}

}  // namespace

std::vector<EventRow> list(Connection& c, const EventFilter& filter) {
  // A page the walk fills is the answer: every event before its last one in id order was checked.
  // Short of that, the events it did not reach may hold the rest, and the scan decides.
  if ((filter.from || filter.to) && filter.limit > 0) {
    auto page = list_by(c, filter, Plan::walk);
    if (static_cast<std::int64_t>(page.size()) == filter.limit) return page;
  }
  return list_by(c, filter, Plan::scan);
}

std::int64_t last_id(Connection& c) {
  auto st = c.prepare("SELECT coalesce(max(id), 0) FROM events");
  st.step();
  return st.column_int(0);
}

std::int64_t count(Connection& c, const std::string& sn) {
  auto st = c.prepare(sn.empty() ? "SELECT count(*) FROM events" : "SELECT count(*) FROM events WHERE sn = $1");
  if (!sn.empty()) st.bind(1, as_text(sn));
  st.step();
  return st.column_int(0);
}

std::vector<EventHourCount> hourly_counts(Connection& c, const std::string& sn, std::int64_t from, std::int64_t to) {
  // The time range from events_by_time, or events_by_device_time with a device (sn named only then:
  // `$3 IS NULL OR sn = $3` would hide the column from a generic plan); the rows counted, never sent.
  // Events without a code first, as the contract (and SQLite, where NULL sorts first) has it.
  const std::string_view tail = " GROUP BY hour, event ORDER BY hour, event NULLS FIRST";
  auto st = c.prepare(std::string("SELECT time_utc - time_utc % 3600 AS hour, event, count(*) FROM events "
                                  "WHERE time_utc >= $1 AND time_utc < $2") +
                      (sn.empty() ? "" : " AND sn = $3") + std::string(tail));
  st.bind(1, from).bind(2, to);
  if (!sn.empty()) st.bind(3, as_text(sn));
  std::vector<EventHourCount> out;
  while (st.step()) out.push_back(EventHourCount{st.column_int(0), st.column_opt_int(1), st.column_int(2)});
  return out;
}

std::int64_t prune(Connection& c, std::int64_t received_before, std::int64_t max_rows) {
  // The run of oldest events received before the cut-off, walked by id: at most max_rows rows read
  // (a negative max_rows: no limit, as SQLite's LIMIT -1), deleted by the same statement.
  auto st = c.prepare(
      "WITH head AS (SELECT id, received_at FROM events ORDER BY id LIMIT $1) "
      "DELETE FROM events WHERE id <= (SELECT max(id) FROM head WHERE id < "
      "(SELECT coalesce(min(id), 9223372036854775807) FROM head WHERE received_at >= $2))");
  st.bind(1, max_rows >= 0 ? std::optional(max_rows) : std::nullopt).bind(2, received_before);
  return st.changes();
}

}  // namespace zkpush::storage::postgres::events
