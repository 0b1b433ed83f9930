// Versioned schema migrations for SQLite, recorded in PRAGMA user_version.
//
// Migration N takes a database from version N-1 to N. They only ever get appended: a released
// migration is never edited, so every data folder can be brought forward from any version.
#pragma once

#include <span>
#include <string_view>

#include "storage/sqlite/database.hpp"

namespace zkpush::storage::sqlite {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
  // Rebuilds a table others reference: run with foreign keys off (the only way SQLite allows it),
  // and the referencing table named here checked with PRAGMA foreign_key_check before the commit
  // ("" = none of this).
  std::string_view rebuilt_for = "";
  // What SQL alone cannot do (a hash per row), run after `sql` in the same transaction; null: none.
  void (*code)(Database& db) = nullptr;
};

int schema_version(Database& db);
// Applies the migrations above the current version, each in its own transaction. Refuses a
// database newer than the code (a downgrade would corrupt it).
void migrate(Database& db, std::span<const Migration> migrations);

// The connection settings every zkpush connection uses: WAL, synchronous=FULL (a commit is on
// disk before it returns, also across power loss), foreign keys, and a busy timeout.
void configure_connection(Database& db, bool writer);

}  // namespace zkpush::storage::sqlite
