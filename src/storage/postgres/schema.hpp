// The PostgreSQL schema of the store and its migrations.
//
// Migrations are numbered on their own (the SQLite backend has its own list): version 1 is the whole
// schema as of SQLite's version 20; later changes are appended, never edited. The version lives in the
// table zkpush_schema. Several nodes may start together on one database: migrate() holds a session
// advisory lock while it looks and applies, so exactly one of them migrates and the others wait, then
// find nothing to do.
#pragma once

#include <string_view>

#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// 0 for an empty database.
int schema_version(Connection& c);
int latest_schema_version() noexcept;
// Applies what is missing, each migration in its own transaction, under the advisory lock. Refuses a
// database newer than this program (PgError). Returns the versions applied (none: already current).
struct MigrationReport {
  int from = 0;
  int to = 0;
};
MigrationReport migrate(Connection& c);

}  // namespace zkpush::storage::postgres
