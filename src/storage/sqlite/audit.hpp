// The audit log (storage/areas/audit.hpp) in the audit_log table, each row with its chain hash
// (storage/audit_chain.hpp).
#pragma once

#include <string>

#include "storage/areas/audit.hpp"
#include "storage/audit_chain.hpp"
#include "storage/sqlite/connection.hpp"

namespace zkpush::storage::sqlite {

class Audit final : public AuditWrites {
 public:
  explicit Audit(Connection& c) : c_(c) {}
  std::vector<AuditEntry> list(const AuditFilter& filter) override;
  std::vector<AuditEntry> ascending(std::int64_t after_id, std::int64_t limit) override;
  std::int64_t append(const AuditEntry& entry) override;

 private:
  Connection& c_;
};

// Migration 20: chains the rows written before there was a chain, in id order (schema.cpp).
void chain_audit_log(Database& db);

// The chain of the database file at `path`, opened read only (storage::verify_audit_log). Throws
// std::runtime_error when the file cannot be opened or is older than the chain.
AuditVerdict verify_audit_file(const std::string& path);

}  // namespace zkpush::storage::sqlite
