// The access domain and its sync engine end to end: a real server over real sockets, the JSON API
// for persons, time rules and access levels, and a panel played by the emulator's device model (it
// executes every DATA command it is sent and keeps the tables). After each scenario the panel's
// tables are compared with what the domain says it should hold.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "emulator/command_executor.hpp"
#include "emulator/device_model.hpp"
#include "protocol/base64.hpp"
#include "protocol/command_results.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kToken = "sync-api-token";

class SyncTest : public ServeFixture {
 protected:
  void start_sync(ServerConfig config = {}) {
    config.api_token = kToken;
    config.sync_settle = 0;  // tests drive the polls themselves
    start(config);
  }
  RawResponse api(const std::string& method, const std::string& target, const json& body = nullptr) {
    std::string headers = "Authorization: Bearer " + kToken + "\r\n";
    std::string text;
    if (!body.is_null()) {
      text = body.dump();
      headers += "Content-Type: application/json\r\n";
    }
    return send_raw(http::test::request(method, target, text, headers));
  }
  json ok(const RawResponse& r, int status = 200) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  struct Panel {
    std::string sn;
    std::string token;
    emulator::DeviceModel model;
    std::int64_t data_commands = 0;  // DATA UPDATE / DELETE / QUERY / COUNT it ran
    emulator::CommandExecutor executor{};
  };
  Panel panel(const std::string& sn, p::Record extra = {}) {
    auto options = registry_options();
    for (const auto& f : extra.fields) options.set(f.key, f.value);
    const auto token = handshake_with(sn, options);
    return Panel{sn, token, emulator::DeviceModel(sn, options, 4), 0, {}};
  }
  std::string handshake_with(const std::string& sn, const p::Record& options) {
    send(p::format_init_request(sn));
    auto reg = send(p::format_registry_request(sn, options));
    auto accepted = p::parse_registry_answer(reg.status, reg.body);
    EXPECT_TRUE(accepted.accepted) << reg.body;
    auto push = send(p::format_push_config_request(sn));
    const auto config = p::parse_config_answer(push.body);
    return p::compute_token(accepted.registry_code, sn, std::string(config.get_or("SessionID", "")));
  }

  // The panel polls until the server has nothing more for it, running each DATA command on its
  // model and answering with the model's Return (or `refuse`'s, when it gives one).
  void sync(Panel& panel, const std::function<std::optional<int>(const p::Command&)>& refuse = {}) {
    for (int round = 0; round < 200; ++round) {
      auto r = send(p::format_getrequest(panel.sn), panel.token);
      ASSERT_EQ(r.status, 200);
      if (r.body == "OK") {
        // Nothing now; a failed item waiting for its retry is not "more".
        return;
      }
      auto commands = p::parse_commands(r.body);
      ASSERT_TRUE(commands.ok()) << r.body;
      std::vector<p::Record> results;
      for (const auto& c : *commands) {
        const auto verb = c.verb();
        if (verb == p::Verb::data_update || verb == p::Verb::data_delete || verb == p::Verb::data_query ||
            verb == p::Verb::data_count)
          ++panel.data_commands;
        if (auto forced = refuse ? refuse(c) : std::nullopt) {
          results.push_back(p::parse_amp_list(p::format_command_result(p::make_command_result(c, *forced))));
          continue;
        }
        // The emulator's executor: tables changed, DATA QUERY / COUNT answered by querydata uploads
        // sent before the result, as a panel does.
        auto done = panel.executor.execute(c, panel.model, emulator::ExecutionContext{});
        for (const auto& upload : done.uploads) {
          auto r = send(upload, panel.token);
          ASSERT_EQ(r.status, 200) << r.body;
        }
        results.push_back(p::parse_amp_list(p::format_command_result(done.result)));
      }
      auto answered = send(p::format_devicecmd_results(panel.sn, results), panel.token);
      ASSERT_EQ(answered.status, 200);
    }
    FAIL() << "the server kept sending commands";
  }

  std::set<std::string> pins(const Panel& panel, const char* table) {
    std::set<std::string> out;
    for (const auto& r : panel.model.rows(table)) out.insert(std::string(r.get_or("Pin", "")));
    return out;
  }
  json sync_view(const std::string& sn) { return ok(api("GET", "/api/v1/devices/" + sn + "/sync")); }

  std::int64_t level(const std::string& sn, std::vector<int> doors, std::int64_t rule = 1) {
    json d = json::array();
    for (int door : doors) d.push_back({{"sn", sn}, {"door", door}});
    auto created = ok(api("POST", "/api/v1/access-levels", {{"name", "L " + sn}, {"time_rule_id", rule}, {"doors", d}}), 201);
    return created.value("id", std::int64_t{0});
  }
  void person(const std::string& pin, const std::string& card, std::vector<std::int64_t> levels) {
    ok(api("POST", "/api/v1/persons", {{"pin", pin}, {"name", "P" + pin}, {"cards", {card}}, {"access_levels", levels}}), 201);
  }
};

