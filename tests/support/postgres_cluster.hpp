// PostgreSQL for the tests: a real server, never a mock. Under ctest the cluster is a fixture started
// once for the whole run (tests/support/pg_cluster.sh, its folder in ZKPUSH_TEST_PG); a test binary run
// on its own starts a private cluster at its first use and stops it when the process exits. No test is
// skipped for want of a server: without one they fail, saying why.
#pragma once

#include <string>

namespace zkpush::test {

// The URL of an empty database of its own on the test cluster for `key` (a test's temporary folder,
// say), created at the first call; the same key gives the same database again. Every database this
// process created is dropped when it exits.
std::string postgres_database_url(const std::string& key);
// The folder holding the cluster's socket (host= in a URL).
std::string postgres_socket_dir();
// A URL like postgres_database_url's for a database name, without creating it.
std::string postgres_url_for(const std::string& database);

}  // namespace zkpush::test
