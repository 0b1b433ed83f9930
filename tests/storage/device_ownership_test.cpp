// The device row has two owners (storage/types.hpp `Device`): the device's own requests write the
// device-side columns through the devices area's save(), the operator writes approved / time_zone /
// config through update_settings(). Each write must leave the other owner's columns alone, so that a row
// saved from a copy read before the other owner's write cannot undo it. Parameterised by backend
// like the contract suite (add PostgreSQL at the bottom).
#include <gtest/gtest.h>

#include "storage/store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using testing::TempDir;
using Reason = StoreError::Reason;

using testing::Backend;

constexpr std::int64_t kOwnershipT0 = 1'700'000'000;

// A device waiting for approval, with no operator settings yet.
Device waiting_device(const std::string& sn) {
  Device d;
  d.sn = sn;
  d.approved = false;
  d.session_id = "sess-1";
  d.push_version = "3.1.2";
  d.ip = "10.0.0.7";
  d.registry = protocol::Record{{"DeviceType", "acc"}, {"FirmVer", "AC Ver 5.7"}};
  d.first_seen = kOwnershipT0;
  d.last_seen = kOwnershipT0 + 10;
  return d;
}

DeviceSettings approve_with_zone_and_config() {
  DeviceSettings s;
  s.approved = true;
  s.time_zone = "+0530";
  s.config = {ConfigEdit{"RequestDelay", "7"}, ConfigEdit{"TransTimes", "01:00;13:00"}};
  return s;
}