TEST_F(SyncTest, TimeRuleOneIsAlwaysAndRulesValidate) {
  start_sync();
  auto one = ok(api("GET", "/api/v1/time-rules/1"));
  EXPECT_EQ(one["segments"]["mon"], json::parse(R"([["00:00","23:59"]])"));
  EXPECT_EQ(one["segments"]["hol3"], json::parse(R"([["00:00","23:59"]])"));
  auto created = ok(api("POST", "/api/v1/time-rules",
                        json::parse(R"({"name": "office", "segments": {"mon": [["08:00", "18:00"]], "hol1": [["09:00", "12:00"]]}})")),
                    201);
  ASSERT_TRUE(created["id"].is_number_integer());
  EXPECT_GT(created["id"].get<int>(), 1);
  EXPECT_EQ(created["segments"]["tue"], json::array());
  EXPECT_EQ(api("POST", "/api/v1/time-rules", json::parse(R"({"name": "bad", "segments": {"mon": [["18:00", "08:00"]]}})")).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/time-rules", {{"name", "bad"}, {"segments", {{"moon", json::array()}}}}).status, 400);
  EXPECT_EQ(api("DELETE", "/api/v1/time-rules/1").status, 409);
  EXPECT_EQ(api("GET", "/api/v1/time-rules/999").status, 404);
}

TEST_F(SyncTest, PersonsCrudConflictsAndShape) {
  start_sync();
  auto level_id = level("PANEL0001", {1});
  auto created = ok(api("POST", "/api/v1/persons",
                        {{"pin", "1001"}, {"name", "Ann"}, {"cards", {"3102210"}}, {"access_levels", {level_id}}}),
                    201);
  EXPECT_EQ(created["pin"], "1001");
  EXPECT_EQ(created["cards"], json::array({"3102210"}));
  EXPECT_EQ(created["access_levels"], json::array({level_id}));
  EXPECT_EQ(created["credentials"], json::array());
  EXPECT_EQ(api("POST", "/api/v1/persons", {{"pin", "1001"}, {"name", "again"}}).status, 409);
  EXPECT_EQ(api("POST", "/api/v1/persons", {{"pin", "1002"}, {"cards", {"3102210"}}}).status, 409);  // card held
  EXPECT_EQ(api("POST", "/api/v1/persons", {{"pin", "1003"}, {"access_levels", {999}}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/persons", {{"pin", "a b"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/persons", {{"pin", "1004"}, {"cards", {"12x"}}}).status, 400);
  auto patched = ok(api("PATCH", "/api/v1/persons/1001", {{"name", "Anne"}, {"cards", {"3102210", "77"}}, {"lost_cards", {"77"}}}));
  EXPECT_EQ(patched["name"], "Anne");
  EXPECT_EQ(patched["cards"], json::array({"3102210", "77"}));
  EXPECT_EQ(patched["lost_cards"], json::array({"77"}));
  EXPECT_EQ(ok(api("GET", "/api/v1/persons/1001"))["name"], "Anne");
  EXPECT_EQ(ok(api("DELETE", "/api/v1/persons/1001"))["deleted"], true);
  EXPECT_EQ(api("GET", "/api/v1/persons/1001").status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/persons/1001").status, 404);
  EXPECT_EQ(api("PATCH", "/api/v1/persons/1001", {{"name", "x"}}).status, 404);
}

// The contract's count: 50 persons created by 50 calls, 10 of them deleted, reach the panel in at
// most 30 DATA commands, and the panel then holds exactly the 40.
TEST_F(SyncTest, FiftyCreatedTenDeletedFoldIntoFewCommands) {
  start_sync();
  auto p1 = panel("FOLD0001");
  const auto level_id = level(p1.sn, {1, 2});
  for (int i = 1; i <= 50; ++i) person(std::to_string(i), std::to_string(5000 + i), {level_id});
  auto pending = sync_view(p1.sn);
  EXPECT_EQ(pending["pending"], 51) << pending;  // 50 persons and time rule 1
  for (int i = 1; i <= 10; ++i) ok(api("DELETE", "/api/v1/persons/" + std::to_string(i)));
  EXPECT_EQ(sync_view(p1.sn)["pending"], 41);
  sync(p1);
  EXPECT_LE(p1.data_commands, 30);
  auto view = sync_view(p1.sn);
  EXPECT_EQ(view["pending"], 0) << view;
  EXPECT_EQ(view["applied"], 41) << view;
  EXPECT_EQ(view["failed"], 0) << view;
  EXPECT_EQ(view["commands"], p1.data_commands) << view;
  // The round's end is a message of the log (the stream, webhooks, MQTT): its counts, applied.
  auto told = zkpush::test::read(app_->store(), [](storage::Reads& r) {
    storage::MessageFilter f;
    f.kinds = {"sync"};
    f.limit = 0;
    return r.messages().list(f);
  });
  ASSERT_FALSE(told.empty());
  const auto last = json::parse(told.back().body);
  EXPECT_EQ(told.back().sn, p1.sn);
  EXPECT_EQ(last["state"], "applied") << last;
  EXPECT_EQ(last["applied"], 41) << last;
  EXPECT_EQ(last["pending"], 0) << last;
  std::set<std::string> expected;
  for (int i = 11; i <= 50; ++i) expected.insert(std::to_string(i));
  EXPECT_EQ(pins(p1, "user"), expected);
  EXPECT_EQ(pins(p1, "userauthorize"), expected);
  ASSERT_NE(p1.model.find("user", "Pin", "12"), nullptr);
  EXPECT_EQ(p1.model.find("user", "Pin", "12")->get_or("CardNo", ""), "5012");
  EXPECT_EQ(p1.model.find("userauthorize", "Pin", "12")->get_or("AuthorizeDoorId", ""), "3");  // doors 1 and 2
  EXPECT_NE(p1.model.find("timezone", "TimezoneId", "1"), nullptr);

  // Then one at a time: 10 deleted after the panel holds them.
  for (int i = 11; i <= 20; ++i) ok(api("DELETE", "/api/v1/persons/" + std::to_string(i)));
  const auto before = p1.data_commands;
  sync(p1);
  EXPECT_LE(p1.data_commands - before, 30);
  EXPECT_EQ(pins(p1, "user").size(), 30u);
  EXPECT_EQ(sync_view(p1.sn)["applied"], 31);
}

TEST_F(SyncTest, EditsReachOnlyThePanelsConcerned) {
  start_sync();
  auto a = panel("EDIT000A");
  auto b = panel("EDIT000B");
  auto c = panel("EDIT000C");  // no door of any level: left alone
  const auto la = level(a.sn, {1});
  const auto lb = level(b.sn, {2});
  person("7", "70", {la});
  person("8", "80", {la, lb});
  sync(a);
  sync(b);
  sync(c);
  EXPECT_EQ(c.data_commands, 0);
  EXPECT_EQ(pins(a, "user"), (std::set<std::string>{"7", "8"}));
  EXPECT_EQ(pins(b, "user"), (std::set<std::string>{"8"}));

  // A card changed on person 7 goes to panel A only.
  ok(api("PATCH", "/api/v1/persons/7", {{"cards", {"71"}}}));
  EXPECT_EQ(sync_view(a.sn)["pending"], 1);
  EXPECT_EQ(sync_view(b.sn)["pending"], 0);
  const auto b_before = b.data_commands;
  sync(a);
  sync(b);
  EXPECT_EQ(b.data_commands, b_before);
  EXPECT_EQ(a.model.find("user", "Pin", "7")->get_or("CardNo", ""), "71");

  // Level revoked: person 8 leaves panel B, stays on A.
  ok(api("PATCH", "/api/v1/persons/8", {{"access_levels", {la}}}));
  sync(a);
  sync(b);
  EXPECT_EQ(pins(b, "user"), std::set<std::string>{});
  EXPECT_EQ(pins(b, "userauthorize"), std::set<std::string>{});
  EXPECT_EQ(pins(a, "user"), (std::set<std::string>{"7", "8"}));

  // Time rule change: the panel gets the new periods.
  auto rule = ok(api("POST", "/api/v1/time-rules", json::parse(R"({"name": "day", "segments": {"mon": [["08:00", "18:00"]]}})")), 201);
  ok(api("PATCH", "/api/v1/access-levels/" + std::to_string(la), {{"time_rule_id", rule["id"]}}));
  sync(a);
  const auto rid = std::to_string(rule["id"].get<int>());
  ASSERT_NE(a.model.find("timezone", "TimezoneId", rid), nullptr);
  EXPECT_EQ(a.model.find("timezone", "TimezoneId", rid)->get_or("MonTime1", ""),
            std::to_string((800u << 16) | 1800u));
  EXPECT_EQ(a.model.find("userauthorize", "Pin", "7")->get_or("AuthorizeTimezoneId", ""), rid);
  EXPECT_EQ(a.model.find("timezone", "TimezoneId", "1"), nullptr);  // no level uses rule 1 there any more
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);
}

// One bad record in a packed command: the command is split until the record at fault goes alone,
// and everything else is applied.
TEST_F(SyncTest, AFailedRecordIsFoundBySplittingAndTheRestApplied) {
  start_sync();
  auto p1 = panel("SPLIT001");
  const auto level_id = level(p1.sn, {1});
  for (int i = 1; i <= 20; ++i) person(std::to_string(i), std::to_string(900 + i), {level_id});
  auto refuse_13 = [](const p::Command& c) -> std::optional<int> {
    if (const auto* u = std::get_if<p::DataUpdate>(&c.body))
      for (const auto& r : u->records)
        if (r.get_or("Pin", "") == "13") return -12;
    return std::nullopt;
  };
  sync(p1, refuse_13);
  auto view = sync_view(p1.sn);
  EXPECT_EQ(view["failed"], 1) << view;
  EXPECT_EQ(view["applied"], 20) << view;  // 19 persons and the time rule
  ASSERT_EQ(view["errors"].size(), 1u) << view;
  EXPECT_EQ(view["errors"][0]["key"], "13");
  EXPECT_EQ(view["errors"][0]["return"], -12);
  EXPECT_EQ(pins(p1, "user").size(), 19u);
  EXPECT_EQ(pins(p1, "user").count("13"), 0u);
}

TEST_F(SyncTest, APanelUploadOfAnUnknownPinBecomesAPersonWithItsCard) {
  start_sync();
  auto p1 = panel("ENROL001");
  p::Record user{{"uid", "1"}, {"cardno", "3102210"}, {"pin", "4242"}, {"password", ""}, {"group", "1"},
                 {"starttime", "0"}, {"endtime", "0"}, {"name", "Walk In"}, {"privilege", "0"}, {"disable", "0"},
                 {"verify", "0"}};
  user.prefix = "user";
  auto r = send(p::format_tabledata_upload(p1.sn, "user", {user}), p1.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto person = ok(api("GET", "/api/v1/persons/4242"));
  EXPECT_EQ(person["cards"], json::array({"3102210"}));
  EXPECT_EQ(person["name"], "Walk In");
  EXPECT_EQ(person["enrolled_at"], p1.sn);
  // The panel is not part of any level: nothing is sent to it, nothing wiped.
  sync(p1);
  EXPECT_EQ(p1.data_commands, 0);
}

TEST_F(SyncTest, UnderTheDefaultPolicyAPanelCannotAddACardToAKnownPerson) {
  start_sync();
  auto a = panel("PLANT00A");
  auto b = panel("PLANT00B");
  const auto lb = level(b.sn, {1});
  person("55", "5500", {lb});
  p::Record user{{"pin", "55"}, {"cardno", "666"}, {"name", "P55"}};
  user.prefix = "user";
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "user", {user}), a.token).status, 200);
  EXPECT_EQ(ok(api("GET", "/api/v1/persons/55"))["cards"], json::array({"5500"}));
  EXPECT_EQ(sync_view(b.sn)["pending"], 2);  // the person and the time rule, from the create only
}

TEST_F(SyncTest, UnderPolicyAllACardEnrolledAtOnePanelReachesThePersonsOtherPanels) {
  ServerConfig config;
  config.panel_enrolment = "all";
  start_sync(config);
  auto a = panel("ALL0000A");
  auto b = panel("ALL0000B", p::Record{{"AccSupportFunList", "00000001"}});  // multi-card panel
  const auto lb = level(b.sn, {1});
  person("55", "5500", {lb});
  std::vector<std::string> sent;
  sync(b, [&](const p::Command& c) -> std::optional<int> {
    sent.push_back(p::format_command(c));
    return std::nullopt;
  });
  // AccSupportFunList[7]: the manual has the server deliver MulCardUserFunOn=1 to such a panel,
  // ahead of the cards it then takes in mulcarduser.
  auto at = [&](const std::string& what) {
    return std::find_if(sent.begin(), sent.end(), [&](const std::string& c) { return c.find(what) != std::string::npos; }) - sent.begin();
  };
  ASSERT_LT(at("SET OPTIONS MulCardUserFunOn=1"), static_cast<std::ptrdiff_t>(sent.size()));
  EXPECT_LT(at("SET OPTIONS MulCardUserFunOn=1"), at("DATA UPDATE mulcarduser"));
  p::Record user{{"pin", "55"}, {"cardno", "666"}, {"name", "P55"}};
  user.prefix = "user";
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "user", {user}), a.token).status, 200);
  EXPECT_EQ(ok(api("GET", "/api/v1/persons/55"))["cards"], json::array({"5500", "666"}));
  sync(b);
  std::set<std::string> cards;
  for (const auto& r : b.model.rows("mulcarduser")) cards.insert(std::string(r.get_or("CardNo", "")));
  EXPECT_EQ(cards, (std::set<std::string>{"5500", "666"}));
}

