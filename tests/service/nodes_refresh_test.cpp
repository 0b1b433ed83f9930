// The services' memory when another node writes the same PostgreSQL database: CommandQueue::refresh
// and Devices::refresh_now (what App::on_store_change calls for the store's change feed) bring the
// pending counts, the API's waits and the device cache to what the other node committed. "The other
// node" is a second store on the same database with services of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "protocol/codecs_session.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

using storage::CommandRow;
using storage::testing::await;

class NodesRefresh : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = storage::testing::postgres_url(dir_.path());
    here_store_ = storage::open_store(url);
    there_store_ = storage::open_store(url);
    for (const char* sn : {"D1", "D2"}) {
      storage::Device d;
      d.sn = sn;
      d.approved = true;
      d.registry_code = "rc";
      d.session_id = "s1";
      test::write(*there_store_, [d](storage::Transaction& tx) { tx.devices().save(d); });
    }
    QueueOptions options;
    here_queue_ = std::make_unique<CommandQueue>(*here_store_, clock_, options);
    there_queue_ = std::make_unique<CommandQueue>(*there_store_, clock_, options);
    here_devices_ = std::make_unique<Devices>(*here_store_, clock_, policy_);
    there_devices_ = std::make_unique<Devices>(*there_store_, clock_, policy_);
    for (auto status : {here_queue_->load(), there_queue_->load(), here_devices_->load(), there_devices_->load()})
      ASSERT_TRUE(status.ok()) << status.error().message;
  }
  void TearDown() override { here_store_->watch(nullptr); }

  CommandRow enqueue_there(const std::string& sn, const std::string& line) {
    auto r = await<CommandRow>(
        [&](CommandQueue::Reply<CommandRow> done) { there_queue_->enqueue(EnqueueRequest{sn, line, {}, {}}, done); });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : CommandRow{};
  }
  void cancel_there(std::int64_t id) {
    auto r = await<CommandRow>([&](CommandQueue::Reply<CommandRow> done) { there_queue_->cancel(id, done); });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void refresh_here(const std::string& sn) {
    auto status = here_queue_->refresh(sn);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  DevicePolicy policy_;
  std::unique_ptr<storage::Store> here_store_, there_store_;
  std::unique_ptr<CommandQueue> here_queue_, there_queue_;
  std::unique_ptr<Devices> here_devices_, there_devices_;
};

TEST_F(NodesRefresh, PendingCountsFollowWhatTheOtherNodeQueuedAndClosed) {
  const auto a = enqueue_there("D1", "GET OPTIONS LockCount");
  const auto b = enqueue_there("D1", "DATA UPDATE user Pin=1");
  enqueue_there("D2", "GET OPTIONS LockCount");
  EXPECT_EQ(here_queue_->pending("D1"), 0);  // not told yet: memory only
  refresh_here("D1");
  EXPECT_EQ(here_queue_->pending("D1"), 2);
  EXPECT_EQ(here_queue_->pending("D2"), 0);  // another device's count is its own notification's
  EXPECT_EQ(here_queue_->pending_total(), 2);
  refresh_here("D2");
  EXPECT_EQ(here_queue_->pending_total(), 3);

  cancel_there(a.id);
  refresh_here("D1");
  EXPECT_EQ(here_queue_->pending("D1"), 1);
  cancel_there(b.id);
  refresh_here("D1");
  EXPECT_EQ(here_queue_->pending("D1"), 0);
  EXPECT_FALSE(here_queue_->has_work("D1"));
  EXPECT_EQ(here_queue_->pending_total(), 1);
}

TEST_F(NodesRefresh, AWaitForACommandClosedByTheOtherNodeEndsClosedAfterTheRefresh) {
  const auto a = enqueue_there("D1", "GET OPTIONS LockCount");
  const auto other = enqueue_there("D1", "DATA UPDATE user Pin=1");
  refresh_here("D1");
  std::promise<bool> answered;
  std::promise<bool> other_answered;
  std::atomic<int> calls{0};
  const auto deadline = CommandQueue::WaitClock::now() + std::chrono::minutes(5);
  here_queue_->wait(a.id, deadline, [&](bool closed) {
    calls += 1;
    answered.set_value(closed);
  });
  here_queue_->wait(other.id, deadline, [&](bool closed) { other_answered.set_value(closed); });

  refresh_here("D1");  // nothing closed yet: the waits stay
  EXPECT_EQ(calls.load(), 0);

  cancel_there(a.id);
  refresh_here("D1");
  auto f = answered.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "the wait did not end on refresh";
  EXPECT_TRUE(f.get());
  refresh_here("D1");
  EXPECT_EQ(calls.load(), 1);  // once
  // The other command is still open: its wait stays until the server ends it.
  auto g = other_answered.get_future();
  EXPECT_EQ(g.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  here_queue_->end_waits();
  EXPECT_FALSE(g.get());
}

TEST_F(NodesRefresh, TheChangeFeedDrivesTheRefreshAsTheServerWiresIt) {
  // As App::on_store_change: a commands change refreshes the queue, a device change the cache.
  here_store_->watch([this](const storage::Store::Change& c) {
    if (c.kind == storage::Store::Change::Kind::commands) (void)here_queue_->refresh(c.sn);
    if (c.kind == storage::Store::Change::Kind::device) (void)here_devices_->refresh_now(c.sn);
  });
  const auto a = enqueue_there("D2", "GET OPTIONS LockCount");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (here_queue_->pending("D2") != 1 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(here_queue_->pending("D2"), 1);
  cancel_there(a.id);
  while (here_queue_->pending("D2") != 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(here_queue_->pending("D2"), 0);

  // The device removed there with a command open: it leaves the cache, and its count goes with it.
  enqueue_there("D2", "GET OPTIONS LockCount");
  while (here_queue_->pending("D2") != 1 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(here_queue_->pending("D2"), 1);
  auto removed = await<storage::Unit>([&](storage::Store::Done done) { there_devices_->remove("D2", done); });
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  while ((here_queue_->pending("D2") != 0 || here_devices_->get("D2")) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(here_queue_->pending("D2"), 0);
  EXPECT_EQ(here_queue_->pending_total(), 0);
  EXPECT_FALSE(here_devices_->get("D2"));
}

TEST_F(NodesRefresh, ADeviceRemovedOrReRegisteredOnTheOtherNodeIsReadAgain) {
  ASSERT_TRUE(here_devices_->get("D1"));
  EXPECT_EQ(here_devices_->get("D1")->device->session_id, "s1");

  // A new session (the device fetched its push configuration through the other node): the token
  // this node checks must be the new one.
  storage::Device d = *here_devices_->get("D1")->device;
  d.session_id = "s2";
  test::write(*there_store_, [d](storage::Transaction& tx) { tx.devices().save(d); });
  EXPECT_EQ(here_devices_->get("D1")->device->session_id, "s1");  // memory until told
  ASSERT_TRUE(here_devices_->refresh_now("D1").ok());
  EXPECT_EQ(here_devices_->get("D1")->device->session_id, "s2");
  const auto cookie = "token=" + protocol::compute_token("rc", "D1", "s2");
  EXPECT_EQ(here_devices_->check_token(*here_devices_->get("D1")->device, cookie).outcome, TokenCheck::Outcome::ok);

  // Removed there: it leaves the cache here.
  auto removed = await<storage::Unit>([&](storage::Store::Done done) { there_devices_->remove("D2", done); });
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  ASSERT_TRUE(here_devices_->get("D2"));
  ASSERT_TRUE(here_devices_->refresh_now("D2").ok());
  EXPECT_FALSE(here_devices_->get("D2"));
  EXPECT_TRUE(here_devices_->get("D1"));
}

}  // namespace
}  // namespace zkpush::service
