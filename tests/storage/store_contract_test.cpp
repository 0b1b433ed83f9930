// The store contract: what every Store backend must do, run against each of them through units of
// work (storage/unit_of_work.hpp): devices, events, door states, device data, the command queue's
// rows (ids, wire ids, the lists the queue reads), units of work spanning areas (all or nothing,
// visible as a whole), the asynchronous write/read forms and maintenance.
//
// Parameterised by backend (store_testing.hpp opens each by URL); nothing here may know which
// backend it runs on (SQLite now, PostgreSQL later). Backend-specific behaviour (files, crashes,
// migrations) is tested beside the backend (sqlite_store_test.cpp); what a command's status may
// become is the command queue's (tests/service/command_queue_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <future>
#include <map>
#include <tuple>
#include <set>
#include <thread>

#include "protocol/enums.hpp"
#include "storage/store.hpp"
#include "storage/wire_ids.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using testing::await;
using testing::Backend;
using testing::TempDir;
using Reason = StoreError::Reason;

constexpr std::int64_t kContractT0 = 1'700'000'000;  // a fixed "now" for times the store only keeps

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
  d.first_seen = kContractT0;
  d.last_seen = kContractT0 + 10;
  d.registered_at = kContractT0 + 1;
  return d;
}

NewEvent make_event(const std::string& sn, std::optional<std::int64_t> index, const std::string& time,
                    const std::string& raw) {
  NewEvent e;
  e.sn = sn;
  e.index = index;
  e.time_local = time;
  e.time_utc = kContractT0;
  e.pin = "1";
  e.cardno = "123456";
  e.event = 0;
  e.door = 1;
  e.inout = 0;
  e.verifytype = "1";
  e.raw = raw;
  e.received_at = kContractT0 + 5;
  return e;
}

// A command row to insert; the store takes any verb and line (checking them is the queue's).
NewCommand make_command(const std::string& sn, const std::string& line,
                        CommandPriority priority = CommandPriority::normal, std::int64_t expires_at = 0) {
  NewCommand c;
  c.sn = sn;
  c.line = line;
  c.verb = line.substr(0, line.find(' '));
  c.priority = priority;
  c.created_at = kContractT0;
  c.expires_at = expires_at;
  return c;
}

void expect_same_row(const CommandRow& got, const CommandRow& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.sn, want.sn);
  EXPECT_EQ(got.wire_id, want.wire_id);
  EXPECT_EQ(got.line, want.line);
  EXPECT_EQ(got.verb, want.verb);
  EXPECT_EQ(got.priority, want.priority);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.return_code, want.return_code);
  EXPECT_EQ(got.result, want.result);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.sent_at, want.sent_at);
  EXPECT_EQ(got.done_at, want.done_at);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.attempts, want.attempts);
}

std::vector<std::int64_t> ids(const std::vector<CommandRow>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
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

  // Units of work that must succeed (a failure is reported to gtest).
  template <class Job>
  auto read(Job job) {
    return test::read(*store_, std::move(job));
  }
  template <class Job>
  auto write(Job job) {
    return test::write(*store_, std::move(job));
  }

  // ---- devices ----
  void save(const Device& d) {
    write([d](Transaction& tx) { tx.devices().save(d); });
  }
  void save(const std::string& sn) { save(make_device(sn)); }
  std::optional<Device> device(const std::string& sn) {
    return read([sn](Reads& r) { return r.devices().get(sn); });
  }
  std::vector<Device> devices() {
    return read([](Reads& r) { return r.devices().all(); });
  }
  StoreStatus merge(const std::string& sn, protocol::Record options, const std::string& source, std::int64_t now) {
    return store_->write_now([=](Transaction& tx) { tx.devices().merge_options(sn, options, source, now); });
  }

  // ---- events ----
  InsertCounts insert(std::vector<NewEvent> events) {
    return write([events](Transaction& tx) { return tx.events().insert(events); });
  }
  std::int64_t count_events(const std::string& sn) {
    return read([sn](Reads& r) { return r.events().count(sn); });
  }
  std::vector<EventRow> list_events(EventFilter filter) {
    return read([filter](Reads& r) { return r.events().list(filter); });
  }

  // ---- commands ----
  StoreResult<CommandRow> try_insert(const NewCommand& c, std::int64_t clock_now = kContractT0) {
    return store_->write_now([c, clock_now](Transaction& tx) { return tx.commands().insert(c, clock_now); });
  }
  CommandRow insert_command(const NewCommand& c, std::int64_t clock_now = kContractT0) {
    return write([c, clock_now](Transaction& tx) { return tx.commands().insert(c, clock_now); });
  }
  CommandRow insert_command(const std::string& sn, const std::string& line,
                            CommandPriority priority = CommandPriority::normal, std::int64_t expires_at = 0) {
    return insert_command(make_command(sn, line, priority, expires_at));
  }
  void update(const CommandRow& row) {
    write([row](Transaction& tx) { tx.commands().update(row); });
  }
  // The row moved to `status` (sent_at / done_at set as the queue would) and written back.
  CommandRow mark(CommandRow row, CommandStatus status, std::int64_t at) {
    row.status = status;
    if (status == CommandStatus::sent) {
      row.sent_at = at;
      row.attempts += 1;
    } else if (status != CommandStatus::queued) {
      row.done_at = at;
    }
    update(row);
    return row;
  }
  std::optional<CommandRow> command(std::int64_t id) {
    return read([id](Reads& r) { return r.commands().get(id); });
  }
  // A read of the commands area.
  template <class F>
  auto commands(F f) {
    return read([f](Reads& r) { return f(r.commands()); });
  }
  StoreStatus add_data(const CommandData& d) {
    return store_->write_now([d](Transaction& tx) { tx.commands().add_data(d); });
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// ---- devices ---------------------------------------------------------------------------------------

// Units submitted together share a group (one transaction): a unit that fails after writing is
// undone alone, whichever way it fails, and every other unit commits with its own value.
TEST_P(StoreContract, UnitsWrittenTogetherFailAloneAndTheOthersCommitWithTheirValues) {
  save("GRP");
  const auto before = store().stats();
  ASSERT_TRUE(before.ok());
  constexpr int kUnits = 90;
  std::vector<std::future<StoreResult<int>>> results;
  for (int i = 0; i < kUnits; ++i) {
    auto promise = std::make_shared<std::promise<StoreResult<int>>>();
    results.push_back(promise->get_future());
    store().write(
        [i](Transaction& tx) {
          tx.events().insert({make_event("GRP", i, "2026-12-07 10:00:00", "unit=" + std::to_string(i))});
          if (i % 10 == 3) throw Refused(StoreError::Reason::conflict, "refused " + std::to_string(i));
          if (i % 10 == 7) throw std::runtime_error("failed " + std::to_string(i));
          return i;
        },
        [promise](StoreResult<int> r) { promise->set_value(std::move(r)); });
  }
  std::set<std::int64_t> expected;
  for (int i = 0; i < kUnits; ++i) {
    auto r = results[static_cast<std::size_t>(i)].get();
    if (i % 10 == 3) {
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_EQ(r.error().reason, StoreError::Reason::conflict);
      EXPECT_FALSE(r.error().transient);
      EXPECT_EQ(r.error().message, "refused " + std::to_string(i));
    } else if (i % 10 == 7) {
      ASSERT_FALSE(r.ok()) << i;
      EXPECT_FALSE(r.error().transient);
      EXPECT_NE(r.error().message.find("failed " + std::to_string(i)), std::string::npos) << r.error().message;
    } else {
      ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
      EXPECT_EQ(r.value(), i);
      expected.insert(i);
    }
  }
  EventFilter filter;
  filter.sn = "GRP";
  filter.limit = 1000;
  std::set<std::int64_t> stored;
  for (const auto& e : list_events(filter)) stored.insert(e.index.value_or(-1));
  EXPECT_EQ(stored, expected);
  // They did share groups (else this tested nothing), and no group failed as a whole.
  const auto after = store().stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->write_jobs - before->write_jobs, static_cast<std::uint64_t>(kUnits));
  EXPECT_LT(after->write_groups - before->write_groups, static_cast<std::uint64_t>(kUnits) / 2);
  EXPECT_EQ(after->failed_commits, before->failed_commits);
}

TEST_P(StoreContract, SavedDeviceComesBackFieldForField) {
  Device d = make_device("AJYS223460212");
  // Registration values as firmware sends them: a comma inside a value, a bare token, and a name in
  // GB2312 bytes (not UTF-8) from older firmware.
  d.registry.fields.push_back(protocol::Field{"token", "", false});
  d.registry.add("~DeviceName2", "\xD5\xC5\xC8\xFD");
  save(d);
  auto got = device(d.sn);
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
  EXPECT_FALSE(device("nope"));
  EXPECT_EQ(read([](Reads& r) { return r.devices().count(); }), 1);
}

TEST_P(StoreContract, SaveReplacesTheRowButNeverMovesFirstOrLastSeenBackwards) {
  save("D1");
  Device d = make_device("D1");
  d.approved = false;
  d.ip = "10.0.0.9";
  d.registry = protocol::Record{{"DeviceType", "acc"}};
  d.first_seen = kContractT0 + 100;  // a copy built later: the device was first seen at kContractT0
  d.last_seen = kContractT0 + 5;     // older than what is stored
  save(d);
  auto got = device("D1");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->approved);  // the operator's column: a device-side save never lowers it
  EXPECT_EQ(got->ip, "10.0.0.9");
  EXPECT_EQ(got->registry, d.registry);
  EXPECT_EQ(got->first_seen, kContractT0);
  EXPECT_EQ(got->last_seen, kContractT0 + 10);
  EXPECT_EQ(devices().size(), 1u);
  // A save without a registration (init, push: the device cache holds none) keeps the stored one.
  d.registry = protocol::Record{};
  d.ip = "10.0.0.10";
  save(d);
  got = device("D1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ip, "10.0.0.10");
  EXPECT_EQ(got->registry, (protocol::Record{{"DeviceType", "acc"}}));
}

TEST_P(StoreContract, AllDevicesComeBackBySerialWithTheirOptions) {
  save("B");
  save("A");
  ASSERT_TRUE(merge("A", protocol::Record{{"LockCount", "4"}}, "options", kContractT0).ok());
  auto all = devices();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].sn, "A");
  EXPECT_EQ(all[1].sn, "B");
  EXPECT_EQ(all[0].options.get("LockCount"), "4");
  EXPECT_TRUE(all[1].options.empty());
  EXPECT_EQ(all[1].registry_code, "rc-B");
}

