// The SQLite backend of the store (storage/store.hpp for the contract).
//
// Writes are units of work on the group-commit Writer (writer.hpp), which owns the only read-write
// connection; each runs in its own savepoint inside the group's transaction. Reads run on a few
// reader threads of their own (never the caller's), each unit of work in one read transaction over a
// connection from the pool (read_pool.hpp); in WAL mode readers neither wait for the writer nor make
// it wait. The SQL of each area lives in its own file; view.hpp puts them together.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/read_pool.hpp"
#include "storage/sqlite/writer.hpp"
#include "storage/store.hpp"

namespace zkpush::storage::sqlite {

struct SqliteOptions {
  std::string path;              // the database file, e.g. <data>/zkpush.db
  std::size_t max_group = 2048;  // writes per transaction (group commit) at most
  std::size_t reader_threads = 2;  // threads running asynchronous reads
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database (the folder must exist), switches it to WAL and applies the
  // migrations. Throws std::runtime_error with the reason (unopenable file, schema newer than this
  // program, no WAL).
  explicit SqliteStore(const SqliteOptions& options);
  // Completes every unit of work already submitted (their callbacks run), then closes the database.
  ~SqliteStore() override;

  std::string integrity_check() override;
  StoreResult<StoreStats> stats() override;

 protected:
  void submit_write(std::function<void(Transaction&)> job, Outcome done) override;
  void submit_read(std::function<void(Reads&)> job, Outcome done) override;
  std::optional<StoreError> run_read(const std::function<void(Reads&)>& job) override;

 private:
  Connection& write_connection(Database& db);
  void reader_loop();

  std::string path_;
  // The writer's statement cache; created and used on the writer thread only.
  std::unique_ptr<Connection> write_connection_;
  std::unique_ptr<ReadPool> readers_;
  std::unique_ptr<Writer> writer_;

  // Asynchronous reads: a queue and the threads that take from it.
  struct ReadTask {
    std::function<void(Reads&)> job;
    Outcome done;
  };
  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::deque<ReadTask> read_queue_;
  bool read_stopping_ = false;
  std::vector<std::thread> read_threads_;
};

// Opens (creating and migrating as needed) the SQLite store. Throws std::runtime_error.
std::unique_ptr<Store> open_sqlite_store(const SqliteOptions& options);

}  // namespace zkpush::storage::sqlite
