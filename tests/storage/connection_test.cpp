// The statement cache of a connection and the pool of read connections.
#include "storage/sqlite/connection.hpp"

#include <gtest/gtest.h>

#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/read_pool.hpp"
#include "store_testing.hpp"

namespace zkpush::storage::sqlite {
namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "c.db").string();
    writer_ = std::make_unique<Database>(path_, OpenMode::read_write_create);
    configure_connection(*writer_, true);
    writer_->exec("CREATE TABLE t (v INTEGER)");
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Database> writer_;
};

TEST_F(ConnectionTest, TheSameSqlIsPreparedOnceAndReused) {
  Connection c(*writer_);
  Statement* first = nullptr;
  for (int i = 0; i < 3; ++i) {
    auto st = c.prepare("INSERT INTO t (v) VALUES (?1)");
    if (!first) first = &*st;
    EXPECT_EQ(&*st, first);
    st->bind(1, i);
    st->run();
  }
  auto count = c.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count->step());
  EXPECT_EQ(count->column_int(0), 3);
  EXPECT_EQ(c.cached(), 2u);
}

TEST_F(ConnectionTest, UsingAStatementThatIsStillLeasedIsABug) {
  Connection c(*writer_);
  auto outer = c.prepare("SELECT 1");
  EXPECT_THROW(c.prepare("SELECT 1"), std::logic_error);
  EXPECT_NO_THROW(c.prepare("SELECT 2"));
}

TEST_F(ConnectionTest, AnEndedLeaseReleasesItsReadSnapshot) {
  Database reader_db(path_, OpenMode::read_only);
  Connection reader(reader_db);
  auto count = [&] {
    auto st = reader.prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(st->step());
    return st->column_int(0);  // the lease ends here without stepping to the end
  };
  EXPECT_EQ(count(), 0);
  writer_->exec("INSERT INTO t (v) VALUES (1)");
  EXPECT_EQ(count(), 1);  // a statement left un-reset would still see the old snapshot
  // Bindings are cleared as well: a reused statement never carries a previous call's value.
  {
    auto st = reader.prepare("SELECT ?1 IS NULL");
    st->bind(1, 5);
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->column_int(0), 0);
  }
  auto st = reader.prepare("SELECT ?1 IS NULL");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->column_int(0), 1);
}

TEST_F(ConnectionTest, TheReadPoolReusesConnectionsAndKeepsFewIdle) {
  ReadPool pool(path_, 1);
  Connection* first = nullptr;
  {
    auto a = pool.acquire();
    first = &a.connection();
    auto st = a.connection().prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(st->step());
  }
  EXPECT_EQ(pool.idle(), 1u);
  {
    auto a = pool.acquire();
    EXPECT_EQ(&a.connection(), first);  // the same connection, its statements still cached
    EXPECT_EQ(a.connection().cached(), 1u);
    auto b = pool.acquire();  // a second concurrent reader gets its own
    EXPECT_NE(&b.connection(), first);
    EXPECT_EQ(pool.idle(), 0u);
  }
  EXPECT_EQ(pool.idle(), 1u);  // the cap: the other one was closed
}

TEST_F(ConnectionTest, ReadConnectionsCannotWrite) {
  ReadPool pool(path_, 2);
  auto r = pool.acquire();
  EXPECT_THROW(r.connection().db().exec("INSERT INTO t (v) VALUES (1)"), SqliteError);
}

}  // namespace
}  // namespace zkpush::storage::sqlite