TEST_P(StoreContract, MergedOptionsKeepTheLatestValuePerKeyWhateverItsCase) {
  save("D1");
  ASSERT_TRUE(merge("D1", protocol::Record{{"TimeZoneId", "8"}, {"LockCount", "4"}, {"IPAddress", "10.0.0.7"}},
                    "registry", kContractT0)
                  .ok());
  ASSERT_TRUE(merge("D1", protocol::Record{{"TimezoneId", "7"}, {"LockCount", "2"}}, "options", kContractT0 + 1).ok());
  // A bare key (GET OPTIONS asks with keys only) has no value and changes nothing.
  protocol::Record bare;
  bare.fields.push_back(protocol::Field{"IPAddress", "", false});
  ASSERT_TRUE(merge("D1", bare, "get_options", kContractT0 + 2).ok());

  auto d = device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.size(), 3u);
  EXPECT_EQ(d->options.get("TimeZoneId"), "7");  // one entry for both spellings: the latest
  ASSERT_NE(d->options.find("timezoneid"), nullptr);
  EXPECT_EQ(d->options.find("timezoneid")->key, "TimezoneId");  // and the latest spelling
  EXPECT_EQ(d->options.get("LockCount"), "2");
  EXPECT_EQ(d->options.get("IPAddress"), "10.0.0.7");

  // Saving the device row leaves its options alone.
  save("D1");
  EXPECT_EQ(device("D1")->options.size(), 3u);

  // Each with where its latest value came from, in the order of Device::options.
  auto sourced = read([](Reads& r) { return r.devices().options("D1"); });
  ASSERT_EQ(sourced.size(), 3u);
  for (std::size_t i = 0; i < sourced.size(); ++i) EXPECT_EQ(sourced[i].key, d->options.fields[i].key);
  auto find = [&](const std::string& key) {
    return *std::find_if(sourced.begin(), sourced.end(), [&](const DeviceOption& o) { return o.key == key; });
  };
  EXPECT_EQ(find("TimezoneId").value, "7");
  EXPECT_EQ(find("TimezoneId").source, "options");
  EXPECT_EQ(find("TimezoneId").updated_at, kContractT0 + 1);
  EXPECT_EQ(find("IPAddress").source, "registry");  // the bare key changed nothing
  EXPECT_EQ(find("IPAddress").updated_at, kContractT0);
  EXPECT_TRUE(read([](Reads& r) { return r.devices().options("NONE"); }).empty());
}

// The device cache does not read options back after a write: it applies storage::merge_options to
// its copy. A backend that merged differently would leave the cache and the store apart.
TEST_P(StoreContract, MergedOptionsEqualTheSharedRuleInContentAndOrder) {
  save("D1");
  const std::vector<protocol::Record> uploads = {
      // The device's first upload (nothing stored yet) naming one key both ways.
      {{"~DeviceName", "inBio"}, {"LockCount", "4"}, {"zeta", "1"}, {"_under", "u"}, {"Alpha", "a"},
       {"~Twice", "1"}, {"TWICE", "2"}},
      {{"DeviceName", "renamed"}, {"lockcount", "2"}, {"~~Odd", "x"}},
      {{"~lockCount", "3"}, {"~Odd", "y"}, {"~", "nothing"}, {"", "nothing"}},
      {{"ZETA", "2"}, {"beta", "b"}},
  };
  protocol::Record expected;
  std::int64_t at = kContractT0;
  for (const auto& u : uploads) {
    ASSERT_TRUE(merge("D1", u, "options", at++).ok());
    merge_options(expected, u);
    auto d = device("D1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->options, expected) << "after " << at - kContractT0 << " upload(s)";
  }
  auto d = device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.get("DeviceName"), "renamed");
  EXPECT_EQ(d->options.find("~DeviceName"), nullptr);
  EXPECT_EQ(d->options.get("~lockCount"), "3");
  EXPECT_EQ(d->options.find("LockCount"), nullptr);
  EXPECT_EQ(d->options.get("twice"), "2");
  EXPECT_EQ(d->options.find("~Twice"), nullptr);
}

TEST_P(StoreContract, GetRowLeavesOutOptionsAndRegistryOnly) {
  Device d = make_device("D1");
  d.config = protocol::Record{{"RequestDelay", "10"}};
  save(d);
  ASSERT_TRUE(merge("D1", protocol::Record{{"LockCount", "4"}}, "options", kContractT0).ok());
  auto row = read([](Reads& r) { return r.devices().get_row("D1"); });
  ASSERT_TRUE(row);
  auto full = device("D1");
  ASSERT_TRUE(full);
  EXPECT_TRUE(row->options.empty());
  EXPECT_TRUE(row->registry.empty());
  EXPECT_FALSE(full->registry.empty());
  row->options = full->options;
  row->registry = full->registry;
  EXPECT_EQ(row->approved, full->approved);
  EXPECT_EQ(row->registry_code, full->registry_code);
  EXPECT_EQ(row->session_id, full->session_id);
  EXPECT_EQ(row->config, full->config);
  EXPECT_EQ(row->first_seen, full->first_seen);
  EXPECT_EQ(row->last_seen, full->last_seen);
  EXPECT_FALSE(read([](Reads& r) { return r.devices().get_row("ghost"); }));
}

TEST_P(StoreContract, OptionsOfAnUnknownDeviceAreRefused) {
  auto r = merge("ghost", protocol::Record{{"A", "1"}}, "options", kContractT0);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
  EXPECT_FALSE(device("ghost"));
}

TEST_P(StoreContract, TouchUpdatesPresenceOfKnownDevicesOnly) {
  save("D1");
  write([](Transaction& tx) {
    tx.devices().touch({{"D1", kContractT0 + 500, "10.0.0.8"}, {"ghost", kContractT0 + 500, "1.2.3.4"}, {"D1", kContractT0 + 400, ""}});
  });
  auto d = device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->last_seen, kContractT0 + 500);  // an older timestamp in the same batch does not win
  EXPECT_EQ(d->ip, "10.0.0.8");       // an empty address keeps the known one
  EXPECT_FALSE(device("ghost"));
}

// Chinese firmware names itself in GB2312 (not UTF-8): the value comes back byte for byte.
TEST_P(StoreContract, OptionValuesComeBackWhateverTheirBytes) {
  save("D1");
  const std::string gb_name = "\xD5\xC5\xC8\xFD inBio";
  ASSERT_TRUE(merge("D1", protocol::Record{{"~DeviceName", gb_name}, {"LockCount", "4"}}, "registry", kContractT0).ok());
  auto d = device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.get("~DeviceName"), gb_name);
  auto sourced = read([](Reads& r) { return r.devices().options("D1"); });
  ASSERT_EQ(sourced.size(), 2u);
  EXPECT_EQ(sourced[1].key, "~DeviceName");  // '~' sorts after the letters
  EXPECT_EQ(sourced[1].value, gb_name);
  EXPECT_EQ(devices().at(0).options.get("~DeviceName"), gb_name);
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
  EXPECT_EQ(count_events("D1"), 2);
  EXPECT_EQ(count_events("D2"), 1);
  EXPECT_EQ(count_events(""), 3);
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
  EXPECT_EQ(count_events("D1"), 4);
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
  auto rows = list_events(EventFilter{"D1", 0, 10});
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

// A device's upload is never refused for its bytes: a record in GB2312 (or garbled) is stored, its
// raw text byte for byte, and recognised when sent again.
TEST_P(StoreContract, EventsAreStoredWhateverTheirBytes) {
  const std::string gb = "\xD5\xC5\xC8\xFD";
  NewEvent indexed = make_event("D1", 5, "2024-01-01 10:00:00", "time=2024-01-01 10:00:00\tpin=1\tname=" + gb);
  NewEvent digested = make_event("D1", std::nullopt, "2024-01-01 10:00:01", "time=2024-01-01 10:00:01\tnote=\xFF\xFE");
  NewEvent garbled = make_event("D1", 6, "2024-01-01 10:00:02", "pin=" + gb);
  garbled.pin = gb;
  garbled.cardno = "\xC3";
  garbled.verifytype = "\xFF";
  auto counts = insert({indexed, digested, garbled});
  EXPECT_EQ(counts.inserted, 3);
  counts = insert({indexed, digested, garbled});
  EXPECT_EQ(counts.duplicates, 3);
  auto rows = list_events(EventFilter{"D1", 0, 0});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].raw, indexed.raw);
  EXPECT_EQ(rows[1].raw, digested.raw);
  EXPECT_EQ(rows[2].raw, garbled.raw);
  EXPECT_EQ(rows[2].index, 6);
}

TEST_P(StoreContract, ListEventsOldestFirstAfterAnIdWithinALimit) {
  std::vector<NewEvent> batch;
  for (int i = 1; i <= 6; ++i) batch.push_back(make_event(i % 2 ? "ODD" : "EVEN", i, "2024-01-01 10:00:00", "r"));
  insert(batch);
  auto all = list_events(EventFilter{"", 0, 100});
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].index, static_cast<std::int64_t>(i + 1));

  auto page = list_events(EventFilter{"", all[1].id, 2});
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, all[2].id);
  EXPECT_EQ(page[1].id, all[3].id);

  auto odd = list_events(EventFilter{"ODD", 0, 100});
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_EQ(odd[0].index, 1);
  EXPECT_EQ(odd[2].index, 5);
  auto odd_after = list_events(EventFilter{"ODD", odd[0].id, 1});
  ASSERT_EQ(odd_after.size(), 1u);
  EXPECT_EQ(odd_after[0].index, 3);
  EXPECT_TRUE(list_events(EventFilter{"ODD", all.back().id, 100}).empty());
  EXPECT_EQ(list_events(EventFilter{"", 0, 0}).size(), 6u);  // limit 0: no limit
}

// ---- event queries -----------------------------------------------------------------------------------

// 48 events over 3 devices, 4 persons, 2 cards, 2 doors, a code of every class (and one of none),
// an hour apart in time_utc (the last one's time unreadable), received a minute apart.
std::vector<NewEvent> query_events() {
  const std::int64_t codes[] = {0, 27, 100, 255, 4008, 5000, 6005, 7000};
  std::vector<NewEvent> out;
  for (int i = 0; i < 48; ++i) {
    auto e = make_event("Q" + std::to_string(i % 3), i + 1, "2024-01-01 10:00:00", "r");
    e.pin = std::to_string(i % 4);
    e.cardno = i % 5 == 0 ? "111" : "222";
    e.door = 1 + (i / 2) % 2;
    e.event = codes[i % 8];
    e.time_utc = i == 47 ? std::nullopt : std::optional(kContractT0 + i * 3600);
    e.received_at = kContractT0 + i * 60;
    out.push_back(e);
  }
  return out;
}

// What EventFilter means, written out: the rows a backend must return, in order.
std::vector<std::int64_t> expected_ids(std::vector<EventRow> rows, const EventFilter& f) {
  std::vector<std::int64_t> ids;
  if (f.newest_first) std::reverse(rows.begin(), rows.end());
  for (const auto& e : rows) {
    const auto code = e.event.value_or(-1);
    const bool in_class = f.classes.empty() || std::any_of(f.classes.begin(), f.classes.end(), [&](const auto& r) {
                            return e.event && code >= r.first && code <= r.last;
                          });
    const bool coded = f.events.empty() || (e.event && std::count(f.events.begin(), f.events.end(), code) > 0);
    if (e.id <= f.after_id || (f.before_id > 0 && e.id >= f.before_id)) continue;
    if ((!f.sn.empty() && e.sn != f.sn) || (!f.pin.empty() && e.pin != f.pin) ||
        (!f.cardno.empty() && e.cardno != f.cardno) || (f.door && e.door != f.door) || !coded || !in_class)
      continue;
    if ((f.from || f.to) && !e.time_utc) continue;
    if ((f.from && *e.time_utc < *f.from) || (f.to && *e.time_utc >= *f.to)) continue;
    ids.push_back(e.id);
  }
  if (f.limit > 0 && static_cast<std::int64_t>(ids.size()) > f.limit) ids.resize(static_cast<std::size_t>(f.limit));
  return ids;
}

std::vector<std::int64_t> ids_of(const std::vector<EventRow>& rows) {
  std::vector<std::int64_t> ids;
  for (const auto& e : rows) ids.push_back(e.id);
  return ids;
}

