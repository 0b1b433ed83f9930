// `zkpush ctl` against a real server (the App in this process, real sockets and SQLite), run as the
// binary a user runs: devices as JSON and as a table, a door opened and waited for, and the exit
// statuses (0 done, 1 refused by the server, 3 no server).
#include <nlohmann/json.hpp>

#include <string>
#include <thread>

#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using e2e::ServeFixture;

const std::string kToken = "ctl-test-token-secret";

class CtlCommand : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kToken;
    start(config);
    server_ = "http://127.0.0.1:" + std::to_string(app_->port());
  }
  std::pair<int, std::string> ctl(const std::string& args, const std::string& token = kToken, bool with_stderr = false) {
    return cli_test::run_zkpush("ctl --server " + server_ + " --token " + token + " " + args, with_stderr);
  }
  std::string server_;
};

TEST_F(CtlCommand, DevicesAsJsonAndAsATable) {
  const std::string token = handshake("CTLTEST01");
  (void)token;
  auto [status, out] = ctl("devices --json");
  ASSERT_EQ(status, 0) << out;
  auto list = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << out;
  ASSERT_EQ(list.size(), 1u) << out;
  EXPECT_EQ(list[0]["sn"], "CTLTEST01");
  // The same with --json before the subcommand.
  EXPECT_EQ(nlohmann::json::parse(ctl("--json devices").second, nullptr, false), list);

  auto [table_status, table] = ctl("devices");
  EXPECT_EQ(table_status, 0) << table;
  EXPECT_EQ(table.rfind("SN ", 0), 0u) << table;
  EXPECT_NE(table.find("CTLTEST01"), std::string::npos) << table;
  EXPECT_NE(table.find("online"), std::string::npos) << table;

  // Refused (wrong token): 1 and the server's reason; no server: 3.
  auto [refused, why] = ctl("devices", "not-the-token", true);
  EXPECT_EQ(refused, 1) << why;
  EXPECT_NE(why.find("401"), std::string::npos) << why;
  auto [nobody, said] = cli_test::run_zkpush("ctl --server http://127.0.0.1:1 --token x devices", true);
  EXPECT_EQ(nobody, 3) << said;
}

TEST_F(CtlCommand, ADoorOpenedAndItsAnswerWaitedFor) {
  const std::string sn = "CTLTEST02";
  const std::string token = handshake(sn);
  std::thread device([&] { EXPECT_TRUE(answer_next_command(sn, token, 0)); });
  auto [status, out] = ctl("doors open " + sn + " 2 --seconds 9 --wait 5s");
  device.join();
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("door 2 of CTLTEST02: done, Return 0"), std::string::npos) << out;
  // Nobody answers: exit 1 after the wait.
  auto [late, said] = ctl("doors open " + sn + " 1 --wait 1s");
  EXPECT_EQ(late, 1) << said;
  EXPECT_NE(said.find("no answer within 1s"), std::string::npos) << said;
  // Out of range: refused by the command line itself.
  EXPECT_NE(ctl("doors open " + sn + " 17").first, 0);
}

}  // namespace
}  // namespace zkpush::server
