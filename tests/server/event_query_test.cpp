// Event queries of the JSON API end to end (docs/serve.md "Events"): GET /api/v1/events with every
// filter, both cursors and the Link header, GET /api/v1/events.csv read back and compared with the
// JSON, the 400s of bad values, and --event-retention-days. Events are stored through the store
// (as ingest would store them), so each test knows exactly what every filter must select.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <limits>
#include <set>
#include <tuple>

#include "protocol/enums.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kEventQueryToken = "event-query-token";
constexpr std::int64_t kEqT0 = 1'767'225'600;  // 2026-01-01 00:00:00 UTC

// A CSV body (RFC 4180: CRLF rows, quoted fields with doubled quotes) as rows of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::exchange(field, {}));
      was_quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::exchange(field, {}));
      was_quoted = false;
      rows.emplace_back();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(rows.back().empty() && field.empty()) << "the last row must end with CRLF";
  rows.pop_back();
  return rows;
}

// What a JSON value looks like in a CSV cell.
std::string csv_text(const json& value) {
  if (value.is_null()) return "";
  return value.is_string() ? value.get<std::string>() : value.dump();
}

class EventQueryTest : public ServeFixture {
 protected:
  void start_events(ServerConfig config = {}) {
    config.api_token = kEventQueryToken;
    start(config);
  }
  RawResponse get(const std::string& target) {
    return send_raw(http::test::request("GET", target, {}, "Authorization: Bearer " + kEventQueryToken + "\r\n"));
  }
  json get_json(const std::string& target) {
    auto r = get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.body;
    return j.is_array() ? j : json::array();
  }
  std::vector<std::int64_t> ids_at(const std::string& target) {
    std::vector<std::int64_t> ids;
    for (const auto& e : get_json(target)) ids.push_back(e["id"].get<std::int64_t>());
    return ids;
  }
  // A 400 naming the parameter at fault.
  void expect_refused(const std::string& query, const std::string& field) {
    SCOPED_TRACE(query);
    for (const std::string path : {"/api/v1/events?", "/api/v1/events.csv?"}) {
      auto r = get(path + query);
      EXPECT_EQ(r.status, 400) << r.body;
      auto j = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(j.is_object()) << r.body;
      EXPECT_EQ(j.value("code", ""), "invalid") << r.body;
      EXPECT_EQ(j.value("field", ""), field) << r.body;
      EXPECT_FALSE(j.value("error", "").empty());
    }
  }

  void store_events(const std::vector<storage::NewEvent>& events) {
    test::write(app_->store(), [&events](storage::Transaction& tx) { return tx.events().insert(events); });
  }

  // 40 events over two devices, four persons (one whose pin needs CSV quoting), two cards, two
  // doors, a code of every class, six hours apart from kEqT0.
  std::vector<storage::NewEvent> sample() {
    const std::int64_t codes[] = {0, 27, 100, 255, 4008, 5000, 6005, 7000};
    const std::string pins[] = {"1", "2", "3", "p,\"q\""};
    std::vector<storage::NewEvent> out;
    for (int i = 0; i < 40; ++i) {
      storage::NewEvent e;
      e.sn = i % 2 ? "EQB" : "EQA";
      e.index = i + 1;
      e.time_utc = kEqT0 + i * 6 * 3600;
      e.time_local = p::format_datetime(p::civil_from_unix(*e.time_utc).value());
      e.pin = pins[i % 4];
      e.cardno = i % 5 == 0 ? "9001" : "9002";
      e.event = codes[i % 8];
      e.door = 1 + (i / 2) % 2;
      e.inout = 0;
      e.verifytype = "1";
      e.raw = "record " + std::to_string(i);
      e.received_at = kEqT0 + i * 6 * 3600 + 5;
      out.push_back(e);
    }
    return out;
  }

  // The ids of the stored sample, oldest first, that `keep` selects.
  std::vector<std::int64_t> where(const std::function<bool(const storage::EventRow&)>& keep) {
    std::vector<std::int64_t> ids;
    for (const auto& e : stored_events(storage::EventFilter{"", 0, 0}))
      if (keep(e)) ids.push_back(e.id);
    return ids;
  }
};

