// The device service (service/devices.hpp) over a real SQLite store in a temporary folder, with a
// manual clock and no socket: init and registration under both policies, the cache read back from
// the store after each write (options merged without case or '~', as the store merges them, also
// after a reload), the operator's settings never undone by a device write, presence kept in memory
// and flushed, the token policy, time zones and configuration lines with overrides.
#include "service/devices.hpp"

#include <gtest/gtest.h>

#include "protocol/codecs_session.hpp"
#include "protocol/text.hpp"
#include "service/clock.hpp"
#include "storage/open_store.hpp"
#include "storage/store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::service {
namespace {

using storage::testing::await;

class DevicesService : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    devices_.reset();
    store_.reset();
    store_ = storage::open_store("sqlite:" + (dir_.path() / "zkpush.db").string());
    devices_ = std::make_unique<Devices>(*store_, clock_, policy_);
    ASSERT_TRUE(devices_->load().ok());
  }
  std::shared_ptr<const storage::Device> init(const std::string& sn) {
    auto r = await<std::shared_ptr<const storage::Device>>(
        [&](auto done) { devices_->init(sn, "3.1.2", "10.0.0.9", std::move(done)); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : nullptr;
  }
  Devices::Registration registry(const std::string& sn, protocol::Record options) {
    auto r = await<Devices::Registration>(
        [&](auto done) { devices_->registry(sn, "10.0.0.9", std::move(options), std::move(done)); });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : Devices::Registration{};
  }
  std::optional<storage::Device> stored(const std::string& sn) {
    return test::read(*store_, [sn](storage::Reads& r) { return r.devices().get(sn); });
  }

  storage::testing::TempDir dir_;
  ManualClock clock_{1'700'000'000};
  DevicePolicy policy_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Devices> devices_;
};

TEST_F(DevicesService, InitCreatesTheRowAndTheCacheHoldsWhatTheStoreHolds) {
  EXPECT_FALSE(devices_->get("A1"));
  auto d = init("A1");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->approved);  // automatic registration
  EXPECT_TRUE(d->registry_code.empty());
  auto row = stored("A1");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->first_seen, clock_.now());
  EXPECT_EQ(row->push_version, "3.1.2");
  ASSERT_TRUE(devices_->get("A1"));
  EXPECT_EQ(devices_->get("A1")->device->ip, "10.0.0.9");
}

TEST_F(DevicesService, RegistryDrawsACodeOnceAndMergesOptionsAsTheStoreDoes) {
  init("A1");
  auto first = registry("A1", protocol::Record{{"~DeviceName", "inBio"}, {"MaxPackageSize", "2048"}});
  ASSERT_TRUE(first.accepted);
  const auto code = first.device->registry_code;
  EXPECT_EQ(code.size(), 32u);
  // The same key without '~' and in another case replaces the value: one key, latest spelling.
  auto second = registry("A1", protocol::Record{{"devicename", "inBio460"}, {"CmdFormat", "1"}});
  EXPECT_EQ(second.device->registry_code, code);
  EXPECT_EQ(second.device->options.get_or("DeviceName", ""), "inBio460");
  std::size_t names = 0;
  for (const auto& f : second.device->options.fields)
    if (protocol::text::iequals(f.key, "devicename") || protocol::text::iequals(f.key, "~devicename")) ++names;
  EXPECT_EQ(names, 1u);
  auto state = devices_->get("A1");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->max_package_size, 2048u);
  EXPECT_EQ(state->cmd_format, 1);
  // The cache merged its copy without reading the options back: the same as the store, in order.
  auto options_upload = await<storage::Unit>([&](auto done) {
    devices_->merge_options("A1", protocol::Record{{"~CmdFormat", "0"}, {"lockcount", "4"}}, "options", std::move(done));
  });
  ASSERT_TRUE(options_upload.ok());
  auto push = await<std::shared_ptr<const storage::Device>>([&](auto done) { devices_->push("A1", std::move(done)); });
  ASSERT_TRUE(push.ok());
  state = devices_->get("A1");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->cmd_format, 0);
  EXPECT_EQ(state->device->options, stored("A1")->options);
  // The registration is the store's alone (its parameters are in the options): the cache keeps no
  // second copy, and the push's save did not erase the stored one.
  EXPECT_TRUE(state->device->registry.empty());
  EXPECT_EQ(stored("A1")->registry, (protocol::Record{{"devicename", "inBio460"}, {"CmdFormat", "1"}}));
  EXPECT_EQ(state->device->session_id, stored("A1")->session_id);
  // After a restart the cache reads the same row the store merged.
  const auto before = state->device->options;
  open();
  auto reloaded = devices_->get("A1");
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->device->options.get_or("DeviceName", ""), "inBio460");
  EXPECT_EQ(reloaded->device->options, before);
  EXPECT_EQ(reloaded->max_package_size, 2048u);
}