TEST_F(SyncTest, ResyncWithClearReloadsAPanelClearedByHand) {
  start_sync();
  auto p1 = panel("CLEAR001");
  const auto level_id = level(p1.sn, {1});
  for (int i = 1; i <= 5; ++i) person(std::to_string(i), std::to_string(100 + i), {level_id});
  sync(p1);
  ASSERT_EQ(pins(p1, "user").size(), 5u);
  p1.model = emulator::DeviceModel(p1.sn, registry_options(), 4);  // cleared at its keypad
  ok(api("POST", "/api/v1/devices/" + p1.sn + "/resync", {{"clear", true}}));
  sync(p1);
  EXPECT_EQ(pins(p1, "user").size(), 5u);
  EXPECT_EQ(pins(p1, "userauthorize").size(), 5u);
  EXPECT_EQ(sync_view(p1.sn)["pending"], 0);
}

TEST_F(SyncTest, AReplacedPanelTakesOverTheDoorsAndGetsEverything) {
  start_sync();
  auto old_panel = panel("OLD00001");
  const auto level_id = level(old_panel.sn, {1, 3});
  for (int i = 1; i <= 3; ++i) person(std::to_string(i), std::to_string(300 + i), {level_id});
  sync(old_panel);
  auto fresh = panel("NEW00001");
  ok(api("POST", "/api/v1/devices/" + old_panel.sn + "/replace", {{"by", fresh.sn}}));
  auto level_view = ok(api("GET", "/api/v1/access-levels/" + std::to_string(level_id)));
  EXPECT_EQ(level_view["doors"], json::parse(R"([{"sn":"NEW00001","door":1},{"sn":"NEW00001","door":3}])"));
  sync(fresh);
  EXPECT_EQ(pins(fresh, "user"), (std::set<std::string>{"1", "2", "3"}));
  EXPECT_EQ(fresh.model.find("userauthorize", "Pin", "2")->get_or("AuthorizeDoorId", ""), "5");  // doors 1 and 3
  EXPECT_EQ(sync_view(fresh.sn)["pending"], 0);
}

// Holidays reach every panel of the domain as one row per date; a range shrunk or a holiday deleted
// is sent again whole (the manual deletes holiday rows only all at once).
TEST_F(SyncTest, HolidaysReachEveryPanelOfTheDomainOneRowPerDate) {
  start_sync();
  auto a = panel("HOLI000A");
  auto outside = panel("HOLI000B");  // no level: gets nothing
  const auto level_id = level(a.sn, {1});
  person("1", "101", {level_id});
  auto xmas = ok(api("POST", "/api/v1/holidays",
                     {{"name", "Christmas"}, {"start", "2026-12-24"}, {"end", "2026-12-26"}, {"type", 2}, {"yearly", true}}),
                 201);
  EXPECT_EQ(xmas["end"], "2026-12-26");
  ok(api("POST", "/api/v1/holidays", {{"name", "Audit day"}, {"date", "2027-03-01"}}), 201);
  EXPECT_EQ(api("POST", "/api/v1/holidays", {{"name", "Boxing"}, {"date", "2026-12-26"}}).status, 409);
  EXPECT_EQ(api("POST", "/api/v1/holidays", {{"name", "Bad"}, {"date", "2026-02-30"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/holidays", {{"name", "Bad"}, {"date", "2026-05-01"}, {"type", 4}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/holidays", {{"name", "Bad"}, {"start", "2026-05-02"}, {"end", "2026-05-01"}}).status, 400);
  EXPECT_EQ(ok(api("GET", "/api/v1/holidays")).size(), 2u);
  sync(a);
  sync(outside);
  EXPECT_EQ(outside.data_commands, 0);
  std::map<std::string, std::pair<std::string, std::string>> rows;
  for (const auto& r : a.model.rows("holiday"))
    rows[std::string(r.get_or("Holiday", ""))] = {std::string(r.get_or("HolidayType", "")), std::string(r.get_or("Loop", ""))};
  EXPECT_EQ(rows, (std::map<std::string, std::pair<std::string, std::string>>{{"20261224", {"2", "1"}},
                                                                               {"20261225", {"2", "1"}},
                                                                               {"20261226", {"2", "1"}},
                                                                               {"20270301", {"1", "2"}}}));
  // Shrunk to one day: the panel holds exactly the rows the domain says.
  const auto id = std::to_string(xmas["id"].get<int>());
  ok(api("PATCH", "/api/v1/holidays/" + id, {{"start", "2026-12-25"}, {"end", "2026-12-25"}}));
  sync(a);
  std::set<std::string> dates;
  for (const auto& r : a.model.rows("holiday")) dates.insert(std::string(r.get_or("Holiday", "")));
  EXPECT_EQ(dates, (std::set<std::string>{"20261225", "20270301"}));
  ok(api("DELETE", "/api/v1/holidays/" + id));
  sync(a);
  ASSERT_EQ(a.model.rows("holiday").size(), 1u);
  EXPECT_EQ(a.model.rows("holiday")[0].get_or("Holiday", ""), "20270301");
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);
}

// A panel whose user table is full refuses with -18: what fits is applied, the rest is failed with
// the panel's Return value and its meaning, and goes once there is room.
TEST_F(SyncTest, AFullPanelFailsTheRecordsThatDoNotFitAndTakesThemOnceThereIsRoom) {
  start_sync();
  auto a = panel("FULL0001", p::Record{{"~MaxUserCount", "5"}});
  const auto level_id = level(a.sn, {1});
  for (int i = 1; i <= 8; ++i) person(std::to_string(i), std::to_string(700 + i), {level_id});
  sync(a);
  EXPECT_EQ(pins(a, "user").size(), 5u);
  auto view = sync_view(a.sn);
  EXPECT_EQ(view["failed"], 3) << view;
  ASSERT_EQ(view["errors"].size(), 3u) << view;
  for (const auto& e : view["errors"]) {
    EXPECT_EQ(e["return"], -18) << e;
    EXPECT_NE(e["error"].get<std::string>().find("insufficient space"), std::string::npos) << e;
  }
  // Room made: two applied persons deleted; the failed ones go at the next reconcile.
  const auto held = pins(a, "user");
  std::vector<std::string> on_panel(held.begin(), held.end());
  ok(api("DELETE", "/api/v1/persons/" + on_panel[0]));
  ok(api("DELETE", "/api/v1/persons/" + on_panel[1]));
  ok(api("POST", "/api/v1/devices/" + a.sn + "/resync"));
  sync(a);
  EXPECT_EQ(pins(a, "user").size(), 5u);
  view = sync_view(a.sn);
  EXPECT_EQ(view["failed"], 1) << view;
  EXPECT_EQ(view["applied"], 6) << view;  // 5 persons and the time rule
}

// Migration from another server: a panel joining the domain is read before anything is written;
// its own users are kept and listed as unmanaged.
TEST_F(SyncTest, APanelJoiningWithUsersOfItsOwnIsReadFirstAndKeepsThem) {
  start_sync();
  auto a = panel("JOIN0001");
  for (const char* pin : {"900", "901", "2"})
    a.model.put("user", p::Record{{"Pin", pin}, {"CardNo", std::string("77") + pin}, {"Name", "theirs"}});
  const auto level_id = level(a.sn, {1});
  person("1", "101", {level_id});
  person("2", "102", {level_id});  // the panel already holds a pin 2: the domain's person takes it over
  std::vector<p::Verb> order;
  sync(a, [&](const p::Command& c) -> std::optional<int> {
    order.push_back(c.verb());
    return std::nullopt;
  });
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.front(), p::Verb::data_query);
  EXPECT_EQ(pins(a, "user"), (std::set<std::string>{"1", "2", "900", "901"}));  // nothing wiped
  // What the panel answered the DATA QUERY with is read, not adopted: no persons 900 and 901.
  EXPECT_EQ(api("GET", "/api/v1/persons/900").status, 404);
  EXPECT_EQ(api("GET", "/api/v1/persons/901").status, 404);
  EXPECT_EQ(a.model.find("user", "Pin", "2")->get_or("CardNo", ""), "102");
  auto view = sync_view(a.sn);
  EXPECT_EQ(view["unmanaged"], json::parse(R"([{"table":"user","pin":"900"},{"table":"user","pin":"901"}])")) << view;
  EXPECT_TRUE(view["checked_at"].is_number_integer()) << view;
  EXPECT_EQ(view["pending"], 0) << view;
  // The operator decides: a full load clears the panel and leaves only what the domain says.
  ok(api("POST", "/api/v1/devices/" + a.sn + "/resync", {{"clear", true}}));
  sync(a);
  EXPECT_EQ(pins(a, "user"), (std::set<std::string>{"1", "2"}));
}