TEST_F(EventQueryTest, EachFilterSelectsWhatItNames) {
  start_events();
  store_events(sample());
  using Row = storage::EventRow;
  const auto in_class = [](const Row& e, std::string_view name) {
    return e.event && p::event_info(*e.event).class_name == name;
  };
  const std::int64_t day2 = kEqT0 + 86400;
  const std::vector<std::pair<std::string, std::function<bool(const Row&)>>> cases{
      {"sn=EQB", [](const Row& e) { return e.sn == "EQB"; }},
      {"pin=2", [](const Row& e) { return e.pin == "2"; }},
      {"pin=p%2C%22q%22", [](const Row& e) { return e.pin == "p,\"q\""; }},
      {"card=9001", [](const Row& e) { return e.cardno == "9001"; }},
      {"door=2", [](const Row& e) { return e.door == 2; }},
      {"event=27", [](const Row& e) { return e.event == 27; }},
      {"event=27,%200,6005", [](const Row& e) { return e.event == 27 || e.event == 0 || e.event == 6005; }},
      {"class=normal", [&](const Row& e) { return in_class(e, "normal"); }},
      {"class=abnormal,warning", [&](const Row& e) { return in_class(e, "abnormal") || in_class(e, "warning"); }},
      {"class=error", [&](const Row& e) { return in_class(e, "error"); }},
      {"class=alarm,special", [&](const Row& e) { return in_class(e, "alarm") || in_class(e, "special"); }},
      {"from=" + std::to_string(day2), [&](const Row& e) { return *e.time_utc >= day2; }},
      {"to=2026-01-02", [&](const Row& e) { return *e.time_utc < day2; }},
      {"from=2026-01-02%2000:00:00&to=2026-01-04T12:00:00Z",
       [&](const Row& e) { return *e.time_utc >= day2 && *e.time_utc < kEqT0 + 3 * 86400 + 12 * 3600; }},
      {"sn=EQA&pin=1&door=1&class=normal",
       [&](const Row& e) { return e.sn == "EQA" && e.pin == "1" && e.door == 1 && in_class(e, "normal"); }},
      {"sn=EQA&from=2026-01-03&event=0,100",
       [&](const Row& e) { return e.sn == "EQA" && *e.time_utc >= kEqT0 + 2 * 86400 && (e.event == 0 || e.event == 100); }},
      {"pin=NOBODY", [](const Row&) { return false; }},
  };
  for (const auto& [query, keep] : cases) {
    SCOPED_TRACE(query);
    const auto want = where(keep);
    EXPECT_EQ(ids_at("/api/v1/events?limit=1000&" + query), want);
    if (query != "pin=NOBODY") {
      EXPECT_FALSE(want.empty());
      EXPECT_LT(want.size(), 40u);
    }
  }
  // Every event carries its class, as the catalogue words it.
  for (const auto& e : get_json("/api/v1/events?limit=1000")) {
    const auto code = e["event"].get<std::int64_t>();
    if (code == 7000) {
      EXPECT_TRUE(e["event_class"].is_null()) << e;
    } else {
      EXPECT_EQ(e["event_class"], std::string(p::event_info(code).class_name)) << e;
    }
  }
  EXPECT_EQ(get_json("/api/v1/events?event=5000")[0]["event_class"], "abnormal");
  EXPECT_EQ(get_json("/api/v1/events?event=6005")[0]["event_class"], "warning");
}

