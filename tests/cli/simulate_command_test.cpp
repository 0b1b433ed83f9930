// The `zkpush simulate` binary against a real server (the App in this process, real sockets and
// SQLite): its devices register, upload events the server stores, and the JSON summary says so;
// bad arguments exit with status 2.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"
#include "support/store_access.hpp"
#include "support/test_certificates.hpp"

namespace zkpush::server {
namespace {

using e2e::ServeFixture;

std::pair<int, std::string> run_simulate(const std::string& args, bool with_stderr = false) {
  return cli_test::run_zkpush("simulate " + args, with_stderr);
}

class SimulateCommand : public ServeFixture {};

TEST_F(SimulateCommand, DevicesRegisterAndTheirEventsAreStored) {
  start();
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  // 8 s: under the sanitizers, beside a compiler (make test), a registration has taken 2 s and the
  // simulator 1 s to start; a 3 s run then ended with one device of five through its handshake.
  auto [status, out] = run_simulate("--server " + server +
                           " --devices 5 --profile c3-100 --sn-prefix SIMT --duration 8 --poll-interval 0.2 "
                           "--events-per-second 20 --threads 1 --json");
  ASSERT_EQ(status, 0) << out;
  auto summary = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << out;
  EXPECT_EQ(summary["devices"], 5);
  EXPECT_EQ(summary["devices_registered"], 5);
  EXPECT_EQ(summary["devices_online"], 5);
  EXPECT_EQ(summary["errors"], 0);
  const auto acked = summary["events_acked"].get<std::int64_t>();
  EXPECT_GT(acked, 10);
  ASSERT_TRUE(summary["endpoints"].contains("getrequest"));
  EXPECT_GT(summary["endpoints"]["getrequest"]["count"].get<int>(), 5);
  // Every acknowledged event is in the database, under the serial numbers the devices used. An
  // upload cut by the end of the run may be stored without its 200 having been read (the device
  // would re-send it; the server deduplicates), so stored can exceed acked, never generated.
  std::int64_t stored = 0;
  for (int i = 1; i <= 5; ++i) {
    char sn[16];
    std::snprintf(sn, sizeof sn, "SIMT%06d", i);
    ASSERT_TRUE(app_->devices().get(sn).has_value()) << sn;
    stored += stored_event_count(sn);
  }
  EXPECT_GE(stored, acked);
  EXPECT_LE(stored, summary["events_generated"].get<std::int64_t>());
}

TEST_F(SimulateCommand, MastersWithSubControllersGetThemAuthorizedUnderAutomaticRegistration) {
  start();
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  auto [status, out] = run_simulate("--server " + server +
                                    " --devices 1 --sub-controllers 2 --sn-prefix SIMM --duration 6 "
                                    "--poll-interval 0.2 --threads 1 --json");
  ASSERT_EQ(status, 0) << out;
  // The master's table came up, and both steps ran for each sub (--registration auto).
  auto subs = test::read(app_->store(), [](storage::Reads& r) { return r.devices().sub_controllers("SIMM000001"); });
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].sn, "SIMM000001-S1");
  EXPECT_EQ(subs[1].sn, "SIMM000001-S2");
  for (const auto& s : subs) {
    EXPECT_EQ(s.is_authorize, 2) << s.sn;
    EXPECT_EQ(s.requested, 2) << s.sn;
  }
  EXPECT_EQ(run_simulate("--server " + server + " --devices 1 --sub-controllers 65 --duration 1").first, 2);
}

TEST_F(SimulateCommand, BadArgumentsExitWithStatus2) {
  EXPECT_EQ(run_simulate("--server nowhere:99999 --devices 1 --duration 1").first, 2);
  EXPECT_EQ(run_simulate("--server http://127.0.0.1:1 --profile toaster --duration 1").first, 2);
  EXPECT_EQ(run_simulate("--server http://127.0.0.1:1 --devices 0 --duration 1").first, 2);
  // Serial numbers a server would refuse (protocol::is_valid_serial_number): 2 before any connection.
  EXPECT_EQ(run_simulate("--server http://127.0.0.1:1 --devices 1 --duration 1 --sn-prefix 'A B'").first, 2);
  EXPECT_EQ(run_simulate("--server http://127.0.0.1:1 --devices 1 --duration 1 --sn-prefix " + std::string(59, 'P')).first, 2);
  // A server that is not there: the device never registers, status 1.
  EXPECT_EQ(run_simulate("--server http://127.0.0.1:1 --devices 1 --duration 1").first, 1);
}

