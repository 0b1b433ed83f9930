// The `zkpush conformance` binary against a real server (the App in this process, real sockets and
// SQLite): the matrix, the JSON report and the exit statuses (0 conforming, 1 a failure, 2 bad
// arguments or nothing to talk to, 3 a device the server kept out).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "server/http/test_server.hpp"
#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using e2e::ServeFixture;

std::pair<int, std::string> run_conformance(const std::string& args, bool with_stderr = false) {
  return cli_test::run_zkpush("conformance " + args, with_stderr);
}

class ConformanceCommand : public ServeFixture {};

TEST_F(ConformanceCommand, OurServerConformsAndTheMatrixSaysSo) {
  start();
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  auto [status, out] = run_conformance("--server " + server + " --sn CLICONF01 --profile c3-100");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("4.4    Registration\n  PASS  registry"), std::string::npos) << out;
  EXPECT_NE(out.find("N/A   exchange"), std::string::npos) << out;
  EXPECT_NE(out.find(" 0 failed,"), std::string::npos) << out;
  // It talked to this server as the device it said it was.
  ASSERT_TRUE(app_->devices().get("CLICONF01").has_value());
  EXPECT_GE(stored_event_count("CLICONF01"), 6);

  auto [json_status, json_out] = run_conformance("--server " + server + " --sn CLICONF01 --json");
  EXPECT_EQ(json_status, 0) << json_out;
  auto report = nlohmann::json::parse(json_out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << json_out;
  EXPECT_EQ(report["failed"], 0);
  EXPECT_EQ(report["exit_status"], 0);
  ASSERT_TRUE(report["checks"].is_array());
  EXPECT_EQ(report["checks"][0]["section"], "4.1");
  EXPECT_EQ(report["checks"][0]["check"], "init");
  EXPECT_EQ(report["checks"][0]["verdict"], "PASS");
}

// Issue 12: against a server that had not approved the device, the run said "3 passed, 0 failed,
// 28 not supported" and exited 0. It now says the device was kept out, and why, and exits 3.
TEST_F(ConformanceCommand, ADeviceHeldForApprovalIsBlockedAndExitsWith3) {
  ServerConfig config;
  config.registration = RegistrationPolicy::approve;
  start(config);
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  auto [status, out] = run_conformance("--server " + server + " --sn CLIBLOCK1", true);
  EXPECT_EQ(status, 3) << out;
  EXPECT_NE(out.find("BLOCKED  registry           registration refused: HTTP 406, not approved"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("N/A      exchange"), std::string::npos) << out;  // not "encryption not supported"
  EXPECT_TRUE(std::regex_search(out, std::regex(" 0 failed, 0 not supported, [0-9]+ blocked \\(")) ) << out;
  EXPECT_NE(out.find("BLOCKED: device CLIBLOCK1 could not register: HTTP 406, not approved"), std::string::npos) << out;
  // The message on standard error, for a script that only shows that.
  EXPECT_NE(out.find("conformance: device CLIBLOCK1 could not register"), std::string::npos) << out;

  auto [json_status, json_out] = run_conformance("--server " + server + " --sn CLIBLOCK1 --json");
  EXPECT_EQ(json_status, 3) << json_out;
  auto report = nlohmann::json::parse(json_out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << json_out;
  EXPECT_EQ(report["exit_status"], 3);
  EXPECT_EQ(report["not_supported"], 0);
  EXPECT_GT(report["blocked"].get<int>(), 20);
  EXPECT_NE(report["blocked_reason"].get<std::string>().find("not approved"), std::string::npos) << json_out;
}

TEST(ConformanceCommandExit, AFailingServerExitsWith1AndShowsTheExchange) {
  namespace http = server::http;
  http::test::Harness h({}, [](http::test::Harness& harness) {
    harness.handler.on_handle = [](http::Request, http::Responder respond) {
      respond(http::make_response(http::Status::ok, "OK"));  // even to registration
    };
  });
  auto [status, out] = run_conformance("--server http://127.0.0.1:" + std::to_string(h.port()) + " --sn CLIWRONG1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("FAIL  registry"), std::string::npos) << out;
  EXPECT_NE(out.find("> POST /iclock/registry?SN=CLIWRONG1"), std::string::npos) << out;
  EXPECT_NE(out.find("< HTTP 200  \"OK\""), std::string::npos) << out;
}

TEST(ConformanceCommandExit, BadArgumentsAndNoServerExitWith2) {
  EXPECT_EQ(run_conformance("").first, 2);                                   // no --server
  EXPECT_EQ(run_conformance("--server nowhere:99999").first, 2);
  EXPECT_EQ(run_conformance("--server http://127.0.0.1:1 --profile toaster").first, 2);
  EXPECT_EQ(run_conformance("--server http://127.0.0.1:1 --wait-approval soon").first, 2);
  EXPECT_EQ(run_conformance("--server http://127.0.0.1:1 --sn 'A B'").first, 2);
  std::uint16_t port = 0;
  {
    server::http::test::Harness h;  // a port that was just free
    port = h.port();
  }
  auto [status, out] = run_conformance("--server http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("server unreachable"), std::string::npos) << out;
}

}  // namespace
}  // namespace zkpush::server
