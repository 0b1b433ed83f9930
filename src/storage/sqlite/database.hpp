// Thin RAII wrappers over the SQLite C API: a connection and a prepared statement.
//
// Errors are reported as SqliteError exceptions inside the storage layer only; the store's public
// interface turns them into Status values, so nothing thrown here reaches a handler.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace zkpush::storage::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }
  // SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_BUSY... as a short word for logs.
  bool is_disk_full() const noexcept;
  bool is_busy() const noexcept;
  // The database as a whole failed (full, I/O error, busy/locked, read-only, unopenable, corrupt, out
  // of memory), as opposed to this statement's data (a constraint, a type, a value too big) or a bug
  // in the SQL. A transient failure keeps nothing and the same request may succeed later, so devices
  // are asked to retry and keep their data meanwhile.
  bool is_transient() const noexcept;

 private:
  int code_;
};

enum class OpenMode { read_write_create, read_only };

class Database {
 public:
  Database(const std::string& path, OpenMode mode);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);  // one or more statements, no results
  std::int64_t last_insert_rowid() const noexcept;
  int changes() const noexcept;  // rows changed by the last statement
  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  bool step();        // true while a row is available
  void run();         // step to completion, expecting no rows
  void reset();       // reset and clear bindings, for reuse

  bool is_null(int column) const;
  std::int64_t column_int(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::optional<std::int64_t> column_opt_int(int column) const;
  std::optional<std::string> column_opt_text(int column) const;
  std::string column_blob(int column) const;  // the bytes of a BLOB (or TEXT) column; "" for NULL

 private:
  sqlite3_stmt* stmt_ = nullptr;
  Database* db_ = nullptr;
};

}  // namespace zkpush::storage::sqlite