TEST_P(StoreContract, EventFiltersSelectExactlyWhatTheyName) {
  insert(query_events());
  const auto all = list_events(EventFilter{"", 0, 0});
  ASSERT_EQ(all.size(), 48u);
  const auto normal = protocol::find_event_class("normal")->ranges;
  const auto alarm = protocol::find_event_class("alarm")->ranges;
  std::vector<EventFilter> filters;
  auto add = [&filters](auto change) {
    EventFilter f{"", 0, 0};
    change(f);
    filters.push_back(f);
  };
  add([](EventFilter& f) { f.sn = "Q1"; });
  add([](EventFilter& f) { f.pin = "2"; });
  add([](EventFilter& f) { f.cardno = "111"; });
  add([](EventFilter& f) { f.door = 2; });
  add([](EventFilter& f) { f.events = {27, 4008}; });
  add([](EventFilter& f) { f.events = {999}; });
  add([&](EventFilter& f) { f.classes.assign(normal.begin(), normal.end()); });
  add([&](EventFilter& f) {
    f.classes.assign(normal.begin(), normal.end());
    f.classes.insert(f.classes.end(), alarm.begin(), alarm.end());
  });
  add([](EventFilter& f) { f.from = kContractT0 + 10 * 3600; });
  add([](EventFilter& f) { f.to = kContractT0 + 10 * 3600; });
  add([](EventFilter& f) {
    f.from = kContractT0 + 5 * 3600;
    f.to = kContractT0 + 20 * 3600;
  });
  add([](EventFilter& f) {
    f.sn = "Q0";
    f.from = kContractT0 + 3 * 3600;
    f.to = kContractT0 + 40 * 3600;
  });
  add([](EventFilter& f) {
    f.pin = "1";
    f.sn = "Q1";
    f.door = 1;
  });
  add([&](EventFilter& f) {
    f.pin = "0";
    f.events = {6005, 0};
    f.classes.assign(normal.begin(), normal.end());
  });
  add([](EventFilter& f) { f.newest_first = true; });
  add([](EventFilter& f) {
    f.newest_first = true;
    f.sn = "Q2";
    f.limit = 3;
  });
  add([&](EventFilter& f) {
    f.before_id = all[30].id;
    f.after_id = all[5].id;
    f.pin = "0";
  });
  add([&](EventFilter& f) {
    f.newest_first = true;
    f.before_id = all[30].id;
    f.from = kContractT0;
    f.limit = 4;
  });
  add([](EventFilter& f) {
    f.from = kContractT0 + 2 * 3600;
    f.to = kContractT0 + 45 * 3600;
    f.limit = 5;
  });
  add([](EventFilter& f) {
    f.from = kContractT0 + 2 * 3600;
    f.newest_first = true;
    f.limit = 5;
  });
  add([&](EventFilter& f) {
    f.sn = "Q1";
    f.to = kContractT0 + 30 * 3600;
    f.classes.assign(normal.begin(), normal.end());
    f.limit = 2;
  });
  add([](EventFilter& f) {
    f.from = kContractT0 + 44 * 3600;
    f.limit = 10;  // three events match: a page that is not filled
  });
  add([](EventFilter& f) { f.from = kContractT0 + 100 * 3600; });
  for (std::size_t i = 0; i < filters.size(); ++i) {
    SCOPED_TRACE("filter #" + std::to_string(i));
    const auto want = expected_ids(all, filters[i]);
    EXPECT_EQ(ids_of(list_events(filters[i])), want);
  }
  // The sample exercises every filter: each one above selects some rows and leaves others out,
  // except the two that select nothing (a code no event has, a time past every event).
  EXPECT_EQ(expected_ids(all, filters[5]).size(), 0u);
  EXPECT_EQ(expected_ids(all, filters.back()).size(), 0u);
  for (std::size_t i : {0u, 1u, 2u, 3u, 4u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u}) {
    const auto n = expected_ids(all, filters[i]).size();
    EXPECT_GT(n, 0u) << i;
    EXPECT_LT(n, all.size()) << i;
  }
}

// Statistics: events in a time range counted per hour of time_utc and code, as written out here
// from the rows themselves (events without a code or a time included in the sample).
TEST_P(StoreContract, HourlyCountsAreTheEventsOfTheRangeByHourAndCode) {
  auto events = query_events();
  for (int i = 0; i < 6; ++i) {  // more in the hours of some: the same code twice, another code, none
    auto e = make_event("Q1", 1000 + i, "2024-01-01 11:00:00", "extra");
    e.time_utc = kContractT0 + (i % 3) * 3600 + 60;
    e.event = i < 3 ? std::optional<std::int64_t>(27) : std::nullopt;
    events.push_back(e);
  }
  insert(events);
  const auto all = list_events(EventFilter{"", 0, 0});
  auto expected = [&all](const std::string& sn, std::int64_t from, std::int64_t to) {
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> counts;  // (hour, code or -1)
    for (const auto& e : all)
      if ((sn.empty() || e.sn == sn) && e.time_utc && *e.time_utc >= from && *e.time_utc < to)
        ++counts[{*e.time_utc - *e.time_utc % 3600, e.event.value_or(-1)}];
    return counts;
  };
  const std::int64_t hour0 = kContractT0 - kContractT0 % 3600;
  for (const auto& window : std::vector<std::tuple<std::string, std::int64_t, std::int64_t>>{
           {"", hour0, hour0 + 48 * 3600}, {"", hour0 + 2 * 3600, hour0 + 5 * 3600}, {"Q1", hour0, hour0 + 24 * 3600},
           {"Q9", hour0, hour0 + 48 * 3600}, {"", hour0 + 100 * 3600, hour0 + 200 * 3600}}) {
    // Copies, not a structured binding: clang 14 cannot capture those in a lambda.
    const std::string sn = std::get<0>(window);
    const std::int64_t from = std::get<1>(window);
    const std::int64_t to = std::get<2>(window);
    SCOPED_TRACE(sn + " " + std::to_string(from) + " " + std::to_string(to));
    const auto got = read([sn, from, to](Reads& r) { return r.events().hourly_counts(sn, from, to); });
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> counted;
    std::pair<std::int64_t, std::int64_t> last{-1, -2};
    for (const auto& c : got) {
      const std::pair<std::int64_t, std::int64_t> key{c.hour, c.event.value_or(-1)};
      EXPECT_LT(last, key) << "by hour, then code";
      last = key;
      EXPECT_EQ(c.hour % 3600, 0);
      counted[key] = c.count;
    }
    EXPECT_EQ(counted, expected(sn, from, to));
  }
  // The sample has hours with several codes and several events of one code.
  const auto busy = read([h = hour0](Reads& r) { return r.events().hourly_counts("Q1", h, h + 3600); });
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_FALSE(busy[0].event);
  EXPECT_EQ(busy[0].count, 1);
  EXPECT_EQ(busy[1].event, std::optional<std::int64_t>(27));
  EXPECT_EQ(busy[1].count, 1);
}

// A time range over more events than a store may look at in id order before it takes the range
// from an index: the page is the same either way.
TEST_P(StoreContract, TimeRangesGiveTheSamePageWhereverTheirEventsLie) {
  std::vector<NewEvent> many;
  for (int i = 0; i < 3000; ++i) {
    auto e = make_event(i % 2 ? "W1" : "W0", i + 1, "2024-01-01 10:00:00", "r");
    e.time_utc = kContractT0 + i * 60;
    e.event = i % 7 == 0 ? 27 : 0;
    many.push_back(e);
  }
  insert(many);
  const auto all = list_events(EventFilter{"", 0, 0});
  ASSERT_EQ(all.size(), 3000u);
  std::vector<EventFilter> filters;
  for (bool newest : {false, true}) {
    for (auto [from, to] : {std::pair(0, 3000), std::pair(2500, 2600), std::pair(10, 40), std::pair(1500, 1501)}) {
      for (std::int64_t limit : {1, 10, 100}) {
        EventFilter f{"", 0, limit};
        f.newest_first = newest;
        f.from = kContractT0 + from * 60;
        f.to = kContractT0 + to * 60;
        filters.push_back(f);
        f.sn = "W1";
        f.events = {27};
        filters.push_back(f);
      }
    }
  }
  for (std::size_t i = 0; i < filters.size(); ++i) {
    SCOPED_TRACE("filter #" + std::to_string(i));
    EXPECT_EQ(ids_of(list_events(filters[i])), expected_ids(all, filters[i]));
  }
}

TEST_P(StoreContract, EventPagesFollowEachOtherInBothDirections) {
  insert(query_events());
  EventFilter f{"Q0", 0, 5};
  std::vector<std::int64_t> forward;
  for (auto page = list_events(f); !page.empty(); page = list_events(f)) {
    for (const auto& e : page) forward.push_back(e.id);
    f.after_id = page.back().id;
  }
  EventFilter b{"Q0", 0, 5};
  b.newest_first = true;
  std::vector<std::int64_t> backward;
  for (auto page = list_events(b); !page.empty(); page = list_events(b)) {
    for (const auto& e : page) backward.push_back(e.id);
    b.before_id = page.back().id;
  }
  EXPECT_EQ(forward.size(), 16u);
  std::reverse(backward.begin(), backward.end());
  EXPECT_EQ(backward, forward);
  EXPECT_TRUE(std::is_sorted(forward.begin(), forward.end()));
}

TEST_P(StoreContract, PruneRemovesTheOldestReceivedEventsInBatches) {
  auto events = query_events();
  events[12].received_at = kContractT0 + 1'000'000;  // stored while the clock stood further ahead
  insert(events);
  constexpr std::int64_t kBefore = kContractT0 + 20 * 60;  // events 0-19 are older, but for event 12
  auto prune = [this](std::int64_t batch) {
    return write([batch](Transaction& tx) { return tx.events().prune(kBefore, batch); });
  };
  EXPECT_EQ(prune(5), 5);
  EXPECT_EQ(prune(5), 5);
  EXPECT_EQ(prune(5), 2);  // up to the newer event 12: the walk stops there
  EXPECT_EQ(prune(5), 0);
  const auto left = list_events(EventFilter{"", 0, 0});
  ASSERT_EQ(left.size(), 36u);
  EXPECT_EQ(left.front().index, 13);
  EXPECT_EQ(count_events(""), 36);
  EXPECT_EQ(write([](Transaction& tx) { return tx.events().prune(kContractT0, 100); }), 0);  // nothing that old
}

// ---- door state ------------------------------------------------------------------------------------

