#include "storage/open_store.hpp"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "storage/sqlite/backup.hpp"
#include "storage/sqlite/audit.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace zkpush::storage {

namespace {

// The SQLite file a URL names (the only backend of this build); throws std::invalid_argument for any
// other URL.
std::string sqlite_path_of(const std::string& url) {
  std::string_view rest = url;
  constexpr std::string_view sqlite_scheme = "sqlite:";
  if (rest.starts_with(sqlite_scheme)) {
    rest.remove_prefix(sqlite_scheme.size());
    // sqlite:///abs/path as well as sqlite:/abs/path and sqlite:relative/path.
    if (rest.starts_with("///")) rest.remove_prefix(2);
  } else if (auto colon = rest.find("://"); colon != std::string_view::npos) {
    throw std::invalid_argument("store URL '" + url + "': unknown backend '" + std::string(rest.substr(0, colon)) +
                                "' (this build has sqlite:<path>)");
  }
  if (rest.empty()) throw std::invalid_argument("store URL '" + url + "': no database file");
  return std::string(rest);
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
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

AuditVerdict verify_audit_log(const std::string& url) { return sqlite::verify_audit_file(sqlite_path_of(url)); }

}  // namespace zkpush::storage
