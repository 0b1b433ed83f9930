// What only the SQLite backend can be asked: its file survives a restart and a killed process,
// empty files are migrated, damage is reported, and concurrent use through the writer thread and
// the reader pool stays consistent. The behaviour every backend shares is in store_contract_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/store.hpp"
#include "store_testing.hpp"

namespace zkpush::storage {
namespace {

using sqlite::Database;
using sqlite::OpenMode;
using sqlite::Statement;
using testing::await;
using testing::await_status;
using testing::TempDir;

constexpr std::int64_t T0 = 1'700'000'000;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_.path() / "zkpush.db").string(); }
  std::unique_ptr<Store> open() { return open_sqlite_store(SqliteOptions{db_path()}); }

  // What is in the file, seen by a connection of its own.
  std::int64_t scalar(const std::string& sql) {
    Database db(db_path(), OpenMode::read_only);
    Statement st(db, sql);
    EXPECT_TRUE(st.step()) << sql;
    return st.column_int(0);
  }

  TempDir dir_;
};

void must(StoreStatus r, const char* what) { ASSERT_TRUE(r.ok()) << what << ": " << r.error().message; }

Device device(const std::string& sn) {
  Device d;
  d.sn = sn;
  d.approved = true;
  d.registry = protocol::Record{{"DeviceType", "acc"}, {"~DeviceName", "inBio460"}};
  d.first_seen = T0;
  d.last_seen = T0;
  return d;
}

NewEvent event(const std::string& sn, std::optional<std::int64_t> index, std::string raw) {
  NewEvent e;
  e.sn = sn;
  e.index = index;
  e.time_local = "2024-01-01 10:00:00";
  e.pin = "1";
  e.raw = std::move(raw);
  e.received_at = T0;
  return e;
}

NewCommand command(const std::string& sn, const std::string& line) { return NewCommand{sn, line, line, T0, 0}; }

StoreResult<CommandRow> enqueue(Store& s, const std::string& sn, const std::string& line) {
  return await<CommandRow>(
      [&](Store::Reply<CommandRow> done) { s.enqueue_command(command(sn, line), std::move(done)); });
}

std::vector<CommandRow> take(Store& s, const std::string& sn, std::int64_t now) {
  DeliveryRequest r;
  r.sn = sn;
  r.now = now;
  auto result = await<std::vector<CommandRow>>(
      [&](Store::Reply<std::vector<CommandRow>> done) { s.take_for_delivery(std::move(r), std::move(done)); });
  EXPECT_TRUE(result.ok());
  return result.ok() ? result.value() : std::vector<CommandRow>{};
}

// ---- the file --------------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ReopeningKeepsEverything) {
  std::int64_t wire_a = 0, wire_b = 0, id_b = 0;
  {
    auto s = open();
    must(await_status([&](Store::Done d) { s->save_device(device("D1"), std::move(d)); }), "save");
    must(await_status([&](Store::Done d) {
           s->merge_options("D1", protocol::Record{{"LockCount", "4"}}, "options", T0, std::move(d));
         }),
         "merge");
    auto counts = await<InsertCounts>([&](Store::Reply<InsertCounts> d) {
      s->insert_events({event("D1", 1, "a"), event("D1", std::nullopt, "no index")}, std::move(d));
    });
    ASSERT_TRUE(counts.ok());
    must(await_status([&](Store::Done d) {
           s->put_door_state(DoorStateUpdate{"D1", "2024-01-01 10:00:00", "01", "00", "00", T0}, std::move(d));
         }),
         "door");
    must(await_status([&](Store::Done d) {
           s->append_device_log({DeviceLogEntry{"D1", "errorlog", "ErrCode=1", T0, 0}}, std::move(d));
         }),
         "log");
    ASSERT_TRUE(await<InsertCounts>([&](Store::Reply<InsertCounts> d) {
                  s->put_device_records({DeviceRecord{"D1", "user", "1", {{"Pin", "1"}}, "", T0, "", ""}}, std::move(d));
                }).ok());
    auto a = enqueue(*s, "D1", "CHECK");
    auto b = enqueue(*s, "D1", "INFO");
    ASSERT_TRUE(a.ok() && b.ok());
    wire_a = a->wire_id;
    wire_b = b->wire_id;
    id_b = b->id;
    ASSERT_EQ(take(*s, "D1", T0).size(), 2u);
    auto c = enqueue(*s, "D1", "REBOOT");  // stays queued
    ASSERT_TRUE(c.ok());
    must(await_status([&](Store::Done d) {
           s->add_command_data(CommandData{a->id, "options", "", 0, 0, "LockCount=4", T0}, std::move(d));
         }),
         "data");
  }
  // The writer's connection closed last: the WAL was checkpointed into the file and removed.
  EXPECT_FALSE(std::filesystem::exists(db_path() + "-wal"));