TEST_P(StoreContract, DoorStateKeepsTheCurrentStateAndAHistoryOfChanges) {
  auto put = [&](std::string time, std::string sensor, std::string relay, std::string alarm, std::int64_t at) {
    DoorStateUpdate u{"D1", std::move(time), std::move(sensor), std::move(relay), std::move(alarm), at};
    write([u](Transaction& tx) { tx.door_states().put(u); });
  };
  auto current = [&](const std::string& sn) { return read([sn](Reads& r) { return r.door_states().get(sn); }); };
  auto history = [&](const std::string& sn, std::int64_t before_id, std::int64_t limit) {
    return read([=](Reads& r) { return r.door_states().history(sn, before_id, limit); });
  };
  EXPECT_FALSE(current("D1"));
  put("2024-01-01 10:00:00", "01", "00", "00", kContractT0);
  put("2024-01-01 10:00:05", "01", "00", "00", kContractT0 + 5);  // repeated unchanged
  put("2024-01-01 10:00:10", "02", "00", "00", kContractT0 + 10);
  put("2024-01-01 10:00:15", "02", "01", "00", kContractT0 + 15);
  put("2024-01-01 10:00:20", "02", "01", "00", kContractT0 + 20);
  put("2024-01-01 10:00:25", "02", "01", "04", kContractT0 + 25);

  auto now = current("D1");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->sn, "D1");
  EXPECT_EQ(now->time_local, "2024-01-01 10:00:25");
  EXPECT_EQ(now->sensor, "02");
  EXPECT_EQ(now->relay, "01");
  EXPECT_EQ(now->alarm, "04");
  EXPECT_EQ(now->received_at, kContractT0 + 25);

  // Newest first, each change with its id.
  auto all = history("D1", 0, 0);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].alarm, "04");
  EXPECT_EQ(all[1].relay, "01");
  EXPECT_EQ(all[2].sensor, "02");
  EXPECT_EQ(all[3].received_at, kContractT0);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1].id, all[i].id);
  EXPECT_GT(all[3].id, 0);
  EXPECT_EQ(now->id, 0);  // the current state is no history row
  auto last_two = history("D1", 0, 2);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0].received_at, kContractT0 + 25);
  EXPECT_EQ(last_two[1].received_at, kContractT0 + 15);
  // Paged: the changes before the last id seen.
  auto next = history("D1", last_two[1].id, 2);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].id, all[2].id);
  EXPECT_EQ(next[1].id, all[3].id);
  EXPECT_TRUE(history("D1", all[3].id, 0).empty());
  EXPECT_TRUE(history("D2", 0, 0).empty());
  EXPECT_FALSE(current("D2"));

  // Every device's current state in one read, by serial number.
  write([](Transaction& tx) { tx.door_states().put(DoorStateUpdate{"C9", "2024-01-01 11:00:00", "05", "01", "00", kContractT0 + 30}); });
  auto every = read([](Reads& r) { return r.door_states().all(); });
  ASSERT_EQ(every.size(), 2u);
  EXPECT_EQ(every[0].sn, "C9");
  EXPECT_EQ(every[0].relay, "01");
  EXPECT_EQ(every[1].sn, "D1");
  EXPECT_EQ(every[1].alarm, "04");
}

// ---- device records and logs -----------------------------------------------------------------------

TEST_P(StoreContract, DeviceRecordsKeepTheLatestPerKeyWithBinaryContent) {
  auto put = [&](std::vector<DeviceRecord> records) {
    return write([records](Transaction& tx) { return tx.device_data().put_records(records); });
  };
  auto records = [&](const std::string& sn, const std::string& table, std::int64_t limit) {
    return read([=](Reads& r) { return r.device_data().records(sn, table, limit); });
  };
  const std::string photo("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01", 12);  // JPEG header, NUL bytes included
  DeviceRecord user{"D1", "user", "1", protocol::Record{{"Pin", "1"}, {"Name", "Zhang San"}}, "", kContractT0, "", ""};
  user.fields.prefix = "user";
  DeviceRecord pic{"D1", "userpic", "1", protocol::Record{{"pin", "1"}, {"size", "12"}}, photo, kContractT0, "", ""};
  DeviceRecord user2{"D1", "user", "2", protocol::Record{{"Pin", "2"}, {"Name", "Li, Si"}}, "", kContractT0, "", ""};
  auto counts = put({user, pic, user2});
  EXPECT_EQ(counts.inserted, 3);
  EXPECT_EQ(counts.duplicates, 0);

  // The same upload again is a duplicate and keeps its time; a changed one replaces the old.
  DeviceRecord same = user;
  same.updated_at = kContractT0 + 50;
  DeviceRecord renamed = user2;
  renamed.fields.set("Name", "Wang Wu");
  renamed.updated_at = kContractT0 + 60;
  counts = put({same, renamed});
  EXPECT_EQ(counts.inserted, 1);
  EXPECT_EQ(counts.duplicates, 1);

  auto users = records("D1", "user", 0);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].key, "1");
  EXPECT_EQ(users[0].fields, user.fields);  // the table word survives too
  EXPECT_EQ(users[0].updated_at, kContractT0);
  EXPECT_EQ(users[1].fields.get("Name"), "Wang Wu");
  EXPECT_EQ(users[1].updated_at, kContractT0 + 60);

  auto pics = records("D1", "userpic", 0);
  ASSERT_EQ(pics.size(), 1u);
  EXPECT_EQ(pics[0].content, photo);
  EXPECT_EQ(pics[0].content.size(), 12u);
  EXPECT_EQ(records("D1", "", 0).size(), 3u);
  EXPECT_EQ(records("D1", "", 2).size(), 2u);
  EXPECT_EQ(records("", "user", 0).size(), 2u);
  EXPECT_TRUE(records("D2", "user", 0).empty());
}

TEST_P(StoreContract, DeviceRecordContentKeepsWhereItCameFromAndHowItIsEncoded) {
  auto put = [&](std::vector<DeviceRecord> records) {
    return write([records](Transaction& tx) { return tx.device_data().put_records(records); });
  };
  auto records = [&](const std::string& table) {
    return read([table](Reads& r) { return r.device_data().records("D1", table, 0); });
  };
  DeviceRecord snap{"D1", "ATTPHOTO", "1.jpg", protocol::Record{{"pin", "1.jpg"}, {"size", "3"}}, std::string("\0\1\2", 3), kContractT0,
                    "photo", "binary"};
  DeviceRecord tmpl{"D1", "templatev10", "1/0", protocol::Record{{"pin", "1"}, {"fingerid", "0"}}, "TZNT", kContractT0,
                    "template", "base64"};
  EXPECT_EQ(put({snap, tmpl}).inserted, 2);
  EXPECT_EQ(put({snap, tmpl}).duplicates, 2);

  auto snaps = records("ATTPHOTO");
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].content, std::string("\0\1\2", 3));
  EXPECT_EQ(snaps[0].content_field, "photo");
  EXPECT_EQ(snaps[0].content_encoding, "binary");
  auto tmpls = records("templatev10");
  ASSERT_EQ(tmpls.size(), 1u);
  EXPECT_EQ(tmpls[0].content_field, "template");
  EXPECT_EQ(tmpls[0].content_encoding, "base64");

  // The same bytes read differently are a change, not a duplicate.
  DeviceRecord reread = tmpl;
  reread.content_encoding = "binary";
  EXPECT_EQ(put({reread}).inserted, 1);
  EXPECT_EQ(records("templatev10").at(0).content_encoding, "binary");
}

TEST_P(StoreContract, DeviceLogIsAppendOnlyAndListsTheLatestOldestFirst) {
  auto append = [&](std::vector<DeviceLogEntry> entries) {
    write([entries](Transaction& tx) { tx.device_data().append_log(entries); });
  };
  auto log = [&](const std::string& sn, const std::string& kind, std::int64_t limit) {
    return read([=](Reads& r) { return r.device_data().log(sn, kind, limit); });
  };
  std::vector<DeviceLogEntry> entries;
  for (int i = 0; i < 5; ++i)
    entries.push_back(DeviceLogEntry{"D1", i % 2 ? "irstate" : "errorlog", "data " + std::to_string(i), kContractT0 + i, 0});
  entries.push_back(DeviceLogEntry{"D2", "errorlog", "other", kContractT0, 0});
  append(entries);
  // The same entry again is another entry: logs are not deduplicated.
  append({entries[0]});

  auto errors = log("D1", "errorlog", 0);
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].data, "data 0");
  EXPECT_EQ(errors[1].data, "data 2");
  EXPECT_EQ(errors[3].data, "data 0");
  for (std::size_t i = 1; i < errors.size(); ++i) EXPECT_LT(errors[i - 1].id, errors[i].id);
  auto latest = log("D1", "", 2);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].data, "data 4");
  EXPECT_EQ(latest[1].data, "data 0");
  EXPECT_EQ(latest[0].kind, "errorlog");
  EXPECT_EQ(latest[0].received_at, kContractT0 + 4);
  EXPECT_EQ(log("", "errorlog", 0).size(), 5u);
  EXPECT_EQ(log("D2", "", 0).size(), 1u);
}

// A key named again in the same upload meets the record before it, as if they came one by one.
TEST_P(StoreContract, ARecordRepeatedInOneUploadCountsAsItWouldAlone) {
  DeviceRecord v1{"D1", "user", "1", protocol::Record{{"Pin", "1"}, {"Name", "A"}}, "", kContractT0, "", ""};
  DeviceRecord v2 = v1;
  v2.fields.set("Name", "B");
  v2.updated_at = kContractT0 + 1;
  DeviceRecord v2_again = v2;
  v2_again.updated_at = kContractT0 + 2;
  DeviceRecord other{"D1", "user", "2", protocol::Record{{"Pin", "2"}}, "", kContractT0, "", ""};
  auto counts = write([&](Transaction& tx) { return tx.device_data().put_records({v1, other, v2, v2_again, v1}); });
  EXPECT_EQ(counts.inserted, 4);  // v1, other, v2 (a change), v1 again (a change back)
  EXPECT_EQ(counts.duplicates, 1);
  auto users = read([](Reads& r) { return r.device_data().records("D1", "user", 0); });
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].fields.get("Name"), "A");
  EXPECT_EQ(users[0].updated_at, kContractT0);
  EXPECT_EQ(users[1].key, "2");
}

// What a panel logs may hold names in GB2312: kept byte for byte.
TEST_P(StoreContract, DeviceLogDataComesBackWhateverItsBytes) {
  const std::string data = "PIN=1\tNAME=\xD5\xC5\xC8\xFD\tTMP=\xFF";
  write([data](Transaction& tx) { tx.device_data().append_log({DeviceLogEntry{"D1", "enroll_info", data, kContractT0, 0}}); });
  auto log = read([](Reads& r) { return r.device_data().log("D1", "enroll_info", 0); });
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].data, data);
}

