// `zkpush audit verify --data DIR` (or --store URL): checks the audit log's hash chain
// (storage/audit_chain.hpp) in the data folder's database or the store named, read only, while servers
// may be running on it. Exit 0 when the chain
// is intact, 1 when it is broken (naming the first broken entry and why), 2 when it cannot be read.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "storage/open_store.hpp"

namespace zkpush::cli {

namespace {

struct AuditOptions {
  std::string data_dir = "./data";
  std::string store;  // "" = the data folder's zkpush.db
};

int run_audit_verify(const AuditOptions& o) {
  const auto url =
      o.store.empty() ? "sqlite:" + (std::filesystem::path(o.data_dir) / "zkpush.db").string() : o.store;
  storage::AuditVerdict v;
  try {
    v = storage::verify_audit_log(url);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zkpush audit verify: %s\n", e.what());
    return 2;
  }
  if (!v.intact) {
    std::printf("%lld entries, chain BROKEN at entry %lld (%s): %s\n", static_cast<long long>(v.entries),
                static_cast<long long>(v.broken_id), v.problem.c_str(), v.why.c_str());
    return 1;
  }
  // The count and the head are what a copy kept elsewhere is compared with: rows removed from the
  // end leave an intact, shorter chain (docs/security.md "Audit log").
  std::printf("%lld entries, chain intact, last entry %lld, last hash %s\n", static_cast<long long>(v.entries),
              static_cast<long long>(v.last_id), v.last_hash.c_str());
  return 0;
}

}  // namespace

void register_audit(CLI::App& app) {
  auto options = std::make_shared<AuditOptions>();
  auto* cmd = app.add_subcommand("audit", "The API's audit log in a data folder");
  cmd->require_subcommand(1);
  auto* verify = cmd->add_subcommand(
      "verify",
      "Check the audit log's hash chain (read only; a server may be running): exit 0 and the entry count and last "
      "hash when intact, 1 naming the first edited, deleted or moved entry, 2 when the database cannot be read");
  if (const char* env = std::getenv("ZKPUSH_DATA")) options->data_dir = env;
  verify->add_option("--data", options->data_dir, "data folder holding zkpush.db (env ZKPUSH_DATA)")
      ->capture_default_str();
  if (const char* env = std::getenv("ZKPUSH_STORE"); env && *env) options->store = env;
  verify->add_option("--store", options->store,
                     "the store instead: sqlite:<file> or postgres://user@host:port/db (env ZKPUSH_STORE)");
  verify->callback([options] { set_exit_code(run_audit_verify(*options)); });
}

}  // namespace zkpush::cli
