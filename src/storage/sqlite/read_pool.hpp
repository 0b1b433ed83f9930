// Read-only connections for the synchronous reads, checked out by the calling thread.
//
// Each concurrent reader gets its own connection (SQLite connections are opened without their own
// mutex), and in WAL mode a reader neither waits for the writer nor makes it wait. Connections go
// back to the pool after the read, so the pool holds about as many as there were concurrent
// readers (the server's I/O threads), not one per thread that ever read; a few idle ones are kept
// with their prepared statements, the rest are closed.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite/connection.hpp"

namespace zkpush::storage::sqlite {

class ReadPool {
  struct Reader {
    explicit Reader(const std::string& path);
    std::unique_ptr<Database> db;
    Connection connection;
  };

 public:
  class Handle {
   public:
    Handle(ReadPool& pool, std::unique_ptr<Reader> reader) : pool_(pool), reader_(std::move(reader)) {}
    ~Handle() { pool_.give_back(std::move(reader_)); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Connection& connection() noexcept { return reader_->connection; }

   private:
    ReadPool& pool_;
    std::unique_ptr<Reader> reader_;
  };

  ReadPool(std::string path, std::size_t max_idle) : path_(std::move(path)), max_idle_(max_idle) {}

  // Throws SqliteError when a new connection cannot be opened.
  Handle acquire();
  std::size_t idle() const;

 private:
  void give_back(std::unique_ptr<Reader> reader) noexcept;

  std::string path_;
  std::size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Reader>> idle_;
};

}  // namespace zkpush::storage::sqlite
