// `zkpush simulate --scenario FILE`, the real binary against a real server (the App in this process,
// real sockets and SQLite): an example script passes and what it did is in the database; a failed
// expectation exits 1 naming its line; a bad script exits 2 naming its line; --devices must be 1.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using e2e::ServeFixture;

// Runs `zkpush simulate <args>`; standard error is kept in the output when `with_stderr`.
std::pair<int, std::string> run_scenario(const std::string& args, bool with_stderr = false) {
  return cli_test::run_zkpush("simulate " + args, with_stderr);
}

class SimulateScenario : public ServeFixture {
 protected:
  std::string server() const { return "http://127.0.0.1:" + std::to_string(app_->port()); }
  // A script in the fixture's folder (removed with it).
  std::string script(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_);
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(SimulateScenario, ExampleScenarioPassesAndItsEventsAreStored) {
  start();
  const std::string example = std::string(ZKPUSH_SOURCE_DIR) + "/examples/scenarios/swipe.scn";
  auto [status, out] = run_scenario("--server " + server() + " --scenario " + example + " --profile c3-100 --sn-prefix SCNCLI --json");
  ASSERT_EQ(status, 0) << out;
  auto report = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out;
  EXPECT_EQ(report["passed"], true);
  EXPECT_EQ(report["sn"], "SCNCLI000001");
  EXPECT_EQ(report["steps_run"], report["steps_total"]);
  EXPECT_TRUE(report["failed_line"].is_null());
  for (const auto& step : report["steps"]) EXPECT_EQ(step["status"], "ok") << step.dump();
  storage::EventFilter filter;
  filter.sn = "SCNCLI000001";
  const auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].event.value_or(-1), 27);
  EXPECT_EQ(events[2].event.value_or(-1), 200);
  EXPECT_EQ(events[3].event.value_or(-1), 201);
}

TEST_F(SimulateScenario, TextOutputAndAFailedExpectationExitWithStatus1) {
  start();
  const auto path = script("fails.scn",
                           "wait online\n"
                           "swipe card=5 door=1\n"
                           "expect door=1 relay=open   # a stranger's card does not open it\n"
                           "sleep 1s\n");
  auto [status, out] = run_scenario("--server " + server() + " --scenario " + path + " --sn-prefix SCNFAIL");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("ok      line 1    wait online"), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL    line 3    expect door=1 relay=open"), std::string::npos) << out;
  EXPECT_NE(out.find("scenario FAILED at line 3 (3 of 4 steps run)"), std::string::npos) << out;
  EXPECT_EQ(out.find("sleep 1s"), std::string::npos) << out;  // stopped at the failure
}

TEST_F(SimulateScenario, BadScriptsAndArgumentsExitWithStatus2) {
  start();
  const auto bad = script("bad.scn", "wait online\n\nswipe door=1\nsleep forever\n");
  auto [status, out] = run_scenario("--server " + server() + " --scenario " + bad, true);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find(bad + ":3: swipe: missing card="), std::string::npos) << out;
  EXPECT_NE(out.find(bad + ":4: sleep: 'forever' is not a duration"), std::string::npos) << out;
  // Nothing ran: the device never contacted the server.
  EXPECT_FALSE(app_->devices().get("EMU000001").has_value());

  EXPECT_EQ(run_scenario("--server " + server() + " --scenario /nonexistent/x.scn").first, 2);
  EXPECT_EQ(run_scenario("--server " + server() + " --scenario " + script("empty.scn", "# nothing\n")).first, 2);
  const std::string example = std::string(ZKPUSH_SOURCE_DIR) + "/examples/scenarios/swipe.scn";
  EXPECT_EQ(run_scenario("--server " + server() + " --scenario " + example + " --devices 2").first, 2);
  EXPECT_EQ(run_scenario("--server " + server() + " --scenario " + example + " --duration 5").first, 2);
}

}  // namespace
}  // namespace zkpush::server
