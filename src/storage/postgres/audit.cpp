#include "storage/postgres/audit.hpp"

#include <limits>
#include <optional>
#include <stdexcept>

#include "storage/audit_chain.hpp"
#include "storage/postgres/schema.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::postgres {

namespace {

constexpr const char* kAuditColumns = "id, at, actor, role, remote, method, target, operation, status, hash";

}  // namespace

std::vector<AuditEntry> Audit::list(const AuditFilter& f) {
  // The actor named only when given, so that a generic plan can take audit_log_by_actor then.
  auto st = c_.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_log WHERE id < $1" +
                       (f.actor.empty() ? "" : " AND actor = $3") + " ORDER BY id DESC LIMIT $2");
  st.bind(1, f.before_id != 0 ? f.before_id : std::numeric_limits<std::int64_t>::max());  // 0: from the newest
  st.bind(2, f.limit > 0 ? std::optional(f.limit) : std::nullopt).bind(3, f.actor);  // limit NULL: none
  std::vector<AuditEntry> out;
  while (st.step()) out.push_back(rows::read_audit_entry(st));
  return out;
}

std::vector<AuditEntry> Audit::ascending(std::int64_t after_id, std::int64_t limit) {
  auto st = c_.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2");
  st.bind(1, after_id).bind(2, limit > 0 ? std::optional(limit) : std::nullopt);
  std::vector<AuditEntry> out;
  while (st.step()) out.push_back(rows::read_audit_entry(st));
  return out;
}

std::int64_t Audit::append(const AuditEntry& e) {
  // Several nodes may append at once: a transaction-level advisory lock makes them take turns, so the
  // newest row read here is the one this entry follows (the lock is held until the commit).
  c_.exec("SELECT pg_advisory_xact_lock(2054276085)");
  std::string previous = kAuditGenesis;
  {
    auto last = c_.prepare("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1");
    if (last.step()) previous = last.column_text(0);
  }
  auto st = c_.prepare(
      "INSERT INTO audit_log (at, actor, role, remote, method, target, operation, status) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id");
  st.bind(1, e.at).bind(2, e.actor).bind(3, e.role).bind(4, e.remote).bind(5, e.method).bind(6, e.target)
      .bind(7, e.operation).bind(8, e.status);
  st.step();
  AuditEntry chained = e;
  chained.id = st.column_int(0);
  auto update = c_.prepare("UPDATE audit_log SET hash = $2 WHERE id = $1");
  update.bind(1, chained.id).bind(2, audit_hash(previous, chained));
  update.run();
  return chained.id;
}

AuditVerdict verify_audit_url(const std::string& url) {
  try {
    Connection c(url);
    if (schema_version(c) < 1) throw std::runtime_error(redacted_url(url) + ": no zkpush schema in this database");
    c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    Audit audit(c);
    auto verdict = verify_audit_chain(
        [&audit](std::int64_t after, std::int64_t limit) { return audit.ascending(after, limit); });
    c.exec("COMMIT");
    return verdict;
  } catch (const PgError& e) {
    throw std::runtime_error(e.what());
  }
}

}  // namespace zkpush::storage::postgres
