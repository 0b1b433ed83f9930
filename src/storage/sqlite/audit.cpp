#include "storage/sqlite/audit.hpp"

#include <filesystem>
#include <stdexcept>

#include "storage/audit_chain.hpp"
#include "storage/rows.hpp"
#include "storage/sqlite/migrations.hpp"

namespace zkpush::storage::sqlite {

namespace {

constexpr const char* kAuditColumns = "id, at, actor, role, remote, method, target, operation, status, hash";

}  // namespace

std::vector<AuditEntry> Audit::list(const AuditFilter& f) {
  auto st = c_.prepare(std::string("SELECT ") + kAuditColumns +
                       " FROM audit_log WHERE (?1 = 0 OR id < ?1) AND (?3 = '' OR actor = ?3) ORDER BY id DESC LIMIT ?2");
  st->bind(1, f.before_id).bind(2, f.limit > 0 ? f.limit : std::int64_t{-1}).bind(3, f.actor);
  std::vector<AuditEntry> out;
  while (st->step()) out.push_back(rows::read_audit_entry(*st));
  return out;
}

std::vector<AuditEntry> Audit::ascending(std::int64_t after_id, std::int64_t limit) {
  auto st = c_.prepare(std::string("SELECT ") + kAuditColumns + " FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2");
  st->bind(1, after_id).bind(2, limit > 0 ? limit : std::int64_t{-1});
  std::vector<AuditEntry> out;
  while (st->step()) out.push_back(rows::read_audit_entry(*st));
  return out;
}

std::int64_t Audit::append(const AuditEntry& e) {
  // The writer is the only one appending, in its transaction: the newest row read here is the one
  // this entry follows.
  std::string previous = kAuditGenesis;
  {
    auto last = c_.prepare("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1");
    if (last->step()) previous = last->column_text(0);
  }
  auto st = c_.prepare(
      "INSERT INTO audit_log (at, actor, role, remote, method, target, operation, status) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  st->bind(1, e.at).bind(2, e.actor).bind(3, e.role).bind(4, e.remote).bind(5, e.method).bind(6, e.target)
      .bind(7, e.operation).bind(8, e.status);
  st->run();
  AuditEntry chained = e;
  chained.id = c_.db().last_insert_rowid();
  auto update = c_.prepare("UPDATE audit_log SET hash = ?2 WHERE id = ?1");
  update->bind(1, chained.id).bind(2, audit_hash(previous, chained));
  update->run();
  return chained.id;
}

void chain_audit_log(Database& db) {
  std::string previous = kAuditGenesis;
  Statement read(db, std::string("SELECT ") + kAuditColumns + " FROM audit_log ORDER BY id");
  Statement write(db, "UPDATE audit_log SET hash = ?2 WHERE id = ?1");
  while (read.step()) {
    const auto entry = rows::read_audit_entry(read);
    previous = audit_hash(previous, entry);
    write.bind(1, entry.id).bind(2, previous);
    write.run();
    write.reset();
  }
}

AuditVerdict verify_audit_file(const std::string& path) {
  // SQLite would report a missing file as "unable to open": say which.
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": no such database");
  try {
    Database db(path, OpenMode::read_only);
    db.exec("PRAGMA busy_timeout = 5000");
    const int version = schema_version(db);
    if (version < 20) {
      throw std::runtime_error(path + ": schema version " + std::to_string(version) +
                               " has no audit chain (version 20 and later); start zkpush serve on it once to migrate");
    }
    Connection c(db);
    Audit audit(c);
    ReadTransaction snapshot(db);  // one snapshot: a server appending meanwhile adds nothing to this check
    return verify_audit_chain(
        [&audit](std::int64_t after, std::int64_t limit) { return audit.ascending(after, limit); });
  } catch (const SqliteError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace zkpush::storage::sqlite
