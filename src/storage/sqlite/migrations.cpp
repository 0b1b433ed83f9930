#include "storage/sqlite/migrations.hpp"

#include <string>

namespace zkpush::storage::sqlite {

int schema_version(Database& db) {
  Statement st(db, "PRAGMA user_version");
  st.step();
  return static_cast<int>(st.column_int(0));
}

void migrate(Database& db, std::span<const Migration> migrations) {
  int current = schema_version(db);
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest)
    throw SqliteError(0, "database schema version " + std::to_string(current) +
                             " is newer than this zkpush (" + std::to_string(latest) + "); refusing to open it");
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    if (m.version != current + 1)
      throw SqliteError(0, "migration " + std::to_string(m.version) + " does not follow " + std::to_string(current));
    // PRAGMA foreign_keys is a no-op inside a transaction: switched before BEGIN, restored after.
    bool foreign_keys = false;
    const bool foreign_keys_off = !m.rebuilt_for.empty();
    if (foreign_keys_off) {
      Statement st(db, "PRAGMA foreign_keys");
      foreign_keys = st.step() && st.column_int(0) != 0;
      db.exec("PRAGMA foreign_keys = OFF");
    }
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(m.sql);
      if (m.code) m.code(db);
      if (foreign_keys_off) {
        std::string orphan;
        {
          Statement check(db, "PRAGMA foreign_key_check(" + std::string(m.rebuilt_for) + ")");
          if (check.step()) orphan = check.column_text(0);
        }
        if (!orphan.empty())
          throw SqliteError(0, "migration " + std::to_string(m.version) + " left a row of " + orphan +
                                   " referencing what is not there");
      }
      db.exec("PRAGMA user_version = " + std::to_string(m.version));
      db.exec("COMMIT");
      if (foreign_keys) db.exec("PRAGMA foreign_keys = ON");
    } catch (...) {
      db.exec("ROLLBACK");
      if (foreign_keys) db.exec("PRAGMA foreign_keys = ON");
      throw;
    }
    current = m.version;
  }
}

void configure_connection(Database& db, bool writer) {
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA foreign_keys = ON");
  if (writer) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    // 16 MiB of page cache instead of SQLite's 2 MiB: the event table's indexes are written all
    // over, and re-reading their pages from the OS cache cost the writer 7 % of its CPU (make bench).
    db.exec("PRAGMA cache_size = -16384");
  }
}

}  // namespace zkpush::storage::sqlite
