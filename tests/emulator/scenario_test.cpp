// Scenario scripts: the parser (every step form, every error with its line) and the runner driving a
// real DeviceSession against the real server (ServeFixture: real sockets, real SQLite), with what
// the server stored checked through its store.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "emulator/scenario.hpp"
#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

namespace asio = boost::asio;
namespace p = protocol;
namespace http = server::http;
using namespace std::chrono_literals;
using server::e2e::ServeFixture;

// ---- parsing ------------------------------------------------------------------------------------------

TEST(ScenarioParse, EveryStepForm) {
  const auto parsed = parse_scenario(
      "# a comment line\n"
      "\n"
      "wait registered timeout=5s\n"
      "wait online   # trailing comment\n"
      "wait commands 3 timeout=2m\n"
      "wait commands +2\n"
      "wait acked\n"
      "sleep 500ms\n"
      "swipe card=123456 door=2 verify=1 expect=27\n"
      "swipe pin=7 expect=granted\n"
      "swipe card=9 expect=denied\n"
      "door open door=3\n"
      "door close\n"
      "offline 30s\n"
      "online\n"
      "enroll pin=5 name=\"Ann Lee\" card=123 password=42 finger=6 template=QUJD\n"
      "enroll pin=6 finger=0\n"
      "expect user pin=5\n"
      "expect user pin=5 absent\n"
      "expect result return=-11 id=44 command=DATA\n"
      "expect door=1 relay=disconnected sensor=closed\n"
      "expect events acked>=4\r\n");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
  const auto& s = parsed.scenario.steps;
  ASSERT_EQ(s.size(), 20u);
  EXPECT_EQ(s[0].kind, StepKind::wait_registered);
  EXPECT_EQ(s[0].line, 3);
  EXPECT_EQ(s[0].duration, 5s);
  EXPECT_EQ(s[1].kind, StepKind::wait_online);
  EXPECT_EQ(s[1].text, "wait online");
  EXPECT_EQ(s[1].duration, kDefaultWaitTimeout);
  EXPECT_EQ(s[2].kind, StepKind::wait_commands);
  EXPECT_EQ(s[2].count, 3);
  EXPECT_FALSE(s[2].relative);
  EXPECT_EQ(s[2].duration, 2min);
  EXPECT_TRUE(s[3].relative);
  EXPECT_EQ(s[3].count, 2);
  EXPECT_EQ(s[4].kind, StepKind::wait_acked);
  EXPECT_EQ(s[5].kind, StepKind::sleep);
  EXPECT_EQ(s[5].duration, 500ms);
  EXPECT_EQ(s[6].kind, StepKind::swipe);
  EXPECT_EQ(s[6].card, "123456");
  EXPECT_EQ(s[6].door, 2);
  EXPECT_EQ(s[6].verify, 1);
  EXPECT_EQ(s[6].expect_event, 27);
  EXPECT_EQ(s[7].pin, "7");
  EXPECT_EQ(s[7].door, 1);
  EXPECT_EQ(s[7].expect_granted, true);
  EXPECT_EQ(s[8].expect_granted, false);
  EXPECT_EQ(s[9].kind, StepKind::door_sensor);
  EXPECT_TRUE(s[9].open);
  EXPECT_EQ(s[9].door, 3);
  EXPECT_FALSE(s[10].open);
  EXPECT_EQ(s[10].door, 1);
  EXPECT_EQ(s[11].kind, StepKind::offline);
  EXPECT_EQ(s[11].duration, 30s);
  EXPECT_EQ(s[12].kind, StepKind::online);
  EXPECT_EQ(s[13].kind, StepKind::enroll);
  EXPECT_EQ(s[13].name, "Ann Lee");
  EXPECT_EQ(s[13].card, "123");
  EXPECT_EQ(s[13].password, "42");
  EXPECT_EQ(s[13].finger, 6);
  EXPECT_EQ(s[13].template_base64, "QUJD");
  EXPECT_EQ(s[14].template_base64, "random");
  EXPECT_EQ(s[15].kind, StepKind::expect_user);
  EXPECT_TRUE(s[15].present);
  EXPECT_FALSE(s[16].present);
  EXPECT_EQ(s[17].kind, StepKind::expect_result);
  EXPECT_EQ(s[17].return_code, -11);
  EXPECT_EQ(s[17].id, "44");
  EXPECT_EQ(s[17].command, "DATA");
  EXPECT_EQ(s[18].kind, StepKind::expect_door);
  EXPECT_EQ(s[18].relay_open, true);
  EXPECT_EQ(s[18].sensor_open, false);
  EXPECT_EQ(s[19].kind, StepKind::expect_events);
  EXPECT_EQ(s[19].count, 4);
  EXPECT_EQ(s[19].line, 22);
}

