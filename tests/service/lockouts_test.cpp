// Lockouts after refused device tokens (service/lockouts.hpp) over a real SQLite store, with a
// manual clock: the device's count and its window, the address's count across serial numbers, the
// lockout's end and what a good token resets, the operator lifting one, and what a lockout leaves
// in the store (a "security" message and an audit entry, once per lockout).
#include "service/lockouts.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "service/clock.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

class LockoutsService : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = storage::open_store("sqlite:" + (dir_.path() / "zkpush.db").string());
    policy_.device_after = 3;
    policy_.address_after = 5;
    policy_.window_seconds = 600;
    policy_.lock_seconds = 900;
    lockouts_ = std::make_unique<Lockouts>(*store_, clock_, policy_);
  }
  std::vector<Lockout> fail(const std::string& sn, const std::string& ip = "10.0.0.7") {
    return lockouts_->failed(sn, ip, "GET", "/iclock/getrequest?SN=" + sn);
  }
  // Lockouts write asynchronously: a later write commits after them.
  void settle() {
    test::write(*store_, [](storage::Transaction&) {});
  }
  std::vector<storage::Message> security_messages() {
    settle();
    storage::MessageFilter f;
    f.kinds = {"security"};
    return test::read(*store_, [f](storage::Reads& r) { return r.messages().list(f); });
  }
  std::vector<storage::AuditEntry> audit() {
    settle();
    return test::read(*store_, [](storage::Reads& r) { return r.audit().list(storage::AuditFilter{}); });
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  LockoutPolicy policy_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Lockouts> lockouts_;
};

TEST_F(LockoutsService, DeviceLockedAfterItsThresholdWithinTheWindow) {
  EXPECT_TRUE(fail("P1").empty());
  EXPECT_TRUE(fail("P1").empty());
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
  auto started = fail("P1");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].scope, LockScope::device);
  EXPECT_EQ(started[0].key, "P1");
  EXPECT_EQ(started[0].failures, 3);
  EXPECT_EQ(started[0].until, clock_.now() + 900);
  auto locked = lockouts_->locked("P1", "10.9.9.9");  // from any address
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->scope, LockScope::device);
  EXPECT_FALSE(lockouts_->locked("P2", "10.9.9.9"));  // another device is not
  EXPECT_EQ(lockouts_->started(LockScope::device), 1u);
  EXPECT_EQ(lockouts_->started(LockScope::address), 0u);
}

TEST_F(LockoutsService, FailuresOutsideTheWindowAreForgotten) {
  fail("P1");
  fail("P1");
  clock_.advance(601);
  EXPECT_TRUE(fail("P1").empty());  // a new window: 1
  EXPECT_TRUE(fail("P1").empty());  // 2
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
}

TEST_F(LockoutsService, AGoodTokenResetsTheCount) {
  fail("P1");
  fail("P1");
  lockouts_->succeeded("P1");
  EXPECT_TRUE(fail("P1").empty());
  EXPECT_TRUE(fail("P1").empty());
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
}

TEST_F(LockoutsService, LockoutEndsAfterItsTimeAndCountingStartsAgain) {
  for (int i = 0; i < 3; ++i) fail("P1");
  ASSERT_TRUE(lockouts_->locked("P1", "10.0.0.7"));
  clock_.advance(899);
  EXPECT_TRUE(lockouts_->locked("P1", "10.0.0.7"));
  clock_.advance(1);
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
  lockouts_->succeeded("P1");
  EXPECT_TRUE(fail("P1").empty());  // a fresh count: one failure is not a lockout
  EXPECT_TRUE(lockouts_->list().empty());
}

// An attacker spraying serial numbers from one address: no device reaches its own threshold, the
// address does.
TEST_F(LockoutsService, SprayOfSerialNumbersLocksTheAddress) {
  std::vector<Lockout> started;
  for (int i = 0; i < 5; ++i) started = fail("S" + std::to_string(i), "10.6.6.6");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].scope, LockScope::address);
  EXPECT_EQ(started[0].key, "10.6.6.6");
  auto locked = lockouts_->locked("NEVER-SEEN", "10.6.6.6");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->scope, LockScope::address);
  EXPECT_FALSE(lockouts_->locked("NEVER-SEEN", "10.6.6.7"));
  // Loopback exempt from the address scope (the caller says so): not counted, not refused.
  EXPECT_FALSE(lockouts_->locked("NEVER-SEEN", "10.6.6.6", false));
  EXPECT_EQ(lockouts_->started(LockScope::address), 1u);
}

TEST_F(LockoutsService, OperatorLiftsALockout) {
  for (int i = 0; i < 3; ++i) fail("P1");
  ASSERT_EQ(lockouts_->list().size(), 1u);
  EXPECT_TRUE(lockouts_->lift(LockScope::device, "P1"));
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
  EXPECT_FALSE(lockouts_->lift(LockScope::device, "P1"));  // nothing left to lift
  EXPECT_TRUE(fail("P1").empty());                          // and the count starts again
}

TEST_F(LockoutsService, EachLockoutWritesOneSecurityMessageAndOneAuditEntry) {
  for (int i = 0; i < 3; ++i) fail("P1", "10.0.0.7");
  // Refused while locked out: the caller does not count those (no token check), nothing more written.
  auto messages = security_messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].sn, "P1");
  auto body = nlohmann::json::parse(messages[0].body);
  EXPECT_EQ(body["type"], "lockout");
  EXPECT_EQ(body["scope"], "device");
  EXPECT_EQ(body["sn"], "P1");
  EXPECT_EQ(body["address"], "10.0.0.7");
  EXPECT_EQ(body["failures"], 3);
  EXPECT_EQ(body["until"], clock_.now() + 900);
  auto entries = audit();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].actor, "device P1");
  EXPECT_EQ(entries[0].remote, "10.0.0.7");
  EXPECT_EQ(entries[0].method, "GET");
  EXPECT_EQ(entries[0].target, "/iclock/getrequest?SN=P1");
  EXPECT_EQ(entries[0].operation, "deviceLockout");
  EXPECT_EQ(entries[0].status, 403);
}

TEST_F(LockoutsService, OffWhenThresholdsAreZero) {
  policy_.device_after = 0;
  policy_.address_after = 0;
  lockouts_ = std::make_unique<Lockouts>(*store_, clock_, policy_);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(fail("P1").empty());
  EXPECT_FALSE(lockouts_->locked("P1", "10.0.0.7"));
  EXPECT_TRUE(security_messages().empty());
}

TEST_F(LockoutsService, CountsAreBoundedUnderAFloodOfSerialNumbers) {
  policy_.max_keys = 50;
  policy_.address_after = 0;
  lockouts_ = std::make_unique<Lockouts>(*store_, clock_, policy_);
  for (int i = 0; i < 10'000; ++i) fail("F" + std::to_string(i));
  // Still works for a device that keeps failing.
  fail("P1");
  fail("P1");
  EXPECT_EQ(fail("P1").size(), 1u);
}

}  // namespace
}  // namespace zkpush::service