// Verification: a panel cleared by hand at its keypad is noticed (it holds far fewer users than it
// should) and fully loaded again; one user deleted there is sent again alone.
TEST_F(SyncTest, VerificationRefillsAPanelClearedByHandAndAUserDeletedAtTheKeypad) {
  start_sync();
  auto a = panel("VRFY0001");
  const auto level_id = level(a.sn, {1});
  for (int i = 1; i <= 6; ++i) person(std::to_string(i), std::to_string(600 + i), {level_id});
  sync(a);
  ASSERT_EQ(pins(a, "user").size(), 6u);
  a.model = emulator::DeviceModel(a.sn, registry_options(), 4);  // cleared at its keypad
  auto asked = api("POST", "/api/v1/devices/" + a.sn + "/verify");
  EXPECT_EQ(asked.status, 202) << asked.body;
  sync(a);
  EXPECT_EQ(pins(a, "user").size(), 6u);
  EXPECT_EQ(pins(a, "userauthorize").size(), 6u);
  EXPECT_NE(a.model.find("timezone", "TimezoneId", "1"), nullptr);
  auto view = sync_view(a.sn);
  EXPECT_NE(view["check"].get<std::string>().find("reset"), std::string::npos) << view;
  EXPECT_EQ(view["pending"], 0) << view;

  a.model.remove(p::DataDelete{"user", p::Record{{"Pin", "4"}}, false});
  a.model.remove(p::DataDelete{"userauthorize", p::Record{{"Pin", "4"}}, false});
  ok(api("POST", "/api/v1/devices/" + a.sn + "/verify"), 202);
  const auto before = a.data_commands;
  sync(a);
  EXPECT_EQ(pins(a, "user").size(), 6u);
  EXPECT_EQ(pins(a, "userauthorize").size(), 6u);
  EXPECT_LE(a.data_commands - before, 3);  // the query, the user, its authorisation
  EXPECT_EQ(api("POST", "/api/v1/devices/NOSUCH01/verify").status, 404);
}

// The periodic check counts the panel's users; a count that differs leads to the full read.
TEST_F(SyncTest, APeriodicCountThatDiffersLeadsToARepair) {
  ServerConfig config;
  config.sync_verify_seconds = 1;
  start_sync(config);
  auto a = panel("CNT00001");
  const auto level_id = level(a.sn, {1});
  for (int i = 1; i <= 3; ++i) person(std::to_string(i), std::to_string(300 + i), {level_id});
  sync(a);
  a.model.remove(p::DataDelete{"user", p::Record{{"Pin", "2"}}, false});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::vector<p::Verb> order;
  sync(a, [&](const p::Command& c) -> std::optional<int> {
    order.push_back(c.verb());
    return std::nullopt;
  });
  ASSERT_GE(order.size(), 3u);
  EXPECT_EQ(order[0], p::Verb::data_count);
  EXPECT_EQ(order[1], p::Verb::data_query);
  EXPECT_EQ(pins(a, "user"), (std::set<std::string>{"1", "2", "3"}));
}

TEST_F(SyncTest, DoorCommandsGoAheadOfSyncWork) {
  start_sync();
  auto p1 = panel("PRIO0001");
  const auto level_id = level(p1.sn, {1});
  for (int i = 1; i <= 3; ++i) person(std::to_string(i), std::to_string(10 + i), {level_id});
  enqueue(p1.sn, "CONTROL DEVICE 01010105");
  auto r = send(p::format_getrequest(p1.sn), p1.token);
  auto commands = p::parse_commands(r.body);
  ASSERT_TRUE(commands.ok()) << r.body;
  ASSERT_FALSE(commands->empty());
  EXPECT_EQ(commands->front().verb(), p::Verb::control_device);
}

TEST_F(SyncTest, DataCountThroughTheRawRouteStillReportsTheCount) {
  start_sync();
  auto p1 = panel("COUNT001");
  const auto id = enqueue(p1.sn, "DATA COUNT user");
  auto r = send(p::format_getrequest(p1.sn), p1.token);
  auto commands = p::parse_commands(r.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1) << r.body;
  send(p::format_querydata_count(p1.sn, (*commands)[0].id, "user", 7), p1.token);
  send(p::format_devicecmd_results(
           p1.sn, {p::parse_amp_list(p::format_command_result(p::make_command_result((*commands)[0], 0)))}),
       p1.token);
  auto c = ok(api("GET", "/api/v1/commands/" + std::to_string(id)));
  EXPECT_EQ(c["result"]["counts"]["user"], 7) << c;
}

