#include "storage/open_store.hpp"

#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "storage/postgres/audit.hpp"
#include "storage/postgres/database.hpp"
#include "storage/postgres/postgres_store.hpp"
#include "storage/sqlite/backup.hpp"
#include "storage/sqlite/audit.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace zkpush::storage {

namespace {

// The SQLite file a URL names; throws std::invalid_argument for any other URL.
std::string sqlite_path_of(const std::string& url) {
  std::string_view rest = url;
  constexpr std::string_view sqlite_scheme = "sqlite:";
  if (rest.starts_with(sqlite_scheme)) {
    rest.remove_prefix(sqlite_scheme.size());
    // sqlite:///abs/path as well as sqlite:/abs/path and sqlite:relative/path.
    if (rest.starts_with("///")) rest.remove_prefix(2);
  } else if (auto colon = rest.find("://"); colon != std::string_view::npos) {
    throw std::invalid_argument("store URL '" + url + "': unknown backend '" + std::string(rest.substr(0, colon)) +
                                "' (this build has sqlite:<path> and postgres://...)");
  }
  if (rest.empty()) throw std::invalid_argument("store URL '" + url + "': no database file");
  return std::string(rest);
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
  if (postgres::is_postgres_url(url)) {
    postgres::PostgresOptions options;
    options.url = url;
    return postgres::open_postgres_store(options);
  }
  sqlite::SqliteOptions options;
  options.path = sqlite_path_of(url);
  return sqlite::open_sqlite_store(options);
}

StoreFileCopy copy_store_file(const std::string& url, const std::string& destination) {
  const auto copy = sqlite::copy_database(sqlite_path_of(url), destination);
  return {copy.schema_version, copy.bytes};
}

StoreFileFacts inspect_store_file(const std::string& url) {
  auto facts = sqlite::inspect_database(sqlite_path_of(url));
  return {facts.schema_version, std::move(facts.check)};
}

int latest_store_schema_version() { return sqlite::latest_schema_version(); }

AuditVerdict verify_audit_log(const std::string& url) {
  if (postgres::is_postgres_url(url)) return postgres::verify_audit_url(url);
  return sqlite::verify_audit_file(sqlite_path_of(url));
}

bool is_shared_store(const std::string& url) { return postgres::is_postgres_url(url); }

SchemaMigration migrate_store(const std::string& url) {
  if (postgres::is_postgres_url(url)) {
    const auto outcome = postgres::migrate_postgres(url);
    return {outcome.from, outcome.to};
  }
  const std::string path = sqlite_path_of(url);
  const int before = std::filesystem::exists(path) ? sqlite::inspect_database(path).schema_version : 0;
  open_store(url).reset();  // opening a SQLite store migrates it
  return {before, sqlite::latest_schema_version()};
}

std::string shown_store_url(const std::string& url) { return postgres::redacted_url(url); }

}  // namespace zkpush::storage
