// How the emulated device paces its uploads (manual 6 and 7.1): Realtime=0 with TransTimes and
// TransInterval, and ping as the heartbeat while a long backlog goes up. Against the real server
// and store, over loopback.
#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using namespace std::chrono_literals;
using server::e2e::ServeFixture;

class UploadModes : public ServeFixture, public e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }
  void start_device(const std::string& sn, const std::function<void(SessionOptions&)>& tweak) {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, find_profile("c3-100"), tweak);
  }
  void swipe(const std::string& card) {
    on_device([&] {
      Credential c;
      c.cardno = card;
      c.verifytype = 4;
      session_->swipe(c, 1);
    });
  }

  std::size_t exchanges(Exchange kind) const { return stats_.latency[static_cast<std::size_t>(kind)].count(); }
};

// The server asks for batched uploads at 12:30 only, no interval. The device's clock reads
// 12:29:5x: what it logs waits for 12:30 and then goes up, although it polls every 100 ms.
TEST_F(UploadModes, RealtimeOffUploadsAtTheTransTimesPoint) {
  server::ServerConfig config;
  config.realtime = 0;
  config.trans_interval = 0;
  config.trans_times = "12:30";
  start(config);
  // Device wall clock = true UTC + offset; place it 4 s before 12:30 today.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const std::int64_t day_start = now.count() - now.count() % 86400;
  const auto started = std::chrono::steady_clock::now();
  start_device("EMUMODE001", [&](SessionOptions& o) {
    o.clock_offset = std::chrono::seconds(day_start + 12 * 3600 + 30 * 60 - 4 - now.count());
  });
  ASSERT_TRUE(eventually([&] { return device_online(); }));
  swipe("4401");
  swipe("4402");
  // Polls go on (the device is online) but nothing is uploaded before the time point.
  ASSERT_TRUE(eventually([&] { return exchanges(Exchange::getrequest) >= 3; }));
  if (std::chrono::steady_clock::now() - started < 3s) {
    EXPECT_EQ(stored_event_count("EMUMODE001"), 0);
  }
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUMODE001") == 2; }, 15s))
      << device_error();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3s);  // not before 12:30 on the device's clock
  // The device counts an exchange once the answer is back, a moment after the server stored it.
  ASSERT_TRUE(eventually([&] { return exchanges(Exchange::rtlog) >= 1; }));
  EXPECT_EQ(exchanges(Exchange::rtlog), 1u);  // one batch
}

// Realtime=1 (the default): each swipe goes up at once, well before any batch would.
TEST_F(UploadModes, RealtimeOnUploadsAtOnce) {
  server::ServerConfig config;
  config.trans_interval = 60;
  config.trans_times = "03:00";
  start(config);
  start_device("EMUMODE002", {});
  ASSERT_TRUE(eventually([&] { return device_online(); }));
  swipe("4403");
  on_device([&] { session_->wake(); });
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUMODE002") == 1; }));
}

// A backlog of 400 events sent one per request after an outage: while it goes up the device
// heartbeats with ping (no getrequest until it is done), and every event arrives once, in order.
TEST_F(UploadModes, PingKeepsTheHeartbeatDuringALongUpload) {
  start();
  start_device("EMUMODE003", [](SessionOptions& o) {
    o.poll_interval = 10ms;
    o.rtlog_batch = 1;
  });
  ASSERT_TRUE(eventually([&] { return device_online(); }));
  on_device([&] { session_->go_offline(std::chrono::steady_clock::now() + 1h); });
  ASSERT_TRUE(eventually([&] { return !device_online(); }));
  constexpr int kBacklog = 400;
  for (int i = 0; i < kBacklog; ++i) swipe(std::to_string(100000 + i));
  EXPECT_EQ(exchanges(Exchange::ping), 0u);
  on_device([&] { session_->go_offline(std::chrono::steady_clock::now()); });
  ASSERT_TRUE(eventually([&] { return stored_event_count("EMUMODE003") == kBacklog; }, 60s))
      << stored_event_count("EMUMODE003") << " " << device_error();
  // 400 sequential HTTP exchanges, each committed to SQLite, take far longer than 10 ms.
  EXPECT_GT(exchanges(Exchange::ping), 0u);
  storage::EventFilter filter;
  filter.sn = "EMUMODE003";
  filter.limit = kBacklog + 10;
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kBacklog));
  for (int i = 0; i < kBacklog; ++i) EXPECT_EQ(events[i].cardno, std::to_string(100000 + i)) << i;
}

}  // namespace
}  // namespace zkpush::emulator