TEST_P(StoreContract, DeviceRecordsArePagedByIdAndFilteredByTableKeyAndDevice) {
  auto put = [&](std::vector<DeviceRecord> records) {
    return write([records](Transaction& tx) { return tx.device_data().put_records(records); });
  };
  auto page = [&](DeviceRecordFilter filter) { return read([filter](Reads& r) { return r.device_data().record_page(filter); }); };
  auto keys = [](const std::vector<DeviceRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.table + ":" + r.key);
    return out;
  };
  const std::string photo("\xFF\xD8\xFF\xE0\x00\x10JFIF", 10);
  put({DeviceRecord{"D1", "user", "1", protocol::Record{{"pin", "1"}}, "", kContractT0, "", ""},
       DeviceRecord{"D1", "ATTPHOTO", "a.jpg", protocol::Record{{"pin", "a.jpg"}}, photo, kContractT0, "photo", "binary"},
       DeviceRecord{"D1", "user", "2", protocol::Record{{"pin", "2"}}, "", kContractT0, "", ""},
       DeviceRecord{"D2", "user", "1", protocol::Record{{"pin", "1"}}, "", kContractT0, "", ""},
       DeviceRecord{"D1", "attphoto", "b.jpg", protocol::Record{{"pin", "b.jpg"}}, "xy", kContractT0, "photo", "binary"}});

  // Oldest first; the table compared without case, as firmware spells it either way.
  auto all = page({"D1", "", "", 0, 0, true});
  EXPECT_EQ(keys(all), (std::vector<std::string>{"user:1", "ATTPHOTO:a.jpg", "user:2", "attphoto:b.jpg"}));
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  EXPECT_EQ(keys(page({"D1", "attphoto", "", 0, 0, true})), (std::vector<std::string>{"ATTPHOTO:a.jpg", "attphoto:b.jpg"}));
  EXPECT_EQ(keys(page({"D1", "USER", "2", 0, 0, true})), (std::vector<std::string>{"user:2"}));
  EXPECT_EQ(page({"", "user", "1", 0, 0, true}).size(), 2u);  // both devices
  EXPECT_TRUE(page({"D3", "", "", 0, 0, true}).empty());

  // Paged by the last id seen.
  auto first = page({"D1", "", "", 0, 2, true});
  EXPECT_EQ(keys(first), (std::vector<std::string>{"user:1", "ATTPHOTO:a.jpg"}));
  EXPECT_EQ(keys(page({"D1", "", "", first.back().id, 2, true})), (std::vector<std::string>{"user:2", "attphoto:b.jpg"}));
  EXPECT_TRUE(page({"D1", "", "", all.back().id, 2, true}).empty());

  // A listing may leave the content out and still say how large it is.
  auto listed = page({"D1", "ATTPHOTO", "a.jpg", 0, 0, false});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].content, "");
  EXPECT_EQ(listed[0].content_size, 10);
  EXPECT_EQ(listed[0].content_field, "photo");
  EXPECT_EQ(page({"D1", "ATTPHOTO", "a.jpg", 0, 0, true}).at(0).content, photo);

  // One by id, content included; a re-upload that replaces it keeps the id.
  const auto id = listed[0].id;
  auto one = read([id](Reads& r) { return r.device_data().record(id); });
  ASSERT_TRUE(one);
  EXPECT_EQ(one->sn, "D1");
  EXPECT_EQ(one->key, "a.jpg");
  EXPECT_EQ(one->content, photo);
  EXPECT_EQ(one->content_size, 10);
  EXPECT_EQ(one->fields.get("pin"), "a.jpg");
  put({DeviceRecord{"D1", "ATTPHOTO", "a.jpg", protocol::Record{{"pin", "a.jpg"}}, "new", kContractT0 + 9, "photo", "binary"}});
  one = read([id](Reads& r) { return r.device_data().record(id); });
  ASSERT_TRUE(one);
  EXPECT_EQ(one->content, "new");
  EXPECT_EQ(one->updated_at, kContractT0 + 9);
  EXPECT_FALSE(read([](Reads& r) { return r.device_data().record(999999); }));
}

TEST_P(StoreContract, DeviceLogIsPagedNewestFirstByKindAndDevice) {
  std::vector<DeviceLogEntry> entries;
  for (int i = 0; i < 5; ++i)
    entries.push_back(DeviceLogEntry{"D1", i % 2 ? "irstate" : "errorlog", "data " + std::to_string(i), kContractT0 + i, 0});
  entries.push_back(DeviceLogEntry{"D2", "errorlog", "other", kContractT0, 0});
  write([entries](Transaction& tx) { tx.device_data().append_log(entries); });
  auto page = [&](DeviceLogFilter filter) { return read([filter](Reads& r) { return r.device_data().log_page(filter); }); };
  auto data = [](const std::vector<DeviceLogEntry>& log) {
    std::vector<std::string> out;
    for (const auto& e : log) out.push_back(e.data);
    return out;
  };
  EXPECT_EQ(data(page({"D1", "", 0, 0})), (std::vector<std::string>{"data 4", "data 3", "data 2", "data 1", "data 0"}));
  EXPECT_EQ(data(page({"D1", "errorlog", 0, 0})), (std::vector<std::string>{"data 4", "data 2", "data 0"}));
  EXPECT_EQ(data(page({"", "errorlog", 0, 0})), (std::vector<std::string>{"other", "data 4", "data 2", "data 0"}));
  auto first = page({"D1", "", 0, 2});
  EXPECT_EQ(data(first), (std::vector<std::string>{"data 4", "data 3"}));
  EXPECT_EQ(first[0].kind, "errorlog");
  EXPECT_EQ(first[0].received_at, kContractT0 + 4);
  EXPECT_EQ(data(page({"D1", "", first.back().id, 2})), (std::vector<std::string>{"data 2", "data 1"}));
  EXPECT_EQ(data(page({"D1", "irstate", first.back().id, 0})), (std::vector<std::string>{"data 1"}));
  EXPECT_TRUE(page({"D3", "", 0, 0}).empty());
}

// ---- commands: ids and wire ids --------------------------------------------------------------------

TEST_P(StoreContract, InsertAssignsIdsAndAWireIdThatStartsFromTheClockAndThenCounts) {
  save("D1");
  save("D2");
  CommandRow a = insert_command(make_command("D1", "CONTROL DEVICE 01010105", CommandPriority::control, kContractT0 + 30), kContractT0);
  EXPECT_GT(a.id, 0);
  // The first wire id comes from the clock, so a server whose data was wiped does not restart at 1.
  EXPECT_EQ(a.wire_id, first_wire_id(kContractT0));
  EXPECT_EQ(a.sn, "D1");
  EXPECT_EQ(a.line, "CONTROL DEVICE 01010105");
  EXPECT_EQ(a.verb, "CONTROL");
  EXPECT_EQ(a.priority, CommandPriority::control);
  EXPECT_EQ(a.status, CommandStatus::queued);
  EXPECT_FALSE(a.return_code);
  EXPECT_EQ(a.result, "");
  EXPECT_EQ(a.created_at, kContractT0);
  EXPECT_EQ(a.sent_at, 0);
  EXPECT_EQ(a.done_at, 0);
  EXPECT_EQ(a.expires_at, kContractT0 + 30);
  EXPECT_EQ(a.attempts, 0);
  auto stored = command(a.id);
  ASSERT_TRUE(stored);
  expect_same_row(*stored, a);

  // After the first, the device's counter: a later clock does not make the ids jump.
  CommandRow b = insert_command(make_command("D1", "DATA QUERY tablename=user,fielddesc=*,filter=*"), kContractT0 + 5000);
  EXPECT_GT(b.id, a.id);
  EXPECT_EQ(b.wire_id, a.wire_id + 1);
  EXPECT_EQ(b.priority, CommandPriority::normal);
  // Another device starts from its own first command's clock.
  CommandRow c = insert_command(make_command("D2", "GET OPTIONS LockCount"), kContractT0 + 5000);
  EXPECT_EQ(c.wire_id, first_wire_id(kContractT0 + 5000));
  EXPECT_GT(c.id, b.id);

  auto found = commands([&](CommandReads& cr) { return cr.find("D1", b.wire_id); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, b.id);
  EXPECT_FALSE(commands([&](CommandReads& cr) { return cr.find("D2", b.wire_id); }));
  EXPECT_FALSE(commands([&](CommandReads& cr) { return cr.find("D1", c.wire_id); }));
  EXPECT_FALSE(command(c.id + 1000));
}

TEST_P(StoreContract, TheFirstWireIdIsNeverZeroAndNeverAboveTheCap) {
  save("PAST");
  save("FUTURE");
  // A clock before 2020 is broken; the id is still a positive number.
  EXPECT_EQ(insert_command(make_command("PAST", "GET OPTIONS A"), 0).wire_id, 1);
  // Far in the future the start is capped, leaving room below 2^31 for the device's commands.
  EXPECT_EQ(insert_command(make_command("FUTURE", "GET OPTIONS A"), kWireIdEpoch + (std::int64_t{1} << 40)).wire_id,
            kFirstWireIdCap);
}

TEST_P(StoreContract, WireIdsArePerDeviceAndNeverReusedEvenForClosedCommands) {
  save("D1");
  save("D2");
  CommandRow a1 = insert_command("D1", "GET OPTIONS A");
  CommandRow b1 = insert_command("D2", "GET OPTIONS A");
  CommandRow a2 = insert_command("D1", "GET OPTIONS B");
  mark(a2, CommandStatus::cancelled, kContractT0);
  mark(a1, CommandStatus::sent, kContractT0);
  CommandRow a3 = insert_command("D1", "GET OPTIONS C");
  CommandRow b2 = insert_command("D2", "GET OPTIONS B");
  EXPECT_EQ(a2.wire_id, a1.wire_id + 1);
  EXPECT_EQ(a3.wire_id, a2.wire_id + 1);  // the cancelled command's id is not given again
  EXPECT_EQ(b2.wire_id, b1.wire_id + 1);  // D1's commands do not consume D2's ids
  std::set<std::int64_t> api_ids{a1.id, b1.id, a2.id, a3.id, b2.id};
  EXPECT_EQ(api_ids.size(), 5u);
  // The device's own save (from a copy read before these commands) does not reset the counter.
  save("D1");
  EXPECT_EQ(insert_command("D1", "GET OPTIONS D").wire_id, a3.wire_id + 1);
}

TEST_P(StoreContract, WireIdsKeepIncreasingAcrossAReopen) {
  save("D1");
  CommandRow a = insert_command("D1", "GET OPTIONS A");
  CommandRow b = insert_command("D1", "GET OPTIONS B");
  mark(b, CommandStatus::cancelled, kContractT0);
  reopen();
  CommandRow c = insert_command(make_command("D1", "GET OPTIONS C"), kContractT0 + 100'000);
  EXPECT_EQ(c.wire_id, b.wire_id + 1);
  EXPECT_GT(c.id, b.id);
  auto stored = command(a.id);
  ASSERT_TRUE(stored);
  expect_same_row(*stored, a);
  EXPECT_EQ(command(b.id)->status, CommandStatus::cancelled);
}

TEST_P(StoreContract, CommandsForAnUnknownDeviceOrWithABadLineAreRefused) {
  auto r = try_insert(make_command("ghost", "GET OPTIONS A"));
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
  EXPECT_NE(r.error().message.find("ghost"), std::string::npos) << r.error().message;
  save("D1");
  for (const std::string line : {"", "GET OPTIONS A\nC:1:CONTROL DEVICE 03000000", "GET OPTIONS A\r"}) {
    SCOPED_TRACE(line);
    auto bad = try_insert(make_command("D1", line));
    ASSERT_FALSE(bad.ok());
    EXPECT_FALSE(bad.error().transient);
    EXPECT_EQ(bad.error().reason, Reason::invalid);
  }
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_total(); }), 0);
  // Nothing of the refused inserts was kept, the device's counter included.
  EXPECT_EQ(insert_command("D1", "GET OPTIONS A").wire_id, first_wire_id(kContractT0));
}

// ---- commands: rows --------------------------------------------------------------------------------

