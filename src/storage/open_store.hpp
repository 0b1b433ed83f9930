// Opens a store by URL, whichever backend it names. The one place that knows every backend: the
// server and the tools call this, never a backend's own factory.
//
//   sqlite:<path>         the SQLite file at <path> (created and migrated as needed); also a bare
//   <path>                path. The folder must exist.
//   postgresql://...      (a later issue)
#pragma once

#include <memory>
#include <string>

#include "storage/audit_chain.hpp"
#include "storage/store.hpp"

namespace zkpush::storage {

// Throws std::invalid_argument for a URL no backend takes, std::runtime_error when the store cannot
// be opened (with the reason).
std::unique_ptr<Store> open_store(const std::string& url);

// Checks the audit log's hash chain of the store at `url` (`zkpush audit verify`), opening it read
// only: nothing is migrated or written, and a server may be running on it. Throws like open_store,
// and std::runtime_error when the store is older than the chain (schema version 20).
AuditVerdict verify_audit_log(const std::string& url);

}  // namespace zkpush::storage
