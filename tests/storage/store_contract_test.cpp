// The store contract: what every Store backend must do, run against each of them.
//
// Parameterised by a backend factory; nothing here may know which backend it runs on (SQLite now,
// PostgreSQL later: add an instance at the bottom). Backend-specific behaviour (files, crashes,
// migrations) is tested beside the backend (sqlite_store_test.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "storage/store.hpp"
#include "storage/wire_ids.hpp"
#include "store_testing.hpp"

namespace zkpush::storage {
namespace {

using testing::await;
using testing::await_status;
using testing::TempDir;
using Reason = StoreError::Reason;

using testing::Backend;

std::int64_t clock_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t T0 = 1'700'000'000;  // a fixed "now" for times the store only keeps

template <class T>
T value_of(StoreResult<T> r, const char* what) {
  if (!r.ok()) {
    ADD_FAILURE() << what << " failed: " << r.error().message;
    return T{};
  }
  return std::move(r.value());
}

Device make_device(const std::string& sn) {
  Device d;
  d.sn = sn;
  d.approved = true;
  d.registry_code = "rc-" + sn;
  d.session_id = "sess-" + sn;
  d.push_version = "3.1.2";
  d.ip = "10.0.0.7";
  d.time_zone = "+0800";
  d.registry = protocol::Record{{"DeviceType", "acc"}, {"~DeviceName", "inBio, 460"}, {"FirmVer", "AC Ver 5.7"}};
  d.config = protocol::Record{{"RequestDelay", "7"}, {"TransTimes", "01:00;13:00"}};
  d.first_seen = T0;
  d.last_seen = T0 + 10;
  d.registered_at = T0 + 1;
  return d;
}

NewEvent make_event(const std::string& sn, std::optional<std::int64_t> index, const std::string& time,
                    const std::string& raw) {
  NewEvent e;
  e.sn = sn;
  e.index = index;
  e.time_local = time;
  e.time_utc = T0;
  e.pin = "1";
  e.cardno = "123456";
  e.event = 0;
  e.door = 1;
  e.inout = 0;
  e.verifytype = "1";
  e.raw = raw;
  e.received_at = T0 + 5;
  return e;
}

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = GetParam().open(dir_.path()); }
  void TearDown() override { store_.reset(); }

  void reopen() {
    store_.reset();
    store_ = GetParam().open(dir_.path());
  }
  Store& store() { return *store_; }

  // ---- writes that must succeed ----
  void save(const Device& d) {
    auto r = await_status([&](Store::Done done) { store_->save_device(d, std::move(done)); });
    EXPECT_TRUE(r.ok()) << "save_device: " << (r.ok() ? "" : r.error().message);
  }
  void save(const std::string& sn) { save(make_device(sn)); }
  StoreStatus merge(const std::string& sn, protocol::Record options, const std::string& source, std::int64_t now) {
    return await_status(
        [&](Store::Done done) { store_->merge_options(sn, std::move(options), source, now, std::move(done)); });
  }
  InsertCounts insert(std::vector<NewEvent> events) {
    return value_of(await<InsertCounts>([&](Store::Reply<InsertCounts> done) {
                      store_->insert_events(std::move(events), std::move(done));
                    }),
                    "insert_events");
  }
  StoreResult<CommandRow> try_enqueue(const std::string& sn, const std::string& line, std::int64_t expires_at = 0) {
    NewCommand c;
    c.sn = sn;
    c.line = line;
    c.verb = line.substr(0, line.find(' '));
    c.created_at = T0;
    c.expires_at = expires_at;
    return await<CommandRow>(
        [&](Store::Reply<CommandRow> done) { store_->enqueue_command(std::move(c), std::move(done)); });
  }
  CommandRow enqueue(const std::string& sn, const std::string& line, std::int64_t expires_at = 0) {
    return value_of(try_enqueue(sn, line, expires_at), "enqueue_command");
  }
  std::vector<CommandRow> take(const std::string& sn, std::int64_t now, std::int64_t resend_before = 0,
                               std::size_t max = 0, std::function<bool(const CommandRow&)> fits = nullptr) {
    DeliveryRequest r;
    r.sn = sn;
    r.now = now;
    r.resend_sent_before = resend_before;
    r.max_commands = max;
    r.fits = std::move(fits);
    return value_of(await<std::vector<CommandRow>>([&](Store::Reply<std::vector<CommandRow>> done) {
                      store_->take_for_delivery(std::move(r), std::move(done));
                    }),
                    "take_for_delivery");
  }
  std::vector<CommandRow> results(const std::string& sn, std::vector<ResultUpdate> updates) {
    return value_of(await<std::vector<CommandRow>>([&](Store::Reply<std::vector<CommandRow>> done) {
                      store_->record_results(sn, std::move(updates), std::move(done));
                    }),
                    "record_results");
  }
  StoreResult<CommandRow> cancel(std::int64_t id) {
    return await<CommandRow>([&](Store::Reply<CommandRow> done) { store_->cancel_command(id, std::move(done)); });
  }
  StoreStatus add_data(CommandData d) {
    return await_status([&](Store::Done done) { store_->add_command_data(std::move(d), std::move(done)); });
  }
  CommandRow command(std::int64_t id) {
    auto c = store_->get_command(id);
    EXPECT_TRUE(c.has_value()) << "command " << id;
    return c.value_or(CommandRow{});
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

ResultUpdate result(std::int64_t wire_id, CommandStatus status, std::int64_t code, std::string text,
                    std::int64_t at) {
  ResultUpdate u;
  u.wire_id = wire_id;
  u.status = status;
  u.return_code = code;
  u.result = std::move(text);
  u.at = at;
  return u;
}

// ---- devices ---------------------------------------------------------------------------------------

TEST_P(StoreContract, SavedDeviceComesBackFieldForField) {
  Device d = make_device("AJYS223460212");
  // Registration values as firmware sends them: a comma inside a value, a bare token, and a name in
  // GB2312 bytes (not UTF-8) from older firmware.
  d.registry.fields.push_back(protocol::Field{"token", "", false});
  d.registry.add("~DeviceName2", "\xD5\xC5\xC8\xFD");
  save(d);
  auto got = store().get_device(d.sn);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sn, d.sn);
  EXPECT_TRUE(got->approved);
  EXPECT_EQ(got->registry_code, d.registry_code);
  EXPECT_EQ(got->session_id, d.session_id);
  EXPECT_EQ(got->push_version, d.push_version);
  EXPECT_EQ(got->ip, d.ip);
  EXPECT_EQ(got->time_zone, d.time_zone);
  EXPECT_EQ(got->registry, d.registry);
  EXPECT_EQ(got->config, d.config);
  EXPECT_EQ(got->first_seen, d.first_seen);
  EXPECT_EQ(got->last_seen, d.last_seen);
  EXPECT_EQ(got->registered_at, d.registered_at);
  EXPECT_TRUE(got->options.empty());
  EXPECT_FALSE(store().get_device("nope"));
}

TEST_P(StoreContract, SaveReplacesTheRowButNeverMovesFirstOrLastSeenBackwards) {
  save("D1");
  Device d = make_device("D1");
  d.approved = false;
  d.ip = "10.0.0.9";
  d.registry = protocol::Record{{"DeviceType", "acc"}};
  d.first_seen = T0 + 100;  // a copy built later: the device was first seen at T0
  d.last_seen = T0 + 5;     // older than what is stored
  save(d);
  auto got = store().get_device("D1");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->approved);  // the operator's column: a device-side save never lowers it
  EXPECT_EQ(got->ip, "10.0.0.9");
  EXPECT_EQ(got->registry, d.registry);
  EXPECT_EQ(got->first_seen, T0);
  EXPECT_EQ(got->last_seen, T0 + 10);
  EXPECT_EQ(store().load_devices().size(), 1u);
}

