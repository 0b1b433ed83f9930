// What only the SQLite backend can be asked: the URLs open_store takes for it, its file survives a
// restart and a killed process, empty and old files are migrated, damage is reported, a device's
// wire ids run out cleanly, and concurrent units of work through the writer thread and the reader
// pool stay consistent. The behaviour every backend shares is in store_contract_test.cpp.
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

#include "storage/open_store.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "storage/store.hpp"
#include "storage/wire_ids.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using sqlite::Database;
using sqlite::OpenMode;
using sqlite::Statement;
using testing::TempDir;
using Reason = StoreError::Reason;

constexpr std::int64_t kSqliteT0 = 1'700'000'000;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_.path() / "zkpush.db").string(); }
  std::unique_ptr<Store> open() { return sqlite::open_sqlite_store(sqlite::SqliteOptions{db_path()}); }

  // What is in the file, seen by a connection of its own.
  std::int64_t scalar(const std::string& sql) {
    Database db(db_path(), OpenMode::read_only);
    Statement st(db, sql);
    EXPECT_TRUE(st.step()) << sql;
    return st.column_int(0);
  }

  TempDir dir_;
};

Device device(const std::string& sn) {
  Device d;
  d.sn = sn;
  d.approved = true;
  d.registry = protocol::Record{{"DeviceType", "acc"}, {"~DeviceName", "inBio460"}};
  d.first_seen = kSqliteT0;
  d.last_seen = kSqliteT0;
  return d;
}

NewEvent event(const std::string& sn, std::optional<std::int64_t> index, std::string raw) {
  NewEvent e;
  e.sn = sn;
  e.index = index;
  e.time_local = "2024-01-01 10:00:00";
  e.pin = "1";
  e.raw = std::move(raw);
  e.received_at = kSqliteT0;
  return e;
}

NewCommand command(const std::string& sn, const std::string& line) {
  NewCommand c;
  c.sn = sn;
  c.line = line;
  c.verb = line.substr(0, line.find(' '));
  c.created_at = kSqliteT0;
  return c;
}

void save(Store& s, const Device& d) {
  test::write(s, [d](Transaction& tx) { tx.devices().save(d); });
}

InsertCounts insert(Store& s, std::vector<NewEvent> events) {
  return test::write(s, [events](Transaction& tx) { return tx.events().insert(events); });
}

std::int64_t count_events(Store& s, const std::string& sn) {
  return test::read(s, [sn](Reads& r) { return r.events().count(sn); });
}

StoreResult<CommandRow> enqueue(Store& s, const std::string& sn, const std::string& line) {
  return s.write_now([c = command(sn, line)](Transaction& tx) { return tx.commands().insert(c, kSqliteT0); });
}

// A plain delivery: every queued command of the device marked sent (what the queue does, minus its
// rules).
std::vector<CommandRow> take(Store& s, const std::string& sn, std::int64_t now) {
  return test::write(s, [sn, now](Transaction& tx) {
    auto rows = tx.commands().queued(sn, 0);
    for (auto& row : rows) {
      row.status = CommandStatus::sent;
      row.sent_at = now;
      row.attempts += 1;
      tx.commands().update(row);
    }
    return rows;
  });
}

std::optional<CommandRow> get_command(Store& s, std::int64_t id) {
  return test::read(s, [id](Reads& r) { return r.commands().get(id); });
}

