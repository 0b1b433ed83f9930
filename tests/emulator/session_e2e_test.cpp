// The emulator against our server over loopback: registration, events, door state, commands with
// their results, offline buffering and resume. The server is the real `zkpush serve` App with a
// real SQLite store; the device is the real DeviceSession.
#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using server::e2e::ServeFixture;

class EmulatorE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }
  void start_device(const std::string& sn, const char* profile = "inbio460") {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile(profile));
  }
  std::optional<storage::CommandRow> command(std::int64_t id) { return stored_command(id); }
};

TEST_F(EmulatorE2E, RegistersUploadsEventsAndDoorState) {
  start();
  start_device("EMUE2E0001");
  ASSERT_TRUE(eventually([&] { return on_device([&] { return session_->online(); }); }));
  EXPECT_EQ(stats_.devices_registered.load(), 1);
  auto state = app_->devices().get("EMUE2E0001");
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->device->registry_code.empty());

  // A stranger's card at door 2: refused (27), logged and uploaded.
  auto decision = on_device([&] {
    auto d = session_->swipe(Credential{"4242", "", 4}, 2);
    session_->wake();
    return d;
  });
  EXPECT_EQ(decision.event, event_code::not_registered);
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUE2E0001") == 1; }));
  storage::EventFilter filter;
  filter.sn = "EMUE2E0001";
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].cardno, "4242");
  ASSERT_TRUE(events[0].event.has_value());
  EXPECT_EQ(*events[0].event, 27);
  ASSERT_TRUE(events[0].door.has_value());
  EXPECT_EQ(*events[0].door, 2);
  EXPECT_TRUE(stored_door_state("EMUE2E0001").has_value());
}

TEST_F(EmulatorE2E, CommandsRunAndTheirResultsReachTheServer) {
  start();
  start_device("EMUE2E0002");
  ASSERT_TRUE(eventually([&] { return on_device([&] { return session_->online(); }); }));
  const auto user = enqueue("EMUE2E0002", "DATA UPDATE user CardNo=123456789\tPin=7\tPassword=\tGroup=1\tName=Seven");
  const auto privilege = enqueue("EMUE2E0002", "DATA UPDATE userauthorize Pin=7\tAuthorizeTimezoneId=1\tAuthorizeDoorId=15\tDevID=1");
  const auto query = enqueue("EMUE2E0002", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  const auto open = enqueue("EMUE2E0002", "CONTROL DEVICE 01010105");
  const auto bogus = enqueue_unchecked("EMUE2E0002", "DATA UPDATE user Name=nokey", "DATA UPDATE");
  for (auto id : {user, privilege, query, open, bogus}) {
    ASSERT_TRUE(eventually([&] {
      auto c = command(id);
      return c && (c->status == storage::CommandStatus::done || c->status == storage::CommandStatus::failed);
    })) << id;
  }
  EXPECT_EQ(command(user)->status, storage::CommandStatus::done);
  EXPECT_EQ(command(query)->status, storage::CommandStatus::done);
  EXPECT_EQ(command(query)->return_code.value_or(-1), 1);  // one user queried back
  EXPECT_FALSE(stored_command_data(query).empty());
  EXPECT_EQ(command(open)->status, storage::CommandStatus::done);
  EXPECT_EQ(command(bogus)->status, storage::CommandStatus::failed);
  EXPECT_EQ(command(bogus)->return_code.value_or(0), -11);
  // The remote opening produced event 8, and the user's card now opens the door.
  auto granted = on_device([&] {
    auto d = session_->swipe(Credential{"123456789", "", 4}, 3);
    session_->wake();
    return d;
  });
  EXPECT_TRUE(granted.granted());
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUE2E0002") == 2; }))
      << stored_event_count("EMUE2E0002") << " " << on_device([&] { return session_->last_error(); });
  storage::EventFilter filter;
  filter.sn = "EMUE2E0002";
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event.value_or(-1), 8);
  EXPECT_EQ(events[1].event.value_or(-1), 0);
  EXPECT_EQ(events[1].pin, "7");
}

TEST_F(EmulatorE2E, OfflineEventsAreUploadedInOrderAfterReconnect) {
  server::ServerConfig quick;
  quick.error_delay = 1;  // the device retries every second once the server is back
  start(quick);
  start_device("EMUE2E0003");
  ASSERT_TRUE(eventually([&] { return on_device([&] { return session_->online(); }); }));
  // The server goes away; the device keeps logging.
  const std::string listen = "127.0.0.1:" + std::to_string(app_->port());
  app_.reset();
  for (int i = 0; i < 25; ++i) {
    on_device([&] { session_->swipe(Credential{std::to_string(1000 + i), "", 4}, 1); });
  }
  on_device([&] { session_->wake(); });
  ASSERT_TRUE(eventually([&] { return !on_device([&] { return session_->online(); }); }));
  // Back on the same port: the device reconnects after ErrorDelay and resumes from its cursor.
  server::ServerConfig config = config_;
  config.listen = listen;
  app_ = std::make_unique<server::App>(config);
  app_->start();
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUE2E0003") == 25; }))
      << stored_event_count("EMUE2E0003") << " " << on_device([&] { return session_->last_error(); });
  storage::EventFilter filter;
  filter.sn = "EMUE2E0003";
  auto events = stored_events(filter);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].index.value_or(-1), static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(events[i].cardno, std::to_string(1000 + i));
  }
}

}  // namespace
}  // namespace zkpush::emulator