// A panel reconnecting (after a restart, its own or the server's) sends the registration the store
// holds: accepted with the same code and nothing written. The digest survives a reload from the
// store; a changed registration, or another address, is written again.
TEST_F(DevicesService, TheSameRegistrationAgainWritesNothing) {
  init("R1");
  const protocol::Record reg{{"~DeviceName", "inBio460"}, {"LockCount", "4"}, {"MaxPackageSize", "2048"}};
  auto first = registry("R1", reg);
  ASSERT_TRUE(first.accepted);
  const auto written = stored("R1")->last_seen;
  for (int round = 0; round < 2; ++round) {
    clock_.advance(60);
    auto again = registry("R1", reg);
    EXPECT_TRUE(again.accepted);
    EXPECT_EQ(again.device->registry_code, first.device->registry_code);
    EXPECT_EQ(stored("R1")->last_seen, written) << "round " << round << ": a write happened";
    EXPECT_EQ(devices_->get("R1")->last_seen, clock_.now()) << "presence still notes the device";
    open();  // the server restarts: the digest comes back from the stored registration
  }
  clock_.advance(60);
  auto changed = registry("R1", protocol::Record{{"~DeviceName", "inBio460"}, {"LockCount", "2"}});
  EXPECT_EQ(stored("R1")->last_seen, clock_.now());
  EXPECT_EQ(changed.device->options.get_or("LockCount", ""), "2");
  EXPECT_EQ(stored("R1")->registry.get_or("LockCount", ""), "2");
  // The first registration again: it differs from the stored one now, so it is written.
  clock_.advance(60);
  registry("R1", reg);
  EXPECT_EQ(stored("R1")->last_seen, clock_.now());
  EXPECT_EQ(stored("R1")->registry.get_or("LockCount", ""), "4");
  // The same registration from another address: written (the row keeps the address).
  clock_.advance(60);
  auto moved = await<Devices::Registration>(
      [&](auto done) { devices_->registry("R1", "10.0.0.77", reg, std::move(done)); });
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(stored("R1")->ip, "10.0.0.77");
}

TEST_F(DevicesService, UnderApprovalRegistryWaitsUntilTheOperatorApproves) {
  policy_.auto_register = false;
  open();
  auto d = init("B2");
  EXPECT_FALSE(d->approved);
  EXPECT_FALSE(registry("B2", {}).accepted);
  storage::DeviceSettings approve;
  approve.approved = true;
  auto r = await<std::shared_ptr<const storage::Device>>(
      [&](auto done) { devices_->update_settings("B2", approve, std::move(done)); });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value()->approved);
  auto accepted = registry("B2", {});
  EXPECT_TRUE(accepted.accepted);
  EXPECT_FALSE(accepted.device->registry_code.empty());
  EXPECT_TRUE(stored("B2")->approved);
}