// ---- the file --------------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ReopeningKeepsEverything) {
  std::int64_t wire_a = 0, wire_b = 0, id_b = 0;
  {
    auto s = open();
    save(*s, device("D1"));
    test::write(*s, [](Transaction& tx) {
      tx.devices().merge_options("D1", protocol::Record{{"LockCount", "4"}}, "options", kSqliteT0);
      tx.door_states().put(DoorStateUpdate{"D1", "2024-01-01 10:00:00", "01", "00", "00", kSqliteT0});
      tx.device_data().append_log({DeviceLogEntry{"D1", "errorlog", "ErrCode=1", kSqliteT0, 0}});
      tx.device_data().put_records({DeviceRecord{"D1", "user", "1", {{"Pin", "1"}}, "", kSqliteT0, "", ""}});
    });
    EXPECT_EQ(insert(*s, {event("D1", 1, "a"), event("D1", std::nullopt, "no index")}).inserted, 2);
    auto a = enqueue(*s, "D1", "GET OPTIONS A");
    auto b = enqueue(*s, "D1", "GET OPTIONS B");
    ASSERT_TRUE(a.ok() && b.ok());
    wire_a = a->wire_id;
    wire_b = b->wire_id;
    id_b = b->id;
    ASSERT_EQ(take(*s, "D1", kSqliteT0).size(), 2u);
    auto c = enqueue(*s, "D1", "CONTROL DEVICE 03000000");  // stays queued
    ASSERT_TRUE(c.ok());
    const std::int64_t id_a = a->id;
    test::write(*s, [id_a](Transaction& tx) {
      tx.commands().add_data(CommandData{id_a, "options", "", 0, 0, "LockCount=4", kSqliteT0});
    });
  }
  // The writer's connection closed last: the WAL was checkpointed into the file and removed.
  EXPECT_FALSE(std::filesystem::exists(db_path() + "-wal"));

  auto s = open();
  auto d = test::read(*s, [](Reads& r) { return r.devices().get("D1"); });
  ASSERT_TRUE(d);
  EXPECT_EQ(d->registry.get("~DeviceName"), "inBio460");
  EXPECT_EQ(d->options.get("LockCount"), "4");
  EXPECT_EQ(count_events(*s, "D1"), 2);
  // Re-sent records are still recognised after the restart.
  EXPECT_EQ(insert(*s, {event("D1", 1, "a"), event("D1", std::nullopt, "no index")}).duplicates, 2);
  EXPECT_TRUE(test::read(*s, [](Reads& r) { return r.door_states().get("D1"); }));
  EXPECT_EQ(test::read(*s, [](Reads& r) { return r.device_data().log("D1", "", 0); }).size(), 1u);
  EXPECT_EQ(test::read(*s, [](Reads& r) { return r.device_data().records("D1", "user", 0); }).size(), 1u);
  auto pending = test::read(*s, [](Reads& r) { return r.commands().pending_counts(); });
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].second, 3);  // two sent, one queued
  EXPECT_EQ(get_command(*s, id_b)->status, CommandStatus::sent);
  auto found = test::read(*s, [wire_a](Reads& r) { return r.commands().find("D1", wire_a); });
  ASSERT_TRUE(found);
  const std::int64_t found_id = found->id;
  EXPECT_EQ(test::read(*s, [found_id](Reads& r) { return r.commands().data(found_id); }).size(), 1u);
  auto next = enqueue(*s, "D1", "GET OPTIONS C");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->wire_id, wire_b + 2);  // after the CONTROL DEVICE's
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
  auto records = test::read(*s, [](Reads& r) { return r.device_data().records("D1", "userpic", 0); });
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].content, "\xFF\xD8");
  EXPECT_EQ(records[0].content_field, "");  // unknown for records stored before version 2
  EXPECT_EQ(records[0].content_encoding, "");
  EXPECT_GE(sqlite::store_migrations().back().version, 2);
}

TEST_F(SqliteStoreTest, CredentialsStoredBeforeVersion9GetTheirBiometricType) {
  {
    Database db(db_path(), OpenMode::read_write_create);
    sqlite::configure_connection(db, true);
    sqlite::migrate(db, sqlite::store_migrations().first(8));
    db.exec("INSERT INTO persons (pin, name, created_at, updated_at) VALUES ('7', 'Seven', 1, 1)");
    db.exec("INSERT INTO credentials (pin, type, no, format, version, content) VALUES "
            "('7', 'fingerprint', 3, 'templatev10', '10.0', 'RklORw=='), ('7', 'face', 0, 'biodata', '40.1', 'RkFDRQ==')");
  }
  auto s = open();
  EXPECT_EQ(s->integrity_check(), "ok");
  auto person = test::read(*s, [](Reads& r) { return r.access().person("7"); });
  ASSERT_TRUE(person);
  ASSERT_EQ(person->credentials.size(), 2u);
  EXPECT_EQ(person->credentials[0].bio_type, 1);
  EXPECT_EQ(person->credentials[0].no, 3);
  EXPECT_EQ(person->credentials[0].content, "RklORw==");
  EXPECT_EQ(person->credentials[1].bio_type, 9);
  EXPECT_EQ(person->credentials[1].version, "40.1");
}