TEST_P(StoreContract, LoadDevicesReturnsEveryDeviceWithItsOptions) {
  save("B");
  save("A");
  ASSERT_TRUE(merge("A", protocol::Record{{"LockCount", "4"}}, "options", T0).ok());
  auto all = store().load_devices();
  ASSERT_EQ(all.size(), 2u);
  std::map<std::string, Device> by_sn;
  for (auto& d : all) by_sn[d.sn] = d;
  EXPECT_EQ(by_sn["A"].options.get("LockCount"), "4");
  EXPECT_TRUE(by_sn["B"].options.empty());
  EXPECT_EQ(by_sn["B"].registry_code, "rc-B");
}

TEST_P(StoreContract, MergedOptionsKeepTheLatestValuePerKeyWhateverItsCase) {
  save("D1");
  ASSERT_TRUE(merge("D1", protocol::Record{{"TimeZoneId", "8"}, {"LockCount", "4"}, {"IPAddress", "10.0.0.7"}},
                    "registry", T0)
                  .ok());
  ASSERT_TRUE(merge("D1", protocol::Record{{"TimezoneId", "7"}, {"LockCount", "2"}}, "options", T0 + 1).ok());
  // A bare key (GET OPTIONS asks with keys only) has no value and changes nothing.
  protocol::Record bare;
  bare.fields.push_back(protocol::Field{"IPAddress", "", false});
  ASSERT_TRUE(merge("D1", bare, "get_options", T0 + 2).ok());

  auto d = store().get_device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.size(), 3u);
  EXPECT_EQ(d->options.get("TimeZoneId"), "7");  // one entry for both spellings: the latest
  ASSERT_NE(d->options.find("timezoneid"), nullptr);
  EXPECT_EQ(d->options.find("timezoneid")->key, "TimezoneId");  // and the latest spelling
  EXPECT_EQ(d->options.get("LockCount"), "2");
  EXPECT_EQ(d->options.get("IPAddress"), "10.0.0.7");

  // Saving the device row leaves its options alone.
  save("D1");
  EXPECT_EQ(store().get_device("D1")->options.size(), 3u);
}

TEST_P(StoreContract, OptionsOfAnUnknownDeviceAreRefused) {
  auto r = merge("ghost", protocol::Record{{"A", "1"}}, "options", T0);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
}