TEST_P(StoreContract, UpdateWritesTheMutablePartOfARowBack) {
  save("D1");
  CommandRow original = insert_command("D1", "ENROLL_BIO TYPE=1\tPIN=1", CommandPriority::bulk, kContractT0 + 900);
  CommandRow row = original;
  row.status = CommandStatus::sent;
  row.return_code = -5000;
  row.result = R"({"return":-5000,"kind":"pending"})";
  row.sent_at = kContractT0 + 7;
  row.done_at = kContractT0 + 8;
  row.attempts = 3;
  // What a command is cannot be changed by an update: these stay as inserted.
  row.sn = "D2";
  row.wire_id += 100;
  row.line = "GET OPTIONS X";
  row.verb = "GET";
  row.priority = CommandPriority::control;
  row.created_at = kContractT0 + 1;
  row.expires_at = kContractT0 + 86400;  // a deadline may be given later (a pending answer's)
  update(row);

  CommandRow want = original;
  want.status = CommandStatus::sent;
  want.return_code = -5000;
  want.result = row.result;
  want.sent_at = kContractT0 + 7;
  want.done_at = kContractT0 + 8;
  want.attempts = 3;
  want.expires_at = kContractT0 + 86400;
  auto got = command(original.id);
  ASSERT_TRUE(got);
  expect_same_row(*got, want);

  // Every status is kept as given, and a return code can be cleared again.
  for (auto status : {CommandStatus::queued, CommandStatus::done, CommandStatus::failed, CommandStatus::expired,
                      CommandStatus::cancelled}) {
    want.status = status;
    want.return_code = std::nullopt;
    update(want);
    got = command(original.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, status);
    EXPECT_FALSE(got->return_code);
  }

  // A row that does not exist is refused, not silently created.
  CommandRow ghost = want;
  ghost.id = original.id + 1000;
  auto r = store().write_now([ghost](Transaction& tx) { tx.commands().update(ghost); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::not_found);
  EXPECT_FALSE(command(ghost.id));
}

TEST_P(StoreContract, QueuedListsADevicesQueuedCommandsByPriorityThenAge) {
  save("D1");
  save("D2");
  CommandRow bulk1 = insert_command("D1", "DATA UPDATE user Pin=1", CommandPriority::bulk);
  CommandRow normal2 = insert_command("D1", "GET OPTIONS A", CommandPriority::normal);
  CommandRow bulk3 = insert_command("D1", "DATA UPDATE user Pin=2", CommandPriority::bulk);
  CommandRow control4 = insert_command("D1", "CONTROL DEVICE 01010105", CommandPriority::control);
  CommandRow normal5 = insert_command("D1", "GET OPTIONS B", CommandPriority::normal);
  CommandRow normal6 = insert_command("D1", "GET OPTIONS C", CommandPriority::normal);
  CommandRow other = insert_command("D2", "CONTROL DEVICE 01010105", CommandPriority::control);
  mark(normal2, CommandStatus::sent, kContractT0);
  mark(normal6, CommandStatus::cancelled, kContractT0);

  auto queued = [&](const std::string& sn, std::int64_t limit) {
    return ids(commands([=](CommandReads& c) { return c.queued(sn, limit); }));
  };
  EXPECT_EQ(queued("D1", 0), (std::vector<std::int64_t>{control4.id, normal5.id, bulk1.id, bulk3.id}));
  EXPECT_EQ(queued("D1", -1), queued("D1", 0));
  EXPECT_EQ(queued("D1", 2), (std::vector<std::int64_t>{control4.id, normal5.id}));
  EXPECT_EQ(queued("D2", 0), (std::vector<std::int64_t>{other.id}));
  EXPECT_TRUE(queued("ghost", 0).empty());
  auto rows = commands([](CommandReads& c) { return c.queued("D1", 1); });
  ASSERT_EQ(rows.size(), 1u);
  expect_same_row(rows[0], control4);
}

TEST_P(StoreContract, UnansweredListsSentCommandsOlderThanTheCutOff) {
  save("D1");
  save("D2");
  CommandRow a = mark(insert_command("D1", "GET OPTIONS A"), CommandStatus::sent, kContractT0);
  CommandRow b = mark(insert_command("D1", "GET OPTIONS B"), CommandStatus::sent, kContractT0 + 10);
  CommandRow c = mark(insert_command("D1", "GET OPTIONS C"), CommandStatus::sent, kContractT0 + 20);
  insert_command("D1", "GET OPTIONS D");                                     // queued: never sent
  mark(mark(insert_command("D1", "GET OPTIONS E"), CommandStatus::sent, kContractT0), CommandStatus::done, kContractT0 + 1);
  mark(insert_command("D2", "GET OPTIONS A"), CommandStatus::sent, kContractT0);    // another device's

  auto unanswered = [&](std::int64_t before, std::int64_t limit) {
    return ids(commands([=](CommandReads& cr) { return cr.unanswered("D1", before, limit); }));
  };
  EXPECT_EQ(unanswered(kContractT0 + 20, 0), (std::vector<std::int64_t>{a.id, b.id}));  // sent before, not at
  EXPECT_EQ(unanswered(kContractT0 + 21, 0), (std::vector<std::int64_t>{a.id, b.id, c.id}));
  EXPECT_EQ(unanswered(kContractT0 + 21, 2), (std::vector<std::int64_t>{a.id, b.id}));
  EXPECT_TRUE(unanswered(kContractT0, 0).empty());
  auto rows = commands([](CommandReads& cr) { return cr.unanswered("D1", kContractT0 + 1, 0); });
  ASSERT_EQ(rows.size(), 1u);
  expect_same_row(rows[0], a);
}

// A command answered "received, result to follow" (-5000, or SET ADSCREEN_OPTIONS's printed 5000)
// is not sent again: it is not among the unanswered, so it cannot take a re-send slot either.
TEST_P(StoreContract, UnansweredLeavesOutCommandsAwaitingTheirFinalAnswer) {
  save("D1");
  CommandRow relayed = mark(insert_command("D1", "CONTROL DEVICE 01010105"), CommandStatus::sent, kContractT0);
  relayed.return_code = -5000;
  update(relayed);
  CommandRow screen = mark(insert_command("D1", "SET ADSCREEN_OPTIONS InOut=0"), CommandStatus::sent, kContractT0);
  screen.return_code = 5000;
  update(screen);
  CommandRow lost = mark(insert_command("D1", "GET OPTIONS A"), CommandStatus::sent, kContractT0);
  EXPECT_EQ(ids(commands([](CommandReads& c) { return c.unanswered("D1", kContractT0 + 10, 1); })),
            (std::vector<std::int64_t>{lost.id}));
}

// The commands of a device by verb (a panel's enrolment commands among its many DATA commands).
TEST_P(StoreContract, ListFiltersByVerbAndStatus) {
  save("D1");
  CommandRow bio = mark(insert_command("D1", "ENROLL_BIO TYPE=1\tNO=6\tPIN=5"), CommandStatus::sent, kContractT0);
  mark(insert_command("D1", "DATA UPDATE user Pin=5"), CommandStatus::sent, kContractT0);
  CommandRow card = mark(mark(insert_command("D1", "ENROLL_INFO TYPE=0\tPIN=5"), CommandStatus::sent, kContractT0),
                         CommandStatus::done, kContractT0 + 1);
  insert_command("D1", "ENROLL_BIO TYPE=1\tNO=7\tPIN=5");  // queued
  CommandFilter f;
  f.sn = "D1";
  f.statuses = {"sent", "done"};
  f.verbs = {"ENROLL_BIO", "ENROLL_INFO"};
  EXPECT_EQ(ids(commands([f](CommandReads& c) { return c.list(f); })), (std::vector<std::int64_t>{card.id, bio.id}));
  f.verbs = {"ENROLL_BIO"};
  EXPECT_EQ(ids(commands([f](CommandReads& c) { return c.list(f); })), (std::vector<std::int64_t>{bio.id}));
}

TEST_P(StoreContract, UnansweredCommandsComeInDeliveryOrder) {
  // The queue merges re-sends with queued commands and takes at most a cap of each: both lists must
  // be in delivery order, or a control command past the cap would wait behind bulk work.
  save("D1");
  CommandRow bulk1 = mark(insert_command("D1", "DATA UPDATE user Pin=1", CommandPriority::bulk), CommandStatus::sent, kContractT0);
  CommandRow bulk2 = mark(insert_command("D1", "DATA UPDATE user Pin=2", CommandPriority::bulk), CommandStatus::sent, kContractT0);
  CommandRow door = mark(insert_command("D1", "CONTROL DEVICE 01010105", CommandPriority::control),
                         CommandStatus::sent, kContractT0 + 5);
  CommandRow normal = mark(insert_command("D1", "GET OPTIONS A"), CommandStatus::sent, kContractT0);
  EXPECT_EQ(ids(commands([](CommandReads& c) { return c.unanswered("D1", kContractT0 + 10, 0); })),
            (std::vector<std::int64_t>{door.id, normal.id, bulk1.id, bulk2.id}));
  EXPECT_EQ(ids(commands([](CommandReads& c) { return c.unanswered("D1", kContractT0 + 10, 1); })),
            (std::vector<std::int64_t>{door.id}));
}

TEST_P(StoreContract, OverdueListsOpenCommandsWhoseDeadlinePassed) {
  save("D1");
  save("D2");
  CommandRow q1 = insert_command("D1", "CONTROL DEVICE 01010105", CommandPriority::control, kContractT0 + 10);
  CommandRow s2 = mark(insert_command("D1", "GET OPTIONS A", CommandPriority::normal, kContractT0 + 5), CommandStatus::sent, kContractT0);
  insert_command("D1", "GET OPTIONS B", CommandPriority::normal, 0);  // no deadline
  mark(insert_command("D1", "GET OPTIONS C", CommandPriority::normal, kContractT0 + 1), CommandStatus::done, kContractT0);  // closed
  mark(insert_command("D1", "GET OPTIONS D", CommandPriority::normal, kContractT0 + 1), CommandStatus::cancelled, kContractT0);
  CommandRow later = insert_command("D1", "GET OPTIONS E", CommandPriority::normal, kContractT0 + 100);
  CommandRow x = insert_command("D2", "GET OPTIONS A", CommandPriority::normal, kContractT0 + 1);

  auto overdue = [&](const std::string& sn, std::int64_t now, std::int64_t limit) {
    return ids(commands([=](CommandReads& c) { return c.overdue(sn, now, limit); }));
  };
  EXPECT_EQ(overdue("D1", kContractT0 + 10, 0), (std::vector<std::int64_t>{q1.id, s2.id}));  // expires_at == now is past
  EXPECT_EQ(overdue("D1", kContractT0 + 9, 0), (std::vector<std::int64_t>{s2.id}));
  EXPECT_EQ(overdue("D1", kContractT0 + 10, 1), (std::vector<std::int64_t>{q1.id}));
  EXPECT_EQ(overdue("", kContractT0 + 10, 0), (std::vector<std::int64_t>{q1.id, s2.id, x.id}));
  EXPECT_EQ(overdue("", kContractT0 + 10, 2), (std::vector<std::int64_t>{q1.id, s2.id}));
  EXPECT_EQ(overdue("", kContractT0 + 100, 0), (std::vector<std::int64_t>{q1.id, s2.id, later.id, x.id}));
  EXPECT_TRUE(overdue("D2", kContractT0, 0).empty());
  EXPECT_TRUE(overdue("ghost", kContractT0 + 1000, 0).empty());
}

TEST_P(StoreContract, NextDeadlineIsTheEarliestOfAnOpenCommand) {
  auto next = [&] { return commands([](CommandReads& c) { return c.next_deadline(); }); };
  save("D1");
  save("D2");
  EXPECT_FALSE(next());
  insert_command("D1", "GET OPTIONS A", CommandPriority::normal, 0);
  EXPECT_FALSE(next());  // no deadline is not a deadline of 0
  CommandRow late = insert_command("D1", "GET OPTIONS B", CommandPriority::normal, kContractT0 + 50);
  CommandRow soon = insert_command("D2", "GET OPTIONS C", CommandPriority::normal, kContractT0 + 20);
  EXPECT_EQ(next(), kContractT0 + 20);
  soon = mark(soon, CommandStatus::sent, kContractT0);
  EXPECT_EQ(next(), kContractT0 + 20);  // sent is still open
  mark(soon, CommandStatus::expired, kContractT0 + 20);
  EXPECT_EQ(next(), kContractT0 + 50);
  mark(late, CommandStatus::done, kContractT0 + 21);
  EXPECT_FALSE(next());
}

TEST_P(StoreContract, PendingCountsCountQueuedAndSentPerDevice) {
  save("D1");
  save("D2");
  save("D3");
  insert_command("D1", "GET OPTIONS A");                                          // queued
  mark(insert_command("D1", "GET OPTIONS B"), CommandStatus::sent, kContractT0);          // sent
  mark(insert_command("D1", "GET OPTIONS C"), CommandStatus::done, kContractT0);
  mark(insert_command("D1", "GET OPTIONS D"), CommandStatus::failed, kContractT0);
  mark(insert_command("D1", "GET OPTIONS E"), CommandStatus::expired, kContractT0);
  CommandRow d2 = insert_command("D2", "GET OPTIONS A");
  mark(insert_command("D3", "GET OPTIONS A"), CommandStatus::cancelled, kContractT0);

  auto counts = commands([](CommandReads& c) { return c.pending_counts(); });
  std::map<std::string, std::int64_t> by_sn(counts.begin(), counts.end());
  EXPECT_EQ(by_sn, (std::map<std::string, std::int64_t>{{"D1", 2}, {"D2", 1}}));
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_count("D1"); }), 2);
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_count("D2"); }), 1);
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_count("D3"); }), 0);
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_count("ghost"); }), 0);
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_total(); }), 3);
  auto stats = store().stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->queued_commands, 3);

  mark(d2, CommandStatus::done, kContractT0);
  counts = commands([](CommandReads& c) { return c.pending_counts(); });
  by_sn = std::map<std::string, std::int64_t>(counts.begin(), counts.end());
  EXPECT_EQ(by_sn, (std::map<std::string, std::int64_t>{{"D1", 2}}));
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_total(); }), 2);
}