TEST(ScenarioParse, WaitUser) {
  const auto parsed = parse_scenario("wait user pin=7001 timeout=2m\nwait user pin=8 absent\n");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
  const auto& s = parsed.scenario.steps;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, StepKind::wait_user);
  EXPECT_EQ(s[0].pin, "7001");
  EXPECT_TRUE(s[0].present);
  EXPECT_EQ(s[0].duration, 2min);
  EXPECT_EQ(s[1].kind, StepKind::wait_user);
  EXPECT_FALSE(s[1].present);
  EXPECT_EQ(s[1].duration, kDefaultWaitTimeout);
}

TEST(ScenarioParse, ReportsAndGate) {
  const auto parsed = parse_scenario(
      "report errorlog code=D01E0001 cmdid=12\nreport errorlog code=D02E0009\nreport irstate\nreport wiegand\n"
      "gate in\ngate out\n");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
  const auto& s = parsed.scenario.steps;
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].kind, StepKind::report);
  EXPECT_EQ(s[0].report, "errorlog");
  EXPECT_EQ(s[0].errcode, "D01E0001");
  EXPECT_EQ(s[0].cmdid, "12");
  EXPECT_EQ(s[1].cmdid, "");
  EXPECT_EQ(s[2].report, "irstate");
  EXPECT_EQ(s[3].report, "wiegand");
  EXPECT_EQ(s[4].kind, StepKind::gate);
  EXPECT_TRUE(s[4].in);
  EXPECT_FALSE(s[5].in);
  for (const char* bad : {"report", "report alarms", "report errorlog", "report errorlog code=D01", "report irstate now",
                          "report irstate code=1", "gate", "gate sideways", "gate in twice"}) {
    const auto wrong = parse_scenario(bad);
    EXPECT_FALSE(wrong.ok()) << bad;
  }
}

TEST(ScenarioParse, Durations) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("0s"), 0ms);
  EXPECT_EQ(parse_duration("1440m"), 24h);  // a day is the longest step
  for (const char* bad : {"", "5", "ms", "5h", "-1s", "1.5s", "5 s", "s5", "99999999999s", "1441m", "200000000m"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

// Each line below is wrong in its own way; every one is reported with its number, and the good
// lines between them do not count as errors.
TEST(ScenarioParse, EveryErrorNamesItsLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"swip card=1", "unknown step 'swip'"},
      {"card=1 swipe", "starts with its verb"},
      {"wait", "wait: expected registered, online, commands, acked or user"},
      {"wait user", "missing pin="},
      {"wait user pin=5 maybe", "expected present or absent after pin=, got 'maybe'"},
      {"wait user pin=5 timeout=soon", "timeout=soon: not a duration"},
      {"wait forever", "got 'forever'"},
      {"wait online timeout=soon", "timeout=soon: not a duration"},
      {"wait online please", "unexpected 'please'"},
      {"wait commands", "expected one count"},
      {"wait commands x", "'x' is not a count"},
      {"sleep", "sleep: expected one duration"},
      {"sleep 5", "'5' is not a duration"},
      {"offline 3h", "'3h' is not a duration"},
      {"online now", "unexpected 'now'"},
      {"swipe door=1", "missing card="},
      {"swipe card=1 door=x", "door=x: expected a whole number"},
      {"swipe card=1 door=0", "door=0: expected a whole number from 1"},
      {"swipe card=1 colour=red", "unknown key 'colour' for swipe"},
      {"swipe card=1 card=2", "'card' given twice"},
      {"swipe card=1 expect=maybe", "expect=maybe"},
      {"door ajar door=1", "door: expected open or close, got 'ajar'"},
      {"enroll name=Ann", "enroll: missing pin="},
      {"enroll pin=5 finger=11", "finger=11"},
      {"enroll pin=5 template=QUJD", "template= without finger="},
      {"enroll pin=5 finger=1 template=not*base64", "neither base64 nor 'random'"},
      {"enroll pin=5 name=\"Ann", "unterminated quote"},
      {"expect", "expect: expected user, result"},
      {"expect weather sunny", "got 'weather'"},
      {"expect user", "expect user: missing pin="},
      {"expect user pin=5 gone", "present or absent"},
      {"expect result id=3", "missing return="},
      {"expect result return=ok", "return=ok"},
      {"expect door=1", "give relay= and/or sensor="},
      {"expect door=1 relay=ajar", "relay=ajar: expected connected or disconnected"},
      {"expect events acked=3", "expected acked>=N"},
      {"expect events acked>=many", "'many' is not a count"},
  };
  std::string script;
  for (const auto& [line, _] : cases) script += line + "\nwait online\n";
  const auto parsed = parse_scenario(script);
  ASSERT_EQ(parsed.errors.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(parsed.errors[i].line, static_cast<int>(2 * i + 1)) << cases[i].first;
    EXPECT_NE(parsed.errors[i].message.find(cases[i].second), std::string::npos)
        << cases[i].first << " -> " << parsed.errors[i].message;
    EXPECT_EQ(parsed.errors[i].to_string().rfind("line " + std::to_string(2 * i + 1) + ": ", 0), 0u);
  }
  EXPECT_EQ(parsed.scenario.steps.size(), cases.size());  // the good "wait online" lines
}

