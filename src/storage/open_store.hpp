// Opens a store by URL, whichever backend it names. The one place that knows every backend: the
// server and the tools call this, never a backend's own factory.
//
//   sqlite:<path>         the SQLite file at <path> (created and migrated as needed); also a bare
//   <path>                path. The folder must exist.
//   postgres://user@host:port/db   PostgreSQL (also postgresql://, and every parameter libpq takes:
//                         ?host=/run/postgresql for a socket, sslmode=..., password from ~/.pgpass or
//                         PGPASSWORD). The schema is created or migrated at start, under an advisory lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/audit_chain.hpp"
#include "storage/store.hpp"

namespace zkpush::storage {

// Throws std::invalid_argument for a URL no backend takes, std::runtime_error when the store cannot
// be opened (with the reason).
std::unique_ptr<Store> open_store(const std::string& url);

// `zkpush backup` and `zkpush restore` (docs/operations.md), for the stores kept in one file (sqlite:).
// copy_store_file: a consistent copy of the store at `url` into the new file `destination`, taken while
// a server may be writing to it, as of one moment. inspect_store_file: the schema version of such a
// copy and its quick check ("ok" or the problems). Both throw std::invalid_argument for a URL that is
// not a file store, std::runtime_error with the reason otherwise.
struct StoreFileCopy {
  int schema_version = 0;
  std::uint64_t bytes = 0;
};
StoreFileCopy copy_store_file(const std::string& url, const std::string& destination);
struct StoreFileFacts {
  int schema_version = 0;
  std::string check;
};
StoreFileFacts inspect_store_file(const std::string& url);
// The newest schema version this build opens (and migrates older stores to).
int latest_store_schema_version();
// Whether the store at `url` is a database server that several zkpush nodes may share (PostgreSQL),
// rather than a file of one node's (SQLite).
bool is_shared_store(const std::string& url);
// `zkpush migrate`: brings the store at `url` to this build's schema without serving; the versions
// before and after (the same when there was nothing to do). Throws like open_store.
struct SchemaMigration {
  int from = 0;
  int to = 0;
};
SchemaMigration migrate_store(const std::string& url);
// The URL without its password, for logs.
std::string shown_store_url(const std::string& url);
// Checks the audit log's hash chain of the store at `url` (`zkpush audit verify`), opening it read
// only: nothing is migrated or written, and a server may be running on it. Throws like open_store,
// and std::runtime_error when the store is older than the chain (schema version 20).
AuditVerdict verify_audit_log(const std::string& url);

}  // namespace zkpush::storage