TEST_P(StoreContract, TouchUpdatesPresenceOfKnownDevicesOnly) {
  save("D1");
  auto r = await_status([&](Store::Done done) {
    store().touch_devices({{"D1", T0 + 500, "10.0.0.8"}, {"ghost", T0 + 500, "1.2.3.4"}, {"D1", T0 + 400, ""}},
                          std::move(done));
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto d = store().get_device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->last_seen, T0 + 500);  // an older timestamp in the same batch does not win
  EXPECT_EQ(d->ip, "10.0.0.8");       // an empty address keeps the known one
  EXPECT_FALSE(store().get_device("ghost"));
}

// ---- events ----------------------------------------------------------------------------------------

TEST_P(StoreContract, EventsWithAnIndexAreInsertedOnce) {
  auto counts = insert({make_event("D1", 1, "2024-01-01 10:00:00", "a"), make_event("D1", 2, "2024-01-01 10:00:05", "b"),
                        make_event("D1", 2, "2024-01-01 10:00:05", "b")});  // re-sent within the batch
  EXPECT_EQ(counts.inserted, 2);
  EXPECT_EQ(counts.duplicates, 1);
  // The device re-sends (it missed our answer); another device's index 1 is its own.
  counts = insert({make_event("D1", 1, "2024-01-01 10:00:00", "a"), make_event("D2", 1, "2024-01-01 10:00:00", "a")});
  EXPECT_EQ(counts.inserted, 1);
  EXPECT_EQ(counts.duplicates, 1);
  EXPECT_EQ(store().count_events("D1"), 2);
  EXPECT_EQ(store().count_events("D2"), 1);
  EXPECT_EQ(store().count_events(""), 3);
}

TEST_P(StoreContract, AnIndexSeenAgainWithAnotherTimeIsANewEvent) {
  // A device whose log was cleared starts its indexes at 1 again: those events are new.
  EXPECT_EQ(insert({make_event("D1", 1, "2024-01-01 10:00:00", "a")}).inserted, 1);
  auto counts = insert({make_event("D1", 1, "2024-03-05 08:00:00", "a2")});
  EXPECT_EQ(counts.inserted, 1);
  EXPECT_EQ(counts.duplicates, 0);
}

TEST_P(StoreContract, EventsWithoutIndexAreRecognisedByTheWholeRecord) {
  const std::string raw = "time=2024-01-01 10:00:00\tpin=1\tcardno=123456\teventaddr=1\tevent=0";
  auto counts = insert({make_event("D1", std::nullopt, "2024-01-01 10:00:00", raw),
                        make_event("D1", std::nullopt, "2024-01-01 10:00:00", raw + "\tinoutstatus=1")});
  EXPECT_EQ(counts.inserted, 2);
  counts = insert({make_event("D1", std::nullopt, "2024-01-01 10:00:00", raw),
                   make_event("D2", std::nullopt, "2024-01-01 10:00:00", raw)});
  EXPECT_EQ(counts.inserted, 1);  // D2's identical record is D2's
  EXPECT_EQ(counts.duplicates, 1);
  // A record without raw text is identified by its fields.
  NewEvent typed = make_event("D1", std::nullopt, "2024-01-01 11:00:00", "");
  NewEvent other = typed;
  other.pin = "2";
  counts = insert({typed, typed, other});
  EXPECT_EQ(counts.inserted, 2);
  EXPECT_EQ(counts.duplicates, 1);
  EXPECT_EQ(store().count_events("D1"), 4);
}

TEST_P(StoreContract, EventRowsKeepEveryField) {
  NewEvent full = make_event("D1", 77, "2024-01-01 10:00:00", "raw\trecord");
  full.alarm_type = 3;
  full.verifytype = "0000000001";
  full.source = "account";
  NewEvent sparse;
  sparse.sn = "D1";
  sparse.time_local = "garbage";
  sparse.raw = "time=garbage";
  insert({full, sparse});
  auto rows = store().list_events(EventFilter{"D1", 0, 10});
  ASSERT_EQ(rows.size(), 2u);
  const EventRow& a = rows[0];
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.sn, "D1");
  EXPECT_EQ(a.index, 77);
  EXPECT_EQ(a.time_local, full.time_local);
  EXPECT_EQ(a.time_utc, full.time_utc);
  EXPECT_EQ(a.pin, "1");
  EXPECT_EQ(a.cardno, "123456");
  EXPECT_EQ(a.event, 0);
  EXPECT_EQ(a.door, 1);
  EXPECT_EQ(a.inout, 0);
  EXPECT_EQ(a.verifytype, "0000000001");
  EXPECT_EQ(a.alarm_type, 3);
  EXPECT_EQ(a.raw, "raw\trecord");
  EXPECT_EQ(a.source, "account");
  EXPECT_EQ(a.received_at, full.received_at);
  const EventRow& b = rows[1];
  EXPECT_FALSE(b.index);
  EXPECT_FALSE(b.time_utc);
  EXPECT_FALSE(b.event);
  EXPECT_FALSE(b.door);
  EXPECT_FALSE(b.inout);
  EXPECT_FALSE(b.alarm_type);
  EXPECT_EQ(b.source, "rtlog");
}

TEST_P(StoreContract, ListEventsOldestFirstAfterAnIdWithinALimit) {
  std::vector<NewEvent> batch;
  for (int i = 1; i <= 6; ++i) batch.push_back(make_event(i % 2 ? "ODD" : "EVEN", i, "2024-01-01 10:00:00", "r"));
  insert(batch);
  auto all = store().list_events(EventFilter{"", 0, 100});
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].index, static_cast<std::int64_t>(i + 1));

  auto page = store().list_events(EventFilter{"", all[1].id, 2});
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, all[2].id);
  EXPECT_EQ(page[1].id, all[3].id);

  auto odd = store().list_events(EventFilter{"ODD", 0, 100});
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_EQ(odd[0].index, 1);
  EXPECT_EQ(odd[2].index, 5);
  auto odd_after = store().list_events(EventFilter{"ODD", odd[0].id, 1});
  ASSERT_EQ(odd_after.size(), 1u);
  EXPECT_EQ(odd_after[0].index, 3);
  EXPECT_TRUE(store().list_events(EventFilter{"ODD", all.back().id, 100}).empty());
  EXPECT_EQ(store().list_events(EventFilter{"", 0, 0}).size(), 6u);  // limit 0: no limit
}

