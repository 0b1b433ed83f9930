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

#include "storage/sqlite/commands.hpp"
#include "storage/sqlite/device_data.hpp"
#include "storage/sqlite/devices.hpp"
#include "storage/sqlite/door_state.hpp"
#include "storage/sqlite/events.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/rejection.hpp"
#include "storage/sqlite/schema.hpp"

namespace zkpush::storage::sqlite {

namespace {

// Idle read connections kept open (with their prepared statements): about the server's I/O threads.
constexpr std::size_t kIdleReaders = 8;

std::int64_t wall_clock() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  if (::access(folder.c_str(), W_OK) != 0) return " (" + folder + ": " + std::strerror(errno) + ")";
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
}

SqliteStore::~SqliteStore() {
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

template <class T, class Job>
void SqliteStore::write(Job job, Reply<T> done) {
  // The job runs on the writer thread inside the group's transaction; its value is handed to the
  // callback only once the group has committed.
  struct State {
    std::optional<T> value;
    StoreError::Reason reason = StoreError::Reason::none;
  };
  auto state = std::make_shared<State>();
  writer_->submit(
      [this, state, job = std::move(job)](Database& db) {
        try {
          state->value.emplace(job(write_connection(db)));
        } catch (const Rejection& r) {
          state->reason = r.reason();
          throw;  // the Writer rolls this job's savepoint back
        }
      },
      [state, done = std::move(done)](const WriteOutcome& outcome) {
        if (!done) return;
        if (outcome.ok && state->value)
          done(StoreResult<T>(std::move(*state->value)));
        else
          done(StoreResult<T>(StoreError{outcome.transient, outcome.ok ? "the write produced no result" : outcome.error,
                                         state->reason}));
      });
}

template <class Job>
void SqliteStore::write_status(Job job, Done done) {
  write<Unit>(
      [job = std::move(job)](Connection& c) {
        job(c);
        return Unit{};
      },
      std::move(done));
}

template <class F>
auto SqliteStore::read(F&& f) {
  try {
    auto reader = readers_->acquire();
    return f(reader.connection());
  } catch (const std::runtime_error& e) {
    // SQLite errors and stored values that cannot be decoded: the database cannot be read.
    throw StoreUnavailable("reading " + path_ + ": " + e.what());
  }
}

// ---- devices -----------------------------------------------------------------------------------------

std::vector<Device> SqliteStore::load_devices() {
  return read([](Connection& c) { return devices::load_all(c); });
}

std::optional<Device> SqliteStore::get_device(const std::string& sn) {
  return read([&](Connection& c) { return devices::get(c, sn); });
}

void SqliteStore::save_device(Device device, Done done) {
  write_status([device = std::move(device)](Connection& c) { devices::save(c, device); }, std::move(done));
}

void SqliteStore::update_device_settings(std::string sn, DeviceSettings settings, Done done) {
  write_status([sn = std::move(sn), settings = std::move(settings)](
                   Connection& c) { devices::update_settings(c, sn, settings); },
               std::move(done));
}

void SqliteStore::merge_options(std::string sn, protocol::Record options, std::string source, std::int64_t now,
                                Done done) {
  write_status(
      [sn = std::move(sn), options = std::move(options), source = std::move(source), now](Connection& c) {
        devices::merge_options(c, sn, options, source, now);
      },
      std::move(done));
}

void SqliteStore::touch_devices(std::vector<DevicePresence> presence, Done done) {
  write_status([presence = std::move(presence)](Connection& c) { devices::touch(c, presence); }, std::move(done));
}

// ---- events ------------------------------------------------------------------------------------------

void SqliteStore::insert_events(std::vector<NewEvent> events, Reply<InsertCounts> done) {
  write<InsertCounts>([events = std::move(events)](Connection& c) { return events::insert(c, events); },
                      std::move(done));
}

std::vector<EventRow> SqliteStore::list_events(const EventFilter& filter) {
  return read([&](Connection& c) { return events::list(c, filter); });
}

std::int64_t SqliteStore::count_events(const std::string& sn) {
  return read([&](Connection& c) { return events::count(c, sn); });
}

// ---- door state --------------------------------------------------------------------------------------

void SqliteStore::put_door_state(DoorStateUpdate update, Done done) {
  write_status([update = std::move(update)](Connection& c) { door_state::put(c, update); }, std::move(done));
}

std::optional<DoorStateUpdate> SqliteStore::get_door_state(const std::string& sn) {
  return read([&](Connection& c) { return door_state::get(c, sn); });
}

std::vector<DoorStateUpdate> SqliteStore::list_door_history(const std::string& sn, std::int64_t limit) {
  return read([&](Connection& c) { return door_state::history(c, sn, limit); });
}

// ---- device records and logs -------------------------------------------------------------------------

void SqliteStore::put_device_records(std::vector<DeviceRecord> records, Reply<InsertCounts> done) {
  write<InsertCounts>([records = std::move(records)](Connection& c) { return device_data::put_records(c, records); },
                      std::move(done));
}

std::vector<DeviceRecord> SqliteStore::list_device_records(const std::string& sn, const std::string& table,
                                                           std::int64_t limit) {
  return read([&](Connection& c) { return device_data::list_records(c, sn, table, limit); });
}

void SqliteStore::append_device_log(std::vector<DeviceLogEntry> entries, Done done) {
  write_status([entries = std::move(entries)](Connection& c) { device_data::append_log(c, entries); },
               std::move(done));
}

std::vector<DeviceLogEntry> SqliteStore::list_device_log(const std::string& sn, const std::string& kind,
                                                         std::int64_t limit) {
  return read([&](Connection& c) { return device_data::list_log(c, sn, kind, limit); });
}

// ---- commands ----------------------------------------------------------------------------------------

void SqliteStore::enqueue_command(NewCommand command, Reply<CommandRow> done) {
  write<CommandRow>(
      [command = std::move(command)](Connection& c) { return commands::enqueue(c, command, wall_clock()); },
      std::move(done));
}

void SqliteStore::take_for_delivery(DeliveryRequest request, Reply<std::vector<CommandRow>> done) {
  write<std::vector<CommandRow>>(
      [request = std::move(request)](Connection& c) { return commands::take_for_delivery(c, request); },
      std::move(done));
}

void SqliteStore::record_results(std::string sn, std::vector<ResultUpdate> results,
                                 Reply<std::vector<CommandRow>> done) {
  write<std::vector<CommandRow>>(
      [sn = std::move(sn), results = std::move(results)](Connection& c) {
        return commands::record_results(c, sn, results);
      },
      std::move(done));
}

void SqliteStore::add_command_data(CommandData data, Done done) {
  write_status([data = std::move(data)](Connection& c) { commands::add_data(c, data); }, std::move(done));
}

void SqliteStore::cancel_command(std::int64_t id, Reply<CommandRow> done) {
  write<CommandRow>([id](Connection& c) { return commands::cancel(c, id, wall_clock()); }, std::move(done));
}

std::optional<CommandRow> SqliteStore::get_command(std::int64_t id) {
  return read([&](Connection& c) { return commands::get(c, id); });
}

std::optional<CommandRow> SqliteStore::find_command(const std::string& sn, std::int64_t wire_id) {
  return read([&](Connection& c) { return commands::find(c, sn, wire_id); });
}

std::vector<CommandData> SqliteStore::get_command_data(std::int64_t id) {
  return read([&](Connection& c) { return commands::data(c, id); });
}

std::vector<std::pair<std::string, std::int64_t>> SqliteStore::pending_counts() {
  return read([](Connection& c) { return commands::pending_counts(c); });
}

// ---- maintenance -------------------------------------------------------------------------------------

std::string SqliteStore::integrity_check() {
  return read([](Connection& c) {
    std::string problems;
    try {
      check_integrity(c.db(), problems);
    } catch (const SqliteError& e) {
      // Damage bad enough to stop the check itself (a page header destroyed) is its answer too.
      if (!problems.empty()) problems += '\n';
      problems += e.what();
    }
    return problems.empty() ? std::string("ok") : problems;
  });
}

StoreStats SqliteStore::stats() {
  StoreStats s = read([](Connection& c) {
    ReadTransaction tx(c.db());
    StoreStats s;
    s.devices = devices::count(c);
    s.events = events::count(c, "");
    s.queued_commands = commands::pending_total(c);
    return s;
  });
  Writer::Stats w = writer_->stats();
  s.write_groups = w.groups;
  s.write_jobs = w.jobs;
  s.failed_commits = w.failed_commits;
  s.write_queue = writer_->queued();
  return s;
}

}  // namespace zkpush::storage::sqlite

namespace zkpush::storage {

std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options) {
  return std::make_unique<sqlite::SqliteStore>(options);
}

}  // namespace zkpush::storage
