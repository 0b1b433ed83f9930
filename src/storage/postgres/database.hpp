// Thin RAII wrappers over libpq, PostgreSQL's C client: a connection with its prepared statements, and
// a statement to bind, run and read.
//
// The interface follows the SQLite backend's (storage/sqlite/database.hpp) so that an area's code reads
// the same in both folders: parameters are 1-based ($1, $2...), columns 0-based; bind, then step()
// through the rows. What differs: a statement runs on the server when first stepped (libpq has no
// cursor to step through: the rows come at once), and a statement changes no "last insert id": SQL
// that needs a new row's id says RETURNING id.
//
// Parameters travel as text with their types named (bigint, double precision, text; bytea as binary),
// so `$1 = some_bigint_column` needs no cast; a NULL goes untyped and the server infers its type from
// where it stands (`$1::text IS NULL` when nothing around it says). The server prepares each SQL text
// once per connection and per set of parameter types, and later runs reuse the plan. Text is bound up
// to its first NUL and as valid UTF-8 (ill-formed bytes become U+FFFD: PostgreSQL refuses them, and
// devices send what their firmware has); what must come back byte for byte is bound as bytea.
//
// Errors are PgError exceptions inside the storage layer only; the store turns them into StoreError.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace zkpush::storage::postgres {

class PgError : public std::runtime_error {
 public:
  // `sqlstate`: the five-character SQLSTATE, "" when the connection itself failed.
  PgError(std::string sqlstate, const std::string& what) : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The database as a whole failed (connection lost, server shutting down, disk full, out of memory,
  // too many connections, a serialization failure or deadlock, a read-only server), as opposed to this
  // statement's data (a constraint, a value) or a bug in the SQL: the same request may succeed later.
  bool is_transient() const noexcept;
  bool is_unique_violation() const noexcept { return sqlstate_ == "23505"; }

 private:
  std::string sqlstate_;
};

class Connection;

class Statement {
 public:
  Statement(Connection& c, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;

  // Parameters are 1-based ($1...). Values are copied.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, bool value) = delete;  // say bind(i, int{value}): columns keep 0/1 integers
  Statement& bind_blob(int index, std::string_view bytes);  // bytea
  Statement& bind_null(int index);
  Statement& bind(int index, const std::vector<std::int64_t>& values);  // bigint[]
  Statement& bind(int index, const std::vector<std::string>& values);   // text[]
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  bool step();  // runs the statement on the first call; true while a row is available
  void reset();  // forgets the bindings and the rows, for another run
  void run();   // runs it; rows, if any, are ignored
  // Rows the statement inserted, updated or deleted (or returned, for a SELECT). Runs it if needed.
  std::int64_t changes();

  bool is_null(int column) const;
  std::int64_t column_int(int column) const;  // also a boolean: 1 or 0
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::optional<std::int64_t> column_opt_int(int column) const;
  std::optional<std::string> column_opt_text(int column) const;
  std::string column_blob(int column) const;  // the bytes of a bytea column; "" for NULL

 private:
  struct Param {
    unsigned oid = 0;  // 0: NULL, type inferred by the server
    std::string value;
    bool binary = false;
    bool null = true;
  };
  Param& param(int index);
  void execute();
  const char* cell(int column) const;

  Connection* c_;
  std::string sql_;
  std::vector<Param> params_;
  pg_result* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
};

class Connection {
 public:
  // Connects (a libpq connection string or postgres:// URL). Throws PgError.
  explicit Connection(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One or more statements, no parameters, results ignored (BEGIN, SAVEPOINT, DDL).
  void exec(std::string_view sql);
  // The statement keeps its own copy of the text (a temporary string may be given).
  Statement prepare(std::string&& sql) { return Statement(*this, std::move(sql)); }
  Statement prepare(std::string_view sql) { return Statement(*this, std::string(sql)); }
  Statement prepare(const char* sql) { return Statement(*this, std::string(sql)); }
  // Rows changed by the last statement run on this connection.
  std::int64_t changes() const noexcept { return changes_; }
  // False once the connection to the server is lost; a new Connection is needed.
  bool usable() const noexcept;
  pg_conn* handle() const noexcept { return conn_; }
  // The server's process id (pg_backend_pid()): who sent a notification.
  int backend_pid() const noexcept;

  // LISTEN: the notifications that arrived, waiting up to `wait` for the first. Throws PgError when
  // the connection fails.
  struct Notification {
    std::string channel;
    std::string payload;
    int sender = 0;  // the notifying session's backend_pid()
  };
  std::vector<Notification> notifications(std::chrono::milliseconds wait);

 private:
  friend class Statement;
  // The name of the server-side statement for this SQL and these parameter types, preparing it first.
  const std::string& prepared(const std::string& sql, const std::vector<unsigned>& types);
  [[noreturn]] void fail(pg_result* result, std::string_view context);

  pg_conn* conn_ = nullptr;
  std::map<std::string, std::string, std::less<>> statements_;  // key: types + SQL -> name
  std::int64_t changes_ = 0;
};

// Text as a text column holds it, as bind() makes a text: up to its first NUL, ill-formed UTF-8
// replaced by U+FFFD. For what the areas put into a text[] or compare before binding.
std::string as_text(std::string_view value);
// Bytes as lower-case hex digits: bytea travelling inside a text[] (decode(..., 'hex')).
std::string to_hex(std::string_view bytes);

// Says whether a store URL names PostgreSQL (postgres:// or postgresql://).
bool is_postgres_url(std::string_view url) noexcept;
// The URL without its password, for logs and errors.
std::string redacted_url(const std::string& url);

}  // namespace zkpush::storage::postgres