// ---- door state ------------------------------------------------------------------------------------

TEST_P(StoreContract, DoorStateKeepsTheCurrentStateAndAHistoryOfChanges) {
  auto put = [&](std::string time, std::string sensor, std::string relay, std::string alarm, std::int64_t at) {
    auto r = await_status([&](Store::Done done) {
      store().put_door_state(DoorStateUpdate{"D1", time, sensor, relay, alarm, at}, std::move(done));
    });
    EXPECT_TRUE(r.ok());
  };
  EXPECT_FALSE(store().get_door_state("D1"));
  put("2024-01-01 10:00:00", "01", "00", "00", T0);
  put("2024-01-01 10:00:05", "01", "00", "00", T0 + 5);  // repeated unchanged
  put("2024-01-01 10:00:10", "02", "00", "00", T0 + 10);
  put("2024-01-01 10:00:15", "02", "01", "00", T0 + 15);
  put("2024-01-01 10:00:20", "02", "01", "00", T0 + 20);
  put("2024-01-01 10:00:25", "02", "01", "04", T0 + 25);

  auto now = store().get_door_state("D1");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->time_local, "2024-01-01 10:00:25");
  EXPECT_EQ(now->alarm, "04");
  EXPECT_EQ(now->received_at, T0 + 25);

  auto history = store().list_door_history("D1", 0);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[0].received_at, T0);
  EXPECT_EQ(history[1].sensor, "02");
  EXPECT_EQ(history[2].relay, "01");
  EXPECT_EQ(history[3].alarm, "04");
  auto last_two = store().list_door_history("D1", 2);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0].received_at, T0 + 15);
  EXPECT_EQ(last_two[1].received_at, T0 + 25);
  EXPECT_TRUE(store().list_door_history("D2", 0).empty());
}

// ---- device records and logs -----------------------------------------------------------------------

TEST_P(StoreContract, DeviceRecordsKeepTheLatestPerKeyWithBinaryContent) {
  auto put = [&](std::vector<DeviceRecord> records) {
    return value_of(await<InsertCounts>([&](Store::Reply<InsertCounts> done) {
                      store().put_device_records(std::move(records), std::move(done));
                    }),
                    "put_device_records");
  };
  const std::string photo("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01", 12);  // JPEG header, NUL bytes included
  DeviceRecord user{"D1", "user", "1", protocol::Record{{"Pin", "1"}, {"Name", "Zhang San"}}, "", T0, "", ""};
  user.fields.prefix = "user";
  DeviceRecord pic{"D1", "userpic", "1", protocol::Record{{"pin", "1"}, {"size", "12"}}, photo, T0, "", ""};
  DeviceRecord user2{"D1", "user", "2", protocol::Record{{"Pin", "2"}, {"Name", "Li, Si"}}, "", T0, "", ""};
  auto counts = put({user, pic, user2});
  EXPECT_EQ(counts.inserted, 3);
  EXPECT_EQ(counts.duplicates, 0);

  // The same upload again is a duplicate and keeps its time; a changed one replaces the old.
  DeviceRecord same = user;
  same.updated_at = T0 + 50;
  DeviceRecord renamed = user2;
  renamed.fields.set("Name", "Wang Wu");
  renamed.updated_at = T0 + 60;
  counts = put({same, renamed});
  EXPECT_EQ(counts.inserted, 1);
  EXPECT_EQ(counts.duplicates, 1);

  auto users = store().list_device_records("D1", "user", 0);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].key, "1");
  EXPECT_EQ(users[0].fields, user.fields);  // the table word survives too
  EXPECT_EQ(users[0].updated_at, T0);
  EXPECT_EQ(users[1].fields.get("Name"), "Wang Wu");
  EXPECT_EQ(users[1].updated_at, T0 + 60);

  auto pics = store().list_device_records("D1", "userpic", 0);
  ASSERT_EQ(pics.size(), 1u);
  EXPECT_EQ(pics[0].content, photo);
  EXPECT_EQ(pics[0].content.size(), 12u);
  EXPECT_EQ(store().list_device_records("D1", "", 0).size(), 3u);
  EXPECT_EQ(store().list_device_records("D1", "", 2).size(), 2u);
  EXPECT_TRUE(store().list_device_records("D2", "user", 0).empty());
}

TEST_P(StoreContract, DeviceRecordContentKeepsWhereItCameFromAndHowItIsEncoded) {
  auto put = [&](std::vector<DeviceRecord> records) {
    return value_of(await<InsertCounts>([&](Store::Reply<InsertCounts> done) {
                      store().put_device_records(std::move(records), std::move(done));
                    }),
                    "put_device_records");
  };
  DeviceRecord snap{"D1", "ATTPHOTO", "1.jpg", protocol::Record{{"pin", "1.jpg"}, {"size", "3"}}, std::string("\0\1\2", 3), T0,
                    "photo", "binary"};
  DeviceRecord tmpl{"D1", "templatev10", "1/0", protocol::Record{{"pin", "1"}, {"fingerid", "0"}}, "TZNT", T0,
                    "template", "base64"};
  EXPECT_EQ(put({snap, tmpl}).inserted, 2);
  EXPECT_EQ(put({snap, tmpl}).duplicates, 2);

  auto snaps = store().list_device_records("D1", "ATTPHOTO", 0);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].content, std::string("\0\1\2", 3));
  EXPECT_EQ(snaps[0].content_field, "photo");
  EXPECT_EQ(snaps[0].content_encoding, "binary");
  auto tmpls = store().list_device_records("D1", "templatev10", 0);
  ASSERT_EQ(tmpls.size(), 1u);
  EXPECT_EQ(tmpls[0].content_field, "template");
  EXPECT_EQ(tmpls[0].content_encoding, "base64");

  // The same bytes read differently are a change, not a duplicate.
  DeviceRecord reread = tmpl;
  reread.content_encoding = "binary";
  EXPECT_EQ(put({reread}).inserted, 1);
  EXPECT_EQ(store().list_device_records("D1", "templatev10", 0).at(0).content_encoding, "binary");
}