TEST(ScenarioParse, UnreadableFileIsAnError) {
  const auto parsed = parse_scenario_file("/nonexistent/zkpush/scenario.scn");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_EQ(parsed.errors[0].line, 0);
  EXPECT_NE(parsed.errors[0].message.find("cannot read"), std::string::npos);
}

// ---- running against the server ---------------------------------------------------------------------

std::string example(const std::string& name) {
  std::ifstream in(std::string(ZKPUSH_SOURCE_DIR) + "/examples/scenarios/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ScenarioE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }
  void start_device(const std::string& sn, const char* profile = "inbio460") {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile(profile));
  }
  // Parses and runs `script` on the device; returns the report once the runner is done.
  ScenarioReport run(const std::string& script) {
    auto parsed = parse_scenario(script);
    EXPECT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
    std::promise<ScenarioReport> done;
    auto runner = std::make_shared<ScenarioRunner>(io_.get_executor(), session_, parsed.scenario);
    asio::post(io_, [&] { runner->start([&](const ScenarioReport& r) { done.set_value(r); }); });
    return done.get_future().get();
  }
  static std::string describe(const ScenarioReport& r) { return r.to_json().dump(1); }
  std::vector<storage::EventRow> events(const std::string& sn) {
    storage::EventFilter filter;
    filter.sn = sn;
    return stored_events(filter);
  }
};

TEST_F(ScenarioE2E, SwipeScenarioEventsAreStoredWithTheirCodes) {
  start();
  start_device("SCNE2E0001");
  const auto report = run(example("swipe.scn"));
  ASSERT_TRUE(report.passed) << describe(report);
  EXPECT_EQ(report.steps.size(), report.steps_total);
  EXPECT_FALSE(report.failed_line.has_value());
  const auto stored = events("SCNE2E0001");
  ASSERT_EQ(stored.size(), 4u);
  const int expected[] = {27, 27, 200, 201};
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].event.value_or(-1), expected[i]) << i;
    EXPECT_EQ(stored[i].door.value_or(-1), 1) << i;
    EXPECT_EQ(stored[i].index.value_or(-1), static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(stored[0].cardno, "4242");
  EXPECT_TRUE(stored_door_state("SCNE2E0001").has_value());
}

