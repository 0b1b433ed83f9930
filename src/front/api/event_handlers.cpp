// GET /api/v1/events (JSON, a page at a time) and GET /api/v1/events.csv (a streamed export): the
// same filters (docs/serve.md "Events"), read by event_query() into the store's EventFilter.
//
// Paging is by id, the only order that new events cannot disturb: oldest first after `after_id`, or
// newest first below `before_id` (order=desc). A full JSON page carries `Link: <...>; rel="next"`,
// the same query with the cursor moved past its last event. The CSV export streams up to its limit
// in pages of kCsvPage rows, each read once the previous one has been handed to the socket, so an
// export of 100,000 rows holds one page in memory.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

struct EventLimits {
  std::int64_t fallback;  // when the query has no limit
  std::int64_t most;      // a larger limit gives this many
};
constexpr EventLimits kJsonEventLimits{100, 1000};
constexpr EventLimits kCsvEventLimits{10'000, 100'000};
constexpr std::int64_t kCsvPage = 1000;

// The CSV's columns, in order: the event's JSON keys (event_json), `time_local` left out (= time).
constexpr std::string_view kCsvColumns[] = {
    "id",         "sn",          "time",  "time_utc", "pin",        "person_name", "cardno",
    "event",      "event_name",  "event_class", "door", "inout",    "verifytype",  "verify_name",
    "index",      "alarm_type",  "source", "received_at"};

// A parameter's value; an empty one counts as absent (the documented templates leave them empty).
std::optional<std::string> param(const p::Record& query, std::string_view name) {
  auto v = query.get(name);
  if (!v || p::text::trim(*v).empty()) return std::nullopt;
  return std::string(p::text::trim(*v));
}