class DeviceOwnership : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = GetParam().open(dir_.path()); }
  void TearDown() override { store_.reset(); }
  Store& store() { return *store_; }

  StoreStatus save(const Device& d) {
    return store_->write_now([d](Transaction& tx) { tx.devices().save(d); });
  }
  StoreStatus update(const std::string& sn, const DeviceSettings& s) {
    return store_->write_now([sn, s](Transaction& tx) { tx.devices().update_settings(sn, s); });
  }
  std::optional<Device> find(const std::string& sn) {
    return test::read(*store_, [sn](Reads& r) { return r.devices().get(sn); });
  }
  Device row(const std::string& sn) {
    auto d = find(sn);
    EXPECT_TRUE(d.has_value()) << sn;
    return d.value_or(Device{});
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(DeviceOwnership, ASaveFromAStaleCopyKeepsTheOperatorsSettings) {
  ASSERT_TRUE(save(waiting_device("D1")).ok());
  Device stale = row("D1");  // what a device request read before the operator acted
  ASSERT_TRUE(update("D1", approve_with_zone_and_config()).ok());

  stale.session_id = "sess-2";
  stale.ip = "10.0.0.8";
  stale.last_seen = kOwnershipT0 + 20;
  stale.registry_code = "rc-1";
  stale.registered_at = kOwnershipT0 + 20;
  // Even values the copy happens to carry for the operator's columns are not written.
  stale.time_zone = "-0100";
  stale.config = protocol::Record{{"ErrorDelay", "99"}};
  ASSERT_TRUE(save(stale).ok());

  const Device got = row("D1");
  EXPECT_TRUE(got.approved);
  EXPECT_EQ(got.time_zone, "+0530");
  EXPECT_EQ(got.config, (protocol::Record{{"RequestDelay", "7"}, {"TransTimes", "01:00;13:00"}}));
  // ...while the device's own columns are the copy's.
  EXPECT_EQ(got.session_id, "sess-2");
  EXPECT_EQ(got.ip, "10.0.0.8");
  EXPECT_EQ(got.last_seen, kOwnershipT0 + 20);
  EXPECT_EQ(got.registry_code, "rc-1");
  EXPECT_EQ(got.registered_at, kOwnershipT0 + 20);
}

TEST_P(DeviceOwnership, SettingsLeaveEveryDeviceSideColumnAlone) {
  Device d = waiting_device("D1");
  d.registry_code = "rc-1";
  d.registered_at = kOwnershipT0 + 1;
  ASSERT_TRUE(save(d).ok());
  ASSERT_TRUE(update("D1", approve_with_zone_and_config()).ok());

  const Device got = row("D1");
  EXPECT_EQ(got.session_id, d.session_id);
  EXPECT_EQ(got.push_version, d.push_version);
  EXPECT_EQ(got.ip, d.ip);
  EXPECT_EQ(got.registry, d.registry);
  EXPECT_EQ(got.registry_code, d.registry_code);
  EXPECT_EQ(got.first_seen, d.first_seen);
  EXPECT_EQ(got.last_seen, d.last_seen);
  EXPECT_EQ(got.registered_at, d.registered_at);
  EXPECT_TRUE(got.approved);
  EXPECT_EQ(got.time_zone, "+0530");
}

TEST_P(DeviceOwnership, OnlyTheSettingsGivenAreWritten) {
  ASSERT_TRUE(save(waiting_device("D1")).ok());
  ASSERT_TRUE(update("D1", approve_with_zone_and_config()).ok());

  DeviceSettings zone_only;
  zone_only.time_zone = "";  // back to the server's default
  ASSERT_TRUE(update("D1", zone_only).ok());
  Device got = row("D1");
  EXPECT_EQ(got.time_zone, "");
  EXPECT_TRUE(got.approved);
  EXPECT_EQ(got.config.size(), 2u);

  // Config edits are per key: removing one (any case) and setting another keep the rest.
  DeviceSettings edits;
  edits.config = {ConfigEdit{"requestdelay", std::nullopt}, ConfigEdit{"ServerName", "gate"}};
  ASSERT_TRUE(update("D1", edits).ok());
  got = row("D1");
  EXPECT_EQ(got.config, (protocol::Record{{"TransTimes", "01:00;13:00"}, {"ServerName", "gate"}}));
  EXPECT_TRUE(got.approved);

  // Two operators' changes of different keys, each from its own request: both stay.
  DeviceSettings first, second;
  first.config = {ConfigEdit{"ErrorDelay", "30"}};
  second.config = {ConfigEdit{"Realtime", "1"}};
  ASSERT_TRUE(update("D1", first).ok());
  ASSERT_TRUE(update("D1", second).ok());
  got = row("D1");
  EXPECT_EQ(got.config.get_or("ErrorDelay", ""), "30");
  EXPECT_EQ(got.config.get_or("Realtime", ""), "1");
  EXPECT_EQ(got.config.get_or("TransTimes", ""), "01:00;13:00");
}

TEST_P(DeviceOwnership, TheDevicePathMayApproveButNeverUnapproves) {
  ASSERT_TRUE(save(waiting_device("D1")).ok());
  // Automatic registration: the device's own save raises approved.
  Device registering = row("D1");
  registering.approved = true;
  ASSERT_TRUE(save(registering).ok());
  EXPECT_TRUE(row("D1").approved);
  // A copy from before that (approved = false) does not lower it.
  ASSERT_TRUE(save(waiting_device("D1")).ok());
  EXPECT_TRUE(row("D1").approved);
  // The operator can.
  DeviceSettings revoke;
  revoke.approved = false;
  ASSERT_TRUE(update("D1", revoke).ok());
  EXPECT_FALSE(row("D1").approved);
}

TEST_P(DeviceOwnership, ANewRowIsInsertedWholeByTheDevicePathOnly) {
  Device d = waiting_device("NEW1");
  d.approved = true;  // --registration auto
  d.time_zone = "+0800";
  d.config = protocol::Record{{"RequestDelay", "5"}};
  ASSERT_TRUE(save(d).ok());
  const Device got = row("NEW1");
  EXPECT_TRUE(got.approved);
  EXPECT_EQ(got.time_zone, "+0800");
  EXPECT_EQ(got.config, d.config);
  EXPECT_EQ(got.session_id, d.session_id);

  // The operator's write needs the row: it does not create one.
  auto r = update("NEW2", approve_with_zone_and_config());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::not_found);
  EXPECT_FALSE(r.error().transient);
  EXPECT_FALSE(find("NEW2").has_value());
  EXPECT_EQ(test::read(store(), [](Reads& r) { return r.devices().all().size(); }), 1u);
}

TEST_P(DeviceOwnership, MalformedSettingsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(save(waiting_device("D1")).ok());
  for (const std::string zone : {"Mars/Olympus", "+8", "0800", "+0800 "}) {
    SCOPED_TRACE(zone);
    DeviceSettings s;
    s.approved = true;
    s.time_zone = zone;
    auto r = update("D1", s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().reason, Reason::invalid);
  }
  DeviceSettings empty_key;
  empty_key.approved = true;
  empty_key.config = {ConfigEdit{"", "1"}};
  auto r = update("D1", empty_key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::invalid);

  const Device got = row("D1");
  EXPECT_FALSE(got.approved);
  EXPECT_EQ(got.time_zone, "");
  EXPECT_TRUE(got.config.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, DeviceOwnership, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