TEST_F(ScenarioE2E, LocalEnrolmentIsStoredByTheServerAndAServerDeleteReachesTheDevice) {
  start();
  start_device("SCNE2E0002");
  const auto report = run(example("enrol.scn"));
  ASSERT_TRUE(report.passed) << describe(report);
  // The uploads of 7.5 / 7.7 went through the server's tabledata ingest.
  const auto users = stored_records("SCNE2E0002", "user", 100);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].key, "5");
  EXPECT_EQ(users[0].fields.get_or("name", ""), "Ann");
  EXPECT_EQ(users[0].fields.get_or("cardno", ""), "123456");
  EXPECT_EQ(users[0].fields.prefix, "user");
  const auto templates = stored_records("SCNE2E0002", "templatev10", 100);
  ASSERT_EQ(templates.size(), 1u);
  EXPECT_EQ(templates[0].key, "5/0");
  EXPECT_FALSE(templates[0].content.empty());
  EXPECT_EQ(templates[0].fields.get_or("size", ""), std::to_string(templates[0].content.size()));
  // The swipe of the enrolled card was logged under the user.
  const auto stored = events("SCNE2E0002");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].pin, "5");
  EXPECT_EQ(stored[0].event.value_or(-1), 23);

  // The server deletes the user: the device runs the command, and the script sees it.
  const auto id = enqueue("SCNE2E0002", "DATA DELETE user Pin=5");
  const auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  const auto second = run("wait user pin=5 absent timeout=20s\n"
                          "wait commands 1 timeout=20s\n"
                          "expect user pin=5 absent\n"
                          "expect result return=0 command=DATA\n"
                          "expect result return=0 id=" + std::to_string(row->wire_id) + " command=\"DATA DELETE\"\n");
  ASSERT_TRUE(second.passed) << describe(second);
}

TEST_F(ScenarioE2E, OfflineEventsAreStoredOnceAndInOrder) {
  start();
  start_device("SCNE2E0003");
  // Part one ends with the device offline and two events logged but not sent.
  const auto before = run("wait online\n"
                          "swipe card=1001 door=1 expect=27\n"
                          "wait acked\n"
                          "offline 30s\n"
                          "swipe card=1002 door=2\n"
                          "swipe card=1003 door=3\n");
  ASSERT_TRUE(before.passed) << describe(before);
  EXPECT_EQ(events("SCNE2E0003").size(), 1u);  // offline: nothing else can have left the device
  EXPECT_FALSE(on_device([&] { return session_->online(); }));
  const auto after = run("online\n"
                         "wait online\n"
                         "wait acked\n"
                         "expect events acked>=3\n");
  ASSERT_TRUE(after.passed) << describe(after);
  const auto stored = events("SCNE2E0003");
  ASSERT_EQ(stored.size(), 3u);
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].index.value_or(-1), static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(stored[i].cardno, std::to_string(1001 + i));
    EXPECT_EQ(stored[i].door.value_or(-1), static_cast<int>(i + 1));
  }
}

TEST_F(ScenarioE2E, AFailedExpectationStopsTheScenarioAtItsLine) {
  start();
  start_device("SCNE2E0004");
  const auto report = run("wait online\n"
                          "# the device has no such user\n"
                          "expect user pin=99 present\n"
                          "swipe card=1 door=1\n");
  EXPECT_FALSE(report.passed);
  ASSERT_TRUE(report.failed_line.has_value());
  EXPECT_EQ(*report.failed_line, 3);
  ASSERT_EQ(report.steps.size(), 2u);
  EXPECT_EQ(report.steps_total, 3u);
  EXPECT_EQ(report.steps[1].status, StepStatus::failed);
  EXPECT_EQ(report.steps[1].line, 3);
  EXPECT_NE(report.steps[1].detail.find("not in the device"), std::string::npos) << report.steps[1].detail;
  // The swipe after it never ran.
  EXPECT_TRUE(on_device([&] { return session_->model().events().empty(); }));
  const auto json = report.to_json();
  EXPECT_EQ(json["failed_line"], 3);
  EXPECT_EQ(json["steps"][1]["status"], "failed");
}

TEST_F(ScenarioE2E, WrongEventAndMissingDoorAndTimeoutFail) {
  start();
  start_device("SCNE2E0005", "c3-100");
  auto report = run("wait online\nswipe card=77 door=1 expect=granted\n");
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.failed_line.value_or(0), 2);
  EXPECT_NE(report.steps.back().detail.find("denied (event 27), expected granted"), std::string::npos)
      << report.steps.back().detail;
  report = run("swipe card=77 door=2\n");  // a C3-100 has one door
  EXPECT_FALSE(report.passed);
  EXPECT_NE(report.steps.back().detail.find("no door 2"), std::string::npos) << report.steps.back().detail;
  report = run("wait commands 1 timeout=200ms\n");  // nobody queues a command
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.steps.back().status, StepStatus::timed_out);
  report = run("wait user pin=404 timeout=200ms\n");  // nobody sends that user
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.steps.back().status, StepStatus::timed_out);
  EXPECT_NE(report.steps.back().detail.find("user 404 absent"), std::string::npos) << report.steps.back().detail;
  report = run("expect result return=0\n");
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.steps.back().detail, "no command result yet");
}

