// The audit log's hash chain (storage/audit_chain.hpp) in a real SQLite file: entries appended
// through the store verify; a row edited, deleted or moved with raw SQL (another connection, as
// someone with the file would) is named with the first broken id and why; rows removed from the end
// leave an intact chain whose count and head differ from the ones recorded before (what a chain
// cannot show by itself); rows written before version 20 are chained by the migration. And the audit
// area's contract on every backend: append, list, read in order, verify by URL.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/audit_chain.hpp"
#include "storage/open_store.hpp"
#include "storage/result.hpp"
#include "storage/sqlite/database.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/schema.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "store_testing.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage {
namespace {

using sqlite::Database;
using sqlite::OpenMode;
using testing::TempDir;

AuditEntry chain_entry(int i) {
  AuditEntry e;
  e.at = 1'700'000'000 + i;
  e.actor = "token " + std::to_string(i % 3) + " 'hr sync'";
  e.role = i % 2 ? "operator" : "admin";
  e.remote = "10.0.0." + std::to_string(i);
  e.method = "POST";
  e.target = "/api/v1/persons?n=" + std::to_string(i);
  e.operation = "createPerson";
  e.status = 201;
  return e;
}

class AuditChainTest : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_.path() / "zkpush.db").string(); }
  std::unique_ptr<Store> open() { return sqlite::open_sqlite_store(sqlite::SqliteOptions{db_path()}); }
  // Appends n entries through the store (the writer, as the API does) and closes it.
  void append(int n) {
    auto store = open();
    for (int i = 1; i <= n; ++i)
      test::write(*store, [i](Transaction& tx) { return tx.audit().append(chain_entry(i)); });
  }
  // What someone with write access to the file does: SQL on a connection of its own.
  void tamper(const std::string& sql) {
    Database db(db_path(), OpenMode::read_write_create);
    db.exec(sql);
  }
  AuditVerdict verify() { return verify_audit_log("sqlite:" + db_path()); }
  TempDir dir_;
};

TEST_F(AuditChainTest, AppendedEntriesVerifyAndShowTheirHash) {
  append(20);
  const auto v = verify();
  EXPECT_TRUE(v.intact) << v.why;
  EXPECT_EQ(v.entries, 20);
  EXPECT_EQ(v.last_id, 20);
  ASSERT_EQ(v.last_hash.size(), 64u);
  auto store = open();
  const auto newest = test::read(*store, [](Reads& r) { return r.audit().list(AuditFilter{0, 2, ""}); });
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].hash, v.last_hash);
  // The hash is the documented one: SHA-256 of the previous hash and the canonical form.
  EXPECT_EQ(audit_hash(newest[1].hash, newest[0]), newest[0].hash);
  // The same verdict through a store's read (GET /api/v1/audit/verify).
  const auto through_store = test::read(*store, [](Reads& r) {
    return verify_audit_chain([&r](std::int64_t after, std::int64_t limit) { return r.audit().ascending(after, limit); });
  });
  EXPECT_TRUE(through_store.intact);
  EXPECT_EQ(through_store.last_hash, v.last_hash);
}

TEST_F(AuditChainTest, AnEmptyLogIsIntact) {
  open().reset();
  const auto v = verify();
  EXPECT_TRUE(v.intact);
  EXPECT_EQ(v.entries, 0);
  EXPECT_EQ(v.last_hash, kAuditGenesis);
}

TEST_F(AuditChainTest, TheCanonicalFormSeparatesFields) {
  AuditEntry a = chain_entry(1), b = chain_entry(1);
  a.actor = "ab";
  a.role = "c";
  b.actor = "a";
  b.role = "bc";
  EXPECT_NE(audit_canonical(a), audit_canonical(b));
  EXPECT_NE(audit_hash(kAuditGenesis, a), audit_hash(kAuditGenesis, b));
  b = a;
  b.hash = "anything";  // the stored hash is not part of what is hashed
  EXPECT_EQ(audit_hash(kAuditGenesis, a), audit_hash(kAuditGenesis, b));
}

