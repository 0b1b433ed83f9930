// A database connection with its cache of prepared statements.
//
// Preparing a statement parses and plans the SQL; on the hot paths (insert_events,
// take_for_delivery, record_results) that would cost more than the work itself, so each connection
// prepares a given SQL text once and reuses it. A connection is used by one thread at a time (the
// writer thread, or the reader that checked it out of the pool).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "storage/sqlite/database.hpp"

namespace zkpush::storage::sqlite {

class Connection {
  struct Entry {
    explicit Entry(Statement s) : statement(std::move(s)) {}
    Statement statement;
    bool in_use = false;
  };

 public:
  // A cached statement, reset (bindings cleared, read snapshot released) when the lease ends. A
  // statement left un-reset would keep its read transaction open and later reads on the connection
  // would not see newer commits.
  class Lease {
   public:
    explicit Lease(Entry& entry) : entry_(&entry) { entry_->in_use = true; }
    Lease(Lease&& other) noexcept : entry_(other.entry_) { other.entry_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (!entry_) return;
      entry_->statement.reset();
      entry_->in_use = false;
    }
    Statement& operator*() const noexcept { return entry_->statement; }
    Statement* operator->() const noexcept { return &entry_->statement; }

   private:
    Entry* entry_;
  };

  explicit Connection(Database& db) : db_(db) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for this SQL text, prepared on first use. Using the same text again
  // while a lease on it is alive is a bug (the inner use would reset the outer one) and throws
  // std::logic_error.
  Lease prepare(std::string_view sql);
  Database& db() noexcept { return db_; }
  std::size_t cached() const noexcept { return statements_.size(); }

 private:
  Database& db_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> statements_;
};

// A read transaction: several reads that must see one snapshot (a device and its options).
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Database& db_;
};

}  // namespace zkpush::storage::sqlite