TEST_F(EventQueryTest, CursorsPageBothWaysAndTheLinkLeadsToTheNextPage) {
  start_events();
  store_events(sample());
  const auto all_a = where([](const storage::EventRow& e) { return e.sn == "EQA"; });
  ASSERT_EQ(all_a.size(), 20u);

  // Oldest first, following Link until a page comes back short: every event once, in order.
  std::vector<std::int64_t> forward;
  std::string next = "/api/v1/events?sn=EQA&limit=6";
  int pages = 0;
  while (!next.empty() && ++pages < 10) {
    auto r = get(next);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& e : json::parse(r.body)) forward.push_back(e["id"].get<std::int64_t>());
    next.clear();
    if (auto link = r.header("Link")) {
      ASSERT_EQ(link->front(), '<') << *link;
      ASSERT_NE(link->find(">; rel=\"next\""), std::string::npos) << *link;
      next = link->substr(1, link->find('>') - 1);
      EXPECT_NE(next.find("sn=EQA"), std::string::npos) << next;  // the filters are kept
    }
  }
  EXPECT_EQ(forward, all_a);
  EXPECT_EQ(pages, 4);  // 6 + 6 + 6 + 2: the short page has no Link

  // Newest first below before_id, and from the newest with order=desc.
  std::vector<std::int64_t> backward;
  next = "/api/v1/events?sn=EQA&limit=7&order=desc";
  pages = 0;
  while (!next.empty() && ++pages < 10) {
    auto r = get(next);
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& e : json::parse(r.body)) backward.push_back(e["id"].get<std::int64_t>());
    next.clear();
    if (auto link = r.header("Link")) {
      next = link->substr(1, link->find('>') - 1);
      EXPECT_NE(next.find("before_id="), std::string::npos) << next;
    }
  }
  std::reverse(backward.begin(), backward.end());
  EXPECT_EQ(backward, all_a);

  // before_id alone means newest first; with after_id it is a window.
  const auto below = ids_at("/api/v1/events?sn=EQA&before_id=" + std::to_string(all_a[5]) + "&limit=2");
  EXPECT_EQ(below, (std::vector<std::int64_t>{all_a[4], all_a[3]}));
  const auto window = ids_at("/api/v1/events?sn=EQA&after_id=" + std::to_string(all_a[1]) +
                             "&before_id=" + std::to_string(all_a[5]) + "&order=asc");
  EXPECT_EQ(window, (std::vector<std::int64_t>{all_a[2], all_a[3], all_a[4]}));
  // Today's default is kept: oldest first, 100 at most, and no Link under a full page.
  auto plain = get("/api/v1/events");
  EXPECT_EQ(json::parse(plain.body).size(), 40u);
  EXPECT_FALSE(plain.header("Link").has_value());
}

TEST_F(EventQueryTest, CsvIsTheJsonOfTheSameQueryRowByRow) {
  start_events();
  auto events = sample();
  events[3].cardno = "line\r\nbreak";  // quoted, CRLF kept inside the field
  store_events(events);
  for (const std::string query : {"", "sn=EQB&class=normal,error", "pin=p%2C%22q%22", "order=desc&limit=7"}) {
    SCOPED_TRACE(query);
    auto r = get("/api/v1/events.csv?" + query);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("Content-Type").value_or(""), "text/csv; charset=utf-8");
    EXPECT_NE(r.header("Content-Disposition").value_or("").find("events.csv"), std::string::npos);
    const auto rows = parse_csv(r.body);
    const auto expected = get_json("/api/v1/events?" + query + "&limit=1000");  // the query's own limit first
    ASSERT_EQ(rows.size(), expected.size() + 1);
    const auto& header = rows[0];
    EXPECT_EQ(header.front(), "id");
    EXPECT_TRUE(std::find(header.begin(), header.end(), "event_class") != header.end());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(rows[i + 1].size(), header.size()) << i;
      for (std::size_t c = 0; c < header.size(); ++c) {
        ASSERT_TRUE(expected[i].contains(header[c])) << header[c];
        EXPECT_EQ(rows[i + 1][c], csv_text(expected[i][header[c]])) << header[c] << " of row " << i;
      }
    }
  }
  const auto quoted = get("/api/v1/events.csv?pin=p%2C%22q%22").body;
  EXPECT_NE(quoted.find(",\"p,\"\"q\"\"\","), std::string::npos) << quoted;
  EXPECT_NE(get("/api/v1/events.csv").body.find("\"line\r\nbreak\""), std::string::npos);
}