std::optional<std::int64_t> whole_number(const std::string& text, std::int64_t least) {
  auto n = p::text::parse_int(text);
  if (!n || *n < least || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return n;
}

// from / to: Unix seconds, or a UTC time "YYYY-MM-DD HH:MM:SS" ('T' for the space, an optional
// 'Z'), or a UTC date (its midnight).
std::optional<std::int64_t> instant(std::string text) {
  if (text.find_first_not_of("0123456789") == std::string::npos) return whole_number(text, 0);
  if (text.back() == 'Z' || text.back() == 'z') text.pop_back();
  if (text.size() == 10) text += " 00:00:00";
  auto civil = p::parse_datetime(text);
  if (!civil) return std::nullopt;
  auto unix = p::unix_from_civil(*civil);
  return unix ? std::optional(*unix) : std::nullopt;
}

std::string class_names() {
  std::string out;
  for (const auto& c : p::event_classes()) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

// The filter a listing's query asks for; nullopt, with the 400 answered, when a value is not one.
// Parameters it does not know are ignored.
std::optional<storage::EventFilter> event_query(const Call& call, EventLimits limits) {
  const auto query = p::parse_target(call.request.target()).query;
  const auto refuse = [&call](const std::string& message) {
    answer_error(call.respond, call.who, 400, message);
    return std::nullopt;
  };
  storage::EventFilter f;
  f.sn = param(query, "sn").value_or("");
  f.pin = param(query, "pin").value_or("");
  f.cardno = param(query, "card").value_or("");
  f.limit = limits.fallback;
  if (auto v = param(query, "after_id")) {
    auto n = whole_number(*v, 0);
    if (!n) return refuse("after_id: an event id (a number >= 0), not " + p::text::quoted(*v));
    f.after_id = *n;
  }
  if (auto v = param(query, "before_id")) {
    auto n = whole_number(*v, 1);
    if (!n) return refuse("before_id: an event id (a number >= 1), not " + p::text::quoted(*v));
    f.before_id = *n;
  }
  if (auto v = param(query, "limit")) {
    auto n = whole_number(*v, 1);
    if (!n) return refuse("limit: a number >= 1 (at most " + std::to_string(limits.most) + " are returned), not " + p::text::quoted(*v));
    f.limit = std::min(*n, limits.most);
  }
  f.newest_first = f.before_id > 0;
  if (auto v = param(query, "order")) {
    if (*v != "asc" && *v != "desc") return refuse("order: asc (oldest first) or desc (newest first), not " + p::text::quoted(*v));
    f.newest_first = *v == "desc";
  }
  for (const char* bound : {"from", "to"}) {
    auto v = param(query, bound);
    if (!v) continue;
    auto at = instant(*v);
    if (!at)
      return refuse(std::string(bound) + ": Unix seconds, or a UTC time \"YYYY-MM-DD HH:MM:SS\" or date \"YYYY-MM-DD\", not " +
                    p::text::quoted(*v));
    (std::string_view(bound) == "from" ? f.from : f.to) = *at;
  }
  if (f.from && f.to && *f.to <= *f.from) return refuse("to: must be later than from (the range is from <= time < to)");
  if (auto v = param(query, "door")) {
    auto n = whole_number(*v, 0);
    if (!n) return refuse("door: a door number (>= 0), not " + p::text::quoted(*v));
    f.door = *n;
  }
  if (auto v = param(query, "event")) {
    for (auto part : p::text::split(*v, ',')) {
      const std::string code(p::text::trim(part));
      auto n = whole_number(code, 0);
      if (!n) return refuse("event: event codes (numbers) separated by commas, not " + p::text::quoted(code));
      f.events.push_back(*n);
    }
  }
  if (auto v = param(query, "class")) {
    for (auto part : p::text::split(*v, ',')) {
      const std::string name(p::text::trim(part));
      const auto* klass = p::find_event_class(name);
      if (!klass) return refuse("class: " + class_names() + ", not " + p::text::quoted(name));
      f.classes.insert(f.classes.end(), klass->ranges.begin(), klass->ranges.end());
    }
  }
  return f;
}

// The request's own target with the page's cursor moved past its last event (the other bound, the
// filters and the order kept).
std::string next_page(std::string_view target, const storage::EventFilter& f, std::int64_t last_id) {
  auto next = p::parse_target(target);
  const std::string_view cursor = f.newest_first ? "before_id" : "after_id";
  std::erase_if(next.query.fields, [cursor](const p::Field& field) { return p::text::iequals(field.key, cursor); });
  next.query.add(cursor, std::to_string(last_id));
  return p::format_target(next);
}

void list_events(const ApiServices& s, const Call& call) {
  auto filter = event_query(call, kJsonEventLimits);
  if (!filter) return;
  s.store.read([f = *filter](storage::Reads& r) { return read_event_page(r, f); },
               [f = *filter, target = std::string(call.request.target()), who = call.who,
                respond = call.respond](storage::StoreResult<EventPage> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 auto response = json_response(200, event_page_json(r.value()));
                 // A full page: there may be more. A shorter one was the last (for now).
                 if (!r->events.empty() && static_cast<std::int64_t>(r->events.size()) == f.limit)
                   response.set(boost::beast::http::field::link,
                                "<" + next_page(target, f, r->events.back().id) + ">; rel=\"next\"");
                 (*respond)(std::move(response));
               });
}

// RFC 4180: a field holding a comma, a double quote, CR or LF is quoted, its quotes doubled.
void append_csv_field(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// A cell: strings as they are, numbers in decimal, null empty.
void append_csv_cell(std::string& out, const Json& value) {
  if (value.is_null()) return;
  append_csv_field(out, value.is_string() ? value.get_ref<const std::string&>() : value.dump());
}

std::string csv_header() {
  std::string out;
  for (auto column : kCsvColumns) {
    if (!out.empty()) out += ',';
    out += column;
  }
  return out + "\r\n";
}

// A page's rows, each the event's JSON (event_json) cut into the columns.
std::string csv_rows(const EventPage& page) {
  std::string out;
  for (const auto& row : event_page_json(page)) {
    bool first = true;
    for (auto column : kCsvColumns) {
      if (!std::exchange(first, false)) out += ',';
      append_csv_cell(out, row[std::string(column)]);
    }
    out += "\r\n";
  }
  return out;
}

// One export: reads a page, writes it, and reads the next once it has been handed to the socket,
// until `left` rows were sent or the store has no more. The first read decides the status: a store
// failure then is a JSON error; after the head is sent, a failure can only end the body early
// (logged; the last row's id says where to resume).
class CsvExport : public std::enable_shared_from_this<CsvExport> {
 public:
  CsvExport(storage::Store& store, storage::EventFilter filter, std::string who)
      : store_(store), filter_(std::move(filter)), left_(filter_.limit), who_(std::move(who)) {}

  void start(SharedResponder respond) { read(std::move(respond)); }

 private:
  void read(SharedResponder respond) {
    auto page = filter_;
    page.limit = std::min(left_, kCsvPage);
    store_.read([page](storage::Reads& r) { return read_event_page(r, page); },
                [self = shared_from_this(), respond = std::move(respond), asked = page.limit](
                    storage::StoreResult<EventPage> r) { self->write(respond, std::move(r), asked); });
  }

  void write(const SharedResponder& respond, storage::StoreResult<EventPage> r, std::int64_t asked) {
    if (!r.ok() && !out_) return answer_store_refusal(respond, who_, r.error());
    if (!r.ok()) {
      spdlog::warn("{}: CSV export ended early after event {}: {}", who_, cursor(), r.error().message);
      return out_->close();
    }
    std::string chunk;
    if (!out_) {
      auto head = http::make_stream_head(http::Status::ok, "text/csv; charset=utf-8");
      head.set(boost::beast::http::field::content_disposition, "attachment; filename=\"events.csv\"");
      out_ = respond->stream(std::move(head));
      chunk = csv_header();
    }
    chunk += csv_rows(r.value());
    const auto n = static_cast<std::int64_t>(r->events.size());
    left_ -= n;
    if (n > 0) (filter_.newest_first ? filter_.before_id : filter_.after_id) = r->events.back().id;
    const bool more = n == asked && left_ > 0;
    // The next page is read once this one is on its way: a slow client slows the export down.
    const auto queued = out_->write(std::move(chunk), [self = shared_from_this(), respond, more](bool ok) {
      if (ok && more) self->read(respond);
    });
    if (queued != http::StreamWrite::queued || !more) out_->close();
  }

  std::int64_t cursor() const { return filter_.newest_first ? filter_.before_id : filter_.after_id; }

  storage::Store& store_;
  storage::EventFilter filter_;
  std::int64_t left_;
  const std::string who_;
  std::shared_ptr<http::Stream> out_;
};

// GET /api/v1/events/stats: the last `hours` clock hours (the current one included, so `to` is
// the end of the current hour) counted per hour and class, and the most frequent denials, in one
// read (EventReads::hourly_counts: a GROUP BY over the time index).
constexpr std::int64_t kStatsDefaultHours = 24;
constexpr std::int64_t kStatsMostHours = 168;

void event_stats(const ApiServices& s, const Call& call) {
  const auto query = p::parse_target(call.request.target()).query;
  std::int64_t hours = kStatsDefaultHours;
  if (auto v = param(query, "hours")) {
    auto n = whole_number(*v, 1);
    if (!n || *n > kStatsMostHours)
      return answer_error(call.respond, call.who, 400,
                          "hours: a whole number of hours from 1 to " + std::to_string(kStatsMostHours) + ", not " +
                              p::text::quoted(*v));
    hours = *n;
  }
  const std::string sn = param(query, "sn").value_or("");
  const std::int64_t now = s.devices.clock().now();
  const std::int64_t to = now - now % 3600 + 3600;
  const std::int64_t from = to - hours * 3600;
  s.store.read([sn, from, to](storage::Reads& r) { return r.events().hourly_counts(sn, from, to); },
               [sn, from, hours, respond = call.respond, who = call.who](
                   storage::StoreResult<std::vector<storage::EventHourCount>> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 answer_json(respond, 200, event_stats_json(r.value(), from, hours, sn));
               });
}

}  // namespace

void add_event_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices* s = &services;
  const std::vector<QueryParam> filters{
      {"sn", "string", "only this device's events"},
      {"from", "string", "only events at or after this UTC time (time_utc): Unix seconds, \"YYYY-MM-DD HH:MM:SS\" or \"YYYY-MM-DD\""},
      {"to", "string", "only events before this UTC time (time_utc), same forms as from"},
      {"door", "integer", "only this door's events"},
      {"pin", "string", "only this person's events"},
      {"card", "string", "only events with this card number"},
      {"event", "string", "only these event codes, comma-separated"},
      {"class", "string", "only these classes of the catalogue, comma-separated: normal, error, abnormal, alarm, warning, special"},
      {"after_id", "integer", "only events with a larger id (oldest first: the last id seen)"},
      {"before_id", "integer", "only events with a smaller id (newest first: the last id seen)"},
      {"order", "string", "asc (oldest first; the default) or desc (newest first; the default with before_id)"}};
  auto json_params = filters;
  json_params.push_back({"limit", "integer", "at most this many (default 100; values above 1000 give 1000)"});
  table.add({V::get, "/api/v1/events", Role::viewer, "listEvents",
             "Access events by id, filtered; a full page links to the next (Link: <...>; rel=\"next\")", "",
             "200 Event[]", json_params, [s](Call& c) { list_events(*s, c); }});
  table.add({V::get, "/api/v1/events/stats", Role::viewer, "getEventStats",
             "Events of the last hours counted per hour and class (normal, error, abnormal, alarm, warning, "
             "special, other), and the most frequent denials (class error) with their meaning",
             "", "200 EventStats",
             {{"hours", "integer", "how many clock hours, the current one included: 1 to 168 (default 24)"},
              {"sn", "string", "only this device's events"}},
             [s](Call& c) { event_stats(*s, c); }});
  auto csv_params = filters;
  csv_params.push_back({"limit", "integer", "at most this many rows (default 10000; values above 100000 give 100000)"});
  table.add({V::get, "/api/v1/events.csv", Role::viewer, "exportEvents",
             "The same events as CSV (RFC 4180, a header row), streamed", "", "200 text/csv", csv_params,
             [s](Call& c) {
               auto filter = event_query(c, kCsvEventLimits);
               if (filter) std::make_shared<CsvExport>(s->store, std::move(*filter), c.who)->start(c.respond);
             }});
}

}  // namespace zkpush::front::api