TEST_P(StoreContract, DeviceLogIsAppendOnlyAndListsTheLatestOldestFirst) {
  std::vector<DeviceLogEntry> entries;
  for (int i = 0; i < 5; ++i)
    entries.push_back(DeviceLogEntry{"D1", i % 2 ? "irstate" : "errorlog", "data " + std::to_string(i), T0 + i, 0});
  entries.push_back(DeviceLogEntry{"D2", "errorlog", "other", T0, 0});
  auto r = await_status([&](Store::Done done) { store().append_device_log(entries, std::move(done)); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The same entry again is another entry: logs are not deduplicated.
  r = await_status([&](Store::Done done) { store().append_device_log({entries[0]}, std::move(done)); });
  ASSERT_TRUE(r.ok());

  auto errors = store().list_device_log("D1", "errorlog", 0);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].data, "data 0");
  EXPECT_EQ(errors[1].data, "data 2");
  EXPECT_EQ(errors[3].data, "data 0");
  for (std::size_t i = 1; i < errors.size(); ++i) EXPECT_LT(errors[i - 1].id, errors[i].id);
  auto latest = store().list_device_log("D1", "", 2);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].data, "data 4");
  EXPECT_EQ(latest[1].data, "data 0");
  EXPECT_EQ(latest[0].kind, "errorlog");
  EXPECT_EQ(latest[0].received_at, T0 + 4);
  EXPECT_EQ(store().list_device_log("", "errorlog", 0).size(), 5u);
  EXPECT_EQ(store().list_device_log("D2", "", 0).size(), 1u);
}

// ---- command queue ---------------------------------------------------------------------------------

TEST_P(StoreContract, EnqueueAssignsIdsAndWireIdsThatStartFromTheClockAndIncrease) {
  save("D1");
  std::int64_t before = clock_now();
  CommandRow a = enqueue("D1", "CONTROL DEVICE 01010105");
  std::int64_t after = clock_now();
  CommandRow b = enqueue("D1", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  EXPECT_GT(a.id, 0);
  EXPECT_GT(b.id, a.id);
  // The first wire id comes from the clock, so a server whose data was wiped does not restart at 1.
  EXPECT_GE(a.wire_id, first_wire_id(before));
  EXPECT_LE(a.wire_id, first_wire_id(after));
  EXPECT_GT(a.wire_id, 100'000'000);
  EXPECT_LE(a.wire_id, kMaxWireId);
  EXPECT_EQ(b.wire_id, a.wire_id + 1);
  EXPECT_EQ(a.status, CommandStatus::queued);
  EXPECT_EQ(a.sn, "D1");
  EXPECT_EQ(a.line, "CONTROL DEVICE 01010105");
  EXPECT_EQ(a.verb, "CONTROL");
  EXPECT_EQ(a.created_at, T0);
  EXPECT_EQ(a.attempts, 0);

  CommandRow stored = command(a.id);
  EXPECT_EQ(stored.wire_id, a.wire_id);
  EXPECT_EQ(stored.line, a.line);
  EXPECT_EQ(stored.status, CommandStatus::queued);
  auto found = store().find_command("D1", b.wire_id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, b.id);
  EXPECT_FALSE(store().find_command("D2", b.wire_id));
  EXPECT_FALSE(store().get_command(b.id + 1000));
}

TEST_P(StoreContract, WireIdsArePerDeviceAndNeverReusedEvenForClosedCommands) {
  save("D1");
  save("D2");
  CommandRow a1 = enqueue("D1", "CHECK");
  CommandRow b1 = enqueue("D2", "CHECK");
  CommandRow a2 = enqueue("D1", "INFO");
  ASSERT_TRUE(cancel(a2.id).ok());
  CommandRow a3 = enqueue("D1", "INFO");
  CommandRow b2 = enqueue("D2", "INFO");
  EXPECT_EQ(a2.wire_id, a1.wire_id + 1);
  EXPECT_EQ(a3.wire_id, a2.wire_id + 1);  // the cancelled command's id is not given again
  EXPECT_EQ(b2.wire_id, b1.wire_id + 1);  // D1's commands do not consume D2's ids
  std::set<std::int64_t> api_ids{a1.id, b1.id, a2.id, a3.id, b2.id};
  EXPECT_EQ(api_ids.size(), 5u);
}

TEST_P(StoreContract, WireIdsKeepIncreasingAcrossAReopen) {
  save("D1");
  CommandRow a = enqueue("D1", "CHECK");
  CommandRow b = enqueue("D1", "INFO");
  ASSERT_TRUE(cancel(b.id).ok());
  reopen();
  CommandRow c = enqueue("D1", "INFO");
  EXPECT_EQ(c.wire_id, b.wire_id + 1);
  EXPECT_GT(c.id, b.id);
  EXPECT_EQ(command(a.id).wire_id, a.wire_id);
}

TEST_P(StoreContract, CommandsForAnUnknownDeviceAreRefused) {
  auto r = try_enqueue("ghost", "CHECK");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
  EXPECT_NE(r.error().message.find("ghost"), std::string::npos);
  save("D1");
  auto bad = try_enqueue("D1", "CHECK\nC:1:REBOOT");  // one line only
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, Reason::invalid);
}

