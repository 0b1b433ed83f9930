// Clients that misbehave at the transport level, against the whole server (App: front, services,
// SQLite store) rather than the bare transport of tests/server: a device leaving mid-body,
// oversize heads and bodies, slowloris, and a storm of connection attempts. Each time the others
// keep being served, the offender gets a clear status or is cut off, and nothing answered 200 is
// lost. ZKPUSH_SOAK=1 runs the storm with 50,000 attempts instead of 5,000.
#include <dirent.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "reliability/reliability_support.hpp"

namespace zkpush::server::reliability {
namespace {

using namespace std::chrono_literals;
using http::test::TestClient;

class FaultsTest : public ReliabilityFixture {
 protected:
  std::string device_head(const p::OutgoingRequest& r, const std::string& token, std::size_t content_length) {
    std::string head = r.method + " " + r.target + " HTTP/1.1\r\nHost: test\r\nUser-Agent: iClock Proxy/1.09\r\n";
    for (const auto& h : r.headers) head += h.name + ": " + h.value + "\r\n";
    head += "Cookie: token=" + token + "\r\nContent-Length: " + std::to_string(content_length) + "\r\n\r\n";
    return head;
  }
  std::size_t stored_events(const std::string& sn) {
    storage::EventFilter filter;
    filter.sn = sn;
    filter.limit = 0;
    return ServeFixture::stored_events(filter).size();
  }
  // The server and the test share the process: its descriptors are what /proc/self/fd lists.
  static int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
      while (::readdir(d) != nullptr) ++n;
      ::closedir(d);
    }
    return n;
  }
};

TEST_F(FaultsTest, ADeviceLeavingMidBodyStoresNothingAndOthersAreServed) {
  start();
  const std::string sn = "CUT00001", other = "GOOD0001";
  const std::string token = handshake(sn);
  const std::string other_token = handshake(other);
  auto r = p::format_rtlog_upload(sn, rtlog_batch(1, 40));
  const std::string head = device_head(r, token, r.body.size());
  for (bool reset : {false, true}) {
    TestClient client(app_->port());
    // Whole records, but not all of them: storing them would be storing a request never completed.
    ASSERT_TRUE(client.send(head + r.body.substr(0, r.body.size() / 2)));
    std::this_thread::sleep_for(100ms);
    if (reset) client.reset(); else client.close();
  }
  // Once the server has closed its side of both (only the /metrics request's own connection is
  // left), whatever it was going to do with the cut requests is done.
  bool settled = false;
  for (int i = 0; i < 100 && !settled; ++i) {
    auto metrics = send_raw(http::test::request("GET", "/metrics"));
    settled = metrics.body.find("\nzkpush_http_connections_open 1\n") != std::string::npos;
    if (!settled) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(settled) << "the cut connections were still open after 10 s";
  EXPECT_EQ(upload(other, other_token, 1, 10), 200);
  EXPECT_EQ(send(p::format_getrequest(other), other_token).status, 200);
  EXPECT_EQ(stored_events(sn), 0u);
  expect_acknowledged_stored_once(other);
}

TEST_F(FaultsTest, OversizeHeaderAndBodyAreRefusedAndTheConnectionClosed) {
  start();
  const std::string sn = "BIG00001", other = "GOOD0001";
  const std::string token = handshake(sn);
  const std::string other_token = handshake(other);

  {  // A head above the 16 KiB limit.
    TestClient client(app_->port());
    const std::string bloated = "X-Padding: " + std::string(20 * 1024, 'a') + "\r\n";
    auto r = p::format_getrequest(sn);
    client.send(http::test::request(r.method, r.target, "", bloated));
    auto answer = client.read_response(10s);
    ASSERT_TRUE(answer.has_value());
    EXPECT_TRUE(answer->status == 431 || answer->status == 400) << answer->status;
    EXPECT_TRUE(client.peer_closed(10s)) << "connection left open after an oversize head";
  }
  {  // A declared body above the 4 MiB limit: refused before it is read.
    TestClient client(app_->port());
    auto r = p::format_rtlog_upload(sn, rtlog_batch(1, 10));
    ASSERT_TRUE(client.send(device_head(r, token, 5u << 20)));
    auto answer = client.read_response(10s);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 413);
    EXPECT_TRUE(client.peer_closed(10s)) << "connection left open after a 413";
  }
  {  // A body that really is that large, all sent: the same, and none of its records stored.
    std::vector<p::Record> records;
    for (int i = 0; records.size() < 60000; ++i) records.push_back(rtlog_batch(i + 1, 1).front());
    auto r = p::format_rtlog_upload(sn, records);
    ASSERT_GT(r.body.size(), 4u << 20);
    auto answer = send(r, token, /*may_be_cut=*/true);
    EXPECT_EQ(answer.status, 413);
  }
  EXPECT_TRUE(log_->contains("431 request header fields too large"));
  EXPECT_TRUE(log_->contains("413 request body of 5242880 bytes exceeds the limit of 4194304"));
  EXPECT_EQ(stored_events(sn), 0u);
  EXPECT_EQ(upload(other, other_token, 1, 10), 200);
  expect_acknowledged_stored_once(other);
}