TEST_F(EventQueryTest, CsvExportsStreamPastOnePageUpToTheirLimit) {
  start_events();
  std::vector<storage::NewEvent> many;
  for (int i = 0; i < 2500; ++i) {
    storage::NewEvent e;
    e.sn = "EQBULK";
    e.index = i + 1;
    e.time_local = "2026-01-01 00:00:00";
    e.time_utc = kEqT0 + i;
    e.pin = std::to_string(i % 10);
    e.cardno = "0";
    e.event = 0;
    e.verifytype = "1";
    e.received_at = kEqT0 + i;
    many.push_back(e);
  }
  store_events(many);
  auto ids_of_csv = [](const std::string& body) {
    std::vector<std::int64_t> ids;
    const auto rows = parse_csv(body);
    for (std::size_t i = 1; i < rows.size(); ++i) ids.push_back(std::stoll(rows[i][0]));
    return ids;
  };
  auto r = get("/api/v1/events.csv");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Transfer-Encoding").value_or(""), "chunked");
  const auto all = ids_of_csv(r.body);
  ASSERT_EQ(all.size(), 2500u);  // under the default limit of 10,000, across three pages
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 2500u);

  const auto capped = ids_of_csv(get("/api/v1/events.csv?limit=2001").body);
  EXPECT_EQ(capped, std::vector<std::int64_t>(all.begin(), all.begin() + 2001));
  const auto newest = ids_of_csv(get("/api/v1/events.csv?order=desc&limit=1500&pin=3").body);
  ASSERT_EQ(newest.size(), 250u);
  EXPECT_TRUE(std::is_sorted(newest.rbegin(), newest.rend()));
  // The next export resumes after the last row's id.
  const auto rest = ids_of_csv(get("/api/v1/events.csv?after_id=" + std::to_string(capped.back())).body);
  EXPECT_EQ(rest, std::vector<std::int64_t>(all.begin() + 2001, all.end()));
  EXPECT_EQ(ids_of_csv(get("/api/v1/events.csv?sn=NOSUCH").body), std::vector<std::int64_t>{});
}

TEST_F(EventQueryTest, BadValuesAreRefusedNamingTheParameter) {
  start_events();
  expect_refused("from=yesterday", "from");
  expect_refused("from=2026-02-30%2000:00:00", "from");
  expect_refused("to=-5", "to");
  expect_refused("from=2026-01-02&to=2026-01-01", "to");
  expect_refused("from=100&to=100", "to");
  expect_refused("door=x", "door");
  expect_refused("door=-1", "door");
  expect_refused("event=27,abc", "event");
  expect_refused("event=1.5", "event");
  expect_refused("class=normal,fatal", "class");
  expect_refused("class=Normal", "class");
  expect_refused("after_id=-1", "after_id");
  expect_refused("before_id=0", "before_id");
  expect_refused("before_id=ten", "before_id");
  expect_refused("limit=0", "limit");
  expect_refused("limit=10abc", "limit");
  expect_refused("order=newest", "order");
  // Empty values are absent, as the documented templates leave them.
  EXPECT_EQ(get("/api/v1/events?sn=&from=&to=&door=&pin=&card=&event=&class=&after_id=&before_id=&order=&limit=").status, 200);
}

// "2026-01-01T10:00:00Z" for an instant, as the API writes them.
std::string eq_iso(std::int64_t unix) { return p::format_iso8601(p::civil_from_unix(unix).value()) + "Z"; }