// Version 11 rebuilds commands (which command_data references) and sync_items: every row, the
// command id sequence and the references survive, and foreign keys are on again afterwards.
TEST_F(SqliteStoreTest, Version11KeepsCommandsTheirDataAndSyncItemsAndTheIdSequence) {
  {
    Database db(db_path(), OpenMode::read_write_create);
    sqlite::configure_connection(db, true);
    sqlite::migrate(db, sqlite::store_migrations().first(10));
    db.exec("INSERT INTO devices (sn, first_seen, last_seen) VALUES ('D1', 1, 1)");
    db.exec("INSERT INTO commands (id, sn, wire_id, line, verb, status, created_at, priority) VALUES "
            "(41, 'D1', 41, 'C:41:REBOOT', 'CONTROL DEVICE', 'done', 5, 0), "
            "(42, 'D1', 42, 'C:42:DATA QUERY user', 'DATA QUERY', 'sent', 6, 1)");
    db.exec("DELETE FROM commands WHERE id = 42");  // the sequence is past the highest id left
    db.exec("INSERT INTO command_data (command_id, kind, tbl, packidx, packcnt, body, received_at) "
            "VALUES (41, 'querydata', 'user', 1, 1, x'41', 7)");
    db.exec("INSERT INTO sync_items (sn, kind, key, desired, applied, state) VALUES ('D1', 'person', '1', 'a', 'a', 'applied')");
  }
  auto s = open();
  EXPECT_EQ(s->integrity_check(), "ok");
  auto row = test::read(*s, [](Reads& r) { return r.commands().get(41); });
  ASSERT_TRUE(row);
  EXPECT_EQ(row->line, "C:41:REBOOT");
  EXPECT_EQ(scalar("SELECT count(*) FROM command_data WHERE command_id = 41"), 1);
  EXPECT_EQ(scalar("SELECT seq FROM sqlite_sequence WHERE name = 'commands'"), 42);
  EXPECT_EQ(scalar("SELECT count(*) FROM sync_items WHERE state = 'applied'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v11'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'commands' AND name LIKE 'commands_%'"), 5);
  // The checks still refuse a state that is not one.
  s.reset();
  Database db(db_path(), OpenMode::read_write_create);
  EXPECT_THROW(db.exec("UPDATE sync_items SET state = 'lost'"), sqlite::SqliteError);
  EXPECT_THROW(db.exec("UPDATE commands SET status = 'lost'"), sqlite::SqliteError);
}