TEST_F(ScenarioE2E, EveryExampleScenarioPasses) {
  start();
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ZKPUSH_SOURCE_DIR) + "/examples/scenarios")) {
    if (entry.path().extension() != ".scn") continue;
    ++n;
    SCOPED_TRACE(entry.path().string());
    const auto parsed = parse_scenario_file(entry.path().string());
    ASSERT_TRUE(parsed.ok()) << parsed.errors.front().to_string();
    start_device("SCNEX" + std::to_string(n));
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const auto report = run(text.str());
    EXPECT_TRUE(report.passed) << describe(report);
    stop_device();
    io_.restart();
  }
  EXPECT_GE(n, 3);
}

}  // namespace
}  // namespace zkpush::emulator

namespace zkpush::emulator {
namespace {

// Remote identification, both sides ours: an emulated panel that asks the server for every card
// (SessionOptions::remote_auth) and obeys its answer; without an answer, event 45 and the fallback.
class RemoteAuthE2E : public ScenarioE2E {
 protected:
  void start_domain(const std::string& sn) {
    server::ServerConfig config;
    config.api_token = kAdmin;
    start(config);
    api("POST", "/api/v1/access-levels",
        R"({"name": "door 2", "time_rule_id": 1, "doors": [{"sn": ")" + sn + R"(", "door": 2}]})");
    api("POST", "/api/v1/persons", R"({"pin": "55", "name": "Ria", "cards": ["7654321"], "access_levels": [1]})");
  }
  void api(const std::string& method, const std::string& target, const std::string& body) {
    auto r = send_raw(http::test::request(method, target, body,
                                          "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n"));
    ASSERT_LT(r.status, 300) << target << ": " << r.body;
  }
  void start_remote(const std::string& sn, bool fallback_local) {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile("inbio460"), [&](SessionOptions& o) {
      o.remote_auth = true;
      o.remote_auth_fallback_local = fallback_local;
      o.remote_auth_timeout = 2s;
    });
  }
  std::vector<std::pair<std::string, int>> decisions(const std::string& sn) {
    std::vector<std::pair<std::string, int>> out;
    for (const auto& e : events(sn)) out.emplace_back(e.source, static_cast<int>(e.event.value_or(-1)));
    return out;
  }
  static inline const std::string kAdmin = "remote-scenario-admin";
};

TEST_F(RemoteAuthE2E, ThePanelAsksTheServerAndObeysItsAnswer) {
  const std::string sn = "SCNRA0001";
  start_domain(sn);
  start_remote(sn, false);
  const auto report = run("wait online\n"
                          "swipe card=7654321 door=2 expect=granted\n"  // the server opens door 2 for 5 s
                          "expect door=2 relay=disconnected\n"
                          "swipe card=7654321 door=1 expect=44\n"      // refused: no level holds door 1
                          "expect door=1 relay=connected\n"
                          "swipe card=999 door=2 expect=denied\n"
                          "wait acked\n");
  ASSERT_TRUE(report.passed) << describe(report);
  // The server's decisions and the panel's own log of them, uploaded: 222 / 44 as the manual has it.
  std::vector<std::pair<std::string, int>> server, panel;
  for (const auto& d : decisions(sn)) (d.first == "remote_auth" ? server : panel).push_back(d);
  EXPECT_EQ(server, (std::vector<std::pair<std::string, int>>{{"remote_auth", 222}, {"remote_auth", 23}, {"remote_auth", 27}}));
  EXPECT_EQ(panel, (std::vector<std::pair<std::string, int>>{{"rtlog", 222}, {"rtlog", 44}, {"rtlog", 44}}));
}

TEST_F(RemoteAuthE2E, WithoutAnAnswerTheDefaultFallbackDenies) {
  const std::string sn = "SCNRA0002";
  start_domain(sn);
  start_remote(sn, false);
  // Cut off: the card is refused with 45 and the door stays locked, though the panel holds Ria.
  auto report = run("wait online\nwait user pin=55\noffline 3s\nswipe card=7654321 door=2 expect=45\n"
                    "expect door=2 relay=connected\nonline\nwait online\nwait acked\n");
  ASSERT_TRUE(report.passed) << describe(report);
  EXPECT_EQ(decisions(sn), (std::vector<std::pair<std::string, int>>{{"rtlog", 45}}));
}

TEST_F(RemoteAuthE2E, WithoutAnAnswerTheLocalFallbackDecidesFromThePanelsTables) {
  const std::string sn = "SCNRA0003";
  start_domain(sn);
  start_remote(sn, true);
  // 45, then the panel's own decision from the tables the server synced to it: 0, door opened.
  auto report = run("wait online\nwait user pin=55\noffline 3s\nswipe card=7654321 door=2 expect=granted\n"
                    "expect door=2 relay=disconnected\nonline\nwait online\nwait acked\n");
  ASSERT_TRUE(report.passed) << describe(report);
  EXPECT_EQ(decisions(sn), (std::vector<std::pair<std::string, int>>{{"rtlog", 45}, {"rtlog", 0}}));
}

}  // namespace
}  // namespace zkpush::emulator

