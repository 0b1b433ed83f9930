// `zkpush migrate`: brings a store's schema to this build's, without serving — before an upgrade, or
// to see that a database is ready (docs/operations.md "Upgrades"). `zkpush serve` migrates at start
// as well; with several nodes on one PostgreSQL database the first node to start migrates, under an
// advisory lock, while the others wait. Exit 0 when the schema is current (also when it already was),
// 1 when it cannot be migrated (a newer schema than this build, an unreachable server).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "storage/open_store.hpp"

namespace zkpush::cli {

namespace {

struct MigrateOptions {
  std::string data_dir = "./data";
  std::string store;
};

int run_migrate(const MigrateOptions& o) {
  const std::string url =
      o.store.empty() ? "sqlite:" + (std::filesystem::path(o.data_dir) / "zkpush.db").string() : o.store;
  try {
    if (o.store.empty()) std::filesystem::create_directories(o.data_dir);
    const auto m = storage::migrate_store(url);
    if (m.from == m.to)
      std::printf("%s: schema version %d, nothing to do\n", storage::shown_store_url(url).c_str(), m.to);
    else
      std::printf("%s: schema migrated from version %d to %d\n", storage::shown_store_url(url).c_str(), m.from, m.to);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zkpush migrate: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void register_migrate(CLI::App& app) {
  auto o = std::make_shared<MigrateOptions>();
  auto* cmd = app.add_subcommand(
      "migrate", "Bring a store's schema up to this version of zkpush without serving (before an upgrade)");
  if (const char* env = std::getenv("ZKPUSH_DATA"); env && *env) o->data_dir = env;
  if (const char* env = std::getenv("ZKPUSH_STORE"); env && *env) o->store = env;
  cmd->add_option("--data", o->data_dir, "data folder holding zkpush.db (env ZKPUSH_DATA)")->capture_default_str();
  cmd->add_option("--store", o->store, "the store instead: sqlite:<file> or postgres://user@host:port/db (env ZKPUSH_STORE)");
  cmd->callback([o] { set_exit_code(run_migrate(*o)); });
}

}  // namespace zkpush::cli