TEST_F(SyncTest, ImportsRunAsJobsWithPerRowErrorsAndReachThePanels) {
  start_sync();
  auto p1 = panel("IMPORT01");
  const auto level_id = level(p1.sn, {1});
  json persons = json::array();
  for (int i = 1; i <= 1200; ++i)
    persons.push_back({{"pin", std::to_string(i)}, {"name", "I" + std::to_string(i)}, {"cards", {std::to_string(70000 + i)}},
                       {"access_levels", {level_id}}});
  persons.push_back({{"pin", "bad pin"}});
  persons.push_back({{"pin", "1201"}, {"cards", {"70001"}}});  // card held by pin 1
  auto started = ok(api("POST", "/api/v1/persons/import", persons), 202);
  ASSERT_TRUE(started["id"].is_number_integer()) << started;
  // A deadline, not a duration: 1,202 rows take about a second with g++ and over ten under the
  // sanitizers on a busy machine.
  json job;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < give_up) {
    job = ok(api("GET", "/api/v1/jobs/" + std::to_string(started["id"].get<int>())));
    if (job["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(job["state"], "done") << job;
  EXPECT_EQ(job["total"], 1202);
  EXPECT_EQ(job["created"], 1200);
  EXPECT_EQ(job["failed"], 2);
  ASSERT_EQ(job["errors"].size(), 2u) << job;
  EXPECT_EQ(job["errors"][0]["row"], 1201);
  EXPECT_EQ(job["errors"][1]["pin"], "1201");
  EXPECT_EQ(sync_view(p1.sn)["pending"], 1201);  // the persons and time rule 1

  // CSV: updates an existing person, creates one, reports a bad row with its line.
  const std::string csv = "pin,name,cards,access_levels\r\n5,\"Renamed, Five\",70005;88,\r\n2000,New,,\r\n2001,x,12ab,\r\n";
  auto r = send_raw(http::test::request("POST", "/api/v1/persons/import", csv,
                                        "Authorization: Bearer " + kToken + "\r\nContent-Type: text/csv\r\n"));
  auto csv_job = ok(r, 202);
  for (int i = 0; i < 100 && csv_job["state"] == "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    csv_job = ok(api("GET", "/api/v1/jobs/" + std::to_string(csv_job["id"].get<int>())));
  }
  EXPECT_EQ(csv_job["updated"], 1) << csv_job;
  EXPECT_EQ(csv_job["created"], 1) << csv_job;
  ASSERT_EQ(csv_job["errors"].size(), 1u) << csv_job;
  EXPECT_EQ(csv_job["errors"][0]["row"], 3);
  auto five = ok(api("GET", "/api/v1/persons/5"));
  EXPECT_EQ(five["name"], "Renamed, Five");
  EXPECT_EQ(five["cards"], json::array({"70005", "88"}));
  EXPECT_EQ(five["access_levels"], json::array());  // an empty cell empties the list
  EXPECT_EQ(api("POST", "/api/v1/persons/import", json{{"persons", 5}}).status, 400);
  EXPECT_EQ(api("GET", "/api/v1/jobs/999").status, 404);

  sync(p1);
  EXPECT_EQ(pins(p1, "user").size(), 1199u);  // person 5 left the level
  EXPECT_EQ(sync_view(p1.sn)["pending"], 0);
}

// A panel offline while the domain changes gets, when it is back, what changed and nothing twice.
TEST_F(SyncTest, APanelBackFromOfflineGetsWhatChangedOnce) {
  start_sync();
  auto p1 = panel("AWAY0001");
  const auto level_id = level(p1.sn, {1});
  for (int i = 1; i <= 20; ++i) person(std::to_string(i), std::to_string(400 + i), {level_id});
  sync(p1);
  const auto before = p1.data_commands;
  // Offline: no polls while three persons change, two are deleted and two are added.
  for (int i = 1; i <= 3; ++i) ok(api("PATCH", "/api/v1/persons/" + std::to_string(i), {{"name", "changed"}}));
  ok(api("DELETE", "/api/v1/persons/19"));
  ok(api("DELETE", "/api/v1/persons/20"));
  person("21", "421", {level_id});
  person("22", "422", {level_id});
  EXPECT_EQ(sync_view(p1.sn)["pending"], 7);
  std::vector<std::string> seen;
  sync(p1, [&](const p::Command& c) -> std::optional<int> {
    if (const auto* u = std::get_if<p::DataUpdate>(&c.body))
      for (const auto& r : u->records) seen.push_back(u->table + " " + std::string(r.get_or("Pin", "")));
    return std::nullopt;
  });
  // 1 user update (5 records), 1 authorisation update (2 new persons), 2 x 2 deletes.
  EXPECT_EQ(p1.data_commands - before, 6);
  std::sort(seen.begin(), seen.end());
  EXPECT_TRUE(std::adjacent_find(seen.begin(), seen.end()) == seen.end()) << "a record sent twice";
  EXPECT_EQ(p1.model.find("user", "Pin", "2")->get_or("Name", ""), "changed");
  EXPECT_EQ(pins(p1, "user").size(), 20u);
  EXPECT_EQ(pins(p1, "user").count("19"), 0u);
  EXPECT_EQ(pins(p1, "user").count("22"), 1u);
  EXPECT_EQ(sync_view(p1.sn)["pending"], 0);
}

TEST_F(SyncTest, EventsNameTheirPerson) {
  start_sync();
  auto p1 = panel("NAMES001");
  ok(api("POST", "/api/v1/persons", {{"pin", "1"}, {"name", "Ann"}}), 201);
  auto unknown = rtlog_record(2, "2024-01-01 12:00:01");
  unknown.set("pin", "77");
  ASSERT_EQ(send(p::format_rtlog_upload(p1.sn, {rtlog_record(1, "2024-01-01 12:00:00"), unknown}), p1.token).status, 200);
  auto events = ok(api("GET", "/api/v1/events?sn=" + p1.sn));
  ASSERT_EQ(events.size(), 2u) << events;
  EXPECT_EQ(events[0]["person_name"], "Ann");
  EXPECT_TRUE(events[1]["person_name"].is_null());
}

// ---- credentials ----

const p::Record kBioPanel{{"MultiBioDataSupport", "0:1:0:0:0:0:0:0:0:1"},
                          {"MultiBioVersion", "0:10:0:0:0:0:0:0:0:40"}};  // fingerprints v10, faces v40
const p::Record kFingerPanel{{"FingerFunOn", "1"}};                        // templatev10 only

p::Record finger_upload(const std::string& pin, int finger, const std::string& tmpl) {
  p::Record r{{"size", std::to_string(tmpl.size())}, {"uid", "1"}, {"pin", pin}, {"fingerid", std::to_string(finger)},
              {"valid", "1"}, {"template", tmpl}};
  r.prefix = "templatev10";
  return r;
}

std::vector<std::string> rows_of(const emulator::DeviceModel& model, const char* table, const char* field) {
  std::vector<std::string> out;
  for (const auto& r : model.rows(table))
    out.push_back(std::string(r.get_or("Pin", "")) + "/" + std::string(r.get_or(field, "")));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(SyncTest, UnderPolicyAllAFingerprintEnrolledAtOnePanelReachesThePersonsOtherPanelsInTheirForm) {
  ServerConfig config;
  config.panel_enrolment = "all";
  start_sync(config);
  auto a = panel("FPALL00A", kFingerPanel);
  auto bio = panel("FPALL00B", kBioPanel);
  auto finger = panel("FPALL00C", kFingerPanel);
  person("55", "5500", {level(bio.sn, {1}), level(finger.sn, {1})});
  sync(bio);
  sync(finger);
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "templatev10", {finger_upload("55", 3, "QUJDRA==")}), a.token).status, 200);
  auto person55 = ok(api("GET", "/api/v1/persons/55"));
  ASSERT_EQ(person55["credentials"].size(), 1u) << person55;
  const auto credential = person55["credentials"][0];
  EXPECT_EQ(credential["type"], "fingerprint");
  EXPECT_EQ(credential["finger"], 3);
  EXPECT_EQ(credential["enrolled_at"], a.sn);
  sync(bio);
  sync(finger);
  EXPECT_EQ(rows_of(bio.model, "biodata", "Tmp"), (std::vector<std::string>{"55/QUJDRA=="}));
  EXPECT_EQ(bio.model.rows("biodata").at(0).get_or("Type", ""), "1");
  EXPECT_EQ(bio.model.rows("biodata").at(0).get_or("No", ""), "3");
  EXPECT_EQ(bio.model.rows("biodata").at(0).get_or("MajorVer", ""), "10");
  EXPECT_EQ(rows_of(finger.model, "templatev10", "FingerID"), (std::vector<std::string>{"55/3"}));
  EXPECT_EQ(sync_view(bio.sn)["pending"], 0);
  EXPECT_EQ(sync_view(finger.sn)["failed"], 0);
  // The same upload again changes nothing; removed through the API, it leaves both panels.
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "templatev10", {finger_upload("55", 3, "QUJDRA==")}), a.token).status, 200);
  EXPECT_EQ(sync_view(bio.sn)["pending"], 0);
  ok(api("DELETE", "/api/v1/persons/55/credentials/" + std::to_string(credential["id"].get<std::int64_t>())));
  sync(bio);
  sync(finger);
  EXPECT_TRUE(bio.model.rows("biodata").empty());
  EXPECT_TRUE(finger.model.rows("templatev10").empty());
  EXPECT_EQ(pins(finger, "user"), (std::set<std::string>{"55"}));  // the person stays
}

TEST_F(SyncTest, UnderTheDefaultPolicyAPanelCannotPlantAFingerprintButItsOwnEnrolmentsKeepTheirs) {
  start_sync();
  auto a = panel("FPDEF00A", kFingerPanel);
  auto b = panel("FPDEF00B", kFingerPanel);
  const auto lb = level(b.sn, {1});
  person("55", "5500", {lb});
  sync(b);
  const auto before = b.data_commands;
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "templatev10", {finger_upload("55", 3, "QUJDRA==")}), a.token).status, 200);
  EXPECT_TRUE(ok(api("GET", "/api/v1/persons/55"))["credentials"].empty());
  sync(b);
  EXPECT_EQ(b.data_commands, before);
  EXPECT_TRUE(b.model.rows("templatev10").empty());

  // A person enrolled at the panel (user row, then its finger) keeps what that panel enrolled.
  p::Record user{{"pin", "77"}, {"cardno", "7700"}, {"name", "Walk In"}};
  user.prefix = "user";
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "user", {user}), a.token).status, 200);
  ASSERT_EQ(send(p::format_tabledata_upload(a.sn, "templatev10", {finger_upload("77", 6, "RklORw==")}), a.token).status, 200);
  auto walk_in = ok(api("GET", "/api/v1/persons/77"));
  ASSERT_EQ(walk_in["credentials"].size(), 1u) << walk_in;
  EXPECT_EQ(walk_in["credentials"][0]["finger"], 6);
  EXPECT_EQ(walk_in["credentials"][0]["enrolled_at"], a.sn);
  // Given a level on another panel by the operator, the person arrives there with the finger.
  ok(api("PATCH", "/api/v1/persons/77", {{"access_levels", {lb}}}));
  sync(b);
  EXPECT_EQ(rows_of(b.model, "templatev10", "Template"), (std::vector<std::string>{"77/RklORw=="}));
}

TEST_F(SyncTest, CredentialsThroughTheApiGoToThePanelsThatCanHoldThem) {
  start_sync();
  auto bio = panel("CRED000B", kBioPanel);
  auto finger = panel("CRED000C", kFingerPanel);
  person("8", "800", {level(bio.sn, {1}), level(finger.sn, {1})});
  auto added = ok(api("POST", "/api/v1/persons/8/credentials", {{"type", "face"}, {"template", "RkFDRQ=="}, {"version", "40.1"}}), 201);
  ASSERT_EQ(added["credentials"].size(), 1u) << added;
  EXPECT_EQ(added["credentials"][0]["type"], "face");
  EXPECT_EQ(added["credentials"][0]["enrolled_at"], nullptr);
  ok(api("POST", "/api/v1/persons/8/credentials", {{"type", "fingerprint"}, {"finger", 1}, {"template", "RklORw=="}}), 201);
  sync(bio);
  sync(finger);
  std::vector<std::string> types;
  for (const auto& r : bio.model.rows("biodata")) types.push_back(std::string(r.get_or("Type", "")));
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types, (std::vector<std::string>{"1", "9"}));
  // The fingerprint panel takes the finger, not the face it has no algorithm for.
  EXPECT_EQ(rows_of(finger.model, "templatev10", "FingerID"), (std::vector<std::string>{"8/1"}));
  EXPECT_EQ(sync_view(finger.sn)["failed"], 0);
  // Replaced (same type, finger and index): the panel gets the new template.
  ok(api("POST", "/api/v1/persons/8/credentials", {{"type", "fingerprint"}, {"finger", 1}, {"template", "TkVXRg=="}}), 201);
  sync(finger);
  EXPECT_EQ(rows_of(finger.model, "templatev10", "Template"), (std::vector<std::string>{"8/TkVXRg=="}));
  EXPECT_EQ(ok(api("GET", "/api/v1/persons/8"))["credentials"].size(), 2u);
  // The user photo, as an image of its type (the console shows it); none yet: 404.
  EXPECT_EQ(api("GET", "/api/v1/persons/8/photo").status, 404);
  EXPECT_EQ(api("GET", "/api/v1/persons/404/photo").status, 404);
  const std::string png("\x89PNG\r\n\x1A\n\0\0\0\rIHDR", 16);
  ok(api("POST", "/api/v1/persons/8/credentials", {{"type", "photo"}, {"photo", p::base64_encode(png)}}), 201);
  const auto photo = api("GET", "/api/v1/persons/8/photo");
  EXPECT_EQ(photo.status, 200);
  EXPECT_EQ(photo.body, png);
  // Bad calls are refused with a reason.
  EXPECT_EQ(api("POST", "/api/v1/persons/8/credentials", {{"type", "nose"}, {"template", "QQ=="}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/persons/8/credentials", {{"type", "face"}, {"template", "not base64!"}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/persons/8/credentials", {{"type", "fingerprint"}, {"finger", 12}, {"template", "QQ=="}}).status, 400);
  EXPECT_EQ(api("POST", "/api/v1/persons/404/credentials", {{"type", "face"}, {"template", "QQ=="}}).status, 404);
  EXPECT_EQ(api("DELETE", "/api/v1/persons/8/credentials/999").status, 404);
  // The person deleted: its templates go before its user row.
  ok(api("DELETE", "/api/v1/persons/8"));
  sync(bio);
  EXPECT_TRUE(bio.model.rows("biodata").empty());
  EXPECT_TRUE(bio.model.rows("user").empty());
}