// GET /api/v1/events/stats: the last hours counted per hour and class, and the denials, for any
// token; its `hours` checked.
TEST_F(EventQueryTest, StatsCountTheLastHoursPerHourAndClassAndTheTopDenials) {
  start_events();
  // (hours before the current one, device, code or none) of each event, one more without a time.
  const std::vector<std::tuple<int, std::string, std::optional<std::int64_t>>> placed{
      {0, "EQA", 0},    {0, "EQA", 27},   {0, "EQA", 27},   {0, "EQB", 27},    {0, "EQA", 20},
      {1, "EQB", 27},   {1, "EQA", 5000}, {1, "EQA", 100},  {23, "EQA", 6005}, {23, "EQA", 255},
      {23, "EQA", 7000}, {23, "EQB", std::nullopt}, {24, "EQA", 27}, {24, "EQA", 27}, {24, "EQA", 27},
      {24, "EQA", 27},  {24, "EQA", 27}, {30, "EQA", 41}};
  json stats, wide, one_device;
  std::int64_t hour = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // again if an hour turned meanwhile
    hour = unix_now() / 3600 * 3600;
    test::write(app_->store(), [](storage::Transaction& tx) {
      tx.events().prune(std::numeric_limits<std::int64_t>::max(), 1000);
    });
    std::vector<storage::NewEvent> events;
    for (const auto& [ago, sn, code] : placed) {
      storage::NewEvent e;
      e.sn = sn;
      e.index = static_cast<std::int64_t>(events.size()) + 1 + attempt * 100;
      e.time_utc = hour - ago * 3600 + 7;
      e.time_local = p::format_datetime(p::civil_from_unix(*e.time_utc).value());
      e.event = code;
      e.raw = "stats " + std::to_string(events.size());
      e.received_at = hour;
      events.push_back(e);
    }
    auto untimed = events.back();
    untimed.index = 99 + attempt * 100;
    untimed.time_utc.reset();
    untimed.event = 27;
    events.push_back(untimed);
    store_events(events);
    auto r = get("/api/v1/events/stats");
    ASSERT_EQ(r.status, 200) << r.body;
    stats = json::parse(r.body);
    wide = json::parse(get("/api/v1/events/stats?hours=48").body);
    one_device = json::parse(get("/api/v1/events/stats?hours=24&sn=EQB").body);
    if (unix_now() / 3600 * 3600 == hour) break;
  }
  // The window: 24 clock hours, the current one last.
  EXPECT_EQ(stats["hours"], 24);
  EXPECT_EQ(stats["to"], eq_iso(hour + 3600));
  EXPECT_EQ(stats["from"], eq_iso(hour - 23 * 3600));
  EXPECT_TRUE(stats["sn"].is_null());
  EXPECT_EQ(stats["total"], 12);
  EXPECT_EQ(stats["by_class"], (json{{"normal", 1}, {"error", 5}, {"abnormal", 1}, {"alarm", 1}, {"warning", 1},
                                     {"special", 1}, {"other", 2}}));
  const auto& per_hour = stats["per_hour"];
  ASSERT_EQ(per_hour.size(), 24u);
  EXPECT_EQ(per_hour[0], (json{{"hour", eq_iso(hour - 23 * 3600)}, {"total", 4}, {"normal", 0}, {"error", 0},
                               {"abnormal", 0}, {"alarm", 0}, {"warning", 1}, {"special", 1}, {"other", 2}}));
  EXPECT_EQ(per_hour[22]["hour"], eq_iso(hour - 3600));
  EXPECT_EQ(per_hour[22]["total"], 3);
  EXPECT_EQ(per_hour[22]["error"], 1);
  EXPECT_EQ(per_hour[22]["abnormal"], 1);
  EXPECT_EQ(per_hour[22]["alarm"], 1);
  EXPECT_EQ(per_hour[23]["hour"], eq_iso(hour));
  EXPECT_EQ(per_hour[23]["total"], 5);
  EXPECT_EQ(per_hour[23]["normal"], 1);
  EXPECT_EQ(per_hour[23]["error"], 4);
  for (int i = 1; i < 22; ++i) EXPECT_EQ(per_hour[i]["total"], 0) << i;
  // The denials, most frequent first, named as the catalogue names them.
  const auto name = [](std::int64_t code) { return std::string(p::event_info(code).name); };
  ASSERT_FALSE(name(27).empty());
  EXPECT_EQ(stats["top_denials"], (json{{{"event", 27}, {"name", name(27)}, {"count", 4}},
                                        {{"event", 20}, {"name", name(20)}, {"count", 1}}}));
  // 48 hours take in the older ones; a device narrows it.
  EXPECT_EQ(wide["per_hour"].size(), 48u);
  EXPECT_EQ(wide["total"], 18);
  EXPECT_EQ(wide["top_denials"][0], (json{{"event", 27}, {"name", name(27)}, {"count", 9}}));
  EXPECT_EQ(wide["top_denials"][2]["event"], 41);
  EXPECT_EQ(one_device["sn"], "EQB");
  EXPECT_EQ(one_device["total"], 3);
  EXPECT_EQ(one_device["top_denials"], (json{{{"event", 27}, {"name", name(27)}, {"count", 2}}}));

  // Any token reads it; none is 401; a number of hours outside 1-168 is 400.
  auto viewer = send_raw(http::test::request("POST", "/api/v1/tokens", json{{"name", "insight"}, {"role", "viewer"}}.dump(),
                                             "Authorization: Bearer " + kEventQueryToken + "\r\nContent-Type: application/json\r\n"));
  ASSERT_EQ(viewer.status, 201) << viewer.body;
  const auto token = json::parse(viewer.body)["token"].get<std::string>();
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/events/stats?hours=1", {}, "Authorization: Bearer " + token + "\r\n")).status,
            200);
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/events/stats")).status, 401);
  for (const std::string bad : {"0", "169", "x", "-1", "2.5"}) {
    auto r = get("/api/v1/events/stats?hours=" + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_EQ(j.value("field", ""), "hours") << r.body;
    EXPECT_EQ(j.value("code", ""), "invalid") << r.body;
  }
  EXPECT_EQ(json::parse(get("/api/v1/events/stats?hours=168").body)["per_hour"].size(), 168u);
  EXPECT_EQ(json::parse(get("/api/v1/events/stats?hours=&sn=").body)["hours"], 24);  // empty: absent
}

