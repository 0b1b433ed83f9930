#include "storage/postgres/database.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "protocol/text.hpp"

namespace zkpush::storage::postgres {

namespace {

// Type OIDs (pg_type.dat): fixed since PostgreSQL 7.
constexpr unsigned kInt8 = 20;
constexpr unsigned kText = 25;
constexpr unsigned kFloat8 = 701;
constexpr unsigned kBytea = 17;
constexpr unsigned kInt8Array = 1016;
constexpr unsigned kTextArray = 1009;

std::string message_of(pg_conn* conn, pg_result* result) {
  const char* text = result ? PQresultErrorMessage(result) : nullptr;
  if (!text || !*text) text = conn ? PQerrorMessage(conn) : "no connection";
  std::string msg(text);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// An element of a text[] literal: always quoted, with " and \ escaped.
void append_array_element(std::string& out, std::string_view value) {
  out += '"';
  for (char ch : value) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

}  // namespace

bool PgError::is_transient() const noexcept {
  if (sqlstate_.size() != 5) return true;  // no SQLSTATE: the connection failed
  const std::string_view cls = std::string_view(sqlstate_).substr(0, 2);
  // 08 connection exception, 40 transaction rollback (serialization failure, deadlock), 53
  // insufficient resources (disk full, out of memory, too many connections), 57 operator
  // intervention (shutdown, cannot connect now), 58 system error (I/O), XX internal error.
  if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || cls == "XX") return true;
  // lock not available, read-only transaction (a standby, or default_transaction_read_only)
  return sqlstate_ == "55P03" || sqlstate_ == "25006";
}

// ---- Connection ----------------------------------------------------------------------------------------

Connection::Connection(const std::string& conninfo) {
  // Defaults the URL (or connection string) may override, given first: a database that cannot be
  // reached fails a connection within 10 s, and a TCP connection whose peer vanished without a reset
  // (a cable, a failed-over address) is found dead within about a minute instead of the system's two
  // hours of keepalive silence, so a node stops leading and its writer fails over. Unix sockets
  // ignore the TCP settings.
  static constexpr const char* kKeys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                          "keepalives_count", "tcp_user_timeout", "dbname", nullptr};
  const char* values[] = {"10", "30", "10", "3", "60000", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(kKeys, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = "connecting to " + redacted_url(conninfo) + ": " + message_of(conn_, nullptr);
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw PgError("", msg);
  }
  // Notices (a NOTICE from CREATE ... IF NOT EXISTS) are not errors: keep them out of stderr.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

bool Connection::usable() const noexcept { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
int Connection::backend_pid() const noexcept { return conn_ ? PQbackendPID(conn_) : 0; }

void Connection::fail(pg_result* result, std::string_view context) {
  std::string state;
  if (result) {
    if (const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE)) state = s;
  }
  std::string msg = std::string(context) + ": " + message_of(conn_, result);
  if (result) PQclear(result);
  throw PgError(state, msg);
}

void Connection::exec(std::string_view sql) {
  const std::string text(sql);
  pg_result* r = PQexec(conn_, text.c_str());
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
    fail(r, text.substr(0, 80));
  const char* n = PQcmdTuples(r);
  changes_ = (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
  PQclear(r);
}

std::vector<Connection::Notification> Connection::notifications(std::chrono::milliseconds wait) {
  std::vector<Notification> out;
  auto drain = [&] {
    if (PQconsumeInput(conn_) == 0) throw PgError("", std::string("listening: ") + message_of(conn_, nullptr));
    while (PGnotify* n = PQnotifies(conn_)) {
      out.push_back(Notification{n->relname, n->extra ? n->extra : "", n->be_pid});
      PQfreemem(n);
    }
  };
  drain();
  if (!out.empty()) return out;
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  if (fd.fd < 0) throw PgError("", "listening: the connection has no socket");
  const int ready = ::poll(&fd, 1, static_cast<int>(wait.count()));
  if (ready < 0 && errno != EINTR) throw PgError("", "listening: poll failed");
  if (ready > 0) drain();
  return out;
}

const std::string& Connection::prepared(const std::string& sql, const std::vector<unsigned>& types) {
  std::string key;
  for (unsigned t : types) key += std::to_string(t) + ',';
  key += '|';
  key += sql;
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;
  std::string name = "zk" + std::to_string(statements_.size() + 1);
  pg_result* r = PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(types.size()), types.data());
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) fail(r, "prepare " + sql.substr(0, 80));
  PQclear(r);
  return statements_.emplace(std::move(key), std::move(name)).first->second;
}

// ---- Statement -----------------------------------------------------------------------------------------

Statement::Statement(Connection& c, std::string sql) : c_(&c), sql_(std::move(sql)) {}

Statement::~Statement() {
  if (result_) PQclear(result_);
}

Statement::Statement(Statement&& other) noexcept
    : c_(other.c_),
      sql_(std::move(other.sql_)),
      params_(std::move(other.params_)),
      result_(other.result_),
      row_(other.row_),
      rows_(other.rows_) {
  other.result_ = nullptr;
}

Statement::Param& Statement::param(int index) {
  if (index < 1) throw std::logic_error("parameter indexes start at 1");
  if (result_) {  // binding again after a run: a new run
    PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    rows_ = 0;
  }
  if (params_.size() < static_cast<std::size_t>(index)) params_.resize(static_cast<std::size_t>(index));
  return params_[static_cast<std::size_t>(index) - 1];
}

Statement& Statement::bind(int index, std::int64_t value) {
  param(index) = Param{kInt8, std::to_string(value), false, false};
  return *this;
}

Statement& Statement::bind(int index, double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;
  param(index) = Param{kFloat8, std::string(buf, end), false, false};
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  param(index) = Param{kText, as_text(value), false, false};
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  param(index) = Param{kBytea, std::string(bytes), true, false};
  return *this;
}

Statement& Statement::bind_null(int index) {
  param(index) = Param{};
  return *this;
}

Statement& Statement::bind(int index, const std::vector<std::int64_t>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + std::to_string(values[i]);
  param(index) = Param{kInt8Array, text + "}", false, false};
  return *this;
}

Statement& Statement::bind(int index, const std::vector<std::string>& values) {
  std::string text = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) text += ',';
    append_array_element(text, as_text(values[i]));
  }
  param(index) = Param{kTextArray, text + "}", false, false};
  return *this;
}

