#include "storage/audit_chain.hpp"

#include <openssl/sha.h>

#include <set>

namespace zkpush::storage {

namespace {

void audit_put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void audit_put_text(std::string& out, std::string_view text) {
  audit_put_u64(out, text.size());
  out.append(text);
}

std::string audit_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0xf]);
  }
  return out;
}

// 64 hex digits -> 32 bytes; anything else (an edited hash) -> its SHA-256, so that a bad previous
// hash still gives a hash, just not the one stored.
std::string audit_raw(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  if (hex.size() == 64) {
    for (std::size_t i = 0; i < 64; i += 2) {
      const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
      if (hi < 0 || lo < 0) break;
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    if (out.size() == 32) return out;
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(hex.data()), hex.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

}  // namespace

std::string audit_canonical(const AuditEntry& e) {
  std::string out;
  audit_put_text(out, "zkpush-audit-1");
  audit_put_u64(out, static_cast<std::uint64_t>(e.id));
  audit_put_u64(out, static_cast<std::uint64_t>(e.at));
  audit_put_u64(out, static_cast<std::uint64_t>(e.status));
  for (const std::string* field : {&e.actor, &e.role, &e.remote, &e.method, &e.target, &e.operation})
    audit_put_text(out, *field);
  return out;
}

std::string audit_hash(std::string_view previous, const AuditEntry& entry) {
  const std::string input = audit_raw(previous) + audit_canonical(entry);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return audit_hex(digest, sizeof digest);
}

void AuditChainCheck::add(const AuditEntry& entry) {
  ++entries_;
  if (!broken_) {
    if (entry.hash == audit_hash(last_hash_, entry)) {
      if (before_.size() < kWindow) before_.push_back(entry);
      else before_[static_cast<std::size_t>(entries_) % kWindow] = entry;
    } else {
      broken_ = true;
      first_broken_ = entry;
      previous_id_ = last_id_;
    }
  } else if (after_.size() < kWindow) {
    after_.push_back(entry);
  }
  last_id_ = entry.id;
  last_hash_ = entry.hash;
}

AuditVerdict AuditChainCheck::verdict() const {
  AuditVerdict v;
  v.entries = entries_;
  v.last_id = last_id_;
  v.last_hash = last_hash_;
  if (!broken_) return v;
  v.intact = false;
  const auto& e = first_broken_;
  v.broken_id = e.id;
  const std::string id = std::to_string(e.id);
  if (e.hash.empty()) {
    v.problem = "unchained";
    v.why = "entry " + id + " has no hash: it was written into the table by something other than zkpush";
    return v;
  }
  // Moved: the entry is intact as written under another id, after one of the entries around it.
  std::set<std::string> previous{kAuditGenesis};
  for (const auto& near : before_) previous.insert(near.hash);
  for (const auto& near : after_) previous.insert(near.hash);
  const std::int64_t window = static_cast<std::int64_t>(kWindow);
  for (std::int64_t other = std::max<std::int64_t>(1, e.id - window); other <= e.id + window; ++other) {
    if (other == e.id) continue;
    AuditEntry moved = e;
    moved.id = other;
    for (const auto& hash : previous) {
      if (audit_hash(hash, moved) != e.hash) continue;
      v.problem = "reordered";
      v.why = "entry " + id + " holds the entry written as id " + std::to_string(other) +
              ": rows were moved (their ids changed)";
      return v;
    }
  }
  if (e.id != previous_id_ + 1) {
    v.problem = "deleted";
    const std::string from = std::to_string(previous_id_ + 1), to = std::to_string(e.id - 1);
    v.why = (from == to ? "entry " + from + " is missing" : "entries " + from + " to " + to + " are missing") +
            " before entry " + id + ": deleted";
    return v;
  }
  v.problem = "edited";
  v.why = "entry " + id + " does not match its hash: it, or the hash of the entry before it, was changed after it was written";
  return v;
}

AuditVerdict verify_audit_chain(
    const std::function<std::vector<AuditEntry>(std::int64_t after_id, std::int64_t limit)>& page) {
  AuditChainCheck check;
  std::int64_t after = 0;
  constexpr std::int64_t kPage = 1000;
  for (;;) {
    const auto entries = page(after, kPage);
    for (const auto& entry : entries) check.add(entry);
    if (static_cast<std::int64_t>(entries.size()) < kPage) break;
    after = entries.back().id;
  }
  return check.verdict();
}

}  // namespace zkpush::storage
