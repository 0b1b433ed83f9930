// An online copy of a zkpush SQLite database (`zkpush backup`) and the checks `zkpush restore` runs
// on a copy, below the backend-neutral forms in storage/open_store.hpp.
//
// Why a read transaction around sqlite3_backup_step: the server keeps writing while the copy is
// made. Without one, each step takes a fresh snapshot, and a commit by the server between two steps
// makes SQLite restart the copy from page 1, which under steady uploads may never finish. With the
// source connection's read transaction held across all steps, every step reads the same snapshot
// (WAL: a reader never blocks the writer, nor the writer a reader), so the copy is consistent, as of
// the moment the transaction began, and cannot restart. The price: the WAL cannot be checkpointed
// past that snapshot while the copy runs, so it grows by what is written meanwhile. Should a copy
// restart all the same, the steps are bounded (four times what its pages need), then it fails.
#pragma once

#include <cstdint>
#include <string>

namespace zkpush::storage::sqlite {

struct DatabaseCopy {
  int schema_version = 0;   // PRAGMA user_version of the copy
  std::uint64_t bytes = 0;  // size of the copy's file
  std::uint64_t steps = 0;  // sqlite3_backup_step calls it took
};

// Copies the database at `source` (which must exist; opened read-only, never created) into the new
// file `destination` (which must not exist), `pages_per_step` pages at a time, then checks the copy
// (PRAGMA quick_check) and leaves it as one file (rollback journal mode: no -wal beside it; the
// server switches it back to WAL when it opens it). Throws SqliteError / std::runtime_error.
DatabaseCopy copy_database(const std::string& source, const std::string& destination, int pages_per_step = 1024);

// What `zkpush restore` needs to know of a database file before it is put in place: its schema
// version and whether it passes PRAGMA quick_check ("ok", else the problems). Opened read-only.
struct DatabaseFacts {
  int schema_version = 0;
  std::string check;
};
DatabaseFacts inspect_database(const std::string& path);

// The schema version this build's migrations bring a database to (the newest it can open).
int latest_schema_version();

}  // namespace zkpush::storage::sqlite