  auto s = open();
  auto d = s->get_device("D1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->registry.get("~DeviceName"), "inBio460");
  EXPECT_EQ(d->options.get("LockCount"), "4");
  EXPECT_EQ(s->count_events("D1"), 2);
  // Re-sent records are still recognised after the restart.
  auto again = await<InsertCounts>([&](Store::Reply<InsertCounts> done) {
    s->insert_events({event("D1", 1, "a"), event("D1", std::nullopt, "no index")}, std::move(done));
  });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates, 2);
  ASSERT_TRUE(s->get_door_state("D1"));
  EXPECT_EQ(s->list_device_log("D1", "", 0).size(), 1u);
  EXPECT_EQ(s->list_device_records("D1", "user", 0).size(), 1u);
  auto pending = s->pending_counts();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].second, 3);  // two sent, one queued
  EXPECT_EQ(s->get_command(id_b)->status, CommandStatus::sent);
  auto found = s->find_command("D1", wire_a);
  ASSERT_TRUE(found);
  EXPECT_EQ(s->get_command_data(found->id).size(), 1u);
  auto next = enqueue(*s, "D1", "CHECK");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->wire_id, wire_b + 2);  // after REBOOT's
  EXPECT_EQ(s->integrity_check(), "ok");
}

TEST_F(SqliteStoreTest, AVersion1DatabaseKeepsItsDeviceRecordsThroughMigration2) {
  {
    Database db(db_path(), OpenMode::read_write_create);
    sqlite::configure_connection(db, true);
    sqlite::migrate(db, sqlite::store_migrations().first(1));
    ASSERT_EQ(sqlite::schema_version(db), 1);
    db.exec("INSERT INTO device_records (sn, tbl, rkey, fields, content, updated_at) "
            "VALUES ('D1', 'userpic', '1', '[]', x'FFD8', 5)");
  }
  auto s = open();
  EXPECT_EQ(s->integrity_check(), "ok");
  auto records = s->list_device_records("D1", "userpic", 0);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].content, "\xFF\xD8");
  EXPECT_EQ(records[0].content_field, "");  // unknown for records stored before version 2
  EXPECT_EQ(records[0].content_encoding, "");
  EXPECT_GE(sqlite::store_migrations().back().version, 2);
}