// Verification reads back the template tables a panel was given: fingerprints deleted at the panel
// while the users stayed are noticed and sent again.
TEST_F(SyncTest, VerificationSendsAgainTemplatesAPanelLost) {
  start_sync();
  auto finger = panel("VTPL0001", kFingerPanel);
  auto bio = panel("VTPL0002", kBioPanel);
  const auto level_id = ok(api("POST", "/api/v1/access-levels",
                               json::parse(R"({"name": "both", "time_rule_id": 1, "doors": [{"sn": "VTPL0001", "door": 1}, {"sn": "VTPL0002", "door": 1}]})")),
                           201)["id"].get<std::int64_t>();
  for (const char* pin : {"1", "2", "3"}) {
    person(pin, std::string("90") + pin, {level_id});
    ok(api("POST", std::string("/api/v1/persons/") + pin + "/credentials", {{"type", "fingerprint"}, {"finger", 2}, {"template", "RklORw=="}}), 201);
  }
  person("4", "904", {level_id});  // no template
  sync(finger);
  sync(bio);
  ASSERT_EQ(finger.model.rows("templatev10").size(), 3u);
  ASSERT_EQ(bio.model.rows("biodata").size(), 3u);
  finger.model.remove(p::DataDelete{"templatev10", p::Record{{"Pin", "2"}}, false});
  bio.model.remove(p::DataDelete{"biodata", p::Record{{"Type", "1"}, {"Pin", "3"}}, false});
  ok(api("POST", "/api/v1/devices/" + finger.sn + "/verify"), 202);
  ok(api("POST", "/api/v1/devices/" + bio.sn + "/verify"), 202);
  std::vector<std::string> sent;
  sync(finger, [&](const p::Command& c) -> std::optional<int> {
    sent.push_back(p::format_command(c));
    return std::nullopt;
  });
  sync(bio);
  EXPECT_EQ(rows_of(finger.model, "templatev10", "FingerID"), (std::vector<std::string>{"1/2", "2/2", "3/2"}));
  EXPECT_EQ(bio.model.rows("biodata").size(), 3u);
  EXPECT_TRUE(std::any_of(sent.begin(), sent.end(), [](const std::string& c) { return c.find("DATA QUERY tablename=templatev10") != std::string::npos; }));
  auto view = sync_view(finger.sn);
  EXPECT_NE(view["check"].get<std::string>().find("templatev10: 3 person(s) known to hold templates, 1 missing"), std::string::npos) << view;
  EXPECT_EQ(view["pending"], 0) << view;
  view = sync_view(bio.sn);
  EXPECT_NE(view["check"].get<std::string>().find("biodata: 3 person(s) known to hold templates, 1 missing"), std::string::npos) << view;
  // Nothing lost: the next verification finds all, and sends nothing but its queries.
  ok(api("POST", "/api/v1/devices/" + finger.sn + "/verify"), 202);
  const auto before = finger.data_commands;
  sync(finger);
  EXPECT_EQ(finger.data_commands - before, 2);  // DATA QUERY user, DATA QUERY templatev10
  EXPECT_NE(sync_view(finger.sn)["check"].get<std::string>().find("0 missing"), std::string::npos);
}

// ---- doors ----

TEST_F(SyncTest, DoorsComeFromTheRegistrationAndTheirParametersReachThePanelAfterTheRulesTheyName) {
  start_sync();
  auto a = panel("DOORS001", p::Record{{"LockCount", "4"}, {"ReaderCount", "8"}, {"AuxInCount", "4"}, {"AuxOutCount", "2"}});
  auto listed = ok(api("GET", "/api/v1/devices/" + a.sn + "/doors"));
  EXPECT_EQ(listed["lock_count"], 4);
  EXPECT_EQ(listed["reader_count"], 8);
  EXPECT_EQ(listed["aux_in_count"], 4);
  EXPECT_EQ(listed["aux_out_count"], 2);
  ASSERT_EQ(listed["doors"].size(), 4u) << listed;
  EXPECT_EQ(listed["doors"][3]["door"], 4);

  const auto rule = ok(api("POST", "/api/v1/time-rules", json::parse(R"({"name": "office", "segments": {"mon": [["08:00", "18:00"]]}})")), 201)["id"].get<std::int64_t>();
  auto door = ok(api("PATCH", "/api/v1/devices/" + a.sn + "/doors/1",
                     {{"name", "Front"}, {"drive_time", 5}, {"sensor_type", 1}, {"sensor_delay", 15}, {"verify_mode", 4},
                      {"normal_open_time_rule_id", rule}, {"duress_password", "1234"}, {"lock_on_close", true}}));
  EXPECT_EQ(door["name"], "Front");
  EXPECT_EQ(door["settings"]["drive_time"], 5);
  std::vector<std::string> sent;
  sync(a, [&](const p::Command& c) -> std::optional<int> {
    sent.push_back(p::format_command(c));
    return std::nullopt;
  });
  EXPECT_EQ(a.model.option("Door1Drivertime").value_or(""), "5");
  EXPECT_EQ(a.model.option("Door1SensorType").value_or(""), "1");
  EXPECT_EQ(a.model.option("Door1Detectortime").value_or(""), "15");
  EXPECT_EQ(a.model.option("Door1VerifyType").value_or(""), "4");
  EXPECT_EQ(a.model.option("Door1KeepOpenTimeZone").value_or(""), std::to_string(rule));
  EXPECT_EQ(a.model.option("Door1ForcePassWord").value_or(""), "1234");
  EXPECT_EQ(a.model.option("Door1CloseAndLock").value_or(""), "1");
  // The normal-open rule is on the panel, written before the options that name it.
  ASSERT_TRUE(a.model.find("timezone", "TimezoneId", std::to_string(rule))) << "no timezone " << rule;
  auto at = [&](const std::string& what) {
    return std::find_if(sent.begin(), sent.end(), [&](const std::string& c) { return c.find(what) != std::string::npos; }) - sent.begin();
  };
  EXPECT_LT(at("DATA UPDATE timezone"), at("SET OPTIONS"));
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);

  // A change sends what changed only.
  sent.clear();
  ok(api("PATCH", "/api/v1/devices/" + a.sn + "/doors/1", {{"drive_time", 7}}));
  sync(a, [&](const p::Command& c) -> std::optional<int> {
    sent.push_back(p::format_command(c));
    return std::nullopt;
  });
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].find("SET OPTIONS Door1Drivertime=7"), std::string::npos) << sent[0];
  EXPECT_EQ(sent[0].find("Door1SensorType"), std::string::npos) << sent[0];

  // The panel's own settings: anti-passback and interlock (Appendices 8 and 9).
  ok(api("PATCH", "/api/v1/devices/" + a.sn + "/access-settings", {{"anti_passback", 1}, {"interlock", 1}}));
  sync(a);
  EXPECT_EQ(a.model.option("AntiPassback").value_or(""), "1");
  EXPECT_EQ(a.model.option("InterLock").value_or(""), "1");
  listed = ok(api("GET", "/api/v1/devices/" + a.sn + "/doors"));
  EXPECT_EQ(listed["settings"]["interlock"], 1);
  EXPECT_EQ(listed["doors"][0]["name"], "Front");

  // Refused with a reason.
  const std::string door1 = "/api/v1/devices/" + a.sn + "/doors/1";
  EXPECT_EQ(api("PATCH", "/api/v1/devices/" + a.sn + "/doors/5", {{"drive_time", 5}}).status, 404);  // LockCount=4
  EXPECT_EQ(api("PATCH", door1, {{"drive_time", 999}}).status, 400);
  EXPECT_EQ(api("PATCH", door1, {{"interlock", 1}}).status, 400);  // a panel setting, not a door's
  EXPECT_EQ(api("PATCH", door1, {{"normal_open_time_rule_id", 999}}).status, 400);
  EXPECT_EQ(api("PATCH", door1, {{"duress_password", "12ab"}}).status, 400);
  EXPECT_EQ(api("PATCH", "/api/v1/devices/" + a.sn + "/access-settings", {{"anti_passback", 7}}).status, 400);
  EXPECT_EQ(api("DELETE", "/api/v1/time-rules/" + std::to_string(rule)).status, 409);  // door 1 names it
  // Unset: nothing is sent (the panel keeps its value), and the rule may go.
  ok(api("PATCH", door1, {{"normal_open_time_rule_id", nullptr}}));
  ok(api("DELETE", "/api/v1/time-rules/" + std::to_string(rule)));
  sync(a);
  EXPECT_FALSE(a.model.find("timezone", "TimezoneId", std::to_string(rule)));

  // A replacement takes the doors' names and settings over.
  auto b = panel("DOORS002", p::Record{{"LockCount", "4"}});
  ok(api("POST", "/api/v1/devices/" + a.sn + "/replace", {{"by", b.sn}}));
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + b.sn + "/doors"))["doors"][0]["name"], "Front");
  sync(b);
  EXPECT_EQ(b.model.option("Door1Drivertime").value_or(""), "7");
  EXPECT_EQ(b.model.option("InterLock").value_or(""), "1");
}