void Statement::execute() {
  std::vector<unsigned> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  types.reserve(params_.size());
  for (const auto& p : params_) {
    types.push_back(p.oid);
    values.push_back(p.null ? nullptr : p.value.data());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  const std::string& name = c_->prepared(sql_, types);
  pg_result* r = PQexecPrepared(c_->conn_, name.c_str(), static_cast<int>(params_.size()), values.data(),
                                lengths.data(), formats.data(), 0);
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) c_->fail(r, sql_.substr(0, 120));
  result_ = r;
  rows_ = PQntuples(r);
  row_ = -1;
  const char* n = PQcmdTuples(r);
  c_->changes_ = (n && *n) ? std::strtoll(n, nullptr, 10) : rows_;
}

bool Statement::step() {
  if (!result_) execute();
  if (row_ + 1 >= rows_) {
    row_ = rows_;
    return false;
  }
  ++row_;
  return true;
}

void Statement::reset() {
  if (result_) PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  rows_ = 0;
  params_.clear();
}

void Statement::run() {
  if (!result_) execute();
}

std::int64_t Statement::changes() {
  if (!result_) execute();
  const char* n = PQcmdTuples(result_);
  return (n && *n) ? std::strtoll(n, nullptr, 10) : rows_;
}

const char* Statement::cell(int column) const {
  if (!result_ || row_ < 0 || row_ >= rows_) throw std::logic_error("no current row: " + sql_.substr(0, 80));
  if (column < 0 || column >= PQnfields(result_))
    throw std::logic_error("no column " + std::to_string(column) + ": " + sql_.substr(0, 80));
  if (PQgetisnull(result_, row_, column)) return nullptr;
  return PQgetvalue(result_, row_, column);
}

