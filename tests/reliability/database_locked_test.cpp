// The database taken away from the server without it crashing: another process's connection holds
// the write lock for longer than the server's busy timeout, and the data folder's filesystem is
// read-only. Uploads get 200 only for what was committed, 503 otherwise (with a log line); polls go
// on; once the database is back the server takes uploads again, and nothing answered 200 is lost.
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "reliability/reliability_support.hpp"

namespace zkpush::server::reliability {
namespace {

using namespace std::chrono_literals;

class DatabaseLockedTest : public ReliabilityFixture {
 protected:
  // One upload on its own connection, waiting as long as a device would (its TimeoutSec is far
  // shorter, but a slow answer is not what is tested here: a wrong one is).
  int upload_waiting(const std::string& sn, const std::string& token, std::int64_t first, int count) {
    std::string headers = "User-Agent: iClock Proxy/1.09\r\nCookie: token=" + token + "\r\n";
    auto r = p::format_rtlog_upload(sn, rtlog_batch(first, count));
    for (const auto& h : r.headers) headers += h.name + ": " + h.value + "\r\n";
    http::test::TestClient client(app_->port());
    if (!client.send(http::test::request(r.method, r.target, r.body, headers))) return 0;
    auto answer = client.read_response(30s);
    if (!answer) return 0;
    if (answer->status == 200) {
      std::lock_guard lock(acked_mutex_);
      for (int i = 0; i < count; ++i) acknowledged_[sn].insert(first + i);
    }
    return answer->status;
  }
};

TEST_F(DatabaseLockedTest, UploadsWaitOrAreRefusedWhileAnotherConnectionHoldsTheWriteLock) {
  start();
  const std::string sn = "LOCK0001", other = "POLL0001";
  const std::string token = handshake(sn);
  const std::string other_token = handshake(other);
  ASSERT_EQ(upload(sn, token, 1, 20), 200);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "zkpush.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db,
                         "BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS reliability_lock(x);"
                         " INSERT INTO reliability_lock VALUES (1);",
                         nullptr, nullptr, &error),
            SQLITE_OK)
      << (error ? error : "");