TEST_F(SqliteStoreTest, AnEmptyFileIsMigratedToTheCurrentSchemaInWalMode) {
  { std::ofstream(db_path()).flush(); }
  ASSERT_EQ(std::filesystem::file_size(db_path()), 0u);
  {
    auto s = open();
    EXPECT_EQ(s->integrity_check(), "ok");
    EXPECT_TRUE(s->load_devices().empty());
  }
  EXPECT_EQ(scalar("PRAGMA user_version"), sqlite::store_migrations().back().version);
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('devices', "
                   "'device_options', 'events', 'door_state', 'door_state_history', 'device_records', "
                   "'device_log', 'commands', 'command_data')"),
            9);
  Database db(db_path(), OpenMode::read_only);
  Statement st(db, "PRAGMA journal_mode");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.column_text(0), "wal");  // persistent in the file
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerVersionIsRefused) {
  {
    Database db(db_path(), OpenMode::read_write_create);
    db.exec("CREATE TABLE future(x); PRAGMA user_version = 99");
  }
  try {
    open();
    FAIL() << "opened a database of schema version 99";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteStoreTest, AMissingFolderIsAnErrorNotACrash) {
  EXPECT_THROW(open_sqlite_store(SqliteOptions{(dir_.path() / "no" / "such" / "zkpush.db").string()}),
               std::runtime_error);
}

TEST_F(SqliteStoreTest, IntegrityCheckReportsADamagedFile) {
  {
    auto s = open();
    std::vector<NewEvent> events;
    for (int i = 0; i < 2000; ++i) events.push_back(event("D1", i, "record " + std::to_string(i)));
    ASSERT_TRUE(await<InsertCounts>([&](Store::Reply<InsertCounts> d) {
                  s->insert_events(std::move(events), std::move(d));
                }).ok());
  }
  std::int64_t page_size = scalar("PRAGMA page_size");
  std::int64_t root = scalar("SELECT rootpage FROM sqlite_master WHERE name = 'events_by_device'");
  ASSERT_GT(root, 1);
  {
    // Scribble over the index's root page (its header and first cells), as a bad sector would.
    std::fstream f(db_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp((root - 1) * page_size);
    std::string junk(64, '\x5A');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto s = open();
  std::string report = s->integrity_check();
  EXPECT_NE(report, "ok");
  EXPECT_FALSE(report.empty());
}

TEST_F(SqliteStoreTest, AnUnreadableStoredValueIsReportedNotHidden) {
  {
    auto s = open();
    must(await_status([&](Store::Done d) { s->save_device(device("D1"), std::move(d)); }), "save");
  }
  {
    Database db(db_path(), OpenMode::read_write_create);
    db.exec("UPDATE devices SET registry = 'not json' WHERE sn = 'D1'");
  }
  auto s = open();
  EXPECT_THROW(s->load_devices(), StoreUnavailable);
  EXPECT_THROW(s->get_device("D1"), StoreUnavailable);
  EXPECT_EQ(s->count_events(""), 0);  // the reader that failed is still usable
}

// ---- reads and the writer --------------------------------------------------------------------------

TEST_F(SqliteStoreTest, EveryReadSeesEveryAcknowledgedWrite) {
  // Reads reuse pooled connections with cached statements; a statement left open would pin an old
  // snapshot and a later read would miss what was just acknowledged.
  auto s = open();
  must(await_status([&](Store::Done d) { s->save_device(device("D1"), std::move(d)); }), "save");
  for (int i = 1; i <= 40; ++i) {
    ASSERT_TRUE(await<InsertCounts>([&](Store::Reply<InsertCounts> d) {
                  s->insert_events({event("D1", i, "r")}, std::move(d));
                }).ok());
    ASSERT_EQ(s->count_events("D1"), i);
    ASSERT_EQ(s->list_events(EventFilter{"D1", 0, 0}).size(), static_cast<std::size_t>(i));
    Device d = device("D1");
    d.ip = "10.0.0." + std::to_string(i);
    must(await_status([&](Store::Done done) { s->save_device(d, std::move(done)); }), "save");
    ASSERT_EQ(s->get_device("D1")->ip, d.ip);
  }
}

TEST_F(SqliteStoreTest, AnOpenReaderDoesNotBlockWritesOrHideThem) {
  auto s = open();
  must(await_status([&](Store::Done d) { s->save_device(device("D1"), std::move(d)); }), "save");
  // Another connection holds a read transaction open, as a long API export would.
  Database reader(db_path(), OpenMode::read_only);
  reader.exec("BEGIN");
  Statement snapshot(reader, "SELECT count(*) FROM events");
  ASSERT_TRUE(snapshot.step());
  EXPECT_EQ(snapshot.column_int(0), 0);

  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(await<InsertCounts>([&](Store::Reply<InsertCounts> d) {
                s->insert_events({event("D1", 1, "r")}, std::move(d));
              }).ok());
  // In rollback-journal mode the commit would wait for the reader (busy timeout, 5 s) and fail.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(s->count_events("D1"), 1);
  snapshot.reset();
  reader.exec("COMMIT");
}

// ---- a killed process --------------------------------------------------------------------------------

struct Ack {
  std::int64_t kind;  // 1: an event batch, 2: a command (value = wire id)
  std::int64_t value;
};
static_assert(sizeof(Ack) == 16);  // < PIPE_BUF: each write() is atomic

// The child: writes as fast as it can, several requests in flight, and reports each acknowledged
// write on the pipe from the completion callback. It never returns; the parent kills it.
[[noreturn]] void write_until_killed(const std::string& path, int fd) {
  try {
    auto store = open_sqlite_store(SqliteOptions{path});
    std::atomic<int> in_flight{0};
    auto report = [fd](Ack ack) {
      if (::write(fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) ::_exit(4);
    };
    for (std::int64_t batch = 0;; ++batch) {
      while (in_flight.load() > 48) std::this_thread::sleep_for(std::chrono::microseconds(100));
      std::vector<NewEvent> events;
      for (int i = 0; i < 5; ++i) events.push_back(event("K1", batch * 5 + i, "indexed"));
      events.push_back(event("K1", std::nullopt, "no index, batch " + std::to_string(batch)));
      ++in_flight;
      store->insert_events(std::move(events), [&, batch](StoreResult<InsertCounts> r) {
        if (r.ok()) report(Ack{1, batch});
        --in_flight;
      });
      if (batch % 7 == 0) {
        ++in_flight;
        store->enqueue_command(command("K1", "CHECK"), [&](StoreResult<CommandRow> r) {
          if (r.ok()) report(Ack{2, r->wire_id});
          --in_flight;
        });
      }
    }
  } catch (...) {
    ::_exit(3);
  }
}

TEST_F(SqliteStoreTest, AProcessKilledMidStreamKeepsEveryAcknowledgedWriteExactlyOnce) {
  {
    auto s = open();
    must(await_status([&](Store::Done d) { s->save_device(device("K1"), std::move(d)); }), "save");
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    write_until_killed(db_path(), fds[1]);
  }
  ::close(fds[1]);

  std::set<std::int64_t> batches;
  std::set<std::int64_t> wire_ids;
  auto read_ack = [&]() {
    Ack ack{};
    ssize_t n = ::read(fds[0], &ack, sizeof ack);
    if (n != static_cast<ssize_t>(sizeof ack)) return false;
    (ack.kind == 1 ? batches : wire_ids).insert(ack.value);
    return true;
  };
  while (batches.size() < 600)
    if (!read_ack()) break;
  ASSERT_EQ(batches.size(), 600u) << "the writer child died on its own";
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  while (read_ack()) {
  }  // acknowledgements written before the kill
  ::close(fds[0]);
  ASSERT_FALSE(wire_ids.empty());
  // Killed, not closed: the WAL is still there and reopening recovers from it.
  EXPECT_TRUE(std::filesystem::exists(db_path() + "-wal"));

  auto s = open();
  EXPECT_EQ(s->integrity_check(), "ok");
  std::map<std::int64_t, int> by_index;
  std::map<std::string, int> by_raw;
  for (const auto& e : s->list_events(EventFilter{"K1", 0, 0})) {
    if (e.index)
      ++by_index[*e.index];
    else
      ++by_raw[e.raw];
  }
  for (std::int64_t b : batches) {
    for (int i = 0; i < 5; ++i) ASSERT_EQ(by_index[b * 5 + i], 1) << "batch " << b;
    ASSERT_EQ(by_raw["no index, batch " + std::to_string(b)], 1) << "batch " << b;
  }
  for (const auto& [index, n] : by_index) ASSERT_EQ(n, 1);
  for (std::int64_t w : wire_ids) ASSERT_TRUE(s->find_command("K1", w)) << "wire id " << w;
  // The counter survived too: the next command gets an id above every one handed out.
  auto next = enqueue(*s, "K1", "INFO");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->wire_id, *wire_ids.rbegin());
}

// ---- concurrency -----------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ConcurrentIngestQueueingAndDeliveryStayConsistent) {
  auto s = open();
  const std::vector<std::string> devices = {"C0", "C1", "C2", "C3"};
  for (const auto& sn : devices)
    must(await_status([&](Store::Done d) { s->save_device(device(sn), std::move(d)); }), "save");

  constexpr int kEventThreads = 4, kBatches = 60, kPerBatch = 5;
  constexpr int kQueueThreads = 2, kCommandsPerThread = 80;
  std::atomic<std::int64_t> inserted{0}, duplicates{0}, failures{0};
  std::mutex mu;
  std::multiset<std::int64_t> delivered;  // command ids
  std::vector<CommandRow> enqueued;
  std::atomic<bool> producing{true};

  std::vector<std::thread> producers;
  for (int t = 0; t < kEventThreads; ++t)
    producers.emplace_back([&, t] {
      const std::string sn = devices[static_cast<std::size_t>(t)];
      for (int b = 0; b < kBatches; ++b) {
        std::vector<NewEvent> batch;
        for (int i = 0; i < kPerBatch; ++i) batch.push_back(event(sn, b * kPerBatch + i, "r"));
        for (int copy = 0; copy < 2; ++copy) {  // every batch is re-sent once
          auto r = await<InsertCounts>([&](Store::Reply<InsertCounts> d) { s->insert_events(batch, std::move(d)); });
          if (!r.ok()) {
            ++failures;
            continue;
          }
          inserted += r->inserted;
          duplicates += r->duplicates;
        }
      }
    });
  for (int t = 0; t < kQueueThreads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < kCommandsPerThread; ++i) {
        auto r = enqueue(*s, devices[static_cast<std::size_t>((i + t) % 4)], "CHECK");
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        enqueued.push_back(r.value());
      }
    });
  auto deliver_all = [&](std::int64_t now) {
    for (const auto& sn : devices)
      for (const auto& row : take(*s, sn, now)) {
        std::lock_guard lock(mu);
        delivered.insert(row.id);
      }
  };
  std::vector<std::thread> consumers;
  for (int t = 0; t < 2; ++t)
    consumers.emplace_back([&] {
      while (producing) deliver_all(T0);
    });
  consumers.emplace_back([&] {  // a reader: counts only grow
    std::map<std::string, std::int64_t> last;
    while (producing) {
      for (const auto& sn : devices) {
        std::int64_t n = s->count_events(sn);
        if (n < last[sn]) ++failures;
        last[sn] = n;
      }
      s->pending_counts();
      s->list_events(EventFilter{"", 0, 50});
    }
  });

  for (auto& th : producers) th.join();
  producing = false;
  for (auto& th : consumers) th.join();
  deliver_all(T0);  // whatever was queued after the consumers' last pass

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(inserted.load(), kEventThreads * kBatches * kPerBatch);
  EXPECT_EQ(duplicates.load(), kEventThreads * kBatches * kPerBatch);
  for (const auto& sn : devices) EXPECT_EQ(s->count_events(sn), kBatches * kPerBatch);

  ASSERT_EQ(enqueued.size(), static_cast<std::size_t>(kQueueThreads * kCommandsPerThread));
  EXPECT_EQ(delivered.size(), enqueued.size());
  for (const auto& c : enqueued) EXPECT_EQ(delivered.count(c.id), 1u) << "command " << c.id;
  // Per device, wire ids follow the queue order and are all different.
  std::map<std::string, std::map<std::int64_t, std::int64_t>> wire_by_id;
  for (const auto& c : enqueued) wire_by_id[c.sn][c.id] = c.wire_id;
  for (const auto& [sn, ids] : wire_by_id) {
    std::int64_t previous = 0;
    for (const auto& [id, wire] : ids) {
      EXPECT_GT(wire, previous) << sn;
      previous = wire;
    }
  }
  // All delivered and none answered: every one is still pending, as sent.
  std::int64_t pending = 0;
  for (const auto& [sn, n] : s->pending_counts()) pending += n;
  EXPECT_EQ(pending, static_cast<std::int64_t>(enqueued.size()));
  for (const auto& c : enqueued) EXPECT_EQ(s->get_command(c.id)->status, CommandStatus::sent);
  EXPECT_EQ(s->integrity_check(), "ok");
}

}  // namespace
}  // namespace zkpush::storage
