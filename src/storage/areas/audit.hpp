// Area: the audit log — every state-changing call of the API (who, what, when, from where, and how
// it ended), refused ones included. Rows are only added: nothing in the API deletes or edits them.
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
};

class AuditWrites : public AuditReads {
 public:
  virtual std::int64_t append(const AuditEntry& entry) = 0;
};

}  // namespace zkpush::storage
