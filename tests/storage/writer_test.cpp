#include "storage/sqlite/writer.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "storage/sqlite/migrations.hpp"

namespace zkpush::storage::sqlite {
namespace {

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zkpush-writer-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
    auto db = std::make_unique<Database>(path_, OpenMode::read_write_create);
    configure_connection(*db, true);
    db->exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE);"
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);");
    writer_ = std::make_unique<Writer>(std::move(db));
  }
  void TearDown() override {
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Counts rows through a separate connection: what another process would see on disk.
  std::int64_t count(const char* table) {
    Database reader(path_, OpenMode::read_only);
    Statement st(reader, std::string("SELECT count(*) FROM ") + table);
    st.step();
    return st.column_int(0);
  }

  static Writer::Job insert(std::string v) {
    return [v = std::move(v)](Database& db) { Statement(db, "INSERT INTO t(v) VALUES(?)").bind(1, v).run(); };
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(WriterTest, CompletionMeansCommittedAndVisibleToOtherConnections) {
  WriteOutcome o = writer_->run(insert("a"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(count("t"), 1);
}

TEST_F(WriterTest, JobsQueuedDuringACommitShareOneTransaction) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> blocked;
  writer_->submit([&](Database&) { blocked.set_value(); gate.wait(); }, nullptr);
  blocked.get_future().wait();  // the writer is now inside the first group

  constexpr int kJobs = 200;
  std::atomic<int> ok{0};
  std::vector<std::promise<void>> done(kJobs);
  for (int i = 0; i < kJobs; ++i)
    writer_->submit(insert("v" + std::to_string(i)), [&, i](const WriteOutcome& o) {
      if (o.ok) ++ok;
      done[i].set_value();
    });
  release.set_value();
  for (auto& d : done) d.get_future().wait();

  EXPECT_EQ(ok.load(), kJobs);
  EXPECT_EQ(count("t"), kJobs);
  Writer::Stats s = writer_->stats();
  EXPECT_EQ(s.jobs, 1u + kJobs);
  EXPECT_EQ(s.groups, 2u);  // the blocking job alone, then all 200 together
}

TEST_F(WriterTest, AFailingJobIsRolledBackAloneAndTheOthersCommit) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  writer_->submit([gate](Database&) { gate.wait(); }, nullptr);

  std::vector<std::future<WriteOutcome>> results;
  auto submit = [&](Writer::Job job) {
    auto p = std::make_shared<std::promise<WriteOutcome>>();
    results.push_back(p->get_future());
    writer_->submit(std::move(job), [p](const WriteOutcome& o) { p->set_value(o); });
  };
  submit(insert("x"));
  submit([](Database& db) {  // writes a row, then violates UNIQUE: both must vanish
    Statement(db, "INSERT INTO t(v) VALUES('y')").run();
    Statement(db, "INSERT INTO t(v) VALUES('x')").run();
  });
  submit([](Database&) { throw std::runtime_error("handler bug"); });
  submit(insert("z"));
  release.set_value();

  EXPECT_TRUE(results[0].get().ok);
  WriteOutcome dup = results[1].get();
  EXPECT_FALSE(dup.ok);
  EXPECT_FALSE(dup.transient);  // the data is wrong, not the disk
  WriteOutcome bug = results[2].get();
  EXPECT_FALSE(bug.ok);
  EXPECT_EQ(bug.error, "handler bug");
  EXPECT_TRUE(results[3].get().ok);
  EXPECT_EQ(count("t"), 2);  // x and z; not y
}

TEST_F(WriterTest, ACommitThatFailsFailsEveryJobOfTheGroup) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  // The three jobs must be queued while the gate's group runs, not taken into it: wait until it runs.
  auto running = std::make_shared<std::promise<void>>();
  auto started = running->get_future();
  writer_->submit([gate, running](Database&) {
    running->set_value();
    gate.wait();
  }, nullptr);
  started.wait();
  std::vector<std::future<WriteOutcome>> results;
  for (int i = 0; i < 3; ++i) {
    auto p = std::make_shared<std::promise<WriteOutcome>>();
    results.push_back(p->get_future());
    Writer::Job job = i == 1 ? Writer::Job([](Database& db) {
      // A deferred foreign key is only checked at COMMIT, which then fails for the whole group.
      Statement(db, "INSERT INTO child(parent) VALUES(42)").run();
    })
                             : insert("g" + std::to_string(i));
    writer_->submit(std::move(job), [p](const WriteOutcome& o) { p->set_value(o); });
  }
  release.set_value();
  for (auto& r : results) {
    WriteOutcome o = r.get();
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.transient);
  }
  EXPECT_EQ(count("t"), 0);
  EXPECT_EQ(writer_->stats().failed_commits, 1u);
  // The writer goes on working after a failed group.
  EXPECT_TRUE(writer_->run(insert("after")).ok);
  EXPECT_EQ(count("t"), 1);
}

