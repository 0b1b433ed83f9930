#include "storage/sqlite/backup.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/schema.hpp"

namespace zkpush::storage::sqlite {

namespace {

// "ok", or the lines quick_check reported.
std::string backup_quick_check(Database& db) {
  std::string problems;
  Statement st(db, "PRAGMA quick_check");
  while (st.step()) {
    std::string line = st.column_text(0);
    if (line == "ok") continue;
    problems += (problems.empty() ? "" : "\n") + line;
  }
  return problems.empty() ? "ok" : problems;
}

struct BackupHandle {
  sqlite3_backup* handle;
  ~BackupHandle() {
    if (handle != nullptr) sqlite3_backup_finish(handle);
  }
};

}  // namespace

DatabaseCopy copy_database(const std::string& source, const std::string& destination, int pages_per_step) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source, ec)) throw std::runtime_error(source + ": no database file there");
  if (std::filesystem::exists(destination, ec)) throw std::runtime_error(destination + ": already exists");
  Database from(source, OpenMode::read_only);
  from.exec("PRAGMA busy_timeout = 5000");
  auto to = std::make_unique<Database>(destination, OpenMode::read_write_create);
  // The snapshot every step reads (see the header): a read transaction begins at the first read.
  from.exec("BEGIN");
  {
    Statement st(from, "SELECT count(*) FROM sqlite_master");
    st.step();
  }
  DatabaseCopy copy;
  {
    BackupHandle backup{sqlite3_backup_init(to->handle(), "main", from.handle(), "main")};
    if (backup.handle == nullptr) throw SqliteError(sqlite3_errcode(to->handle()), std::string("backup: ") + sqlite3_errmsg(to->handle()));
    // Only the destination can be busy or locked (nobody else has it); a bounded number of retries
    // of such a step, then give up.
    int busy = 0;
    std::uint64_t step_limit = 0;  // known after the first step
    while (true) {
      const int rc = sqlite3_backup_step(backup.handle, pages_per_step);
      ++copy.steps;
      if (rc == SQLITE_DONE) break;
      if (step_limit == 0) {
        // A copy that restarted (which the held snapshot rules out) would take more steps than the
        // pages call for: bounded at four times as many, rather than copying forever.
        const auto pages = static_cast<std::uint64_t>(std::max(1, sqlite3_backup_pagecount(backup.handle)));
        step_limit = 4 * (pages / static_cast<std::uint64_t>(std::max(1, pages_per_step)) + 1) + 100;
      }
      if (copy.steps > step_limit) throw std::runtime_error("backup of " + source + ": the copy kept restarting; try again");
      if (rc == SQLITE_OK) continue;
      if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy < 100) {
        sqlite3_sleep(50);
        continue;
      }
      throw SqliteError(rc, std::string("backup of ") + source + ": " + sqlite3_errstr(rc));
    }
    const int rc = sqlite3_backup_finish(backup.handle);
    backup.handle = nullptr;
    if (rc != SQLITE_OK) throw SqliteError(rc, std::string("backup of ") + source + ": " + sqlite3_errmsg(to->handle()));
  }
  from.exec("COMMIT");
  // The copy carries the source's WAL mark in its header (page 1 is copied as it is), which the
  // connection that wrote it does not know of: reopened, it reads the mark, and switching to the
  // rollback journal rewrites it. One self-contained file, no -wal beside it.
  to.reset();
  Database copied(destination, OpenMode::read_write_create);
  copied.exec("PRAGMA journal_mode = DELETE");
  if (auto check = backup_quick_check(copied); check != "ok") {
    throw std::runtime_error("the copy of " + source + " fails its check: " + check);
  }
  copy.schema_version = schema_version(copied);
  copy.bytes = std::filesystem::file_size(destination);
  return copy;
}

DatabaseFacts inspect_database(const std::string& path) {
  Database db(path, OpenMode::read_only);
  DatabaseFacts facts;
  facts.schema_version = schema_version(db);
  facts.check = backup_quick_check(db);
  return facts;
}

int latest_schema_version() {
  const auto migrations = store_migrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

}  // namespace zkpush::storage::sqlite
