// Area: the audit log — every state-changing call of the API (who, what, when, from where, and how
// it ended), refused ones included. Rows are only added: nothing in the API deletes or edits them,
// and each row's hash chains it to the one before (storage/audit_chain.hpp), so that someone who
// edits or deletes rows in the database file is found out by `zkpush audit verify`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zkpush::storage {

struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t at = 0;      // Unix seconds
  std::string actor;        // "admin token (configured)", "token 3 'hr sync'", "anonymous"
  std::string role;         // the caller's role; "" when not authenticated
  std::string remote;       // the caller's address
  std::string method;       // POST, PATCH, PUT, DELETE
  std::string target;       // path and query as asked
  std::string operation;    // the route's operationId; "" when no route matched
  std::int64_t status = 0;  // the answer's HTTP status
  // SHA-256 (hex) of the previous entry's hash and this entry's canonical form (audit_chain.hpp);
  // set by append, whatever the caller put here.
  std::string hash;
  bool operator==(const AuditEntry&) const = default;
};

struct AuditFilter {
  std::int64_t before_id = 0;  // 0: from the newest
  std::int64_t limit = 100;
  std::string actor;           // "" = everyone
};

class AuditReads {
 public:
  virtual ~AuditReads() = default;
  // Newest first.
  virtual std::vector<AuditEntry> list(const AuditFilter& filter) = 0;
  // Oldest first: at most `limit` entries with an id above `after_id` (the chain's verification).
  virtual std::vector<AuditEntry> ascending(std::int64_t after_id, std::int64_t limit) = 0;
};

class AuditWrites : public AuditReads {
 public:
  // Adds the entry, chained to the newest one; its id.
  virtual std::int64_t append(const AuditEntry& entry) = 0;
};

}  // namespace zkpush::storage
