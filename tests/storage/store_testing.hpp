// Helpers for tests of stores (the contract suites here, the services' tests in tests/service):
// temporary folders, waiting for asynchronous callbacks, and the backends every contract suite runs
// against, opened by URL (storage/open_store.hpp) so that no suite names a backend type.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <ostream>
#include <string>

#include "storage/open_store.hpp"
#include "storage/store.hpp"
#include "support/postgres_cluster.hpp"
#include "support/store_access.hpp"

namespace zkpush::storage::testing {

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& ch : name)
      if (ch == '/') ch = '_';
    path_ = std::filesystem::temp_directory_path() / ("zkpush-store-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Calls something asynchronous that answers with a StoreResult<T> (Store::write / read, the
// command queue...) and waits for its callback, at most a minute: a hang is a failure, not a stuck
// test run.
template <class T>
StoreResult<T> await(const std::function<void(Store::Reply<T>)>& call) {
  auto promise = std::make_shared<std::promise<StoreResult<T>>>();
  auto future = promise->get_future();
  call([promise](StoreResult<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "store callback never came";
    return StoreError{false, "timeout"};
  }
  return future.get();
}

// A store backend under the contract suites (store_contract_test, device_ownership_test): its name
// and the URL of the store kept in `place` (a fresh folder per test). Opened again with the same
// place, it gives back the same data.
struct Backend {
  std::string name;
  std::function<std::string(const std::filesystem::path& place)> url;

  std::unique_ptr<Store> open(const std::filesystem::path& place) const { return open_store(url(place)); }
};

inline std::ostream& operator<<(std::ostream& os, const Backend& b) { return os << b.name; }

// The SQLite store in `place`.
inline std::string sqlite_url(const std::filesystem::path& place) { return "sqlite:" + (place / "zkpush.db").string(); }

// A database of its own on the test run's PostgreSQL cluster for `place` (support/postgres_cluster.hpp).
inline std::string postgres_url(const std::filesystem::path& place) { return test::postgres_database_url(place.string()); }

// Every backend the contract suites run against.
inline auto all_backends() {
  return ::testing::Values(Backend{"sqlite", sqlite_url}, Backend{"postgres", postgres_url});
}
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

// A contract suite's fixture: a fresh store of the backend under test per test, and its units of
// work run to completion (read, write).
class ContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = GetParam().open(dir_.path()); }
  void TearDown() override { store_.reset(); }
  Store& store() { return *store_; }
  template <class Job>
  auto read(Job job) {
    return test::read(*store_, std::move(job));
  }
  template <class Job>
  auto write(Job job) {
    return test::write(*store_, std::move(job));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace zkpush::storage::testing
