// The emulator with --encryption against our server over loopback (docs/encryption.md): the key
// exchange, an encrypted rtlog stored and read back through the JSON API, an encrypted command
// delivered and answered; and the negotiation both ways: a server with encryption off leaves the
// device in plain text, a server that requires it refuses a device that does not ask.
#include <nlohmann/json.hpp>

#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using server::e2e::ServeFixture;
const std::string kEncApiToken = "encryption-e2e-token";

class EncryptionE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }
  void start_server(server::EncryptionMode mode) {
    server::ServerConfig config;
    config.encryption = mode;
    config.api_token = kEncApiToken;
    start(config);
  }
  void start_device(const std::string& sn, bool encryption) {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile("inbio460"),
                  [encryption](SessionOptions& o) { o.encryption = encryption; });
  }
  bool online() {
    return on_device([&] { return session_->online(); });
  }
};

TEST_F(EncryptionE2E, EncryptedEventsAndCommandsEndToEnd) {
  start_server(server::EncryptionMode::optional);
  start_device("ENCEMU1", true);
  ASSERT_TRUE(eventually([&] { return online(); })) << device_error();
  EXPECT_TRUE(on_device([&] { return session_->encrypted(); }));
  EXPECT_EQ(stats_.encrypted_sessions.load(), 1u);

  // The server holds the device's session: a plain body under its serial number is refused.
  auto plain = send(protocol::format_rtlog_upload("ENCEMU1", {rtlog_record(99, "2026-12-07 05:00:00")}));
  EXPECT_EQ(plain.status, 400) << plain.body;

  // An event, encrypted on the way up, stored and visible through the API.
  on_device([&] {
    session_->swipe(Credential{"4242", "", 4}, 2);
    session_->wake();
  });
  ASSERT_TRUE(eventually([&] { return stored_event_count("ENCEMU1") == 1; })) << device_error();
  auto api = send_raw(server::http::test::request("GET", "/api/v1/events?sn=ENCEMU1", {},
                                                  "Authorization: Bearer " + kEncApiToken + "\r\n"));
  ASSERT_EQ(api.status, 200) << api.body;
  auto events = nlohmann::json::parse(api.body, nullptr, false);
  ASSERT_TRUE(events.is_array()) << api.body;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cardno"], "4242");

  // A command, encrypted on the way down, executed and answered (encrypted on the way up).
  const auto user = enqueue("ENCEMU1", "DATA UPDATE user CardNo=123456789\tPin=7\tPassword=\tGroup=1\tName=Seven");
  const auto query = enqueue("ENCEMU1", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  for (auto id : {user, query}) {
    ASSERT_TRUE(eventually([&] {
      auto c = stored_command(id);
      return c && c->status == storage::CommandStatus::done;
    })) << id << " " << device_error();
  }
  EXPECT_EQ(stored_command(query)->return_code.value_or(-1), 1);
  EXPECT_FALSE(stored_command_data(query).empty());
  EXPECT_TRUE(on_device([&] { return session_->model().find("user", "Pin", "7") != nullptr; }));
  EXPECT_EQ(stats_.encryption_mismatches.load(), 0u);
  EXPECT_EQ(app_->metrics().encryption_failures("authentication"), 0u);
}

// Sessions live in the server's memory: after a restart the device reconnects from init (its
// requests failed meanwhile, or one with the old keys was refused as no_session), exchanges keys
// again, and the events go up encrypted.
TEST_F(EncryptionE2E, AfterAServerRestartTheDeviceExchangesKeysAgain) {
  server::ServerConfig config;
  config.encryption = server::EncryptionMode::optional;
  config.error_delay = 1;  // the device retries every second once the server is back
  start(config);
  start_device("ENCEMU4", true);
  ASSERT_TRUE(eventually([&] { return online(); })) << device_error();
  ASSERT_EQ(stats_.encrypted_sessions.load(), 1u);
  const std::string listen = "127.0.0.1:" + std::to_string(app_->port());
  app_.reset();
  server::ServerConfig again = config_;
  again.listen = listen;
  app_ = std::make_unique<server::App>(again);
  app_->start();
  on_device([&] {
    session_->swipe(Credential{"31337", "", 4}, 1);
    session_->wake();
  });
  ASSERT_TRUE(eventually([&] { return stored_event_count("ENCEMU4") == 1; })) << device_error();
  EXPECT_GE(stats_.encrypted_sessions.load(), 2u);
  EXPECT_TRUE(on_device([&] { return session_->encrypted(); }));
  EXPECT_EQ(stats_.encryption_mismatches.load(), 0u);
}

TEST_F(EncryptionE2E, ServerWithEncryptionOffLeavesTheDeviceInPlainText) {
  start_server(server::EncryptionMode::off);
  start_device("ENCEMU2", true);
  ASSERT_TRUE(eventually([&] { return online(); })) << device_error();
  EXPECT_FALSE(on_device([&] { return session_->encrypted(); }));
  EXPECT_EQ(stats_.encryption_refused.load(), 1u);
  on_device([&] {
    session_->swipe(Credential{"77", "", 4}, 1);
    session_->wake();
  });
  ASSERT_TRUE(eventually([&] { return stored_event_count("ENCEMU2") == 1; })) << device_error();
}

TEST_F(EncryptionE2E, RequiredRefusesADeviceThatDoesNotAsk) {
  start_server(server::EncryptionMode::required);
  start_device("ENCEMU3", false);
  ASSERT_TRUE(eventually([&] { return stats_.refused.load() > 0; }));
  EXPECT_FALSE(online());
  const auto reasons = stats_.error_reasons(Exchange::registry);
  ASSERT_FALSE(reasons.empty()) << device_error();
  EXPECT_EQ(reasons.front().first, "403 encryption required");
  const auto device = stored_device("ENCEMU3");
  EXPECT_TRUE(!device || device->registry_code.empty());  // never registered
}

}  // namespace
}  // namespace zkpush::emulator
