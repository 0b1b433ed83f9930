#include "storage/sqlite/events.hpp"

#include <limits>
#include <optional>

#include "storage/event_digest.hpp"
#include "storage/result.hpp"

namespace zkpush::storage::sqlite::events {

namespace {

// How a listing with a time range finds its page. `index`: the range's ids from events_by_time (or
// the device's or person's index), sorted by id. `walk`: the first kWalkRows events in id order (of
// the device or person when given), the range checked on each: a page at once when the range holds
// many of them (a year of 1,000,000 events newest first: 210 ms by the index, make bench), and
// the answer only when it fills the page (list()).
enum class Plan { index, walk };
constexpr std::int64_t kWalkRows = 1024;

// The filters checked on the rows an index or the walk gives: bound, or NULL in every text.
constexpr std::string_view kResidualFilters =
    " AND (?7 IS NULL OR cardno = ?7) AND (?8 IS NULL OR door = ?8)"
    " AND (?9 IS NULL OR event IN (SELECT value FROM json_each(?9)))"
    " AND (?10 IS NULL OR EXISTS (SELECT 1 FROM json_each(?10) AS r"
    " WHERE events.event BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')))";

// The listing's SQL for a filter. The columns an index can lead with (sn, pin, time_utc) appear
// only when their filter is given: in a `?N IS NULL OR col = ?N` form the planner cannot know the
// parameter is bound and scans the table. The other filters are in every text (kResidualFilters).
// So there are at most 24 texts (device, person, time range, order, plan), each prepared once per
// connection (statements are cached by text).
//
// The page's ids are chosen first (from an index alone: SQLite reads a row only for a filter that
// is bound), then their rows read: a time range sorted by id sorts ids, not whole rows (30 days
// newest first: 104 ms -> 18 ms). With a time range the id bounds of the index plan are written
// `+id`, which no index can use: as plain bounds they made SQLite walk the whole table by rowid
// checking every row's time (38 ms for one day of 1,000,000 events) instead of using events_by_time.
//   ?1 after_id  ?2 before_id  ?3 sn  ?4 pin  ?5 from  ?6 to  ?7 cardno  ?8 door
//   ?9 codes (a JSON array)  ?10 code ranges (a JSON array of [first, last])  ?11 limit
std::string list_sql(const EventFilter& f, Plan plan) {
  const bool timed = f.from || f.to;
  const std::string order = f.newest_first ? " ORDER BY id DESC" : " ORDER BY id";
  std::string scope;  // the device's or person's events
  if (!f.sn.empty()) scope += " AND sn = ?3";
  if (!f.pin.empty()) scope += " AND pin = ?4";
  std::string ids;
  if (plan == Plan::walk) {
    // Aliased `events`, so that kResidualFilters reads the walked rows.
    ids = "SELECT id FROM (SELECT id, time_utc, cardno, door, event FROM events WHERE id > ?1 AND id < ?2" + scope +
          order + " LIMIT " + std::to_string(kWalkRows) + ") AS events WHERE time_utc >= ?5 AND time_utc < ?6";
  } else if (timed) {
    ids = "SELECT id FROM events WHERE +id > ?1 AND +id < ?2 AND time_utc >= ?5 AND time_utc < ?6" + scope;
  } else {
    ids = "SELECT id FROM events WHERE id > ?1 AND id < ?2" + scope;
  }
  ids += kResidualFilters;
  return "SELECT " + std::string(rows::kEventColumns) + " FROM events WHERE id IN (" + ids + order + " LIMIT ?11)" + order;
}

std::optional<std::string> codes_json(const std::vector<std::int64_t>& codes) {
  if (codes.empty()) return std::nullopt;
  std::string out = "[";
  for (auto code : codes) out += (out.size() > 1 ? "," : "") + std::to_string(code);
  return out + "]";
}

std::optional<std::string> ranges_json(const std::vector<protocol::EventCodeRange>& ranges) {
  if (ranges.empty()) return std::nullopt;
  std::string out = "[";
  for (const auto& r : ranges)
    out += (out.size() > 1 ? ",[" : "[") + std::to_string(r.first) + "," + std::to_string(r.last) + "]";
  return out + "]";
}

std::optional<std::string> unless_empty(const std::string& text) {
  return text.empty() ? std::nullopt : std::optional(text);
}

}  // namespace

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

namespace {

std::vector<EventRow> list_by(Connection& c, const EventFilter& filter, Plan plan) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  auto st = c.prepare(list_sql(filter, plan));
  st->bind(1, filter.after_id)
      .bind(2, filter.before_id > 0 ? filter.before_id : kMax)
      .bind(3, filter.sn)
      .bind(4, filter.pin)
      .bind(5, filter.from.value_or(kMin))
      .bind(6, filter.to.value_or(kMax))
      .bind(7, unless_empty(filter.cardno))
      .bind(8, filter.door)
      .bind(9, codes_json(filter.events))
      .bind(10, ranges_json(filter.classes))
      .bind(11, filter.limit > 0 ? filter.limit : std::int64_t{-1});  // -1: no limit
  std::vector<EventRow> out;
  while (st->step()) out.push_back(rows::read_event(*st, 0, kEventRaw));
  return out;
}

}  // namespace

std::vector<EventRow> list(Connection& c, const EventFilter& filter) {
  // A page the walk fills is the answer: every event before its last one in id order was checked.
  // Short of that, the events it did not reach may hold the rest, and the index decides.
  if ((filter.from || filter.to) && filter.limit > 0) {
    auto page = list_by(c, filter, Plan::walk);
    if (static_cast<std::int64_t>(page.size()) == filter.limit) return page;
  }
  return list_by(c, filter, Plan::index);
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

std::vector<EventHourCount> hourly_counts(Connection& c, const std::string& sn, std::int64_t from, std::int64_t to) {
  // The time range from events_by_time, or events_by_device_time with a device (sn named only then:
  // `?3 IS NULL OR sn = ?3` would hide the column from the planner); the counts in a temporary
  // b-tree of (hour, code), as many rows as hours times codes seen.
  const std::string_view tail = " GROUP BY hour, event ORDER BY hour, event";
  auto st = c.prepare(std::string("SELECT time_utc - time_utc % 3600 AS hour, event, count(*) FROM events "
                                  "WHERE time_utc >= ?1 AND time_utc < ?2") +
                      (sn.empty() ? "" : " AND sn = ?3") + std::string(tail));
  st->bind(1, from).bind(2, to);
  if (!sn.empty()) st->bind(3, sn);
  std::vector<EventHourCount> out;
  while (st->step()) out.push_back(EventHourCount{st->column_int(0), st->column_opt_int(1), st->column_int(2)});
  return out;
}

std::int64_t prune(Connection& c, std::int64_t received_before, std::int64_t max_rows) {
  // The run of oldest events received before the cut-off, walked by id: at most max_rows rows read.
  std::int64_t last = 0;
  {
    auto st = c.prepare("SELECT id, received_at FROM events ORDER BY id LIMIT ?1");
    st->bind(1, max_rows);
    while (st->step() && st->column_int(1) < received_before) last = st->column_int(0);
  }
  if (last == 0) return 0;
  auto st = c.prepare("DELETE FROM events WHERE id <= ?1");
  st->bind(1, last);
  st->run();
  return c.db().changes();
}

}  // namespace zkpush::storage::sqlite::events
