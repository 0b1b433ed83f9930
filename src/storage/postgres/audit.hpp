// The audit log (storage/areas/audit.hpp) in the audit_log table, each row with its chain hash
// (storage/audit_chain.hpp).
#pragma once

#include <string>

#include "storage/areas/audit.hpp"
#include "storage/audit_chain.hpp"
#include "storage/postgres/database.hpp"

namespace zkpush::storage::postgres {

class Audit final : public AuditWrites {
 public:
  explicit Audit(Connection& c) : c_(c) {}
  std::vector<AuditEntry> list(const AuditFilter& filter) override;
  std::vector<AuditEntry> ascending(std::int64_t after_id, std::int64_t limit) override;
  std::int64_t append(const AuditEntry& entry) override;

 private:
  Connection& c_;
};

// The chain of the database at `url` (storage::verify_audit_log), in one read-only snapshot: nodes
// appending meanwhile add nothing to this check. Throws std::runtime_error when the database cannot be
// reached or has no zkpush schema.
AuditVerdict verify_audit_url(const std::string& url);

}  // namespace zkpush::storage::postgres
