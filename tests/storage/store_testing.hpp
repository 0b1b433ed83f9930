// Helpers for tests of Store implementations: temporary folders and waiting for write callbacks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "storage/store.hpp"

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

// Calls an asynchronous store write and waits for its callback (at most a minute: a hang is a
// failure, not a stuck test run).
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

inline StoreStatus await_status(const std::function<void(Store::Done)>& call) { return await<Unit>(call); }

}  // namespace zkpush::storage::testing
