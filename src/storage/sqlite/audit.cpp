#include "storage/sqlite/audit.hpp"

namespace zkpush::storage::sqlite {

std::vector<AuditEntry> Audit::list(const AuditFilter& f) {
  auto st = c_.prepare(
      "SELECT id, at, actor, role, remote, method, target, operation, status FROM audit_log "
      "WHERE (?1 = 0 OR id < ?1) AND (?3 = '' OR actor = ?3) ORDER BY id DESC LIMIT ?2");
  st->bind(1, f.before_id).bind(2, f.limit > 0 ? f.limit : std::int64_t{-1}).bind(3, f.actor);
  std::vector<AuditEntry> out;
  while (st->step()) {
    AuditEntry e;
    e.id = st->column_int(0);
    e.at = st->column_int(1);
    e.actor = st->column_text(2);
    e.role = st->column_text(3);
    e.remote = st->column_text(4);
    e.method = st->column_text(5);
    e.target = st->column_text(6);
    e.operation = st->column_text(7);
    e.status = st->column_int(8);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t Audit::append(const AuditEntry& e) {
  auto st = c_.prepare(
      "INSERT INTO audit_log (at, actor, role, remote, method, target, operation, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  st->bind(1, e.at).bind(2, e.actor).bind(3, e.role).bind(4, e.remote).bind(5, e.method).bind(6, e.target)
      .bind(7, e.operation).bind(8, e.status);
  st->run();
  return c_.db().last_insert_rowid();
}

}  // namespace zkpush::storage::sqlite
