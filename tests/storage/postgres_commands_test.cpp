// The PostgreSQL command queue where the contract suites cannot reach: a device down to its last
// wire id (the counter set by hand), and a second writer on the same database queueing for the same
// counter while the first holds it. The second is what several nodes sharing one database will do;
// the wire ids must still never repeat for a device, nor among a master and its sub-controllers,
// whose ids come from the master's counter (no unique index spans them).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "storage/postgres/commands.hpp"
#include "storage/postgres/database.hpp"
#include "storage/store.hpp"
#include "storage/wire_ids.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

constexpr std::int64_t kPgQueueT0 = 1700000000;

NewCommand pg_queue_command(const std::string& sn, const std::string& line) {
  NewCommand c;
  c.sn = sn;
  c.line = line;
  c.verb = line.substr(0, line.find(' '));
  c.created_at = kPgQueueT0;
  return c;
}

class PostgresCommandQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::postgres_url(dir_.path());
    store_ = open_store(url_);
  }
  void save(const std::string& sn) {
    test::write(*store_, [sn](Transaction& tx) {
      Device d;
      d.sn = sn;
      d.approved = true;
      tx.devices().save(d);
    });
  }
  StoreResult<CommandRow> enqueue(const std::string& sn, const std::string& line) {
    return store_->write_now([c = pg_queue_command(sn, line)](Transaction& tx) {
      return tx.commands().insert(c, kPgQueueT0);
    });
  }
  // Queues through the store while `other` holds a transaction that queued for the same counter:
  // waits until the store's statement waits for that transaction's row lock, then commits it.
  StoreResult<CommandRow> enqueue_behind(postgres::Connection& other, const std::string& sn) {
    auto pending = std::async(std::launch::async, [this, sn] { return enqueue(sn, "GET OPTIONS B"); });
    postgres::Connection watcher(url_);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto st = watcher.prepare(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      st.step();
      if (st.column_int(0) > 0) break;
      if (std::chrono::steady_clock::now() > give_up) {
        ADD_FAILURE() << "the store's insert never waited for the other writer's lock";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    other.exec("COMMIT");
    return pending.get();
  }

  testing::TempDir dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_F(PostgresCommandQueue, ADeviceThatUsedEveryWireIdIsRefusedFurtherCommands) {
  save("D1");
  {
    // Devices read the id as a 32-bit signed number: this one is down to its last id.
    postgres::Connection c(url_);
    c.prepare("UPDATE devices SET next_wire_id = $1 WHERE sn = 'D1'").bind(1, kMaxWireId).run();
  }
  auto last = enqueue("D1", "GET OPTIONS A");
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(last->wire_id, kMaxWireId);
  for (int i = 0; i < 2; ++i) {
    auto more = enqueue("D1", "GET OPTIONS B");
    ASSERT_FALSE(more.ok());
    EXPECT_FALSE(more.error().transient);
    EXPECT_EQ(more.error().reason, StoreError::Reason::conflict);
  }
  EXPECT_EQ(test::read(*store_, [](Reads& r) { return r.commands().pending_count("D1"); }), 1);
}

TEST_F(PostgresCommandQueue, AWriterQueueingForADeviceAnotherHoldsTakesTheNextWireId) {
  save("D1");
  auto first = enqueue("D1", "GET OPTIONS A");
  ASSERT_TRUE(first.ok()) << first.error().message;
  postgres::Connection other(url_);
  other.exec("BEGIN");
  auto theirs = postgres::commands::insert(other, pg_queue_command("D1", "GET OPTIONS X"), kPgQueueT0);
  EXPECT_EQ(theirs.wire_id, first->wire_id + 1);
  auto mine = enqueue_behind(other, "D1");
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  EXPECT_EQ(mine->wire_id, first->wire_id + 2);
  EXPECT_EQ(test::read(*store_, [](Reads& r) { return r.commands().pending_count("D1"); }), 3);
}

TEST_F(PostgresCommandQueue, AWriterQueueingForASubControllerWaitsForItsMastersCounter) {
  save("M1");
  save("S1");
  test::write(*store_, [](Transaction& tx) {
    SubController s;
    s.sn = "S1";
    s.master_sn = "M1";
    s.online = true;
    s.first_seen = s.last_seen = kPgQueueT0;
    tx.devices().save_sub_controller(s);
  });
  postgres::Connection other(url_);
  other.exec("BEGIN");
  auto master = postgres::commands::insert(other, pg_queue_command("M1", "GET OPTIONS X"), kPgQueueT0);
  EXPECT_EQ(master.wire_id, first_wire_id(kPgQueueT0));
  // Another serial number: no unique index would catch a repeated id, only the counter's lock.
  auto sub = enqueue_behind(other, "S1");
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  EXPECT_EQ(sub->wire_id, master.wire_id + 1);
}

}  // namespace
}  // namespace zkpush::storage