bool Statement::is_null(int column) const { return cell(column) == nullptr; }

std::int64_t Statement::column_int(int column) const {
  const char* v = cell(column);
  if (!v) return 0;
  if (v[0] == 't' && v[1] == '\0') return 1;  // a boolean
  if (v[0] == 'f' && v[1] == '\0') return 0;
  std::int64_t out = 0;
  const char* end = v + std::strlen(v);
  auto [ptr, ec] = std::from_chars(v, end, out);
  if (ec != std::errc() || ptr != end) {
    // numeric or double precision where an integer was expected: truncate as SQLite would
    return static_cast<std::int64_t>(std::strtod(v, nullptr));
  }
  return out;
}

double Statement::column_double(int column) const {
  const char* v = cell(column);
  return v ? std::strtod(v, nullptr) : 0.0;
}

std::string Statement::column_text(int column) const {
  const char* v = cell(column);
  if (!v) return {};
  return std::string(v, static_cast<std::size_t>(PQgetlength(result_, row_, column)));
}

std::optional<std::int64_t> Statement::column_opt_int(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int(column);
}

std::optional<std::string> Statement::column_opt_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_text(column);
}

std::string Statement::column_blob(int column) const {
  const char* v = cell(column);
  if (!v) return {};
  const std::size_t n = static_cast<std::size_t>(PQgetlength(result_, row_, column));
  // bytea in text form: \x followed by hex digits (bytea_output = hex, the default since 9.0)
  if (n < 2 || v[0] != '\\' || v[1] != 'x') return std::string(v, n);
  std::string out;
  out.reserve((n - 2) / 2);
  for (std::size_t i = 2; i + 1 < n; i += 2) {
    const int hi = hex_value(v[i]);
    const int lo = hex_value(v[i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("a bytea value that is not hex");
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// ---- text ----------------------------------------------------------------------------------------------

// PostgreSQL text cannot hold NUL (the SQLite backend keeps what comes before it as well) nor
// ill-formed UTF-8, and devices send what their firmware has (GB2312 names): refused, an upload would
// be sent again forever. What must come back byte for byte is bound as bytea instead.
std::string as_text(std::string_view value) {
  value = value.substr(0, value.find('\0'));
  return protocol::text::is_valid_utf8(value) ? std::string(value) : protocol::text::sanitize_utf8(value);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// ---- URLs ----------------------------------------------------------------------------------------------

bool is_postgres_url(std::string_view url) noexcept {
  return url.starts_with("postgres://") || url.starts_with("postgresql://");
}

std::string redacted_url(const std::string& url) {
  // postgres://user:password@host...: the password goes; key=value strings keep only their keys' names
  if (is_postgres_url(url)) {
    const auto scheme_end = url.find("://") + 3;
    const auto at = url.find('@', scheme_end);
    const auto slash = url.find('/', scheme_end);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const auto colon = url.find(':', scheme_end);
      if (colon != std::string::npos && colon < at) return url.substr(0, colon) + ":***" + url.substr(at);
    }
    std::string out = url;
    if (auto p = out.find("password="); p != std::string::npos) {
      auto end = out.find('&', p);
      out.replace(p, (end == std::string::npos ? out.size() : end) - p, "password=***");
    }
    return out;
  }
  std::string out = url;
  if (auto p = out.find("password="); p != std::string::npos) {
    auto end = out.find(' ', p);
    out.replace(p, (end == std::string::npos ? out.size() : end) - p, "password=***");
  }
  return out;
}

}  // namespace zkpush::storage::postgres