TEST_F(DevicesService, ADeviceWriteNeverUndoesTheOperatorsSettings) {
  init("C3");
  storage::DeviceSettings s;
  s.time_zone = "+0530";
  s.config.push_back(storage::ConfigEdit{"RequestDelay", std::string("7")});
  ASSERT_TRUE(
      await<std::shared_ptr<const storage::Device>>([&](auto done) { devices_->update_settings("C3", s, std::move(done)); })
          .ok());
  registry("C3", protocol::Record{{"MachineTZ", "+0800"}});
  auto push = await<std::shared_ptr<const storage::Device>>([&](auto done) { devices_->push("C3", std::move(done)); });
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push.value()->time_zone, "+0530");
  EXPECT_EQ(stored("C3")->time_zone, "+0530");
  EXPECT_EQ(devices_->tz_minutes(*push.value()), 330);  // the operator's zone wins over MachineTZ
  auto lines = devices_->config_lines(*push.value(), true);
  EXPECT_EQ(lines.get_or("RequestDelay", ""), "7");
  EXPECT_FALSE(push.value()->session_id.empty());
}

TEST_F(DevicesService, UnknownDevicesAndSettingsOfThemAreRefused) {
  storage::DeviceSettings s;
  s.approved = true;
  auto r = await<std::shared_ptr<const storage::Device>>(
      [&](auto done) { devices_->update_settings("NOPE", s, std::move(done)); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, storage::StoreError::Reason::not_found);
  auto p = await<std::shared_ptr<const storage::Device>>([&](auto done) { devices_->push("NOPE", std::move(done)); });
  ASSERT_FALSE(p.ok());
  EXPECT_FALSE(stored("NOPE"));
}

TEST_F(DevicesService, PresenceIsKeptInMemoryAndFlushedOnce) {
  init("D4");
  const auto seen_at_init = stored("D4")->last_seen;
  clock_.advance(40);
  devices_->touch("D4");
  EXPECT_EQ(devices_->get("D4")->last_seen, seen_at_init + 40);
  EXPECT_EQ(stored("D4")->last_seen, seen_at_init);  // not written per request
  EXPECT_EQ(devices_->totals(seen_at_init + 30).online, 1);
  EXPECT_EQ(devices_->totals(seen_at_init + 41).online, 0);
  auto flushed = await<storage::Unit>([&](auto done) { devices_->flush_presence(std::move(done)); });
  ASSERT_TRUE(flushed.ok());
  EXPECT_EQ(stored("D4")->last_seen, seen_at_init + 40);
  EXPECT_TRUE(devices_->take_presence().empty());  // nothing changed since
}

TEST_F(DevicesService, TokenPolicy) {
  init("E5");
  auto reg = registry("E5", {});
  auto push = await<std::shared_ptr<const storage::Device>>([&](auto done) { devices_->push("E5", std::move(done)); });
  ASSERT_TRUE(push.ok());
  const auto& d = *push.value();
  const auto token = protocol::compute_token(d.registry_code, d.sn, d.session_id);
  using O = TokenCheck::Outcome;
  EXPECT_EQ(devices_->check_token(d, "token=" + token).outcome, O::ok);
  EXPECT_EQ(devices_->check_token(d, "").outcome, O::missing_accepted);
  auto wrong = devices_->check_token(d, "token=0123456789abcdef0123456789abcdef");
  EXPECT_EQ(wrong.outcome, O::mismatch_refused);
  EXPECT_FALSE(wrong.accepted());
  policy_.strict_token = false;
  policy_.allow_missing_cookie = false;
  open();
  auto state = devices_->get("E5");
  ASSERT_TRUE(state);
  EXPECT_EQ(devices_->check_token(*state->device, "token=0123456789abcdef0123456789abcdef").outcome,
            O::mismatch_accepted);
  EXPECT_EQ(devices_->check_token(*state->device, "").outcome, O::missing_refused);
}

}  // namespace
}  // namespace zkpush::service
