#include "support/postgres_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <cstdlib>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/postgres/database.hpp"

namespace zkpush::test {

namespace {

struct Cluster {
  std::string dir;
  bool own = false;  // started by this process, stopped at its exit
  std::vector<std::string> databases;
};

std::mutex cluster_mu;
Cluster* cluster = nullptr;

std::string script() { return std::string(ZKPUSH_SOURCE_DIR) + "/tests/support/pg_cluster.sh"; }

void at_exit() {
  std::lock_guard lock(cluster_mu);
  if (!cluster) return;
  if (!cluster->databases.empty()) {
    try {
      storage::postgres::Connection admin(postgres_url_for("postgres"));
      for (const auto& db : cluster->databases) admin.exec("DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
    } catch (const std::exception&) {
      // the cluster is gone already; nothing to drop
    }
  }
  if (cluster->own) {
    const std::string stop = script() + " stop " + cluster->dir + " >/dev/null 2>&1";
    if (std::system(stop.c_str()) != 0) {
      // best effort at exit
    }
  }
}

// Clusters left behind by test processes that crashed (their exit handler never ran): stopped and
// removed, so that a crash does not leave a server running for the rest of the machine's life.
void sweep_orphans() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("zkpush-pg-")) continue;
    const std::string digits = name.substr(10);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stol(digits));
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its process lives
    const std::string stop = script() + " stop " + entry.path().string() + " >/dev/null 2>&1";
    if (std::system(stop.c_str()) != 0) {
      // another process may be sweeping it at the same time
    }
  }
}

Cluster& the_cluster() {
  if (cluster) return *cluster;
  cluster = new Cluster();  // lives until exit: at_exit uses it
  if (const char* dir = std::getenv("ZKPUSH_TEST_PG"); dir && *dir) {
    cluster->dir = dir;
  } else {
    cluster->dir = "/tmp/zkpush-pg-" + std::to_string(::getpid());
    cluster->own = true;
    sweep_orphans();
    const std::string start = script() + " start " + cluster->dir + " >/dev/null";
    if (std::system(start.c_str()) != 0)
      throw std::runtime_error("could not start a PostgreSQL cluster with " + script() + " (see its output above)");
  }
  std::atexit(at_exit);
  return *cluster;
}

}  // namespace

std::string postgres_socket_dir() {
  std::lock_guard lock(cluster_mu);
  return the_cluster().dir;
}

std::string postgres_url_for(const std::string& database) {
  return "postgresql:///" + database + "?host=" + (cluster ? cluster->dir : postgres_socket_dir()) + "&user=zkpush";
}

std::string postgres_database_url(const std::string& key) {
  std::lock_guard lock(cluster_mu);
  Cluster& c = the_cluster();
  const std::string name = "zt_" + std::to_string(::getpid()) + "_" + std::to_string(std::hash<std::string>{}(key));
  bool known = false;
  for (const auto& db : c.databases) known = known || db == name;
  if (!known) {
    storage::postgres::Connection admin(postgres_url_for("postgres"));
    admin.exec("CREATE DATABASE \"" + name + "\"");
    c.databases.push_back(name);
  }
  return postgres_url_for(name);
}

}  // namespace zkpush::test