TEST_P(StoreContract, CommandDataIsKeptInArrivalOrderAndARepostOnce) {
  save("D1");
  CommandRow q = insert_command("D1", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  CommandRow other = insert_command("D1", "GET OPTIONS LockCount");
  const std::string binary("a\0b\xFF", 4);
  std::vector<CommandData> packs = {
      {q.id, "tabledata", "user", 2, 3, "user Pin=3", kContractT0 + 2},
      {q.id, "tabledata", "user", 1, 3, "user Pin=1\nuser Pin=2", kContractT0 + 1},
      {q.id, "tabledata", "user", 3, 3, binary, kContractT0 + 3},
      {other.id, "options", "", 0, 0, "LockCount=4", kContractT0 + 4},
  };
  for (const auto& p : packs) ASSERT_TRUE(add_data(p).ok());
  // The same pack posted again (the device missed our answer) is kept once, even at another time.
  CommandData repost = packs[0];
  repost.received_at = kContractT0 + 9;
  ASSERT_TRUE(add_data(repost).ok());
  // Another body under the same pack number is new data.
  ASSERT_TRUE(add_data(CommandData{q.id, "tabledata", "user", 2, 3, "user Pin=4", kContractT0 + 10}).ok());

  auto data = commands([&](CommandReads& c) { return c.data(q.id); });
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0].packidx, 2);
  EXPECT_EQ(data[0].body, "user Pin=3");
  EXPECT_EQ(data[0].received_at, kContractT0 + 2);
  EXPECT_EQ(data[1].packidx, 1);
  EXPECT_EQ(data[1].body, "user Pin=1\nuser Pin=2");
  EXPECT_EQ(data[1].received_at, kContractT0 + 1);
  EXPECT_EQ(data[2].body, binary);
  EXPECT_EQ(data[2].kind, "tabledata");
  EXPECT_EQ(data[2].table, "user");
  EXPECT_EQ(data[2].packcnt, 3);
  EXPECT_EQ(data[2].command_id, q.id);
  EXPECT_EQ(data[3].body, "user Pin=4");
  auto options = commands([&](CommandReads& c) { return c.data(other.id); });
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].kind, "options");
  EXPECT_EQ(options[0].body, "LockCount=4");
  EXPECT_TRUE(commands([&](CommandReads& c) { return c.data(other.id + 1000); }).empty());

  auto r = add_data(CommandData{other.id + 1000, "options", "", 0, 0, "x", kContractT0});
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::not_found);
}

// ---- units of work -----------------------------------------------------------------------------------

TEST_P(StoreContract, AWriteSeesItsOwnWritesBeforeItCommits) {
  save("D1");
  struct Seen {
    CommandRow row;
    std::optional<CommandRow> got, found;
    std::int64_t queued = 0, pending = 0, events = 0;
    std::optional<Device> device;
  };
  auto seen = write([](Transaction& tx) {
    Seen s;
    tx.devices().save(make_device("D2"));
    s.device = tx.devices().get("D2");
    s.row = tx.commands().insert(make_command("D2", "GET OPTIONS A"), kContractT0);
    s.got = tx.commands().get(s.row.id);
    s.found = tx.commands().find("D2", s.row.wire_id);
    s.queued = static_cast<std::int64_t>(tx.commands().queued("D2", 0).size());
    s.pending = tx.commands().pending_count("D2");
    tx.events().insert({make_event("D2", 1, "2024-01-01 10:00:00", "a")});
    s.events = tx.events().count("D2");
    return s;
  });
  EXPECT_TRUE(seen.device);
  EXPECT_TRUE(seen.got);
  ASSERT_TRUE(seen.found);
  EXPECT_EQ(seen.found->id, seen.row.id);
  EXPECT_EQ(seen.queued, 1);
  EXPECT_EQ(seen.pending, 1);
  EXPECT_EQ(seen.events, 1);
}

// What a write spanning areas leaves when its job refuses halfway: nothing.
TEST_P(StoreContract, ARefusedWriteSpanningAreasLeavesNothingBehind) {
  save("D1");
  std::int64_t new_id = 0, d1_id = 0;
  bool saw_own_writes = false;
  auto r = store().write_now([&](Transaction& tx) {
    tx.devices().save(make_device("NEW"));
    tx.devices().merge_options("NEW", protocol::Record{{"LockCount", "2"}}, "options", kContractT0);
    tx.devices().update_settings("D1", DeviceSettings{false, std::nullopt, {}});
    new_id = tx.commands().insert(make_command("NEW", "CONTROL DEVICE 01010105"), kContractT0).id;
    d1_id = tx.commands().insert(make_command("D1", "GET OPTIONS A"), kContractT0).id;
    tx.events().insert({make_event("NEW", 1, "2024-01-01 10:00:00", "a")});
    tx.door_states().put(DoorStateUpdate{"NEW", "2024-01-01 10:00:00", "01", "00", "00", kContractT0});
    tx.device_data().append_log({DeviceLogEntry{"NEW", "errorlog", "ErrCode=1", kContractT0, 0}});
    tx.device_data().put_records({DeviceRecord{"NEW", "user", "1", {{"Pin", "1"}}, "", kContractT0, "", ""}});
    saw_own_writes = tx.devices().get("NEW").has_value() && tx.commands().get(new_id).has_value();
    throw Refused(Reason::conflict, "the operator changed their mind");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().transient);
  EXPECT_EQ(r.error().reason, Reason::conflict);
  EXPECT_NE(r.error().message.find("changed their mind"), std::string::npos) << r.error().message;
  EXPECT_TRUE(saw_own_writes);
  ASSERT_GT(new_id, 0);

  struct After {
    std::int64_t devices = 0, events = 0, pending = 0, records = 0, log = 0;
    bool new_device = false, new_command = false, d1_command = false, door = false;
    std::optional<Device> d1;
  };
  auto after = read([new_id, d1_id](Reads& rd) {
    After a;
    a.devices = rd.devices().count();
    a.new_device = rd.devices().get("NEW").has_value();
    a.d1 = rd.devices().get("D1");
    a.new_command = rd.commands().get(new_id).has_value();
    a.d1_command = rd.commands().get(d1_id).has_value();
    a.pending = rd.commands().pending_total();
    a.events = rd.events().count("");
    a.door = rd.door_states().get("NEW").has_value();
    a.log = static_cast<std::int64_t>(rd.device_data().log("", "", 0).size());
    a.records = static_cast<std::int64_t>(rd.device_data().records("", "", 0).size());
    return a;
  });
  EXPECT_EQ(after.devices, 1);
  EXPECT_FALSE(after.new_device);
  ASSERT_TRUE(after.d1);
  EXPECT_TRUE(after.d1->approved);  // the settings change went with the rest
  EXPECT_FALSE(after.new_command);
  EXPECT_FALSE(after.d1_command);
  EXPECT_EQ(after.pending, 0);
  EXPECT_EQ(after.events, 0);
  EXPECT_FALSE(after.door);
  EXPECT_EQ(after.log, 0);
  EXPECT_EQ(after.records, 0);
  // The device's wire-id counter went back too: its next command gets the id the refused one had.
  EXPECT_EQ(insert_command("D1", "GET OPTIONS A").wire_id, first_wire_id(kContractT0));
}

TEST_P(StoreContract, AWriteThatFailsOtherwiseIsUndoneToo) {
  save("D1");
  auto r = store().write_now([](Transaction& tx) -> int {
    tx.commands().insert(make_command("D1", "GET OPTIONS A"), kContractT0);
    tx.events().insert({make_event("D1", 1, "2024-01-01 10:00:00", "a")});
    throw std::runtime_error("a bug in the job");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::none);
  EXPECT_FALSE(r.error().transient);  // the same job would fail again: not the database's fault
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_total(); }), 0);
  EXPECT_EQ(count_events(""), 0);
}

TEST_P(StoreContract, AFailedWriteDoesNotTakeItsNeighboursWithIt) {
  // Writes submitted together may share a commit; each is still all or nothing on its own.
  save("D1");
  std::vector<std::future<bool>> outcomes;
  std::vector<std::shared_ptr<std::promise<bool>>> promises;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<bool>>();
    outcomes.push_back(p->get_future());
    store().write(
        [i](Transaction& tx) {
          tx.events().insert({make_event("D1", i, "2024-01-01 10:00:00", "e")});
          tx.commands().insert(make_command("D1", "GET OPTIONS A"), kContractT0);
          if (i % 2) throw Refused(Reason::invalid, "odd");
        },
        [p](StoreStatus s) { p->set_value(s.ok()); });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(outcomes[static_cast<std::size_t>(i)].wait_for(std::chrono::seconds(60)), std::future_status::ready);
    EXPECT_EQ(outcomes[static_cast<std::size_t>(i)].get(), i % 2 == 0) << i;
  }
  auto events = list_events(EventFilter{"D1", 0, 0});
  ASSERT_EQ(events.size(), 10u);
  for (const auto& e : events) EXPECT_EQ(*e.index % 2, 0);
  EXPECT_EQ(commands([](CommandReads& c) { return c.pending_total(); }), 10);
}

