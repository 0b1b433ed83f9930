#include "storage/sqlite/sqlite_store.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "storage/sqlite/commands.hpp"
#include "storage/sqlite/device_data.hpp"
#include "storage/sqlite/devices.hpp"
#include "storage/sqlite/door_state.hpp"
#include "storage/sqlite/events.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/view.hpp"
#include "storage/sqlite/schema.hpp"

namespace zkpush::storage::sqlite {

namespace {

// Idle read connections kept open (with their prepared statements): the reader threads, and the
// callers of the blocking reads.
constexpr std::size_t kIdleReaders = 8;

std::unique_ptr<Database> open_writer_connection(const std::string& path) {
  auto db = std::make_unique<Database>(path, OpenMode::read_write_create);
  configure_connection(*db, true);
  {
    // Readers never block the writer only in WAL mode; a file system that cannot do WAL (no shared
    // memory) would silently keep the rollback journal, so check.
    Statement st(*db, "PRAGMA journal_mode");
    if (!st.step() || st.column_text(0) != "wal")
      throw std::runtime_error("the database could not be switched to WAL mode");
  }
  migrate(*db, store_migrations());
  return db;
}

void check_integrity(Database& db, std::string& problems) {
  {
    Statement st(db, "PRAGMA integrity_check");
    while (st.step()) {
      std::string line = st.column_text(0);
      if (line == "ok") continue;
      if (!problems.empty()) problems += '\n';
      problems += line;
    }
  }
  // Also the foreign keys: integrity_check does not look at them.
  Statement st(db, "PRAGMA foreign_key_check");
  while (st.step()) {
    if (!problems.empty()) problems += '\n';
    problems += "foreign key: " + st.column_text(0) + " row " + st.column_text(1) + " refers to a missing " +
                st.column_text(2) + " row";
  }
}

// SQLite says "unable to open database file" for most reasons a database cannot be opened for
// writing; what an operator needs is why. The folder is checked directly: SQLite's last OS error
// is often a harmless probe (a missing -wal file) rather than the cause.
std::string folder_diagnosis(const std::string& db_path) {
  std::string folder = std::filesystem::path(db_path).parent_path().string();
  if (folder.empty()) folder = ".";
  struct statvfs fs {};
  if (::statvfs(folder.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) {
    return " (" + folder + " is on a read-only file system)";
  }
  if (::access(folder.c_str(), W_OK) != 0) return " (" + folder + ": " + std::generic_category().message(errno) + ")";
  return "";
}

}  // namespace

SqliteStore::SqliteStore(const SqliteOptions& options) : path_(options.path) {
  try {
    auto db = open_writer_connection(path_);
    readers_ = std::make_unique<ReadPool>(path_, kIdleReaders);
    writer_ = std::make_unique<Writer>(std::move(db), Writer::Options{options.max_group});
  } catch (const std::exception& e) {
    throw std::runtime_error("opening the store " + path_ + ": " + e.what() + folder_diagnosis(path_));
  }
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.reader_threads); ++i)
    read_threads_.emplace_back([this] { reader_loop(); });
}

SqliteStore::~SqliteStore() {
  {
    // Reads already queued still run (their callbacks answer someone); then the threads end.
    std::lock_guard lock(read_mu_);
    read_stopping_ = true;
  }
  read_cv_.notify_all();
  for (auto& t : read_threads_) t.join();
  // Writes are in order: this job runs after every write already submitted. It finalizes the
  // writer's statements on the writer thread, where they belong.
  writer_->run([this](Database&) { write_connection_.reset(); });
  // Readers first, so that the writer's connection is the last to close: SQLite then checkpoints the
  // WAL into the database file and removes it.
  readers_.reset();
  writer_.reset();
}

Connection& SqliteStore::write_connection(Database& db) {
  if (!write_connection_) write_connection_ = std::make_unique<Connection>(db);
  return *write_connection_;
}

void SqliteStore::submit_write(std::function<void(Transaction&)> job, Outcome done) {
  // The job runs on the writer thread inside the group's transaction, in its own savepoint; its
  // outcome is reported only once the group has committed.
  auto reason = std::make_shared<StoreError::Reason>(StoreError::Reason::none);
  writer_->submit(
      [this, reason, job = std::move(job)](Database& db) {
        View view(write_connection(db));
        try {
          job(view);
        } catch (const Refused& r) {
          *reason = r.reason();
          throw;  // the Writer rolls this job's savepoint back
        }
      },
      [reason, done = std::move(done)](const WriteOutcome& outcome) {
        if (!done) return;
        if (outcome.ok) return done(std::nullopt);
        done(StoreError{outcome.transient, outcome.error, *reason});
      });
}

std::optional<StoreError> SqliteStore::run_read(const std::function<void(Reads&)>& job) {
  try {
    auto reader = readers_->acquire();
    // One snapshot for the whole unit of work (a device and its options, a command and its data).
    ReadTransaction tx(reader.connection().db());
    View view(reader.connection());
    job(view);
    return std::nullopt;
  } catch (const Refused& r) {
    return StoreError{false, r.what(), r.reason()};
  } catch (const std::runtime_error& e) {
    // SQLite errors and stored values that cannot be decoded: the database cannot be read now.
    return StoreError{true, "reading " + path_ + ": " + e.what()};
  }
}

void SqliteStore::submit_read(std::function<void(Reads&)> job, Outcome done) {
  {
    std::lock_guard lock(read_mu_);
    read_queue_.push_back(ReadTask{std::move(job), std::move(done)});
  }
  read_cv_.notify_one();
}

void SqliteStore::reader_loop() {
  for (;;) {
    ReadTask task;
    {
      std::unique_lock lock(read_mu_);
      read_cv_.wait(lock, [this] { return read_stopping_ || !read_queue_.empty(); });
      if (read_queue_.empty()) return;  // stopping, and nothing left
      task = std::move(read_queue_.front());
      read_queue_.pop_front();
    }
    auto error = run_read(task.job);
    if (task.done) task.done(std::move(error));
  }
}

// ---- maintenance -------------------------------------------------------------------------------------

std::string SqliteStore::integrity_check() {
  try {
    auto reader = readers_->acquire();
    std::string problems;
    try {
      check_integrity(reader.connection().db(), problems);
    } catch (const SqliteError& e) {
      // Damage bad enough to stop the check itself (a page header destroyed) is its answer too.
      if (!problems.empty()) problems += '\n';
      problems += e.what();
    }
    return problems.empty() ? std::string("ok") : problems;
  } catch (const std::exception& e) {
    return std::string("cannot check ") + path_ + ": " + e.what();
  }
}

StoreResult<StoreStats> SqliteStore::stats() {
  auto counts = read_now([](Reads& r) {
    StoreStats s;
    s.devices = r.devices().count();
    s.events = r.events().count("");
    s.queued_commands = r.commands().pending_total();
    return s;
  });
  if (!counts.ok()) return counts;
  StoreStats s = counts.value();
  Writer::Stats w = writer_->stats();
  s.write_groups = w.groups;
  s.write_jobs = w.jobs;
  s.failed_commits = w.failed_commits;
  s.write_queue = writer_->queued();
  return s;
}

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options) { return std::make_unique<SqliteStore>(options); }

}  // namespace zkpush::storage::sqlite