namespace zkpush::emulator {
namespace {

// Remote enrolment (9.6.2) end to end: the API asks for a person's finger at an emulated panel that
// does not hold the person; the server sends the user row, then ENROLL_BIO; the panel enrols and
// uploads the template (type=BioData); the template becomes the person's credential, and the sync
// engine sends it to the person's other panel.
class RemoteEnrolE2E : public RemoteAuthE2E {
 protected:
  // One poll as a bare panel: what it was sent, every command answered 0 (a DATA QUERY: none held).
  std::string poll_and_answer(const std::string& sn, const std::string& token) {
    auto r = send(p::format_getrequest(sn), token);
    std::this_thread::sleep_for(50ms);
    if (r.status != 200 || r.body == "OK") return "";
    auto commands = p::parse_commands(r.body);
    if (!commands.ok()) return r.body;
    std::vector<p::Record> results;
    for (const auto& c : *commands) results.push_back(p::parse_amp_list(p::format_command_result(p::make_command_result(c, 0))));
    send(p::format_devicecmd_results(sn, results), token);
    return r.body;
  }
};

TEST_F(RemoteEnrolE2E, APersonsFingerEnrolledAtAPanelBecomesTheirCredentialEverywhere) {
  const std::string sn = "SCNEN0001";
  const std::string other = "SCNEN0002";
  server::ServerConfig config;
  config.api_token = kAdmin;
  start(config);
  const std::string other_token = handshake(other);
  // The other panel takes fingerprints as biodata (type 1), any algorithm version.
  ASSERT_EQ(send(p::format_options_upload(other, p::Record{{"MultiBioDataSupport", "0:1:0:0:0:0:0:0:0:0"}}), other_token).status, 200);
  // Ria holds a level on the other panel only: the enrolling panel does not hold her.
  api("POST", "/api/v1/access-levels", R"({"name": "other", "time_rule_id": 1, "doors": [{"sn": ")" + other + R"(", "door": 1}]})");
  api("POST", "/api/v1/persons", R"({"pin": "55", "name": "Ria", "cards": ["7654321"], "access_levels": [1]})");
  start_device(sn);
  ASSERT_TRUE(run("wait online\n").passed);

  auto r = send_raw(http::test::request("POST", "/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "type": "fingerprint", "finger": 6})",
                                        "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n"));
  ASSERT_EQ(r.status, 202) << r.body;
  const auto queued = nlohmann::json::parse(r.body);
  ASSERT_EQ(queued["commands"].size(), 2u) << queued;
  EXPECT_EQ(queued["commands"][0]["line"].get<std::string>().rfind("DATA UPDATE user ", 0), 0u);
  EXPECT_EQ(queued["command"]["line"], "ENROLL_BIO TYPE=1\tNO=6\tPIN=55\tRETRY=3\tOVERWRITE=1\tMODE=1");

  // The panel runs both (the user first: it enrols only a user it holds) and uploads the template.
  const auto report = run("wait commands 2 timeout=20s\nexpect user pin=55\nexpect result return=0 command=ENROLL_BIO\n");
  ASSERT_TRUE(report.passed) << describe(report);
  nlohmann::json person;
  for (int i = 0; i < 200; ++i) {
    auto got = send_raw(http::test::request("GET", "/api/v1/persons/55", "", "Authorization: Bearer " + kAdmin + "\r\n"));
    person = nlohmann::json::parse(got.body);
    if (!person["credentials"].empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(person["credentials"].size(), 1u) << person;
  EXPECT_EQ(person["credentials"][0]["type"], "fingerprint");
  EXPECT_EQ(person["credentials"][0]["finger"], 6);
  EXPECT_EQ(person["credentials"][0]["enrolled_at"], sn);
  // The ENROLL_BIO command is done (its progress, through the API): the panel uploads the template
  // before it posts the command's result (9.6.2), so the result may come a moment later.
  std::string command;
  for (int i = 0; i < 200; ++i) {
    command = send_raw(http::test::request("GET", "/api/v1/commands/" + std::to_string(queued["command"]["id"].get<int>()), "",
                                           "Authorization: Bearer " + kAdmin + "\r\n"))
                  .body;
    if (nlohmann::json::parse(command)["status"] == "done") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(nlohmann::json::parse(command)["status"], "done") << command;

  // The other panel, where Ria has her level, is sent the template at its next polls.
  std::string sent;
  for (int i = 0; i < 20 && sent.find("Tmp=") == std::string::npos && sent.find("Template=") == std::string::npos; ++i)
    sent += poll_and_answer(other, other_token);
  EXPECT_NE(sent.find("Pin=55"), std::string::npos) << sent;
  EXPECT_TRUE(sent.find("Tmp=") != std::string::npos || sent.find("Template=") != std::string::npos) << sent;

  // A panel that uploads a template nobody asked for (no ENROLL_BIO in flight for that pin and
  // finger) does not plant it on the person: panel_enrolment (new_persons_only) decides, and Ria was
  // not enrolled there.
  p::Record planted{{"TYPE", "1"}, {"PIN", "55"}, {"NO", "3"}, {"INDEX", "0"}, {"MAJOR_VER", "58"}, {"MINOR_VER", "1"}, {"TMP", "UExBTlRFRA=="}};
  ASSERT_EQ(send(p::format_enroll_bio_upload(other, {planted}), other_token).status, 200);
  auto after = nlohmann::json::parse(
      send_raw(http::test::request("GET", "/api/v1/persons/55", "", "Authorization: Bearer " + kAdmin + "\r\n")).body);
  EXPECT_EQ(after["credentials"].size(), 1u) << after;

  // Refused with a reason: an unknown panel or person, a finger out of range, a finger for a face.
  auto refused = [&](const std::string& target, const std::string& body) {
    return send_raw(http::test::request("POST", target, body, "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n")).status;
  };
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": "NOSUCH", "type": "fingerprint", "finger": 1})"), 404);
  EXPECT_EQ(refused("/api/v1/persons/404/enroll", R"({"sn": ")" + sn + R"(", "type": "fingerprint", "finger": 1})"), 404);
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "type": "fingerprint", "finger": 10})"), 400);
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "type": "fingerprint"})"), 400);
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "type": "face", "finger": 1})"), 400);
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "type": "nose"})"), 400);
  EXPECT_EQ(refused("/api/v1/persons/55/enroll", R"({"sn": ")" + sn + R"(", "colour": 1})"), 400);
}