TEST_F(FaultsTest, SlowlorisConnectionsDoNotKeepADeviceFromBeingServed) {
  start();
  const std::string sn = "GOOD0001";
  const std::string token = handshake(sn);

  constexpr int kSlow = 300;
  std::vector<std::unique_ptr<TestClient>> slow;
  for (int i = 0; i < kSlow; ++i) slow.push_back(std::make_unique<TestClient>(app_->port()));
  // A request line, then header lines without end: never a complete head, never a malformed one.
  const std::string start_line = "GET /iclock/getrequest?SN=SLOW0001 HTTP/1.1\r\nHost: test\r\n";
  const std::string more = "X-Slow: 1\r\n";
  auto byte_at = [&](std::size_t pos) {
    return pos < start_line.size() ? start_line[pos] : more[(pos - start_line.size()) % more.size()];
  };
  std::atomic<bool> stop{false};
  std::atomic<int> closed_by_server{0};
  // One byte per connection every 200 ms: each of them is always "in the middle of a request".
  std::thread trickler([&] {
    std::vector<bool> closed(kSlow, false);
    for (std::size_t pos = 0; !stop; ++pos) {
      for (int i = 0; i < kSlow; ++i) {
        if (closed[i]) continue;
        const char c = byte_at(pos);
        if (!slow[i]->send(std::string_view(&c, 1)) || slow[i]->peer_closed(0ms)) {
          closed[i] = true;
          ++closed_by_server;
        }
      }
      if (closed_by_server == kSlow) return;
      std::this_thread::sleep_for(200ms);
    }
  });

  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(upload(sn, token, 1 + i * 10, 10), 200);
    EXPECT_EQ(send(p::format_getrequest(sn), token).status, 200);
  }
  expect_acknowledged_stored_once(sn);
  // Every slow connection is cut by the request timeout (30 s from its first byte), not held.
  for (int i = 0; i < 900 && closed_by_server < kSlow; ++i) std::this_thread::sleep_for(100ms);
  stop = true;
  trickler.join();
  EXPECT_EQ(closed_by_server.load(), kSlow) << "slow connections still open after 90 s";
  EXPECT_EQ(send(p::format_getrequest(sn), token).status, 200);
}

// connect+close and connect+garbage+close from a few threads, while a device keeps uploading.
TEST_F(FaultsTest, AStormOfConnectionAttemptsLosesNothingAndLeaksNoDescriptor) {
  const char* soak = std::getenv("ZKPUSH_SOAK");
  const int attempts = soak != nullptr && std::string(soak) == "1" ? 50'000 : 5'000;
  start();
  const std::string sn = "GOOD0001";
  const std::string token = handshake(sn);
  const int fds_before = open_fds();

  constexpr int kThreads = 4;
  std::atomic<int> done{0}, refused{0};
  std::vector<std::thread> storm;
  for (int t = 0; t < kThreads; ++t) {
    storm.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      const std::string garbage[] = {"\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "POST /iclock/cdata HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                                     std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), "GET /iclock/cdata?SN=%zz"};
      for (int i = t; i < attempts; i += kThreads) {
        try {
          TestClient client(app_->port());
          if (i % 2 == 1) {
            std::string bytes = garbage[rng() % std::size(garbage)];
            for (int n = static_cast<int>(rng() % 64); n > 0; --n) bytes.push_back(static_cast<char>(rng()));
            client.send(bytes);
            if (i % 4 == 1) {  // half the garbage waits for the server's verdict (400 or a close)
              client.shutdown_write();
              (void)client.read_response(5s);
            }
          }
          // A reset leaves no TIME_WAIT behind: 50,000 closes would otherwise run out of ports.
          client.reset();
        } catch (const std::exception&) {
          ++refused;  // connect refused: counted, the storm goes on
        }
        ++done;
      }
    });
  }
  std::int64_t next = 1;
  int uploads = 0;
  while (done < attempts) {
    EXPECT_EQ(upload(sn, token, next, 10), 200);
    next += 10;
    ++uploads;
  }
  for (auto& t : storm) t.join();
  EXPECT_EQ(upload(sn, token, next, 10), 200);
  EXPECT_EQ(refused.load(), 0) << "connection attempts refused";
  expect_acknowledged_stored_once(sn);

  // The server closes what the storm left (answered garbage lingers for up to 2 s).
  int fds_after = open_fds();
  for (int i = 0; i < 300 && fds_after > fds_before + 8; ++i) {
    std::this_thread::sleep_for(100ms);
    fds_after = open_fds();
  }
  EXPECT_LE(fds_after, fds_before + 8) << "descriptors: " << fds_before << " before the storm, " << fds_after << " after";
  std::printf("%d connection attempts, %d uploads meanwhile, descriptors %d -> %d\n", attempts, uploads + 1,
              fds_before, fds_after);
}

}  // namespace
}  // namespace zkpush::server::reliability