TEST_F(AuditChainTest, AnEditedRowIsNamed) {
  append(10);
  tamper("UPDATE audit_log SET status = 200 WHERE id = 4");
  const auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.broken_id, 4);
  EXPECT_EQ(v.problem, "edited");
  EXPECT_NE(v.why.find("entry 4 "), std::string::npos) << v.why;
  EXPECT_EQ(v.entries, 10);
}

TEST_F(AuditChainTest, AnEditedRowWithARecomputedOwnHashBreaksTheNext) {
  append(10);
  // Whoever edits row 4 and fixes its hash (the algorithm is public) still breaks row 5.
  AuditEntry edited;
  {
    auto store = open();
    auto rows = test::read(*store, [](Reads& r) { return r.audit().ascending(2, 2); });
    ASSERT_EQ(rows.size(), 2u);
    edited = rows[1];
    edited.status = 200;
    edited.hash = audit_hash(rows[0].hash, edited);
  }
  tamper("UPDATE audit_log SET status = 200, hash = '" + edited.hash + "' WHERE id = 4");
  const auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.broken_id, 5);
  EXPECT_EQ(v.problem, "edited");
}

TEST_F(AuditChainTest, ADeletedRowIsNamedAsAGap) {
  append(10);
  tamper("DELETE FROM audit_log WHERE id IN (6, 7)");
  const auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.broken_id, 8);
  EXPECT_EQ(v.problem, "deleted");
  EXPECT_NE(v.why.find("entries 6 to 7 are missing"), std::string::npos) << v.why;
}

TEST_F(AuditChainTest, MovedRowsAreNamedAsReordered) {
  append(10);
  tamper("UPDATE audit_log SET id = -3 WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 5; "
         "UPDATE audit_log SET id = 5 WHERE id = -3");
  const auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.broken_id, 3);
  EXPECT_EQ(v.problem, "reordered");
  EXPECT_NE(v.why.find("written as id 5"), std::string::npos) << v.why;
}

TEST_F(AuditChainTest, ARowWithoutHashIsNamed) {
  append(3);
  tamper("INSERT INTO audit_log (at, actor, role, remote, method, target, operation, status) "
         "VALUES (1, 'me', 'admin', '1.2.3.4', 'POST', '/x', '', 200)");
  const auto v = verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.broken_id, 4);
  EXPECT_EQ(v.problem, "unchained");
}

// What a chain cannot show by itself: the newest rows deleted leave a shorter, intact chain. The
// count and head recorded before (verify's output, the server's start-up log) are what reveal it.
TEST_F(AuditChainTest, TruncationAtTheEndShowsOnlyAgainstARecordedHead) {
  append(10);
  const auto before = verify();
  ASSERT_TRUE(before.intact);
  tamper("DELETE FROM audit_log WHERE id > 7");
  const auto after = verify();
  EXPECT_TRUE(after.intact);
  EXPECT_EQ(after.entries, 7);
  EXPECT_NE(after.last_hash, before.last_hash);
  // New entries go on from the remaining head: the chain stays checkable.
  append(1);
  EXPECT_TRUE(verify().intact);
}

TEST_F(AuditChainTest, RowsWrittenBeforeVersion20AreChainedByTheMigration) {
  {
    Database db(db_path(), OpenMode::read_write_create);
    sqlite::configure_connection(db, true);
    sqlite::migrate(db, sqlite::store_migrations().first(19));
    for (int i = 1; i <= 5; ++i)
      db.exec("INSERT INTO audit_log (at, actor, role, remote, method, target, operation, status) VALUES (" +
              std::to_string(100 + i) + ", 'admin token (configured)', 'admin', '127.0.0.1', 'POST', '/api/v1/x', "
              "'op', 201)");
  }
  EXPECT_THROW(verify(), std::runtime_error);  // version 19: no chain yet, and verify migrates nothing
  {
    Database db(db_path(), OpenMode::read_only);
    EXPECT_EQ(sqlite::schema_version(db), 19);
  }
  append(2);  // opening the store migrates; two more entries follow the chained ones
  const auto v = verify();
  EXPECT_TRUE(v.intact) << v.why;
  EXPECT_EQ(v.entries, 7);
}