// A write spanning areas is seen whole, by a later read and by reads running meanwhile.
TEST_P(StoreContract, ASuccessfulWriteSpanningAreasIsVisibleAsAWhole) {
  constexpr int kWrites = 40;
  std::atomic<bool> writing{true};
  std::atomic<int> torn{0}, reads{0};
  // Every write adds a device, its command and its event together: a snapshot never has one
  // without the others.
  std::thread reader([&] {
    while (writing.load()) {
      auto r = store().read_now([](Reads& rd) {
        return std::array<std::int64_t, 3>{rd.devices().count(), rd.commands().pending_total(), rd.events().count("")};
      });
      if (!r.ok() || (*r)[0] != (*r)[1] || (*r)[0] != (*r)[2]) ++torn;
      ++reads;
    }
  });
  std::vector<CommandRow> rows;
  for (int i = 0; i < kWrites; ++i) {
    const std::string sn = "W" + std::to_string(i);
    rows.push_back(write([sn, i](Transaction& tx) {
      tx.devices().save(make_device(sn));
      tx.devices().merge_options(sn, protocol::Record{{"LockCount", std::to_string(i)}}, "options", kContractT0);
      tx.door_states().put(DoorStateUpdate{sn, "2024-01-01 10:00:00", "01", "00", "00", kContractT0});
      tx.events().insert({make_event(sn, i, "2024-01-01 10:00:00", "e")});
      return tx.commands().insert(make_command(sn, "CONTROL DEVICE 01010105", CommandPriority::control), kContractT0);
    }));
  }
  writing = false;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";

  struct Whole {
    std::optional<Device> device;
    std::optional<CommandRow> command;
    std::optional<DoorStateUpdate> door;
    std::int64_t events = 0;
  };
  for (int i = 0; i < kWrites; ++i) {
    const std::string sn = "W" + std::to_string(i);
    const std::int64_t id = rows[static_cast<std::size_t>(i)].id;
    auto whole = read([sn, id](Reads& rd) {
      return Whole{rd.devices().get(sn), rd.commands().get(id), rd.door_states().get(sn), rd.events().count(sn)};
    });
    ASSERT_TRUE(whole.device) << sn;
    EXPECT_EQ(whole.device->options.get("LockCount"), std::to_string(i));
    ASSERT_TRUE(whole.command) << sn;
    EXPECT_EQ(whole.command->sn, sn);
    EXPECT_EQ(whole.command->wire_id, first_wire_id(kContractT0));
    EXPECT_TRUE(whole.door) << sn;
    EXPECT_EQ(whole.events, 1) << sn;
  }
}

TEST_P(StoreContract, AsynchronousWritesAndReadsAnswerThroughTheirCallbacks) {
  save("D1");
  auto row = await<CommandRow>([&](Store::Reply<CommandRow> done) {
    store().write([](Transaction& tx) { return tx.commands().insert(make_command("D1", "GET OPTIONS A"), kContractT0); },
                  std::move(done));
  });
  ASSERT_TRUE(row.ok()) << row.error().message;
  // Once `done` ran the write is durable and visible to every read.
  EXPECT_TRUE(command(row->id));

  const auto caller = std::this_thread::get_id();
  struct Seen {
    std::thread::id thread;
    std::optional<CommandRow> row;
  };
  const std::int64_t id = row->id;
  auto seen = await<Seen>([&](Store::Reply<Seen> done) {
    store().read([id](Reads& r) { return Seen{std::this_thread::get_id(), r.commands().get(id)}; }, std::move(done));
  });
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_NE(seen->thread, caller);  // reads run on the store's threads, never the caller's
  ASSERT_TRUE(seen->row);
  EXPECT_EQ(seen->row->wire_id, row->wire_id);

  // A refusal reaches the callback as a non-transient error with its reason, from reads too.
  auto refused = await<Unit>([&](Store::Done done) {
    store().read([](Reads&) { throw Refused(Reason::not_found, "no such thing"); }, std::move(done));
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(refused.error().transient);
  EXPECT_EQ(refused.error().reason, Reason::not_found);
  EXPECT_EQ(refused.error().message, "no such thing");
  auto blocking = store().read_now([](Reads&) -> int { throw Refused(Reason::invalid, "bad question"); });
  ASSERT_FALSE(blocking.ok());
  EXPECT_EQ(blocking.error().reason, Reason::invalid);
  auto written = await<Unit>([&](Store::Done done) {
    store().write([](Transaction&) { throw Refused(Reason::conflict, "not now"); }, std::move(done));
  });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().reason, Reason::conflict);
}

// ---- maintenance -----------------------------------------------------------------------------------

TEST_P(StoreContract, StatsCountWhatIsStored) {
  save("D1");
  save("D2");
  insert({make_event("D1", 1, "2024-01-01 10:00:00", "a"), make_event("D1", 2, "2024-01-01 10:00:00", "b")});
  insert_command("D1", "GET OPTIONS A");
  mark(insert_command("D1", "GET OPTIONS B"), CommandStatus::done, kContractT0);
  auto s = store().stats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->devices, 2);
  EXPECT_EQ(s->events, 2);
  EXPECT_EQ(s->queued_commands, 1);
  EXPECT_GE(s->write_jobs, 6u);
  EXPECT_GE(s->write_groups, 1u);
  EXPECT_LE(s->write_groups, s->write_jobs);
  EXPECT_EQ(s->failed_commits, 0u);
}

TEST_P(StoreContract, AHealthyStorePassesItsIntegrityCheck) {
  save("D1");
  insert_command("D1", "GET OPTIONS A");
  insert({make_event("D1", 1, "2024-01-01 10:00:00", "a")});
  EXPECT_EQ(store().integrity_check(), "ok");
}

// ---- multi-level control: sub-controllers --------------------------------------------------------------

namespace {

SubController make_sub(const std::string& sn, const std::string& master, int is_authorize, std::int64_t seen) {
  SubController s;
  s.sn = sn;
  s.master_sn = master;
  s.online = true;
  s.is_authorize = is_authorize;
  s.requested = is_authorize;
  s.authorize_info = "~DeviceName=" + sn;
  s.register_info = is_authorize > 0 ? "LockCount=2,SubControlOn=1" : "";
  s.first_seen = seen;
  s.last_seen = seen;
  return s;
}

}  // namespace

TEST_P(StoreContract, SubControllersComeBackFieldForFieldByMasterAndBySerial) {
  save("M1");
  save("M2");
  save("S2");
  save("S1");
  save("S3");
  const SubController s1 = make_sub("S1", "M1", 2, kContractT0);
  const SubController s2 = make_sub("S2", "M1", 0, kContractT0 + 1);
  const SubController s3 = make_sub("S3", "M2", 1, kContractT0 + 2);
  for (const auto& s : {s2, s3, s1}) write([s](Transaction& tx) { tx.devices().save_sub_controller(s); });
  auto one = read([](Reads& r) { return r.devices().sub_controller("S1"); });
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, s1);
  EXPECT_FALSE(read([](Reads& r) { return r.devices().sub_controller("M1"); }));  // a master is no sub
  auto of_m1 = read([](Reads& r) { return r.devices().sub_controllers("M1"); });
  ASSERT_EQ(of_m1.size(), 2u);
  EXPECT_EQ(of_m1[0], s1);  // by serial number
  EXPECT_EQ(of_m1[1], s2);
  auto every = read([](Reads& r) { return r.devices().sub_controllers(""); });
  ASSERT_EQ(every.size(), 3u);
  EXPECT_EQ(every[2], s3);
  EXPECT_TRUE(read([](Reads& r) { return r.devices().sub_controllers("S1"); }).empty());
}

TEST_P(StoreContract, SavingASubControllerAgainKeepsTheEarliestFirstSeenAndTheLatestLastSeen) {
  save("M1");
  save("M2");
  save("S1");
  write([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "M1", 0, kContractT0 + 10)); });
  SubController later = make_sub("S1", "M2", 2, kContractT0 + 20);  // moved to another master, authorized
  later.first_seen = kContractT0 + 20;
  write([later](Transaction& tx) { tx.devices().save_sub_controller(later); });
  SubController older = later;  // a copy read before: presence never goes back
  older.first_seen = older.last_seen = kContractT0 + 5;
  write([older](Transaction& tx) { tx.devices().save_sub_controller(older); });
  auto stored = read([](Reads& r) { return r.devices().sub_controller("S1"); });
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->master_sn, "M2");
  EXPECT_EQ(stored->is_authorize, 2);
  EXPECT_EQ(stored->register_info, "LockCount=2,SubControlOn=1");
  EXPECT_EQ(stored->first_seen, kContractT0 + 5);
  EXPECT_EQ(stored->last_seen, kContractT0 + 20);
  EXPECT_TRUE(read([](Reads& r) { return r.devices().sub_controllers("M1"); }).empty());
}

TEST_P(StoreContract, ASubControllerNeedsBothDevicesAndIsNotItsOwnMaster) {
  save("M1");
  auto no_sub = store().write_now([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "M1", 0, 1)); });
  ASSERT_FALSE(no_sub.ok());
  EXPECT_EQ(no_sub.error().reason, Reason::not_found);
  save("S1");
  auto no_master =
      store().write_now([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "ghost", 0, 1)); });
  ASSERT_FALSE(no_master.ok());
  EXPECT_EQ(no_master.error().reason, Reason::not_found);
  auto itself = store().write_now([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "S1", 0, 1)); });
  ASSERT_FALSE(itself.ok());
  EXPECT_EQ(itself.error().reason, Reason::invalid);
  EXPECT_TRUE(read([](Reads& r) { return r.devices().sub_controllers(""); }).empty());
}

TEST_P(StoreContract, ASubControllersCommandsTakeWireIdsFromItsMastersCounterAndAreFoundThroughIt) {
  save("M1");
  save("S1");
  save("S2");
  save("D9");
  CommandRow own = insert_command("M1", "GET OPTIONS A");
  write([](Transaction& tx) {
    tx.devices().save_sub_controller(make_sub("S1", "M1", 2, kContractT0));
    tx.devices().save_sub_controller(make_sub("S2", "M1", 2, kContractT0));
  });
  CommandRow s1 = insert_command("S1", "CONTROL DEVICE 01010105");
  CommandRow s2 = insert_command("S2", "CONTROL DEVICE 01010105");
  CommandRow own2 = insert_command("M1", "GET OPTIONS B");
  CommandRow other = insert_command("D9", "GET OPTIONS A");
  // One sequence for the master and its sub-controllers: the master never sees an id twice.
  EXPECT_EQ(s1.wire_id, own.wire_id + 1);
  EXPECT_EQ(s2.wire_id, own.wire_id + 2);
  EXPECT_EQ(own2.wire_id, own.wire_id + 3);
  EXPECT_EQ(s1.sn, "S1");
  EXPECT_EQ(other.wire_id, first_wire_id(kContractT0));  // another device keeps its own
  // By the master and a wire id: only a sub-controller's command.
  auto found = commands([w = s2.wire_id](CommandReads& c) { return c.find_relayed("M1", w); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, s2.id);
  EXPECT_FALSE(commands([w = own2.wire_id](CommandReads& c) { return c.find_relayed("M1", w); }));
  EXPECT_FALSE(commands([w = s1.wire_id](CommandReads& c) { return c.find_relayed("D9", w); }));
  EXPECT_EQ(commands([w = s1.wire_id](CommandReads& c) { return c.find("S1", w); })->id, s1.id);
}

TEST_P(StoreContract, RemovingAMasterForgetsItsSubControllerRowsButNotTheirDevices) {
  save("M1");
  save("S1");
  write([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "M1", 2, kContractT0)); });
  write([](Transaction& tx) { tx.devices().remove("M1"); });
  EXPECT_FALSE(read([](Reads& r) { return r.devices().sub_controller("S1"); }));
  EXPECT_TRUE(device("S1"));
  save("M1");
  write([](Transaction& tx) { tx.devices().save_sub_controller(make_sub("S1", "M1", 2, kContractT0)); });
  write([](Transaction& tx) { tx.devices().remove("S1"); });
  EXPECT_TRUE(read([](Reads& r) { return r.devices().sub_controllers("M1"); }).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