  // Uploads from the moment the lock is held. An answer that arrives before the lock is released
  // and says 200 would be a lie: nothing can have been committed meanwhile.
  std::atomic<bool> released{false};
  std::atomic<int> answered_while_locked{0}, ok_while_locked{0}, unexpected{0};
  std::vector<std::int64_t> refused;
  std::int64_t next = 21;
  std::thread uploader([&] {
    while (!released) {
      const std::int64_t first = next;
      next += 20;
      const int status = upload_waiting(sn, token, first, 20);
      const bool still_locked = !released;
      if (status != 200) refused.push_back(first);
      if (status != 200 && status != 503) ++unexpected;
      if (still_locked) {
        ++answered_while_locked;
        if (status == 200) ++ok_while_locked;
      }
    }
  });
  // Polls and pings need no write: they are answered during the lock.
  for (int i = 0; i < 5; ++i) {
    auto poll = send(p::format_getrequest(other), other_token);
    EXPECT_EQ(poll.status, 200);
    EXPECT_EQ(poll.body, "OK");
    std::this_thread::sleep_for(200ms);
  }
  // Held well past the server's busy timeout (5 s), so its writer has to give up at least once.
  std::this_thread::sleep_for(12s);
  released = true;
  ASSERT_EQ(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  uploader.join();

  // Waiting (within 30 s) and refusing are both right; a 200 for nothing committed, another
  // status, or no answer at all are not. Today the writer gives up after its busy timeout: 503.
  EXPECT_EQ(ok_while_locked.load(), 0) << "a 200 was answered while nothing could be committed";
  EXPECT_EQ(unexpected.load(), 0) << "an upload was answered with neither 200 nor 503, or not within 30 s";
  if (!refused.empty()) {
    EXPECT_TRUE(log_->contains("store failed: database is locked")) << "no log line for the refused uploads";
  }
  std::printf("during the lock: %d answers, %zu batches refused\n", answered_while_locked.load(), refused.size());

  // No restart: the refused batches come again, as the device sends them, and are taken.
  for (auto first : refused) {
    int status = 0;
    for (int attempt = 0; attempt < 30 && status != 200; ++attempt) {
      status = upload_waiting(sn, token, first, 20);
      if (status != 200) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(status, 200) << "batch at index " << first << " still refused after the lock was released";
  }
  EXPECT_EQ(upload(sn, token, next, 20), 200);
  expect_acknowledged_stored_once(sn);
  EXPECT_EQ(app_->store().integrity_check(), "ok");
}

// Remote identification (manual 10) while another connection holds the write lock: the panel is
// answered AUTH=TIMEOUT once --remote-auth-deadline passes, not left without an answer, and a request
// answered TIMEOUT records nothing when the store gets to it later (no event, no anti-passback move:
// the panel was told no decision was taken). Once the lock is gone the same request is decided.
TEST_F(DatabaseLockedTest, RemoteIdentificationAnswersTimeoutWhileTheStoreIsLockedAndRecordsNothing) {
  ServerConfig config;
  config.api_token = "locked-admin";
  config.remote_auth_deadline_ms = 300;
  start(config);
  const std::string sn = "LOCKAUTH";
  const std::string token = handshake(sn);
  auto events_of = [&] {
    auto r = send_raw(http::test::request("GET", "/api/v1/events?sn=" + sn, "", "Authorization: Bearer locked-admin\r\n"));
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_array() ? j.size() : std::size_t{999};
  };
  const p::Record swipe{{"time", "2027-03-03 12:00:01"}, {"pin", "0"}, {"cardno", "555001"}, {"addrtype", "2"},
                        {"eventaddr", "1"}, {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "4"}};
  ASSERT_EQ(events_of(), 0u);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "zkpush.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);  // the server may be writing (the handshake's last seen)
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS reliability_lock(x);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto answer = send(p::format_remote_auth_request(sn, swipe), token);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("AUTH=TIMEOUT"), std::string::npos) << answer.body;
  EXPECT_EQ(answer.body.find("CONTROL DEVICE"), std::string::npos) << answer.body;
  EXPECT_TRUE(log_->contains("no decision within 300 ms")) << "no log line for the TIMEOUT";
  auto metrics = send_raw(http::test::request("GET", "/metrics", "", ""));
  EXPECT_NE(metrics.body.find("zkpush_remote_auth_timeouts_total 1\n"), std::string::npos) << metrics.body.substr(0, 2000);
  // Released within the server's busy timeout (5 s): its writer then reaches the timed-out request.
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  std::this_thread::sleep_for(300ms);  // the writer's batch after the lock (a read would not wait for it)
  EXPECT_EQ(events_of(), 0u) << "a request answered TIMEOUT recorded a decision";
  // Asked again once the store is back: decided (an unknown card) and recorded once.
  auto again = send(p::format_remote_auth_request(sn, swipe), token);
  EXPECT_NE(again.body.find("AUTH=FAILED"), std::string::npos) << again.body;
  EXPECT_EQ(events_of(), 1u);
}

// A read-only filesystem cannot be brought about under a running server: Linux refuses to remount
// read-only while a file on it is open for writing (EBUSY), and the server keeps its database
// open. So the server meets it where it can: at a restart onto a disk that went read-only.
TEST_F(DatabaseLockedTest, ARestartOntoAReadOnlyFilesystemStopsWithTheReasonAndRecoversOnceWritable) {
  std::string reason;
  if (!mount_tmpfs(16u << 20, reason)) GTEST_SKIP() << reason << " (needs CAP_SYS_ADMIN)";
  ServerConfig config;
  config.api_token = "reliability";  // nothing to write in the data folder besides the database
  start(config);
  const std::string sn = "RDON0001";
  const std::string token = handshake(sn);
  ASSERT_EQ(upload(sn, token, 1, 20), 200);
  if (remount(true) == 0) {  // a kernel that allows it after all: uploads must not get a 200 then
    EXPECT_EQ(upload(sn, token, 21, 20), 503);
    ASSERT_EQ(remount(false), 0) << std::strerror(errno);
  }

  app_.reset();
  ASSERT_EQ(remount(true), 0) << std::strerror(errno);
  std::string error;
  try {
    start(config);
  } catch (const std::exception& e) {
    error = e.what();
  }
  // SQLite cannot open a WAL database for writing there: the start stops with the reason, naming
  // the file, rather than serving devices whose uploads could only be refused.
  EXPECT_EQ(app_, nullptr);
  EXPECT_NE(error.find("zkpush.db"), std::string::npos) << error;
  EXPECT_NE(error.find("read-only file system"), std::string::npos) << error;  // why, not only what
  std::printf("start on a read-only filesystem: %s\n", error.c_str());

  ASSERT_EQ(remount(false), 0) << std::strerror(errno);
  start(config);
  EXPECT_EQ(upload(sn, token, 41, 20), 200);
  EXPECT_EQ(app_->store().integrity_check(), "ok");
  expect_acknowledged_stored_once(sn);
}

}  // namespace
}  // namespace zkpush::server::reliability
