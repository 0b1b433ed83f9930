// Grouped, durable writes to one SQLite database.
//
// A single thread owns the write connection. Jobs submitted from any thread are queued; the writer
// takes everything queued (up to a cap), runs it in ONE transaction — each job inside its own
// SAVEPOINT, so a job that fails is rolled back alone — commits once, which is one fsync for the
// whole group (WAL with synchronous=FULL), and only then reports each job's outcome. A job's
// completion therefore means "on disk, surviving power loss", and throughput does not depend on
// one fsync per request: the busier the server, the larger the groups.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <atomic>

#include "storage/sqlite/database.hpp"

namespace zkpush::storage::sqlite {

struct WriteOutcome {
  bool ok = true;
  // The failure is about the database as a whole (disk full, I/O error, read-only file), not about
  // this job's data: the same request may succeed later, so devices should be asked to retry.
  bool transient = false;
  std::string error;
};

class Writer {
 public:
  // Runs inside the group's transaction, on the writer thread. Throw to fail this job only.
  using Job = std::function<void(Database&)>;
  // Called on the writer thread after the group's commit (or failure). Keep it short: post the
  // answer to where it belongs.
  using Done = std::function<void(const WriteOutcome&)>;

  struct Options {
    std::size_t max_group = 2048;  // jobs per transaction at most
  };

  struct Stats {
    std::uint64_t groups = 0;
    std::uint64_t jobs = 0;
    std::uint64_t failed_jobs = 0;
    std::uint64_t failed_commits = 0;
  };

  // Takes ownership of a connection opened read-write on a database in WAL mode.
  Writer(std::unique_ptr<Database> db, Options options);
  explicit Writer(std::unique_ptr<Database> db) : Writer(std::move(db), Options{}) {}
  // Finishes every job already submitted, then stops the thread.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void submit(Job job, Done done);
  // Submits and waits for the outcome (start-up, tests, administrative calls; never on I/O threads).
  WriteOutcome run(Job job);

  Stats stats() const;
  std::size_t queued() const;

 private:
  struct Pending {
    Job job;
    Done done;
  };

  void loop();
  void commit_group(std::deque<Pending>& group);

  std::unique_ptr<Database> db_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace zkpush::storage::sqlite
