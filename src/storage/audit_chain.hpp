// The audit log's hash chain: each entry's hash is SHA-256(previous entry's hash || canonical form of
// the entry), the first entry's previous hash 32 zero bytes. Changing, deleting or moving one row
// breaks the chain from that row on, which `zkpush audit verify` and GET /api/v1/audit/verify report
// with the first broken entry's id and why.
//
// The canonical form is a sequence of fields, each prefixed by its length, so that no two different
// entries share one ("ab"+"c" and "a"+"bc" differ):
//   "zkpush-audit-1"                        a version tag: a later form gets another tag
//   u64 id, i64 at, u64 status              8 bytes each, big-endian (two's complement for at)
//   actor, role, remote, method, target,    each a u64 byte length (big-endian), then the bytes
//   operation
// The hash is computed over the raw 32-byte previous hash, and stored as 64 lower-case hex digits.
//
// What a chain cannot show: rows removed from the end (the chain that remains is intact). The verify
// output and the server's start-up log give the entry count and the last hash, so that a copy
// recorded elsewhere (a log collector, a ticket) can be compared with it — docs/security.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/areas/audit.hpp"

namespace zkpush::storage {

// The previous hash of the first entry: 64 zeros.
inline constexpr const char kAuditGenesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

std::string audit_canonical(const AuditEntry& entry);
// The hash of `entry` (its `hash` field ignored) after the entry whose hash is `previous` (hex).
std::string audit_hash(std::string_view previous, const AuditEntry& entry);

struct AuditVerdict {
  bool intact = true;
  std::int64_t entries = 0;  // entries read
  std::int64_t last_id = 0;  // the newest entry read (0: none)
  std::string last_hash;     // its stored hash (the chain's head), kAuditGenesis when the log is empty
  // When broken: the first entry that does not follow from the one before, and why:
  std::int64_t broken_id = 0;
  std::string problem;       // "edited", "deleted", "reordered", "unchained"
  std::string why;           // one sentence for a person
};

// Checks a chain fed in id order, one entry at a time, in bounded memory: after the first break it
// keeps the entries around it (kWindow on each side) to tell a moved entry from an edited one.
class AuditChainCheck {
 public:
  static constexpr std::size_t kWindow = 64;

  void add(const AuditEntry& entry);
  AuditVerdict verdict() const;

 private:
  std::int64_t entries_ = 0;
  std::int64_t last_id_ = 0;
  std::string last_hash_ = kAuditGenesis;
  bool broken_ = false;
  AuditEntry first_broken_;
  std::int64_t previous_id_ = 0;  // the entry before the broken one
  std::string problem_, why_;
  std::vector<AuditEntry> before_;  // the last kWindow entries before the break (ring, unordered)
  std::vector<AuditEntry> after_;   // up to kWindow entries after it
};

// Reads every entry through `page` (ascending(after_id, limit)) and checks the chain.
AuditVerdict verify_audit_chain(const std::function<std::vector<AuditEntry>(std::int64_t after_id, std::int64_t limit)>& page);

}  // namespace zkpush::storage
