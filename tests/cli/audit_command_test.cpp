// `zkpush audit verify --data DIR`, the real binary: while a server runs on the folder (read only,
// nothing migrated) it prints the entry count, "chain intact" and the last hash, exit 0; after a row
// is edited or deleted with SQL it names the first broken entry and why, exit 1; a folder without a
// database is exit 2 with the reason. The server's start-up log names the chain's head.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "cli/run_zkpush.hpp"
#include "server/serve_fixture.hpp"
#include "storage/sqlite/database.hpp"

namespace zkpush::server::e2e {
namespace {

const std::string kAuditCliToken = "audit-cli-admin-token-5d1e";

class AuditCommand : public ServeFixture {
 protected:
  RawResponse api(const std::string& method, const std::string& target, const std::string& body) {
    return send_raw(http::test::request(method, target, body,
                                        "Authorization: Bearer " + kAuditCliToken +
                                            "\r\nContent-Type: application/json\r\n"));
  }
  std::pair<int, std::string> verify() { return cli_test::run_zkpush("audit verify --data " + dir_.string(), true); }
  void tamper(const std::string& sql) {
    storage::sqlite::Database db((dir_ / "zkpush.db").string(), storage::sqlite::OpenMode::read_write_create);
    db.exec(sql);
  }
};

TEST_F(AuditCommand, VerifiesWhileServingAndNamesWhatWasTamperedWith) {
  ServerConfig config;
  config.api_token = kAuditCliToken;
  start(config);
  for (int i = 1; i <= 6; ++i)
    ASSERT_EQ(api("POST", "/api/v1/persons", R"({"pin":")" + std::to_string(i) + R"(","name":"P"})").status, 201);
  // An entry is written once its call is answered: read until the sixth is there.
  nlohmann::json newest = nlohmann::json::object();
  for (int i = 0; i < 250 && newest.value("id", 0) < 6; ++i) {
    auto head = api("GET", "/api/v1/audit?limit=1", "");
    ASSERT_EQ(head.status, 200);
    newest = nlohmann::json::parse(head.body).at(0);
    if (newest.value("id", 0) < 6) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(newest.value("id", 0), 6) << newest;
  const std::string last_hash = newest["hash"];
  ASSERT_EQ(last_hash.size(), 64u);

  // While the server runs on it.
  auto [status, out] = verify();
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("6 entries, chain intact, last entry 6, last hash " + last_hash), std::string::npos) << out;

  // A restart names the head the log had, so that a later truncation shows against this line.
  std::ostringstream logged;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logged);
  spdlog::default_logger()->sinks().push_back(sink);
  restart();
  spdlog::default_logger()->sinks().pop_back();
  app_.reset();
  EXPECT_NE(logged.str().find("audit log: last entry 6, chain head " + last_hash), std::string::npos) << logged.str();

  tamper("UPDATE audit_log SET remote = '10.9.9.9' WHERE id = 3");
  std::tie(status, out) = verify();
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("chain BROKEN at entry 3 (edited)"), std::string::npos) << out;
  tamper("UPDATE audit_log SET remote = '127.0.0.1' WHERE id = 3");
  std::tie(status, out) = verify();
  EXPECT_EQ(status, 0) << out;  // put back as it was, the chain holds again

  tamper("DELETE FROM audit_log WHERE id = 4");
  std::tie(status, out) = verify();
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("chain BROKEN at entry 5 (deleted): entry 4 is missing"), std::string::npos) << out;
}

TEST_F(AuditCommand, AFolderWithoutADatabaseIsAnError) {
  std::filesystem::create_directories(dir_);
  auto [status, out] = verify();
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("no such database"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "zkpush.db"));  // read only: nothing created
}

}  // namespace
}  // namespace zkpush::server::e2e