TEST_P(StoreContract, DeliveryTakesQueuedCommandsInOrderAndMarksThemSent) {
  save("D1");
  CommandRow a = enqueue("D1", "CHECK");
  CommandRow b = enqueue("D1", "INFO");
  auto taken = take("D1", T0 + 100);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, a.id);
  EXPECT_EQ(taken[1].id, b.id);
  for (const auto& t : taken) {
    EXPECT_EQ(t.status, CommandStatus::sent);
    EXPECT_EQ(t.sent_at, T0 + 100);
    EXPECT_EQ(t.attempts, 1);
  }
  EXPECT_EQ(taken[0].wire_id, a.wire_id);
  CommandRow stored = command(a.id);
  EXPECT_EQ(stored.status, CommandStatus::sent);
  EXPECT_EQ(stored.sent_at, T0 + 100);
  EXPECT_EQ(stored.attempts, 1);
  // Sent and not yet due for a resend: nothing more to deliver. A new command goes out alone.
  EXPECT_TRUE(take("D1", T0 + 101, /*resend_before=*/T0 + 50).empty());
  CommandRow c = enqueue("D1", "REBOOT");
  taken = take("D1", T0 + 102, T0 + 50);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, c.id);
  EXPECT_TRUE(take("D2", T0 + 102).empty());
}

TEST_P(StoreContract, DeliveryStopsAtTheFirstCommandThatDoesNotFitAndAtTheCap) {
  save("D1");
  std::vector<CommandRow> queued;
  for (const char* line : {"DATA UPDATE user Pin=1", "DATA UPDATE user Pin=2\tName=a long name that is too big",
                           "CHECK", "INFO"})
    queued.push_back(enqueue("D1", line));

  // A budget of 30 bytes: the first fits, the second does not, and the third (small) must not
  // overtake it.
  std::size_t budget = 30;
  std::vector<std::int64_t> asked;
  auto fits = [&](const CommandRow& row) {
    asked.push_back(row.id);
    if (row.line.size() > budget) return false;
    budget -= row.line.size();
    return true;
  };
  auto taken = take("D1", T0, 0, 0, fits);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, queued[0].id);
  EXPECT_EQ(asked, (std::vector<std::int64_t>{queued[0].id, queued[1].id}));

  // The cap: at most two, and `fits` is not consulted for what the cap already excludes.
  asked.clear();
  budget = 1000;
  taken = take("D1", T0 + 1, 0, 2, fits);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, queued[1].id);
  EXPECT_EQ(taken[1].id, queued[2].id);
  EXPECT_EQ(asked.size(), 2u);
  EXPECT_EQ(command(queued[3].id).status, CommandStatus::queued);
  taken = take("D1", T0 + 2, 0, 2);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, queued[3].id);
}

TEST_P(StoreContract, UnansweredCommandsAreResentWithTheSameWireId) {
  save("D1");
  CommandRow a = enqueue("D1", "CHECK");
  ASSERT_EQ(take("D1", T0).size(), 1u);
  CommandRow b = enqueue("D1", "INFO");
  // Sent at T0; commands sent before T0 + 60 are due again: first a (oldest), then b (new).
  auto again = take("D1", T0 + 120, T0 + 60);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, a.id);
  EXPECT_EQ(again[0].wire_id, a.wire_id);
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].sent_at, T0 + 120);
  EXPECT_EQ(again[1].id, b.id);
  EXPECT_EQ(again[1].attempts, 1);
  // Just re-sent: not again before its own timeout.
  EXPECT_TRUE(take("D1", T0 + 130, T0 + 60).empty());
  EXPECT_EQ(command(a.id).attempts, 2);
}

// Re-sends due and queued commands come out in one FIFO (by id), past any number of sent commands
// still within their answer time (a device that never answers must not hold up the rest).
TEST_P(StoreContract, DeliveryMergesDueResendsAndQueuedPastUnansweredOnes) {
  save("D1");
  CommandRow a = enqueue("D1", "CHECK");
  ASSERT_EQ(take("D1", T0).size(), 1u);  // a sent at T0
  for (int i = 0; i < 300; ++i) enqueue("D1", "INFO");
  ASSERT_EQ(take("D1", T0 + 100).size(), 300u);  // sent at T0 + 100, unanswered
  CommandRow c = enqueue("D1", "REBOOT");
  CommandRow d = enqueue("D1", "CHECK");
  // Due again: what was sent before T0 + 60, i.e. only a. Then the queued c; the cap stops at 2.
  auto taken = take("D1", T0 + 150, T0 + 60, 2);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, a.id);
  EXPECT_EQ(taken[0].attempts, 2);
  EXPECT_EQ(taken[1].id, c.id);
  taken = take("D1", T0 + 151, T0 + 60, 2);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, d.id);
}

TEST_P(StoreContract, CommandsPastTheirDeadlineAreExpiredNotDelivered) {
  save("D1");
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105", /*expires_at=*/T0 + 30);
  CommandRow later = enqueue("D1", "CHECK", T0 + 1000);
  CommandRow never = enqueue("D1", "INFO", 0);
  auto taken = take("D1", T0 + 30);  // expires_at <= now: expired
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].id, later.id);
  EXPECT_EQ(taken[1].id, never.id);
  CommandRow expired = command(door.id);
  EXPECT_EQ(expired.status, CommandStatus::expired);
  EXPECT_EQ(expired.attempts, 0);
  EXPECT_EQ(expired.done_at, T0 + 30);
}

