// What the reliability tests share: the in-process server fixture with a data folder that can be
// a small tmpfs, a log capture (the server must say what went wrong, not only answer it), and the
// bookkeeping "every record answered 200 is stored exactly once".
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/serve_fixture.hpp"

namespace zkpush::server::reliability {

namespace p = protocol;

// Every message the server logs at info or above while it is installed.
class CapturedLog : public spdlog::sinks::base_sink<std::mutex> {
 public:
  bool contains(const std::string& needle) {
    std::lock_guard lock(base_sink<std::mutex>::mutex_);
    for (const auto& line : lines_)
      if (line.find(needle) != std::string::npos) return true;
    return false;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level >= spdlog::level::info) lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

class ReliabilityFixture : public e2e::ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    log_ = std::make_shared<CapturedLog>();
    spdlog::default_logger()->sinks().push_back(log_);
  }
  void TearDown() override {
    app_.reset();
    unmount();
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), log_), sinks.end());
    ServeFixture::TearDown();
  }

  // The data folder on its own tmpfs of `bytes`; false (with errno in the reason) when the
  // process may not mount (no CAP_SYS_ADMIN): the caller skips.
  bool mount_tmpfs(std::size_t bytes, std::string& reason) {
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      reason = std::string("mount -t tmpfs: ") + std::strerror(errno);
      return false;
    }
    mounted_ = true;
    return true;
  }
  // 0 or the errno of the remount (EBUSY: a file is open for writing on it).
  int remount(bool read_only) {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", flags, nullptr) == 0 ? 0 : errno;
  }
  void unmount() {
    if (mounted_ && ::umount2(dir_.c_str(), MNT_DETACH) == 0) mounted_ = false;
  }

  // Records with index `first`..`first+count-1` of one device, all at the same time: the index is
  // what identifies them in the store.
  static std::vector<p::Record> rtlog_batch(std::int64_t first, int count) {
    std::vector<p::Record> records;
    for (int i = 0; i < count; ++i) records.push_back(rtlog_record(static_cast<int>(first + i), "2019-07-22 16:30:01"));
    return records;
  }

  // Sends one rtlog batch; on 200 its indexes are acknowledged. Returns the status (0: no answer).
  int upload(const std::string& sn, const std::string& token, std::int64_t first, int count) {
    auto r = send(p::format_rtlog_upload(sn, rtlog_batch(first, count)), token);
    if (r.status == 200) {
      std::lock_guard lock(acked_mutex_);
      for (int i = 0; i < count; ++i) acknowledged_[sn].insert(first + i);
    }
    return r.status;
  }

  // Every acknowledged index of `sn` is stored, and nothing of `sn` is stored twice.
  void expect_acknowledged_stored_once(const std::string& sn) {
    storage::EventFilter filter;
    filter.sn = sn;
    filter.limit = 0;
    std::map<std::int64_t, int> stored;
    for (const auto& e : stored_events(filter)) {
      ASSERT_TRUE(e.index.has_value());
      ++stored[*e.index];
    }
    std::size_t missing = 0;
    for (auto index : acknowledged_[sn])
      if (stored.find(index) == stored.end()) ++missing;
    EXPECT_EQ(missing, 0u) << sn << ": of " << acknowledged_[sn].size() << " acknowledged records";
    for (const auto& [index, n] : stored) EXPECT_EQ(n, 1) << sn << ": index " << index << " stored " << n << " times";
    EXPECT_GE(stored.size(), acknowledged_[sn].size());
  }

  std::shared_ptr<CapturedLog> log_;
  std::mutex acked_mutex_;
  std::map<std::string, std::set<std::int64_t>> acknowledged_;
  bool mounted_ = false;
};

}  // namespace zkpush::server::reliability
