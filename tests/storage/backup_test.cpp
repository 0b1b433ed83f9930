// The online copy behind `zkpush backup` (storage/sqlite/backup.hpp): it sees what was committed and
// nothing of a write transaction still open on another connection, is not held up by that writer
// (a copy one page a step finishes while the transaction stays open), and leaves one self-contained
// file (rollback journal, no -wal beside it) at the store's schema version. A copy taken while the
// real server commits is tests/cli/backup_command_test.cpp's round trip.
#include "storage/sqlite/backup.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/open_store.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"

namespace zkpush::storage::sqlite {
namespace {

class DatabaseCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zkpush-copy-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    source_ = (dir_ / "zkpush.db").string();
    // A real store file (every migration), then a table of our own written by a second connection.
    open_store("sqlite:" + source_);
    writer_ = std::make_unique<Database>(source_, OpenMode::read_write_create);
    configure_connection(*writer_, true);
    writer_->exec("CREATE TABLE copy_probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    // Enough rows for many pages, so that a copy one page a step takes many steps.
    writer_->exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO copy_probe(v) SELECT printf('%0200d', i) FROM n");
  }
  void TearDown() override {
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }
  static std::int64_t rows_in(const std::string& path) {
    Database db(path, OpenMode::read_only);
    Statement st(db, "SELECT count(*) FROM copy_probe");
    st.step();
    return st.column_int(0);
  }

  std::filesystem::path dir_;
  std::string source_;
  std::unique_ptr<Database> writer_;
};

TEST_F(DatabaseCopyTest, TakesTheCommittedStateWhileAWriteTransactionIsOpen) {
  writer_->exec("BEGIN IMMEDIATE");
  writer_->exec("INSERT INTO copy_probe(v) VALUES ('not committed')");
  const std::string copy = (dir_ / "copy.db").string();
  const auto result = copy_database(source_, copy, 1);  // one page per step: many steps
  writer_->exec("COMMIT");
  EXPECT_GT(result.steps, 10u);
  EXPECT_EQ(rows_in(copy), 2000);
  EXPECT_EQ(rows_in(source_), 2001);
  EXPECT_EQ(result.schema_version, latest_schema_version());
  EXPECT_EQ(result.bytes, std::filesystem::file_size(copy));
  // One file: no WAL beside it, and it says so in its header.
  EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
  Database db(copy, OpenMode::read_only);
  Statement mode(db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "delete");
  const auto facts = inspect_database(copy);
  EXPECT_EQ(facts.check, "ok");
  EXPECT_EQ(facts.schema_version, latest_schema_version());
}

TEST_F(DatabaseCopyTest, RefusesAnExistingDestinationAndAMissingSource) {
  const std::string copy = (dir_ / "copy.db").string();
  copy_database(source_, copy);
  EXPECT_THROW(copy_database(source_, copy), std::runtime_error);
  EXPECT_EQ(rows_in(copy), 2000);  // untouched
  EXPECT_THROW(copy_database((dir_ / "missing.db").string(), (dir_ / "other.db").string()), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing.db"));  // never created
}

}  // namespace
}  // namespace zkpush::storage::sqlite