// A panel that answers ENROLL_BIO before it uploads the template (the manual's order is the other
// way round) is still heard: the template is the one asked for.
TEST_F(RemoteEnrolE2E, ATemplateUploadedAfterTheAnswerIsStillTheOneAskedFor) {
  const std::string sn = "SCNEN0003";
  server::ServerConfig config;
  config.api_token = kAdmin;
  start(config);
  const std::string token = handshake(sn);
  api("POST", "/api/v1/persons", R"({"pin": "57", "name": "Ada"})");
  auto r = send_raw(http::test::request("POST", "/api/v1/persons/57/enroll", R"({"sn": ")" + sn + R"(", "type": "fingerprint", "finger": 2})",
                                        "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n"));
  ASSERT_EQ(r.status, 202) << r.body;
  std::string sent;
  for (int i = 0; i < 10 && sent.find("ENROLL_BIO") == std::string::npos; ++i) sent += poll_and_answer(sn, token);
  ASSERT_NE(sent.find("ENROLL_BIO TYPE=1\tNO=2\tPIN=57"), std::string::npos) << sent;
  p::Record bio{{"TYPE", "1"}, {"PIN", "57"}, {"NO", "2"}, {"INDEX", "0"}, {"MAJOR_VER", "58"}, {"MINOR_VER", "1"}, {"TMP", "QURBRklOR0VS"}};
  ASSERT_EQ(send(p::format_enroll_bio_upload(sn, {bio}), token).status, 200);
  auto person = nlohmann::json::parse(
      send_raw(http::test::request("GET", "/api/v1/persons/57", "", "Authorization: Bearer " + kAdmin + "\r\n")).body);
  ASSERT_EQ(person["credentials"].size(), 1u) << person;
  EXPECT_EQ(person["credentials"][0]["finger"], 2);
}