TEST_F(SqliteStoreTest, AnEmptyFileIsMigratedToTheCurrentSchemaInWalMode) {
  { std::ofstream(db_path()).flush(); }
  ASSERT_EQ(std::filesystem::file_size(db_path()), 0u);
  {
    auto s = open();
    EXPECT_EQ(s->integrity_check(), "ok");
    EXPECT_TRUE(test::read(*s, [](Reads& r) { return r.devices().all(); }).empty());
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
  EXPECT_THROW(sqlite::open_sqlite_store(sqlite::SqliteOptions{(dir_.path() / "no" / "such" / "zkpush.db").string()}),
               std::runtime_error);
  EXPECT_THROW(open_store("sqlite:" + (dir_.path() / "no" / "such" / "zkpush.db").string()), std::runtime_error);
}

TEST_F(SqliteStoreTest, IntegrityCheckReportsADamagedFile) {
  {
    auto s = open();
    std::vector<NewEvent> events;
    for (int i = 0; i < 2000; ++i) events.push_back(event("D1", i, "record " + std::to_string(i)));
    EXPECT_EQ(insert(*s, events).inserted, 2000);
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
    save(*s, device("D1"));
  }
  {
    Database db(db_path(), OpenMode::read_write_create);
    db.exec("UPDATE devices SET registry = 'not json' WHERE sn = 'D1'");
  }
  auto s = open();
  // A value the store cannot decode is a failure of the database (the same read may work once it is
  // repaired), never an empty answer.
  auto all = s->read_now([](Reads& r) { return r.devices().all(); });
  ASSERT_FALSE(all.ok());
  EXPECT_TRUE(all.error().transient);
  EXPECT_NE(all.error().message.find("not JSON"), std::string::npos) << all.error().message;
  auto one = s->read_now([](Reads& r) { return r.devices().get("D1"); });
  ASSERT_FALSE(one.ok());
  EXPECT_TRUE(one.error().transient);
  EXPECT_EQ(count_events(*s, ""), 0);  // the reader that failed is still usable
}

// ---- reads and the writer --------------------------------------------------------------------------

TEST_F(SqliteStoreTest, EveryReadSeesEveryAcknowledgedWrite) {
  // Reads reuse pooled connections with cached statements; a statement left open would pin an old
  // snapshot and a later read would miss what was just acknowledged.
  auto s = open();
  save(*s, device("D1"));
  for (int i = 1; i <= 40; ++i) {
    ASSERT_EQ(insert(*s, {event("D1", i, "r")}).inserted, 1);
    ASSERT_EQ(count_events(*s, "D1"), i);
    ASSERT_EQ(test::read(*s, [](Reads& r) { return r.events().list(EventFilter{"D1", 0, 0}); }).size(),
              static_cast<std::size_t>(i));
    Device d = device("D1");
    d.ip = "10.0.0." + std::to_string(i);
    save(*s, d);
    ASSERT_EQ(test::read(*s, [](Reads& r) { return r.devices().get("D1"); })->ip, d.ip);
  }
}

TEST_F(SqliteStoreTest, AnOpenReaderDoesNotBlockWritesOrHideThem) {
  auto s = open();
  save(*s, device("D1"));
  // Another connection holds a read transaction open, as a long API export would.
  Database reader(db_path(), OpenMode::read_only);
  reader.exec("BEGIN");
  Statement snapshot(reader, "SELECT count(*) FROM events");
  ASSERT_TRUE(snapshot.step());
  EXPECT_EQ(snapshot.column_int(0), 0);

  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(insert(*s, {event("D1", 1, "r")}).inserted, 1);
  // In rollback-journal mode the commit would wait for the reader (busy timeout, 5 s) and fail.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(count_events(*s, "D1"), 1);
  snapshot.reset();
  reader.exec("COMMIT");
}

TEST_F(SqliteStoreTest, ADeviceThatUsedEveryWireIdIsRefusedFurtherCommands) {
  {
    auto s = open();
    save(*s, device("D1"));
  }
  {
    // Devices read the id as a 32-bit signed number: this one is down to its last id.
    Database db(db_path(), OpenMode::read_write_create);
    db.exec("UPDATE devices SET next_wire_id = " + std::to_string(kMaxWireId) + " WHERE sn = 'D1'");
  }
  auto s = open();
  auto last = enqueue(*s, "D1", "GET OPTIONS A");
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(last->wire_id, kMaxWireId);
  auto more = enqueue(*s, "D1", "GET OPTIONS B");
  ASSERT_FALSE(more.ok());
  EXPECT_FALSE(more.error().transient);
  EXPECT_EQ(more.error().reason, Reason::conflict);
  EXPECT_EQ(test::read(*s, [](Reads& r) { return r.commands().pending_count("D1"); }), 1);
}

TEST_F(SqliteStoreTest, OpenStoreTakesSqliteUrlsAndBarePaths) {
  const std::string path = db_path();
  {
    auto s = open_store("sqlite:" + path);
    save(*s, device("D1"));
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  for (const std::string& url : {"sqlite:" + path, "sqlite://" + path, path}) {
    SCOPED_TRACE(url);
    auto s = open_store(url);
    EXPECT_EQ(test::read(*s, [](Reads& r) { return r.devices().count(); }), 1);
  }
  EXPECT_THROW(open_store("mysql://localhost/zkpush"), std::invalid_argument);
  // A PostgreSQL URL is taken; a server that is not there is a failure to open, with its reason.
  EXPECT_THROW(open_store("postgresql://127.0.0.1:1/zkpush?connect_timeout=2"), std::runtime_error);
  EXPECT_THROW(open_store("sqlite:"), std::invalid_argument);
  EXPECT_THROW(open_store(""), std::invalid_argument);
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
    auto store = sqlite::open_sqlite_store(sqlite::SqliteOptions{path});
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
      store->write([events](Transaction& tx) { return tx.events().insert(events); },
                   [&, batch](StoreResult<InsertCounts> r) {
                     if (r.ok()) report(Ack{1, batch});
                     --in_flight;
                   });
      if (batch % 7 == 0) {
        ++in_flight;
        store->write([c = command("K1", "GET OPTIONS A")](Transaction& tx) { return tx.commands().insert(c, kSqliteT0); },
                     [&](StoreResult<CommandRow> r) {
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
    save(*s, device("K1"));
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
  for (const auto& e : test::read(*s, [](Reads& r) { return r.events().list(EventFilter{"K1", 0, 0}); })) {
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
  auto commands = test::read(*s, [](Reads& r) { return r.commands().queued("K1", 0); });
  std::set<std::int64_t> stored_wire_ids;
  for (const auto& c : commands) stored_wire_ids.insert(c.wire_id);
  for (std::int64_t w : wire_ids) ASSERT_EQ(stored_wire_ids.count(w), 1u) << "wire id " << w;
  // The counter survived too: the next command gets an id above every one handed out.
  auto next = enqueue(*s, "K1", "GET OPTIONS B");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->wire_id, *wire_ids.rbegin());
}

// ---- concurrency -----------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, ConcurrentIngestQueueingAndDeliveryStayConsistent) {
  auto s = open();
  const std::vector<std::string> devices = {"C0", "C1", "C2", "C3"};
  for (const auto& sn : devices) save(*s, device(sn));

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
          auto r = s->write_now([&batch](Transaction& tx) { return tx.events().insert(batch); });
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
        auto r = enqueue(*s, devices[static_cast<std::size_t>((i + t) % 4)], "GET OPTIONS A");
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
      while (producing) deliver_all(kSqliteT0);
    });
  consumers.emplace_back([&] {  // a reader: counts only grow
    std::map<std::string, std::int64_t> last;
    while (producing) {
      for (const auto& sn : devices) {
        auto n = s->read_now([&sn](Reads& r) { return r.events().count(sn); });
        if (!n.ok() || *n < last[sn]) ++failures;
        if (n.ok()) last[sn] = *n;
      }
      // One snapshot: a command is either still queued or already sent, never both or neither.
      auto split = s->read_now([](Reads& r) {
        std::int64_t queued = 0;
        for (const auto& sn : {"C0", "C1", "C2", "C3"}) queued += static_cast<std::int64_t>(r.commands().queued(sn, 0).size());
        return std::pair<std::int64_t, std::int64_t>(queued, r.commands().pending_total());
      });
      if (!split.ok() || split->first > split->second) ++failures;
    }
  });

  for (auto& th : producers) th.join();
  producing = false;
  for (auto& th : consumers) th.join();
  deliver_all(kSqliteT0);  // whatever was queued after the consumers' last pass

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(inserted.load(), kEventThreads * kBatches * kPerBatch);
  EXPECT_EQ(duplicates.load(), kEventThreads * kBatches * kPerBatch);
  for (const auto& sn : devices) EXPECT_EQ(count_events(*s, sn), kBatches * kPerBatch);

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
  for (const auto& [sn, n] : test::read(*s, [](Reads& r) { return r.commands().pending_counts(); })) pending += n;
  EXPECT_EQ(pending, static_cast<std::int64_t>(enqueued.size()));
  for (const auto& c : enqueued) {
    auto row = get_command(*s, c.id);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, CommandStatus::sent);
    EXPECT_EQ(row->attempts, 1);  // delivered once: two deliveries never took the same command
  }
  EXPECT_EQ(s->integrity_check(), "ok");
}

}  // namespace
}  // namespace zkpush::storage
