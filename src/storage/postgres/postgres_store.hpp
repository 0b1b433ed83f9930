// The PostgreSQL backend of the store (storage/store.hpp for the contract), for `--store postgres://…`.
//
// Writes: one writer thread per store owns a connection and groups the units of work queued while the
// previous group committed into one transaction, each in its own savepoint (a failing unit is undone
// alone), then commits once: with synchronous_commit on, the commit returns once the server has flushed
// its WAL, so a unit's `done` means durable, as with SQLite. Savepoints and their releases travel in the
// same round trip as the next one (RELEASE job; SAVEPOINT job).
// Reads: reader threads and the blocking reads check a connection out of a pool; each unit of work runs
// in one REPEATABLE READ READ ONLY transaction, one snapshot.
// A lost connection fails what was running on it (transient: devices retry) and is replaced at the
// next use; one found lost before a unit of work started on it (the server restarted, an idle session
// terminated) is replaced at once, so that no unit fails for what happened while nothing ran. Several
// stores (zkpush nodes) may share one database; the schema is migrated once, under an advisory lock
// (schema.hpp).
// The feed: a thread with a connection of its own LISTENs to what the schema's triggers NOTIFY at
// commit (a device's row, a device's commands, the message log) and hands other nodes' changes to the
// listener (watch); its own writer's are left out, the services' memory has them already. The same
// connection holds the lead (leads()): a session advisory lock, tried every second by a node without
// it (a node whose feed came back waits two seconds first, so that the lead does not bounce back to
// it), and checked by a query every second by the node holding it; a node whose connection fails stops
// leading at once, and the server frees the lock of a session it has lost, so another node takes over.
// The constructor returns once the feed listens (or its first attempt failed: the reconnection then
// reports resync), so that nothing committed after the store opened goes unreported: a change that
// arrives before watch() sets the listener (the services are loading their memory then) is reported
// as one resync once it is set, on the feed's thread like every other.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/postgres/database.hpp"
#include "storage/store.hpp"

namespace zkpush::storage::postgres {

struct PostgresOptions {
  std::string url;                 // postgres://user@host:port/db (or any libpq connection string)
  std::size_t max_group = 1024;    // writes per transaction at most
  std::size_t reader_threads = 2;  // threads running asynchronous reads
  std::size_t idle_readers = 8;    // idle read connections kept open
};

class PostgresStore final : public Store {
 public:
  // Connects, migrates the schema when it is older (under the advisory lock) and starts the threads.
  // Throws std::runtime_error with the reason (unreachable server, refused login, a newer schema).
  explicit PostgresStore(const PostgresOptions& options);
  // Completes every unit of work already submitted (their callbacks run), then disconnects.
  ~PostgresStore() override;

  std::string integrity_check() override;
  StoreResult<StoreStats> stats() override;
  void watch(ChangeListener listener) override;
  bool leads() const override { return leads_.load(); }

 protected:
  void submit_write(std::function<void(Transaction&)> job, Outcome done) override;
  void submit_read(std::function<void(Reads&)> job, Outcome done) override;
  std::optional<StoreError> run_read(const std::function<void(Reads&)>& job) override;

 private:
  struct Pending {
    std::function<void(Transaction&)> job;
    Outcome done;
  };
  void writer_loop();
  void commit_group(std::deque<Pending>& group);
  Connection& writer_connection();
  void reader_loop();
  std::unique_ptr<Connection> take_reader();
  void give_back(std::unique_ptr<Connection> c) noexcept;
  void feed_loop();
  void listen_once(Connection& c, bool returning);
  void tell(const Change& change);
  void feed_ready();

  PostgresOptions options_;
  std::string shown_url_;  // without the password

  // Writes.
  std::mutex write_mu_;
  std::condition_variable write_cv_;
  std::deque<Pending> write_queue_;
  bool write_stopping_ = false;
  std::uint64_t groups_ = 0, jobs_ = 0, failed_commits_ = 0;  // under write_mu_
  std::unique_ptr<Connection> writer_;                        // the writer thread's
  std::thread write_thread_;

  // Reads.
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
  struct ReadTask {
    std::function<void(Reads&)> job;
    Outcome done;
  };
  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<ReadTask> read_queue_;
  bool read_stopping_ = false;
  std::vector<std::thread> read_threads_;

  // The feed and the lead.
  std::atomic<int> writer_pid_{0};  // the writer connection's server process: its notifications are ours
  std::atomic<bool> leads_{false};
  std::atomic<bool> feed_stopping_{false};
  std::mutex feed_start_mu_;  // the constructor waits for the first LISTEN
  std::condition_variable feed_start_cv_;
  bool feed_started_ = false;
  // The listener is a shared copy, so that a callback may replace it (watch(nullptr) from inside one)
  // without destroying the function running. tell() holds call_mu_ while calling it: watch() from
  // another thread returns only once a callback of the old listener has finished.
  std::mutex listener_mu_;
  std::shared_ptr<const ChangeListener> listener_;
  std::mutex call_mu_;
  std::atomic<bool> missed_{false};  // a change arrived while nobody listened
  std::thread feed_thread_;
};

// Opens the PostgreSQL store. Throws std::runtime_error.
std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options);

// `zkpush migrate`: brings the database at `url` to this program's schema, under the advisory lock.
// Returns the versions before and after. Throws std::runtime_error.
struct MigrationOutcome {
  int from = 0;
  int to = 0;
};
MigrationOutcome migrate_postgres(const std::string& url);

}  // namespace zkpush::storage::postgres