// ENROLL_INFO (9.6.1): the card a person presents at a panel becomes theirs, and opens the doors of
// their levels on the other panels; a card enrolment carries no finger or instance.
TEST_F(RemoteEnrolE2E, ACardEnrolledAtAPanelBecomesThePersonsCard) {
  const std::string sn = "SCNEC0001";
  server::ServerConfig config;
  config.api_token = kAdmin;
  start(config);
  api("POST", "/api/v1/persons", R"({"pin": "56", "name": "Sam"})");
  start_device(sn);
  ASSERT_TRUE(run("wait online\n").passed);

  auto r = send_raw(http::test::request("POST", "/api/v1/persons/56/enroll", R"({"sn": ")" + sn + R"(", "type": "card"})",
                                        "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n"));
  ASSERT_EQ(r.status, 202) << r.body;
  const auto queued = nlohmann::json::parse(r.body);
  EXPECT_EQ(queued["type"], "card");
  EXPECT_FALSE(queued.contains("no")) << queued;
  EXPECT_EQ(queued["command"]["line"], "ENROLL_INFO TYPE=0\tPIN=56\tRETRY=3\tMODE=1");
  const auto report = run("wait commands 2 timeout=20s\nexpect result return=0 command=ENROLL_INFO\n");
  ASSERT_TRUE(report.passed) << describe(report);

  nlohmann::json person;
  for (int i = 0; i < 200; ++i) {
    person = nlohmann::json::parse(
        send_raw(http::test::request("GET", "/api/v1/persons/56", "", "Authorization: Bearer " + kAdmin + "\r\n")).body);
    if (!person["cards"].empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(person["cards"].size(), 1u) << person;
  const auto card = person["cards"][0].is_string() ? person["cards"][0].get<std::string>()
                                                   : person["cards"][0]["number"].get<std::string>();
  // The card the emulated person presented, which the panel also keeps on its user row (MODE=1).
  std::string held;
  on_device([&] {
    const auto* user = session_->model().find("user", "Pin", "56");
    if (user) held = std::string(user->get_or("CardNo", ""));
    return true;
  });
  EXPECT_EQ(card, held);
  EXPECT_FALSE(card.empty());

  // A card upload nobody asked for does not land on Sam (panel_enrolment new_persons_only; Sam was
  // not enrolled at that panel).
  const std::string other = "SCNEC0002";
  const std::string token = handshake(other);
  ASSERT_EQ(send(p::format_enroll_info_upload(other, {p::Record{{"TYPE", "0"}, {"PIN", "56"}, {"TMP", "4242"}}}), token).status, 200);
  person = nlohmann::json::parse(
      send_raw(http::test::request("GET", "/api/v1/persons/56", "", "Authorization: Bearer " + kAdmin + "\r\n")).body);
  EXPECT_EQ(person["cards"].size(), 1u) << person;
  EXPECT_EQ(send_raw(http::test::request("POST", "/api/v1/persons/56/enroll", R"({"sn": ")" + sn + R"(", "type": "card", "no": 1})",
                                         "Authorization: Bearer " + kAdmin + "\r\nContent-Type: application/json\r\n"))
                .status,
            400);
}

}  // namespace
}  // namespace zkpush::emulator