// Numbers that mean nothing are refused with the option's name and what it must be; 0 stays
// allowed where it means something (no events, until Ctrl-C, the server's RequestDelay).
TEST_F(SimulateCommand, MeaninglessNumbersAreRefused) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"--events-per-second -5", "--events-per-second: must be at least 0, got -5"},
      {"--duration -1", "--duration: must be at least 0, got -1"},
      {"--poll-interval -0.5", "--poll-interval: must be at least 0, got -0.5"},
      {"--ramp 0", "--ramp: must be more than 0, got 0"},
      {"--threads -1", "--threads: must be 0 to 1024, got -1"},
      {"--devices 0", "--devices: must be at least 1, got 0"},
      {"--devices -4", "--devices: must be at least 1, got -4"},
  };
  for (const auto& [args, message] : refused) {
    auto [status, out] = run_simulate("--server http://127.0.0.1:1 " + args, true);
    EXPECT_EQ(status, 2) << args << "\n" << out;
    EXPECT_NE(out.find(message), std::string::npos) << "expected: " << message << "\ngot: " << out;
  }
  start();
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  auto [status, out] = run_simulate("--server " + server +
                                    " --sn-prefix SIMZ --events-per-second 0 --poll-interval 0 --threads 0 --duration 1");
  EXPECT_EQ(status, 0) << out;
}

// The summary says why exchanges failed, grouped by reason: a server holding devices for approval
// (406 at registry, 401 "not approved" after), one that is not there (connection refused).
TEST_F(SimulateCommand, ErrorsAreExplainedByReason) {
  server::ServerConfig config;
  config.registration = server::RegistrationPolicy::approve;
  start(config);
  const std::string server = "http://127.0.0.1:" + std::to_string(app_->port());
  auto [status, out] = run_simulate("--server " + server + " --devices 3 --sn-prefix SIMA --duration 2 --threads 1");
  EXPECT_EQ(status, 1) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("registry: ([0-9]+) errors? \\(([0-9]+)\u00d7 406 not approved\\)")))
      << out;
  EXPECT_EQ(m[1], m[2]) << out;
  EXPECT_GE(std::stoi(m[1]), 3) << out;

  auto [json_status, json_out] =
      run_simulate("--server " + server + " --devices 2 --sn-prefix SIMB --duration 1 --threads 1 --json");
  EXPECT_EQ(json_status, 1) << json_out;
  auto summary = nlohmann::json::parse(json_out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << json_out;
  const auto& registry = summary["endpoints"]["registry"];
  ASSERT_TRUE(registry.contains("error_reasons")) << json_out;
  EXPECT_EQ(registry["error_reasons"]["406 not approved"], registry["errors"]) << json_out;

  // Nothing listening: every init is refused by the operating system.
  auto [nobody, said] = run_simulate("--server http://127.0.0.1:1 --devices 2 --duration 1 --threads 1");
  EXPECT_EQ(nobody, 1) << said;
  EXPECT_TRUE(std::regex_search(said, m, std::regex("init: ([0-9]+) errors? \\(([0-9]+)\u00d7 connection refused\\)")))
      << said;
}

// A panel given an https:// address (docs/tls.md): with --ca the devices trust the server's private
// CA and register over the TLS listener; without it the handshake fails and the summary says why.
TEST_F(SimulateCommand, HttpsServerWithAPrivateCa) {
  const auto certs = dir_.parent_path() / (dir_.filename().string() + "-certs");
  std::filesystem::create_directories(certs);
  const auto cert = zkpush::test::make_test_certificate(certs, "server", "simulate-tls");
  ServerConfig config;
  config.tls_listen = "127.0.0.1:0";
  config.tls_cert = cert.cert.string();
  config.tls_key = cert.key.string();
  start(config);
  const std::string server = "https://127.0.0.1:" + std::to_string(app_->tls_port());
  auto [status, out] = run_simulate("--server " + server + " --ca " + cert.cert.string() +
                                    " --devices 2 --sn-prefix SIMTLS --duration 3 --poll-interval 0.2 --threads 1 --json");
  EXPECT_EQ(status, 0) << out;
  auto summary = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << out;
  EXPECT_EQ(summary["devices_registered"], 2);
  EXPECT_EQ(summary["errors"], 0);
  EXPECT_TRUE(app_->devices().get("SIMTLS000001").has_value());

  auto [refused, why] = run_simulate("--server " + server + " --devices 1 --sn-prefix SIMTLSX --duration 1", true);
  EXPECT_EQ(refused, 1) << why;
  EXPECT_NE(why.find("certificate verify failed"), std::string::npos) << why;
  EXPECT_FALSE(app_->devices().get("SIMTLSX000001").has_value());
  std::filesystem::remove_all(certs);
}

}  // namespace
}  // namespace zkpush::server
