// The data folder's disk fills up while a device uploads: the server must refuse what it cannot
// store (503, never a 200 for data not on disk), say so in its log, keep serving the polls of
// everyone, and take uploads again once space is freed. Real tmpfs, real SQLite, real sockets.
#include <chrono>
#include <fstream>
#include <thread>

#include "reliability/reliability_support.hpp"

namespace zkpush::server::reliability {
namespace {

using namespace std::chrono_literals;

class DiskFullTest : public ReliabilityFixture {};

// Fills `path` with real bytes (tmpfs would not count a sparse file) until `keep` bytes are left.
void fill_disk(const std::filesystem::path& path, std::uintmax_t keep) {
  const auto available = std::filesystem::space(path.parent_path()).available;
  ASSERT_GT(available, keep);
  std::ofstream out(path, std::ios::binary);
  const std::string chunk(64 * 1024, 'x');
  for (std::uintmax_t left = available - keep; left > 0;) {
    const auto n = std::min<std::uintmax_t>(left, chunk.size());
    out.write(chunk.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  out.close();
  ASSERT_TRUE(out) << "filler file not written";
}

TEST_F(DiskFullTest, UploadsAreRefusedWhileTheDiskIsFullAndAcceptedOnceSpaceIsFreed) {
  std::string reason;
  if (!mount_tmpfs(16u << 20, reason)) GTEST_SKIP() << reason << " (needs CAP_SYS_ADMIN)";
  start();
  const std::string sn = "FULL0001", other = "POLL0001";
  const std::string token = handshake(sn);
  const std::string other_token = handshake(other);
  ASSERT_EQ(upload(sn, token, 1, 50), 200);

  // What the disk still holds once the filler is written: room for a few batches only.
  const auto filler = dir_ / "filler";
  fill_disk(filler, 256 * 1024);

  constexpr int kBatch = 50;
  std::int64_t next = 51;
  int refused = 0;
  std::vector<std::int64_t> refused_batches;
  for (int i = 0; i < 4000 && refused < 3; ++i) {
    const int status = upload(sn, token, next, kBatch);
    if (status != 200) {
      // 503 tells the device to keep the records and send them again later.
      EXPECT_EQ(status, 503) << "batch at index " << next;
      ++refused;
      refused_batches.push_back(next);
    }
    next += kBatch;
  }
  ASSERT_GT(refused, 0) << "the disk never filled (" << next << " records sent)";
  EXPECT_TRUE(log_->contains("store failed")) << "no log line for the refused uploads";

  // Polls do not need the disk: the others keep being served while it is full.
  auto poll = send(p::format_getrequest(other), other_token);
  EXPECT_EQ(poll.status, 200);
  EXPECT_EQ(poll.body, "OK");
  auto ping = send(p::format_ping(other), other_token);
  EXPECT_EQ(ping.status, 200);
  auto health = send_raw(http::test::request("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);

  std::filesystem::remove(filler);
  // The refused batches come again, as a device sends them again; the store must take them now
  // (a few attempts: the first may still meet the failed transaction being cleaned up).
  for (auto first : refused_batches) {
    int status = 0;
    for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
      status = upload(sn, token, first, kBatch);
      if (status != 200) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(status, 200) << "batch at index " << first << " still refused after space was freed";
  }
  EXPECT_EQ(upload(sn, token, next, kBatch), 200);

  restart();
  EXPECT_EQ(app_->store().integrity_check(), "ok");
  expect_acknowledged_stored_once(sn);
  std::printf("acknowledged %zu records, refused %d batches while full\n", acknowledged_[sn].size(), refused);
}

}  // namespace
}  // namespace zkpush::server::reliability