// First-card persons, multi-card group combinations, linkage and DST: settings of a door or the
// panel that are rows of the manual's tables (firstcard, multimcard, inoutfun, DSTSetting). They
// reach the panel after the users and time rules they name; a row gone is deleted, by its key
// where the table deletes by it, else all of the table and what remains again.
TEST_F(SyncTest, FirstCardMultiCardLinkageAndDstReachThePanelAsTheManualsTables) {
  start_sync();
  auto a = panel("TABLES01", p::Record{{"LockCount", "4"}});
  const auto level_id = level(a.sn, {1});
  ok(api("POST", "/api/v1/persons", {{"pin", "1"}, {"name", "Ann"}, {"group", 2}, {"access_levels", {level_id}}}), 201);
  ok(api("POST", "/api/v1/persons", {{"pin", "2"}, {"name", "Bo"}, {"group", 3}, {"access_levels", {level_id}}}), 201);
  const auto rule = ok(api("POST", "/api/v1/time-rules", json::parse(R"({"name": "mornings", "segments": {"mon": [["07:00", "09:00"]]}})")), 201)["id"].get<std::int64_t>();
  const std::string door1 = "/api/v1/devices/" + a.sn + "/doors/1", panel_settings = "/api/v1/devices/" + a.sn + "/access-settings";
  auto door = ok(api("PATCH", door1, json::parse(R"({"first_card": 1, "multi_card": true, "multi_card_groups": [[2, 3], [2]],
      "first_card_persons": [{"pin": "1", "time_rule_id": )" + std::to_string(rule) + R"(}]})")));
  EXPECT_EQ(door["settings"]["first_card_persons"][0]["pin"], "1");
  ok(api("PATCH", panel_settings, json::parse(R"({"dst": true,
      "linkages": [{"event": 204, "in": 1, "output": "aux", "out": 2, "seconds": 30}],
      "dst_rules": [{"year": 2026, "start": {"month": 3, "week": 5, "weekday": 0, "hour": 2},
                     "end": {"month": 10, "week": 5, "weekday": 0, "hour": 3}, "loop": true}]})")));
  std::vector<std::string> sent;
  auto record = [&](const p::Command& c) -> std::optional<int> {
    sent.push_back(p::format_command(c));
    return std::nullopt;
  };
  sync(a, record);
  auto at = [&](const std::string& what) {
    return std::find_if(sent.begin(), sent.end(), [&](const std::string& c) { return c.find(what) != std::string::npos; }) - sent.begin();
  };
  ASSERT_LT(at("DATA UPDATE firstcard"), static_cast<std::ptrdiff_t>(sent.size()));
  EXPECT_LT(at("DATA UPDATE user"), at("DATA UPDATE firstcard"));
  EXPECT_LT(at("DATA UPDATE timezone"), at("DATA UPDATE firstcard"));
  ASSERT_EQ(a.model.rows("firstcard").size(), 1u);
  const auto& fc = a.model.rows("firstcard")[0];
  EXPECT_EQ(fc.get_or("DoorID", ""), "1");
  EXPECT_EQ(fc.get_or("Pin", ""), "1");
  EXPECT_EQ(fc.get_or("TimezoneID", ""), std::to_string(rule));
  ASSERT_EQ(a.model.rows("multimcard").size(), 2u);
  const auto* combo = a.model.find("multimcard", "Index", "1");
  ASSERT_TRUE(combo);
  EXPECT_EQ(combo->get_or("DoorId", ""), "1");
  EXPECT_EQ(combo->get_or("Group1", ""), "2");
  EXPECT_EQ(combo->get_or("Group2", ""), "3");
  EXPECT_EQ(combo->get_or("Group3", "x"), "");
  ASSERT_EQ(a.model.rows("inoutfun").size(), 1u);
  const auto& link = a.model.rows("inoutfun")[0];
  EXPECT_EQ(link.get_or("EventType", ""), "204");
  EXPECT_EQ(link.get_or("InAddr", ""), "1");
  EXPECT_EQ(link.get_or("OutType", ""), "1");
  EXPECT_EQ(link.get_or("OutAddr", ""), "2");
  EXPECT_EQ(link.get_or("OutTime", ""), "30");
  ASSERT_EQ(a.model.rows("DSTSetting").size(), 1u);
  const auto& dst = a.model.rows("DSTSetting")[0];
  EXPECT_EQ(dst.get_or("Year", ""), "2026");
  EXPECT_EQ(dst.get_or("StartTime", ""), "03050002");
  EXPECT_EQ(dst.get_or("EndTime", ""), "10050003");
  EXPECT_EQ(dst.get_or("Loop", ""), "1");
  EXPECT_EQ(a.model.option("DSTOn").value_or(""), "1");
  EXPECT_EQ(a.model.option("Door1FirstCardOpenDoor").value_or(""), "1");
  EXPECT_EQ(a.model.option("Door1MultiCardOpenDoor").value_or(""), "1");
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);

  // Refused with a reason; a rule a first card names is in use.
  EXPECT_EQ(api("PATCH", door1, json::parse(R"({"first_card_persons": [{"pin": "77"}]})")).status, 400);
  EXPECT_EQ(api("PATCH", door1, json::parse(R"({"first_card_persons": [{"pin": "1", "time_rule_id": 999}]})")).status, 400);
  EXPECT_EQ(api("PATCH", door1, json::parse(R"({"multi_card_groups": [[100]]})")).status, 400);
  EXPECT_EQ(api("PATCH", door1, json::parse(R"({"multi_card_groups": [[1, 2, 3, 4, 5, 6]]})")).status, 400);
  EXPECT_EQ(api("PATCH", door1, json::parse(R"({"dst_rules": []})")).status, 400);  // a panel setting
  EXPECT_EQ(api("PATCH", panel_settings, json::parse(R"({"linkages": [{"event": 204, "output": "siren", "out": 1, "seconds": 3}]})")).status, 400);
  EXPECT_EQ(api("PATCH", panel_settings, json::parse(R"({"linkages": [{"event": 99999, "output": "lock", "out": 1, "seconds": 3}]})")).status, 400);
  EXPECT_EQ(api("PATCH", panel_settings, json::parse(R"({"dst_rules": [{"year": 2026, "start": {"month": 13, "week": 1, "weekday": 0, "hour": 2},
      "end": {"month": 10, "week": 5, "weekday": 0, "hour": 3}}]})")).status, 400);
  EXPECT_EQ(api("DELETE", "/api/v1/time-rules/" + std::to_string(rule)).status, 409);

  // Changes: a combination dropped (its row deleted by Index), a first card added and the other
  // deleted as a person, the linkage removed, next year's DST instead of this year's.
  ok(api("PATCH", door1, json::parse(R"({"multi_card_groups": [[3]], "first_card_persons": [{"pin": "1", "time_rule_id": )" +
                                     std::to_string(rule) + R"(}, {"pin": "2"}]})")));
  ok(api("DELETE", "/api/v1/persons/1"));
  EXPECT_EQ(ok(api("GET", "/api/v1/devices/" + a.sn + "/doors"))["doors"][0]["settings"]["first_card_persons"],
            json::parse(R"([{"pin": "2", "time_rule_id": 1}])"));
  ok(api("PATCH", panel_settings, json::parse(R"({"linkages": null, "dst_rules": [{"year": 2027,
      "start": {"month": 3, "week": 5, "weekday": 0, "hour": 2}, "end": {"month": 10, "week": 5, "weekday": 0, "hour": 3}}]})")));
  sent.clear();
  sync(a, record);
  ASSERT_EQ(a.model.rows("firstcard").size(), 1u);
  EXPECT_EQ(a.model.rows("firstcard")[0].get_or("Pin", ""), "2");
  EXPECT_EQ(a.model.rows("firstcard")[0].get_or("TimezoneID", ""), "1");
  ASSERT_EQ(a.model.rows("multimcard").size(), 1u);
  EXPECT_EQ(a.model.rows("multimcard")[0].get_or("Group1", ""), "3");
  EXPECT_EQ(a.model.rows("multimcard")[0].get_or("Group2", "x"), "");
  EXPECT_TRUE(a.model.rows("inoutfun").empty());
  ASSERT_EQ(a.model.rows("DSTSetting").size(), 1u);
  EXPECT_EQ(a.model.rows("DSTSetting")[0].get_or("Year", ""), "2027");
  EXPECT_EQ(a.model.rows("DSTSetting")[0].get_or("Loop", ""), "0");
  EXPECT_LT(at("DATA DELETE multimcard Index=2"), static_cast<std::ptrdiff_t>(sent.size()));
  EXPECT_LT(at("DATA DELETE inoutfun Index=1"), static_cast<std::ptrdiff_t>(sent.size()));
  EXPECT_LT(at("DATA DELETE DSTSetting *"), at("DATA UPDATE DSTSetting"));
  EXPECT_LT(at("DATA DELETE firstcard DoorID=1"), at("DATA UPDATE firstcard"));
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);
  // Nothing named by a first card any more: the rule may go.
  ok(api("PATCH", door1, json::parse(R"({"first_card_persons": null})")));
  ok(api("DELETE", "/api/v1/time-rules/" + std::to_string(rule)));
  sync(a);
  EXPECT_TRUE(a.model.rows("firstcard").empty());
  EXPECT_EQ(sync_view(a.sn)["pending"], 0);
}