TEST_F(EventQueryTest, RetentionRemovesOnlyEventsReceivedBeforeIt) {
  ServerConfig config;
  config.event_retention_days = 30;
  start_events(config);
  const auto now = unix_now();
  auto events = sample();
  for (std::size_t i = 0; i < events.size(); ++i) {
    // The first 25 were received 31 days or more ago; the rest 29 days ago or later.
    events[i].received_at = i < 25 ? now - (31 + 25 - static_cast<std::int64_t>(i)) * 86400 : now - 29 * 86400 + static_cast<std::int64_t>(i);
  }
  store_events(events);
  auto prune = [this] {
    std::promise<std::int64_t> removed;
    app_->prune_events([&removed](std::int64_t n) { removed.set_value(n); });
    return removed.get_future().get();
  };
  EXPECT_EQ(prune(), 25);
  const auto left = stored_events(storage::EventFilter{"", 0, 0});
  ASSERT_EQ(left.size(), 15u);
  for (const auto& e : left) EXPECT_GE(e.received_at, now - 30 * 86400) << e.id;
  EXPECT_EQ(prune(), 0);
}

TEST_F(EventQueryTest, RetentionPrunesInBatchesAndZeroKeepsEverything) {
  ServerConfig keep;
  start_events(keep);  // event_retention_days 0: forever
  const auto now = unix_now();
  std::vector<storage::NewEvent> old;
  for (std::int64_t i = 0; i < App::kEventPruneBatch * 2 + 10; ++i) {
    storage::NewEvent e = sample()[0];
    e.index = i + 1;
    e.received_at = now - 400 * 86400;
    old.push_back(e);
  }
  store_events(old);
  std::promise<std::int64_t> nothing;
  app_->prune_events([&nothing](std::int64_t n) { nothing.set_value(n); });
  EXPECT_EQ(nothing.get_future().get(), 0);
  EXPECT_EQ(stored_event_count(""), App::kEventPruneBatch * 2 + 10);

  app_.reset();
  ServerConfig year;
  year.event_retention_days = 365;
  start_events(year);  // the same data folder: the events are still there
  std::promise<std::int64_t> removed;
  app_->prune_events([&removed](std::int64_t n) { removed.set_value(n); });
  EXPECT_EQ(removed.get_future().get(), App::kEventPruneBatch * 2 + 10);
  EXPECT_EQ(stored_event_count(""), 0);
}

}  // namespace
}  // namespace zkpush::server
