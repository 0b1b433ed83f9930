// `zkpush backup`, `zkpush restore` (data_backup.hpp) and `zkpush healthcheck`: the operations
// commands of docs/operations.md. Each says what it did on stdout, or why not on stderr with exit
// status 1 (2: a command line CLI11 cannot read, main.cpp).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/ctl.hpp"
#include "cli/data_backup.hpp"
#include "protocol/text.hpp"
#include "storage/open_store.hpp"

namespace zkpush::cli {

namespace {

struct OperationsOptions {
  std::string data = "./data";
  std::string store;  // ZKPUSH_STORE / --store: a PostgreSQL store is not backed up by zkpush
  std::string file;
  bool force = false;
  std::string url = "http://127.0.0.1:8088/healthz";
};

std::string ops_bytes(std::uint64_t n) {
  if (n < 10 * 1024) return std::to_string(n) + " bytes";
  if (n < 10ull * 1024 * 1024) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n / (1024 * 1024)) + " MiB";
}

// A database server's data is backed up with its own tools, which an installation already runs (and
// which see every node's writes consistently); zkpush says how rather than copying part of it.
int refuse_shared_store(const std::string& command, const std::string& store) {
  const std::string shown = storage::shown_store_url(store);
  std::cerr << "zkpush " << command << ": the store is a PostgreSQL database (" << shown
            << "); zkpush " << command << " handles only the data folder of a SQLite store.\n"
            << (command == "backup"
                    ? "Back the database up with PostgreSQL's tools, e.g.  pg_dump --format=custom --file=zkpush.dump '"
                    : "Restore the database with PostgreSQL's tools, e.g.  pg_restore --clean --if-exists --dbname='")
            << shown << (command == "backup" ? "'" : "' zkpush.dump")
            << "  (or continuous archiving / a replica), and copy each node's data folder (files, api-token) "
               "with it (docs/operations.md \"PostgreSQL\").\n";
  return 1;
}

int run_backup(const OperationsOptions& o) {
  if (!o.store.empty() && storage::is_shared_store(o.store)) return refuse_shared_store("backup", o.store);
  try {
    const auto s = create_backup({o.data, o.file, o.force});
    std::cout << "backup of " << o.data << " written to " << o.file << " (" << ops_bytes(s.archive_bytes) << "): database "
              << ops_bytes(s.database_bytes) << " at schema version " << s.schema_version << ", " << s.other_files
              << " other file(s), " << ops_bytes(s.other_bytes) << "\n"
              << s.skipped;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "zkpush backup: " << e.what() << "\n";
    return 1;
  }
}

int run_restore(const OperationsOptions& o) {
  if (!o.store.empty() && storage::is_shared_store(o.store)) return refuse_shared_store("restore", o.store);
  try {
    const auto s = restore_backup({o.file, o.data, o.force});
    std::cout << "restored " << o.file << " (taken " << s.created << " by zkpush " << s.zkpush_version << ") into " << o.data
              << ": " << s.files << " file(s), " << ops_bytes(s.bytes) << ", database at schema version " << s.schema_version
              << (s.replaced ? "; the folder's previous content was replaced" : "") << "\n";
    if (s.schema_version < s.latest_schema_version) {
      std::cout << "zkpush serve brings the database to schema version " << s.latest_schema_version << " when it starts\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "zkpush restore: " << e.what() << "\n";
    return 1;
  }
}

// http://host[:port][/path]; false when it is not such a URL.
bool ops_parse_url(const std::string& url, ctl::Ctl& c, std::string& target) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return false;
  std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  target = slash == std::string::npos ? "/healthz" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  c.port = 80;
  if (const auto colon = authority.rfind(':'); colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    const auto port = protocol::text::parse_int(authority.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) return false;
    c.port = static_cast<std::uint16_t>(*port);
    authority.resize(colon);
  }
  if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']') authority = authority.substr(1, authority.size() - 2);
  c.host = authority;
  return !c.host.empty();
}

int run_healthcheck(const OperationsOptions& o) {
  ctl::Ctl c;
  std::string target;
  if (!ops_parse_url(o.url, c, target)) {
    std::cerr << "zkpush healthcheck: expected a URL like http://127.0.0.1:8088/healthz, got " << o.url << "\n";
    return 2;
  }
  const auto a = ctl::exchange(c, ctl::get(target), std::chrono::seconds(5));
  if (a.status == 200) {
    std::cout << o.url << ": 200\n";
    return 0;
  }
  std::cerr << "zkpush healthcheck: " << o.url << ": " << (a.status == 0 ? a.error : std::to_string(a.status)) << "\n";
  return 1;
}

}  // namespace

void register_operations(CLI::App& app) {
  auto o = std::make_shared<OperationsOptions>();
  if (const char* data = std::getenv("ZKPUSH_DATA"); data != nullptr && *data != '\0') o->data = data;
  if (const char* store = std::getenv("ZKPUSH_STORE"); store != nullptr && *store != '\0') o->store = store;

  auto* backup = app.add_subcommand(
      "backup", "Write the data folder of zkpush serve (a consistent copy of the database, the API token, the files) to "
                "one .tar.gz, while the server runs (docs/operations.md)");
  backup->add_option("--data", o->data, "data folder of zkpush serve (env ZKPUSH_DATA)");
  backup->add_option("--store", o->store,
                     "the store of zkpush serve when not the data folder's (env ZKPUSH_STORE); a postgres:// store is "
                     "backed up with pg_dump, and the command says how");
  backup->add_option("file", o->file, "the backup file to write (.tar.gz)")->required();
  backup->add_flag("--force", o->force, "replace the file if it exists");
  backup->callback([o] { set_exit_code(run_backup(*o)); });

  auto* restore = app.add_subcommand(
      "restore", "Put a backup into a data folder no server is running on; checks its manifest and checksums first");
  restore->add_option("file", o->file, "the backup file (zkpush backup)")->required()->check(CLI::ExistingFile);
  restore->add_option("--data", o->data, "data folder to restore into (env ZKPUSH_DATA); created if missing");
  restore->add_flag("--force", o->force, "replace the content of a folder that is not empty");
  restore->add_option("--store", o->store, "as for backup (env ZKPUSH_STORE)");
  restore->callback([o] { set_exit_code(run_restore(*o)); });

  auto* health = app.add_subcommand(
      "healthcheck", "Exit 0 when the server answers 200 at URL (the container's HEALTHCHECK: no curl needed), else 1");
  health->add_option("url", o->url, "http://host:port/healthz");
  health->callback([o] { set_exit_code(run_healthcheck(*o)); });
}

}  // namespace zkpush::cli