// A pin with letters goes only to panels that take string pins (StringPinFunOn=1); elsewhere its
// record fails with the reason, and the others go.
TEST_F(SyncTest, AStringPinGoesOnlyToPanelsThatTakeThem) {
  start_sync();
  auto strings = panel("SPIN0001", p::Record{{"StringPinFunOn", "1"}});
  auto digits = panel("SPIN0002", p::Record{{"StringPinFunOn", "0"}});
  const auto level_id = ok(api("POST", "/api/v1/access-levels",
                               json::parse(R"({"name": "both", "time_rule_id": 1, "doors": [{"sn": "SPIN0001", "door": 1}, {"sn": "SPIN0002", "door": 1}]})")),
                           201)["id"].get<std::int64_t>();
  person("A17", "1717", {level_id});
  person("18", "1818", {level_id});
  sync(strings);
  sync(digits);
  EXPECT_EQ(pins(strings, "user"), (std::set<std::string>{"A17", "18"}));
  EXPECT_EQ(pins(digits, "user"), (std::set<std::string>{"18"}));
  auto view = sync_view(digits.sn);
  EXPECT_EQ(view["failed"], 1) << view;
  ASSERT_EQ(view["errors"].size(), 1u) << view;
  EXPECT_EQ(view["errors"][0]["key"], "A17");
  EXPECT_NE(view["errors"][0]["error"].get<std::string>().find("StringPinFunOn"), std::string::npos) << view;
  EXPECT_EQ(sync_view(strings.sn)["failed"], 0);
}

// What a console reads of the sync: one person on every panel (GET /persons/{pin}/sync) and every
// panel's counts in one call (GET /sync), the same counts /devices/{sn}/sync gives one by one.
TEST_F(SyncTest, APersonsSyncPerPanelAndEveryPanelsCountsInOneCall) {
  start_sync();
  auto a = panel("CONSOLEA");
  auto b = panel("CONSOLEB");
  handshake("CONSOLEC");  // registered, never given anything to hold
  const auto la = level(a.sn, {1});
  const auto lb = level(b.sn, {1});
  person("5", "5005", {la, lb});
  person("6", "5006", {la});

  // Planned in the unit of work of the POST: both panels already list it, nothing held yet.
  auto rows = ok(api("GET", "/api/v1/persons/5/sync"));
  ASSERT_EQ(rows.size(), 2u) << rows;
  EXPECT_EQ(rows[0]["sn"], a.sn);
  EXPECT_EQ(rows[1]["sn"], b.sn);
  for (const auto& row : rows) {
    EXPECT_EQ(row["state"], "pending") << row;
    EXPECT_EQ(row["should_hold"], true);
    EXPECT_EQ(row["holds"], false);
    EXPECT_TRUE(row["error"].is_null());
    EXPECT_TRUE(row["return"].is_null());
    EXPECT_EQ(row["attempts"], 0);
    EXPECT_GT(row["updated_at"].get<std::int64_t>(), 0);
  }

  // A takes it; B refuses it (-12) and takes the rest.
  sync(a);
  sync(b, [](const p::Command& c) -> std::optional<int> {
    if (const auto* u = std::get_if<p::DataUpdate>(&c.body))
      for (const auto& r : u->records)
        if (r.get_or("Pin", "") == "5") return -12;
    return std::nullopt;
  });
  rows = ok(api("GET", "/api/v1/persons/5/sync"));
  ASSERT_EQ(rows.size(), 2u) << rows;
  EXPECT_EQ(rows[0]["state"], "applied") << rows;
  EXPECT_EQ(rows[0]["holds"], true);
  EXPECT_TRUE(rows[0]["error"].is_null());
  EXPECT_TRUE(rows[0]["retry_at"].is_null());
  EXPECT_EQ(rows[1]["state"], "failed") << rows;
  EXPECT_EQ(rows[1]["holds"], false);
  EXPECT_EQ(rows[1]["return"], -12);
  EXPECT_FALSE(rows[1]["error"].get<std::string>().empty());
  EXPECT_GE(rows[1]["attempts"].get<std::int64_t>(), 1);
  EXPECT_GT(rows[1]["retry_at"].get<std::int64_t>(), 0);

  // Every panel in one call: registered devices and the panels the engine works for, by serial
  // number, each with the counts of its own sync view.
  auto all = ok(api("GET", "/api/v1/sync"));
  ASSERT_EQ(all.size(), 3u) << all;
  EXPECT_EQ(all[0]["sn"], a.sn);
  EXPECT_EQ(all[1]["sn"], b.sn);
  EXPECT_EQ(all[2], (json{{"sn", "CONSOLEC"}, {"pending", 0}, {"applied", 0}, {"failed", 0}, {"in_flight", 0},
                          {"commands", 0}}));
  for (const auto& row : all) {
    const auto one = sync_view(row["sn"].get<std::string>());
    for (const char* count : {"pending", "applied", "failed", "in_flight", "commands"})
      EXPECT_EQ(row[count], one[count]) << row["sn"] << " " << count;
  }
  EXPECT_EQ(all[0]["failed"], 0);
  EXPECT_EQ(all[0]["applied"], 3);  // the time rule, 5 and 6
  EXPECT_EQ(all[1]["failed"], 1);
  EXPECT_GT(all[1]["commands"].get<std::int64_t>(), 0);

  // Off panel A: A is to drop it (should not hold, still holds) until it has.
  ok(api("PATCH", "/api/v1/persons/5", {{"access_levels", {lb}}}));
  rows = ok(api("GET", "/api/v1/persons/5/sync"));
  ASSERT_EQ(rows.size(), 2u) << rows;
  EXPECT_EQ(rows[0]["sn"], a.sn);
  EXPECT_EQ(rows[0]["should_hold"], false);
  EXPECT_EQ(rows[0]["holds"], true);
  EXPECT_EQ(rows[0]["state"], "pending");
  sync(a);
  rows = ok(api("GET", "/api/v1/persons/5/sync"));
  ASSERT_EQ(rows.size(), 1u) << rows;
  EXPECT_EQ(rows[0]["sn"], b.sn);
  EXPECT_EQ(pins(a, "user").count("5"), 0u);

  // A deleted person is listed while a panel still holds it, then unknown.
  ok(api("DELETE", "/api/v1/persons/6"));
  rows = ok(api("GET", "/api/v1/persons/6/sync"));
  ASSERT_EQ(rows.size(), 1u) << rows;
  EXPECT_EQ(rows[0]["should_hold"], false);
  sync(a);
  auto gone = api("GET", "/api/v1/persons/6/sync");
  EXPECT_EQ(gone.status, 404) << gone.body;
  EXPECT_EQ(json::parse(gone.body)["code"], "not_found");
  EXPECT_EQ(api("GET", "/api/v1/persons/nobody/sync").status, 404);
  // A person on no panel: known, listed nowhere.
  ok(api("POST", "/api/v1/persons", {{"pin", "7"}, {"name", "P7"}}), 201);
  EXPECT_EQ(ok(api("GET", "/api/v1/persons/7/sync")), json::array());

  // Read by any token; refused without one.
  auto viewer = ok(api("POST", "/api/v1/tokens", {{"name", "console"}, {"role", "viewer"}}), 201);
  const std::string auth = "Authorization: Bearer " + viewer["token"].get<std::string>() + "\r\n";
  for (const std::string target : {"/api/v1/sync", "/api/v1/persons/5/sync"}) {
    EXPECT_EQ(send_raw(http::test::request("GET", target, {}, auth)).status, 200) << target;
    EXPECT_EQ(send_raw(http::test::request("GET", target)).status, 401) << target;
  }
}

}  // namespace
}  // namespace zkpush::server
