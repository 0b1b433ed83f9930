// `zkpush migrate` (docs/operations.md "Upgrades"), the real binary, on a SQLite data folder and on a
// PostgreSQL database of the test cluster: the schema created and brought to this build's version, a
// second run with nothing to do, a database newer than the binary refused (exit 1, nothing changed).
// With the PostgreSQL store, `backup` refuses and says what to use, and `audit verify --store` reads the
// chain from the database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/run_zkpush.hpp"
#include "storage/open_store.hpp"
#include "storage/postgres/database.hpp"
#include "storage/sqlite/database.hpp"
#include "support/postgres_cluster.hpp"

namespace zkpush::cli_test {
namespace {

class MigrateCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("zkpush-migrate-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Single quotes: the URL's ? and & reach the binary as they are.
  static std::string quoted(const std::string& url) { return "'" + url + "'"; }

  std::filesystem::path dir_;
};

TEST_F(MigrateCommand, BringsADataFolderToThisVersionOnce) {
  const int latest = storage::latest_store_schema_version();
  auto [status, out] = run_zkpush("migrate --data " + dir_.string(), true);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("schema migrated from version 0 to " + std::to_string(latest)), std::string::npos) << out;
  ASSERT_TRUE(std::filesystem::exists(dir_ / "zkpush.db"));
  std::tie(status, out) = run_zkpush("migrate --data " + dir_.string(), true);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("schema version " + std::to_string(latest) + ", nothing to do"), std::string::npos) << out;
}

TEST_F(MigrateCommand, RefusesADataFolderNewerThanTheBinary) {
  {
    storage::sqlite::Database db((dir_ / "zkpush.db").string(), storage::sqlite::OpenMode::read_write_create);
    db.exec("PRAGMA user_version = 999");
  }
  auto [status, out] = run_zkpush("migrate --data " + dir_.string(), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("newer than this zkpush"), std::string::npos) << out;
}

TEST_F(MigrateCommand, BringsAPostgresDatabaseToThisVersionOnce) {
  const std::string url = test::postgres_database_url(dir_.string());
  auto [status, out] = run_zkpush("migrate --store " + quoted(url), true);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("schema migrated from version 0 to 1"), std::string::npos) << out;
  std::tie(status, out) = run_zkpush("migrate --store " + quoted(url), true);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("schema version 1, nothing to do"), std::string::npos) << out;
  {
    storage::postgres::Connection c(url);
    auto st = c.prepare("SELECT count(*) FROM events");  // the schema is there
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int(0), 0);
  }

  // The audit log's chain, read from the database; empty and intact.
  std::tie(status, out) = run_zkpush("audit verify --store " + quoted(url), true);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("0 entries, chain intact"), std::string::npos) << out;

  // A database server's data is backed up with its own tools: zkpush says which, and writes nothing.
  const auto archive = dir_ / "backup.tar.gz";
  std::tie(status, out) = run_zkpush("backup --store " + quoted(url) + " " + archive.string(), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("pg_dump"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(archive));
  // The same from the environment, as a packaged service would have it.
  std::tie(status, out) = run_zkpush("backup " + archive.string(), true, "ZKPUSH_STORE=" + quoted(url));
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("pg_dump"), std::string::npos) << out;
}

TEST_F(MigrateCommand, RefusesAPostgresDatabaseNewerThanTheBinary) {
  const std::string url = test::postgres_database_url(dir_.string());
  ASSERT_EQ(run_zkpush("migrate --store " + quoted(url)).first, 0);
  {
    storage::postgres::Connection c(url);
    c.exec("INSERT INTO zkpush_schema (version, description) VALUES (99, 'from the future')");
  }
  auto [status, out] = run_zkpush("migrate --store " + quoted(url), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("newer than this zkpush"), std::string::npos) << out;
  // The password of a URL never reaches the output.
  std::tie(status, out) = run_zkpush("migrate --store 'postgresql://zkpush:s3cret-pw@127.0.0.1:1/none'", true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(out.find("s3cret-pw"), std::string::npos) << out;
}

}  // namespace
}  // namespace zkpush::cli_test
