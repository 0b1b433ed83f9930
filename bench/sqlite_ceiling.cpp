// The raw-SQLite ceiling of `make bench`: how many event rows per second SQLite itself commits on
// this machine, with the server's own schema and connection settings, so the server's durable
// ingest can be read as a fraction of what the disk and SQLite allow.
//
// The database is set up by the store's own code (configure_connection + store_migrations): same
// events DDL and indexes, WAL, synchronous=FULL, so the ceiling cannot drift from the server when
// the schema changes. The inserts are plain sqlite3 calls with the server's INSERT statement, one
// transaction per batch, without the server's per-job SAVEPOINT, HTTP, parsing or callbacks.
//
//   zkpush_sqlite_ceiling --dir DIR [--batch 2048] [--batch 100] ... [--seconds 5] [--devices 1000]
//
// prints one JSON object: {"results": [{"batch", "rows", "commits", "seconds", "rows_per_s",
// "cpu_seconds", "runqueue_wait_seconds", "rows_per_cpu_s"}...]}. The rest of "seconds" is
// spent waiting for the disk (fsync, checkpoints).
// Each batch size gets a fresh database file in DIR.
#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/schema.hpp"

namespace {

namespace sq = zkpush::storage::sqlite;
using clock_type = std::chrono::steady_clock;

// The server's statement (src/storage/sqlite/events.cpp), so conflicts are checked the same way.
constexpr const char* kInsert =
    "INSERT INTO events (sn, log_index, record_hash, time_local, time_utc, pin, cardno, event, door, inout, "
    "verifytype, alarm_type, raw, source, received_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING";

struct Options {
  std::string dir;
  std::vector<int> batches;
  double seconds = 5;
  int devices = 1000;
};

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

// One event as the server stores an rtlog record: an index, the device's local time, a card swipe.
struct Row {
  std::string sn;
  std::int64_t index;
  std::string time_local;
  std::string cardno;
  std::string raw;
};

// CPU seconds of this process: on a shared machine the wall-clock rate drops with the other load,
// the rate per CPU second much less.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Seconds this (single-threaded) process spent runnable but waiting for a CPU (/proc/self/schedstat,
// second field, ns): with CPU time, tells a busy machine from a slow disk. 0 when unreadable.
double runqueue_wait_seconds() {
  std::FILE* f = std::fopen("/proc/self/schedstat", "r");
  if (f == nullptr) return 0;
  unsigned long long run = 0, wait = 0;
  const int n = std::fscanf(f, "%llu %llu", &run, &wait);
  std::fclose(f);
  return n == 2 ? static_cast<double>(wait) / 1e9 : 0;
}

Row make_row(std::int64_t n, int devices) {
  Row r;
  char buf[160];
  std::snprintf(buf, sizeof buf, "BEN%06d", static_cast<int>(n % devices) + 1);
  r.sn = buf;
  r.index = n / devices + 1;
  const std::int64_t s = n / devices;
  std::snprintf(buf, sizeof buf, "2026-01-%02d %02d:%02d:%02d", static_cast<int>(1 + s / 86400 % 28),
                static_cast<int>(s / 3600 % 24), static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  r.time_local = buf;
  r.cardno = std::to_string(100000 + n % 5000);
  r.raw = "time=" + r.time_local + "\tpin=" + std::to_string(n % 5000 + 1) + "\tcardno=" + r.cardno +
          "\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=4\tindex=" + std::to_string(r.index);
  return r;
}

nlohmann::json run_batch(const Options& o, int batch) {
  const std::string path = o.dir + "/ceiling-" + std::to_string(batch) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  {
    sq::Database setup(path, sq::OpenMode::read_write_create);
    sq::configure_connection(setup, true);
    sq::migrate(setup, sq::store_migrations());
  }
  sqlite3* db = nullptr;
  check(db, sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), "open");
  // PRAGMAs are per connection (synchronous is not stored in the file): set them as the server does.
  check(db, sqlite3_exec(db, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                             "PRAGMA synchronous = FULL",
                         nullptr, nullptr, nullptr),
        "pragmas");
  sqlite3_stmt* st = nullptr;
  check(db, sqlite3_prepare_v3(db, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr), "prepare");

  const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::int64_t n = 0;
  std::int64_t commits = 0;
  const auto start = clock_type::now();
  const double cpu_start = cpu_seconds();
  const double wait_start = runqueue_wait_seconds();
  const auto until = start + std::chrono::duration<double>(o.seconds);
  do {
    check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    for (int i = 0; i < batch; ++i, ++n) {
      const Row r = make_row(n, o.devices);
      sqlite3_bind_text(st, 1, r.sn.data(), static_cast<int>(r.sn.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, r.index);
      sqlite3_bind_null(st, 3);
      sqlite3_bind_text(st, 4, r.time_local.data(), static_cast<int>(r.time_local.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, now_unix - 3600);
      sqlite3_bind_text(st, 6, "1", 1, SQLITE_STATIC);
      sqlite3_bind_text(st, 7, r.cardno.data(), static_cast<int>(r.cardno.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 8, 0);
      sqlite3_bind_int64(st, 9, 1);
      sqlite3_bind_int64(st, 10, 0);
      sqlite3_bind_text(st, 11, "4", 1, SQLITE_STATIC);
      sqlite3_bind_null(st, 12);
      sqlite3_bind_text(st, 13, r.raw.data(), static_cast<int>(r.raw.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 14, "rtlog", 5, SQLITE_STATIC);
      sqlite3_bind_int64(st, 15, now_unix);
      check(db, sqlite3_step(st), "insert");
      sqlite3_reset(st);
    }
    check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
    ++commits;
  } while (clock_type::now() < until);
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  const double waited = runqueue_wait_seconds() - wait_start;

  sqlite3_stmt* count = nullptr;
  check(db, sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &count, nullptr), "prepare count");
  check(db, sqlite3_step(count), "count");
  const std::int64_t stored = sqlite3_column_int64(count, 0);
  sqlite3_finalize(count);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (stored != n) throw std::runtime_error("stored " + std::to_string(stored) + " rows of " + std::to_string(n));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  return {{"batch", batch},
          {"rows", n},
          {"commits", commits},
          {"seconds", seconds},
          {"rows_per_s", static_cast<double>(n) / seconds},
          {"cpu_seconds", cpu},
          {"runqueue_wait_seconds", waited},
          {"rows_per_cpu_s", cpu > 0 ? static_cast<double>(n) / cpu : 0.0}};
}

int usage(const char* why) {
  std::fprintf(stderr, "zkpush_sqlite_ceiling: %s\nusage: zkpush_sqlite_ceiling --dir DIR [--batch N]... "
                       "[--seconds S] [--devices N]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    char* end = nullptr;
    if (a == "--dir") {
      o.dir = v;
    } else if (a == "--batch") {
      const long b = std::strtol(v, &end, 10);
      if (*end != '\0' || b < 1 || b > 1000000) return usage("--batch: expected 1..1000000");
      o.batches.push_back(static_cast<int>(b));
    } else if (a == "--seconds") {
      o.seconds = std::strtod(v, &end);
      if (*end != '\0' || !(o.seconds > 0)) return usage("--seconds: expected a positive number");
    } else if (a == "--devices") {
      const long d = std::strtol(v, &end, 10);
      if (*end != '\0' || d < 1 || d > 999999) return usage("--devices: expected 1..999999");
      o.devices = static_cast<int>(d);
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  if (o.dir.empty()) return usage("--dir is required");
  if (o.batches.empty()) o.batches.push_back(2048);
  try {
    nlohmann::json results = nlohmann::json::array();
    for (int b : o.batches) results.push_back(run_batch(o, b));
    nlohmann::json out{{"seconds_per_batch_size", o.seconds}, {"devices", o.devices}, {"results", results}};
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zkpush_sqlite_ceiling: %s\n", e.what());
    return 1;
  }
  return 0;
}