TEST_P(StoreContract, ASentCommandPastItsDeadlineIsNotResent) {
  save("D1");
  CommandRow door = enqueue("D1", "CONTROL DEVICE 01010105", T0 + 30);
  ASSERT_EQ(take("D1", T0).size(), 1u);
  // Unanswered and due for a resend, but its deadline has passed: a late door opening is worse
  // than none.
  EXPECT_TRUE(take("D1", T0 + 40, T0 + 20).empty());
  CommandRow row = command(door.id);
  EXPECT_EQ(row.status, CommandStatus::expired);
  EXPECT_EQ(row.attempts, 1);
  // The device answers after all: what it did is recorded.
  auto updated = results("D1", {result(door.wire_id, CommandStatus::done, 0, R"({"Return":"0"})", T0 + 45)});
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(updated[0].status, CommandStatus::done);
  EXPECT_EQ(command(door.id).return_code, 0);
}

TEST_P(StoreContract, ResultsCloseCommandsAndPendingKeepsThemSent) {
  save("D1");
  CommandRow ok = enqueue("D1", "DATA UPDATE user Pin=1");
  CommandRow bad = enqueue("D1", "DATA DELETE nosuchtable Pin=1");
  CommandRow slow = enqueue("D1", "ENROLL_BIO TYPE=1\tPIN=1");
  ASSERT_EQ(take("D1", T0).size(), 3u);

  auto updated = results("D1", {result(ok.wire_id, CommandStatus::done, 0, R"({"Return":0})", T0 + 5),
                                result(bad.wire_id, CommandStatus::failed, -3, R"({"Return":-3})", T0 + 6),
                                result(slow.wire_id, CommandStatus::sent, -5000, R"({"Return":-5000})", T0 + 7)});
  ASSERT_EQ(updated.size(), 3u);
  EXPECT_EQ(updated[0].id, ok.id);
  EXPECT_EQ(updated[0].status, CommandStatus::done);
  EXPECT_EQ(updated[1].status, CommandStatus::failed);
  EXPECT_EQ(updated[2].status, CommandStatus::sent);

  CommandRow r = command(ok.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.result, R"({"Return":0})");
  EXPECT_EQ(r.done_at, T0 + 5);
  r = command(bad.id);
  EXPECT_EQ(r.status, CommandStatus::failed);
  EXPECT_EQ(r.return_code, -3);
  r = command(slow.id);
  EXPECT_EQ(r.status, CommandStatus::sent);  // still running on the device
  EXPECT_EQ(r.return_code, -5000);
  EXPECT_EQ(r.result, R"({"Return":-5000})");
  EXPECT_EQ(r.done_at, 0);

  // The final answer comes later.
  updated = results("D1", {result(slow.wire_id, CommandStatus::done, 0, R"({"Return":0})", T0 + 60)});
  ASSERT_EQ(updated.size(), 1u);
  r = command(slow.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.return_code, 0);
  EXPECT_EQ(r.done_at, T0 + 60);
}

TEST_P(StoreContract, RepeatedResultsChangeNothing) {
  save("D1");
  CommandRow c = enqueue("D1", "CHECK");
  ASSERT_EQ(take("D1", T0).size(), 1u);
  results("D1", {result(c.wire_id, CommandStatus::done, 0, "{}", T0 + 5)});
  // The device did not get our answer and posts the same result again; a stray late "pending"
  // does not reopen it.
  auto again = results("D1", {result(c.wire_id, CommandStatus::done, 0, "{}", T0 + 50),
                              result(c.wire_id, CommandStatus::sent, -5000, "{pending}", T0 + 51)});
  ASSERT_EQ(again.size(), 2u);
  CommandRow r = command(c.id);
  EXPECT_EQ(r.status, CommandStatus::done);
  EXPECT_EQ(r.done_at, T0 + 5);
  EXPECT_EQ(r.result, "{}");
  EXPECT_EQ(r.return_code, 0);
  EXPECT_TRUE(take("D1", T0 + 1000, T0 + 999).empty());  // done: never resent
}

TEST_P(StoreContract, ResultsForUnknownWireIdsAreIgnored) {
  save("D1");
  save("D2");
  CommandRow mine = enqueue("D1", "CHECK");
  CommandRow theirs = enqueue("D2", "CHECK");
  ASSERT_EQ(take("D1", T0).size(), 1u);
  ASSERT_EQ(take("D2", T0).size(), 1u);
  auto updated = results("D1", {result(12345, CommandStatus::done, 0, "{}", T0),
                                result(mine.wire_id + 1000, CommandStatus::done, 0, "{}", T0),
                                result(mine.wire_id, CommandStatus::done, 0, "{}", T0)});
  ASSERT_EQ(updated.size(), 1u);  // only the matched one comes back
  EXPECT_EQ(updated[0].id, mine.id);
  if (theirs.wire_id != mine.wire_id) {  // same second: both devices may start at the same id
    updated = results("D1", {result(theirs.wire_id, CommandStatus::done, 0, "{}", T0)});
    EXPECT_TRUE(updated.empty());
  }
  EXPECT_EQ(command(theirs.id).status, CommandStatus::sent);  // another device's command is not touched
}