TEST_F(AuditChainTest, AMissingDatabaseIsAnError) {
  EXPECT_THROW(verify_audit_log("sqlite:" + (dir_.path() / "nothing.db").string()), std::runtime_error);
}

// ---- the audit area on every backend ---------------------------------------------------------------

// Appended through units of work (one refused after its append, which leaves nothing), listed newest
// first by actor and page, read oldest first, and verified through the store's URL.
class AuditContract : public testing::ContractTest {};

TEST_P(AuditContract, AppendedEntriesAreListedPagedAndVerified) {
  std::vector<std::int64_t> ids;
  for (int i = 1; i <= 7; ++i)
    ids.push_back(write([i](Transaction& tx) { return tx.audit().append(chain_entry(i)); }));
  const auto refused = store().write_now([](Transaction& tx) {
    tx.audit().append(chain_entry(99));
    throw Refused(StoreError::Reason::invalid, "changed its mind");
  });
  EXPECT_FALSE(refused.ok());
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);

  auto list = [this](AuditFilter f) { return read([f](Reads& r) { return r.audit().list(f); }); };
  auto ids_of = [](const std::vector<AuditEntry>& entries) {
    std::vector<std::int64_t> out;
    for (const auto& e : entries) out.push_back(e.id);
    return out;
  };
  const auto all = list(AuditFilter{0, 0, ""});  // limit 0: every entry
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(ids_of(all), std::vector<std::int64_t>(ids.rbegin(), ids.rend()));
  AuditEntry want = chain_entry(7);
  want.id = ids.back();
  want.hash = all[0].hash;
  EXPECT_EQ(all[0], want);
  EXPECT_EQ(all[0].hash, audit_hash(all[1].hash, all[0]));
  EXPECT_EQ(all.back().hash, audit_hash(kAuditGenesis, all.back()));

  EXPECT_EQ(ids_of(list(AuditFilter{0, 2, ""})), (std::vector<std::int64_t>{ids[6], ids[5]}));
  EXPECT_EQ(ids_of(list(AuditFilter{ids[5], 2, ""})), (std::vector<std::int64_t>{ids[4], ids[3]}));
  // chain_entry(i)'s actor is "token <i % 3> ...": entries 1, 4 and 7 for token 1.
  const std::string actor = chain_entry(1).actor;
  EXPECT_EQ(ids_of(list(AuditFilter{0, 0, actor})), (std::vector<std::int64_t>{ids[6], ids[3], ids[0]}));
  EXPECT_EQ(ids_of(list(AuditFilter{ids[6], 1, actor})), (std::vector<std::int64_t>{ids[3]}));
  EXPECT_TRUE(list(AuditFilter{0, 0, "nobody"}).empty());

  const auto ascending = read([](Reads& r) { return r.audit().ascending(0, 0); });
  EXPECT_EQ(ids_of(ascending), ids);
  const auto after = read([id = ids[4]](Reads& r) { return r.audit().ascending(id, 10); });
  EXPECT_EQ(ids_of(after), (std::vector<std::int64_t>{ids[5], ids[6]}));

  const auto v = verify_audit_log(GetParam().url(dir_.path()));
  EXPECT_TRUE(v.intact) << v.why;
  EXPECT_EQ(v.entries, 7);
  EXPECT_EQ(v.last_id, ids.back());
  EXPECT_EQ(v.last_hash, all[0].hash);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditContract, testing::all_backends(), testing::backend_name);

}  // namespace
}  // namespace zkpush::storage