TEST(SqliteErrorTest, FailuresOfTheDatabaseAreTransientFailuresOfTheDataAreNot) {
  for (int code : {SQLITE_FULL, SQLITE_IOERR, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_BUSY, SQLITE_LOCKED,
                   SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_NOMEM, SQLITE_CORRUPT, SQLITE_NOTADB})
    EXPECT_TRUE(SqliteError(code, "").is_transient()) << code;
  for (int code : {SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_MISMATCH,
                   SQLITE_TOOBIG, SQLITE_ERROR, SQLITE_RANGE})
    EXPECT_FALSE(SqliteError(code, "").is_transient()) << code;
}

TEST_F(WriterTest, AFullDatabaseIsTransientAndBadDataIsNot) {
  // A full disk, for real: this connection may not grow the file past its current size.
  ASSERT_TRUE(writer_->run([](Database& db) {
    Statement st(db, "PRAGMA page_count");
    st.step();
    db.exec("PRAGMA max_page_count = " + std::to_string(st.column_int(0)));
  }).ok);
  WriteOutcome full = writer_->run([](Database& db) {
    Statement(db, "INSERT INTO t(v) VALUES(hex(randomblob(200000)))").run();
  });
  EXPECT_FALSE(full.ok);
  EXPECT_TRUE(full.transient) << full.error;  // devices are asked to retry (503)

  ASSERT_TRUE(writer_->run(insert("dup")).ok);
  WriteOutcome dup = writer_->run(insert("dup"));
  EXPECT_FALSE(dup.ok);
  EXPECT_FALSE(dup.transient) << dup.error;

  ASSERT_TRUE(writer_->run([](Database& db) { db.exec("PRAGMA max_page_count = 1000000"); }).ok);
  EXPECT_TRUE(writer_->run([](Database& db) {
    Statement(db, "INSERT INTO t(v) VALUES(hex(randomblob(200000)))").run();
  }).ok);
}

TEST_F(WriterTest, ManyThreadsAllAcknowledgedWritesAreOnDisk) {
  constexpr int kThreads = 8, kPerThread = 150;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        if (writer_->run(insert(std::to_string(t) + ":" + std::to_string(i))).ok) ++acknowledged;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(acknowledged.load(), kThreads * kPerThread);
  EXPECT_EQ(count("t"), kThreads * kPerThread);
}

TEST_F(WriterTest, DestructionFinishesQueuedJobs) {
  std::atomic<int> completed{0};
  for (int i = 0; i < 50; ++i)
    writer_->submit(insert("d" + std::to_string(i)), [&](const WriteOutcome& o) { completed += o.ok; });
  writer_.reset();
  EXPECT_EQ(completed.load(), 50);
  EXPECT_EQ(count("t"), 50);
}

TEST(Migrations, AppliedOnceInOrderAndNewerDatabasesAreRefused) {
  auto path = (std::filesystem::temp_directory_path() / ("zkpush-migr-" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  static constexpr Migration v2[] = {
      {1, "a", "CREATE TABLE a(x);"},
      {2, "b", "CREATE TABLE b(x);"},
  };
  {
    Database db(path, OpenMode::read_write_create);
    migrate(db, std::span(v2).first(1));
    EXPECT_EQ(schema_version(db), 1);
    migrate(db, v2);
    EXPECT_EQ(schema_version(db), 2);
    migrate(db, v2);  // idempotent
    EXPECT_EQ(schema_version(db), 2);
    EXPECT_THROW(migrate(db, std::span(v2).first(1)), SqliteError);  // downgrade refused
  }
  {
    static constexpr Migration broken[] = {
        {1, "a", "CREATE TABLE a(x);"}, {2, "b", "CREATE TABLE b(x);"}, {3, "bad", "CREATE TABLE c(x); SELEC nonsense;"}};
    Database db(path, OpenMode::read_write_create);
    EXPECT_THROW(migrate(db, broken), SqliteError);
    EXPECT_EQ(schema_version(db), 2);  // the failed migration left nothing behind
    Statement st(db, "SELECT count(*) FROM sqlite_master WHERE name='c'");
    st.step();
    EXPECT_EQ(st.column_int(0), 0);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace zkpush::storage::sqlite