TEST_P(StoreContract, OnlyQueuedCommandsCanBeCancelled) {
  save("D1");
  CommandRow queued = enqueue("D1", "REBOOT");
  auto r = cancel(queued.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, CommandStatus::cancelled);
  EXPECT_EQ(command(queued.id).status, CommandStatus::cancelled);
  EXPECT_TRUE(cancel(queued.id).ok());  // again: still cancelled, not an error
  EXPECT_TRUE(take("D1", T0).empty());  // never delivered

  CommandRow sent = enqueue("D1", "CHECK");
  ASSERT_EQ(take("D1", T0).size(), 1u);
  r = cancel(sent.id);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_NE(r.error().message.find("sent"), std::string::npos) << r.error().message;
  EXPECT_EQ(command(sent.id).status, CommandStatus::sent);

  results("D1", {result(sent.wire_id, CommandStatus::done, 0, "{}", T0)});
  r = cancel(sent.id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_EQ(command(sent.id).status, CommandStatus::done);

  r = cancel(sent.id + 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
}

TEST_P(StoreContract, CommandDataIsKeptInArrivalOrder) {
  save("D1");
  CommandRow q = enqueue("D1", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  CommandRow other = enqueue("D1", "GET OPTIONS LockCount");
  const std::string binary("a\0b\xFF", 4);
  std::vector<CommandData> packs = {
      {q.id, "tabledata", "user", 2, 3, "user Pin=3", T0 + 2},
      {q.id, "tabledata", "user", 1, 3, "user Pin=1\nuser Pin=2", T0 + 1},
      {q.id, "tabledata", "user", 3, 3, binary, T0 + 3},
      {other.id, "options", "", 0, 0, "LockCount=4", T0 + 4},
  };
  for (const auto& p : packs) ASSERT_TRUE(add_data(p).ok());
  ASSERT_TRUE(add_data(packs[0]).ok());  // the same pack posted again is kept once

  auto data = store().get_command_data(q.id);
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data[0].packidx, 2);
  EXPECT_EQ(data[0].body, "user Pin=3");
  EXPECT_EQ(data[1].packidx, 1);
  EXPECT_EQ(data[1].body, "user Pin=1\nuser Pin=2");
  EXPECT_EQ(data[1].received_at, T0 + 1);
  EXPECT_EQ(data[2].body, binary);
  EXPECT_EQ(data[2].kind, "tabledata");
  EXPECT_EQ(data[2].table, "user");
  EXPECT_EQ(data[2].packcnt, 3);
  EXPECT_EQ(data[2].command_id, q.id);
  ASSERT_EQ(store().get_command_data(other.id).size(), 1u);
  EXPECT_TRUE(store().get_command_data(other.id + 1000).empty());

  auto r = add_data(CommandData{other.id + 1000, "options", "", 0, 0, "x", T0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::not_found);
}

TEST_P(StoreContract, PendingCountsCountQueuedAndSentPerDevice) {
  save("D1");
  save("D2");
  save("D3");
  enqueue("D1", "CHECK");
  enqueue("D1", "INFO");
  ASSERT_EQ(take("D1", T0, 0, 1).size(), 1u);  // one sent, one queued: both pending
  CommandRow d2 = enqueue("D2", "CHECK");
  CommandRow d3 = enqueue("D3", "CHECK");
  ASSERT_TRUE(cancel(d3.id).ok());
  auto counts = store().pending_counts();
  std::map<std::string, std::int64_t> by_sn(counts.begin(), counts.end());
  EXPECT_EQ(by_sn.size(), 2u);
  EXPECT_EQ(by_sn["D1"], 2);
  EXPECT_EQ(by_sn["D2"], 1);
  EXPECT_EQ(by_sn.count("D3"), 0u);
  ASSERT_EQ(take("D2", T0).size(), 1u);
  results("D2", {result(d2.wire_id, CommandStatus::done, 0, "{}", T0)});
  counts = store().pending_counts();
  by_sn = std::map<std::string, std::int64_t>(counts.begin(), counts.end());
  EXPECT_EQ(by_sn.count("D2"), 0u);
  EXPECT_EQ(store().stats().queued_commands, 2);
}

// ---- maintenance -----------------------------------------------------------------------------------

TEST_P(StoreContract, StatsCountWhatIsStored) {
  save("D1");
  save("D2");
  insert({make_event("D1", 1, "2024-01-01 10:00:00", "a"), make_event("D1", 2, "2024-01-01 10:00:00", "b")});
  enqueue("D1", "CHECK");
  StoreStats s = store().stats();
  EXPECT_EQ(s.devices, 2);
  EXPECT_EQ(s.events, 2);
  EXPECT_EQ(s.queued_commands, 1);
  EXPECT_GE(s.write_jobs, 4u);
  EXPECT_GE(s.write_groups, 1u);
  EXPECT_LE(s.write_groups, s.write_jobs);
  EXPECT_EQ(s.failed_commits, 0u);
}

TEST_P(StoreContract, AHealthyStorePassesItsIntegrityCheck) {
  save("D1");
  enqueue("D1", "CHECK");
  insert({make_event("D1", 1, "2024-01-01 10:00:00", "a")});
  EXPECT_EQ(store().integrity_check(), "ok");
}

TEST_P(StoreContract, AResultCannotSetAnyOtherStatus) {
  save("D1");
  CommandRow c = enqueue("D1", "CHECK");
  auto r = await<std::vector<CommandRow>>([&](Store::Reply<std::vector<CommandRow>> done) {
    store().record_results("D1", {result(c.wire_id, CommandStatus::cancelled, 0, "{}", T0)}, std::move(done));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::invalid);
  EXPECT_EQ(command(c.id).status, CommandStatus::queued);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
