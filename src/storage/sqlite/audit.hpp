// The audit log (storage/areas/audit.hpp) in the audit_log table.
#pragma once

#include "storage/areas/audit.hpp"
#include "storage/sqlite/connection.hpp"

namespace zkpush::storage::sqlite {

class Audit final : public AuditWrites {
 public:
  explicit Audit(Connection& c) : c_(c) {}
  std::vector<AuditEntry> list(const AuditFilter& filter) override;
  std::int64_t append(const AuditEntry& entry) override;

 private:
  Connection& c_;
};

}  // namespace zkpush::storage::sqlite
