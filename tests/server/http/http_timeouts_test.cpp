// Timeouts, hostile or vanishing clients, and connection limits.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::server::http::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(HttpTimeouts, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  Harness h([](ServerConfig& c) {
    c.limits.idle_timeout = 400ms;
    c.limits.request_timeout = 5s;
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/iclock/getrequest?SN=1")));
  ASSERT_TRUE(c.read_response());
  const auto start = Clock::now();
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_GE(Clock::now() - start, 350ms);
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().timeouts.load() == 1; }));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
}

TEST(HttpTimeouts, RequestsKeepAConnectionAliveLongerThanTheIdleTimeout) {
  Harness h([](ServerConfig& c) { c.limits.idle_timeout = 300ms; });
  TestClient c(h.port());
  for (int i = 0; i < 8; ++i) {  // 8 x 100 ms: far beyond one idle timeout in total
    ASSERT_TRUE(c.send(request("GET", "/poll")));
    ASSERT_TRUE(c.read_response()) << i;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(h.counters().connections_accepted.load(), 1u);
  EXPECT_EQ(h.counters().timeouts.load(), 0u);
}

TEST(HttpTimeouts, NoIdleTimeoutWhileTheHandlerIsWorking) {
  Harness h([](ServerConfig& c) { c.limits.idle_timeout = 200ms; },
            [](Harness& t) {
              t.handler.on_handle = [&t](Request, Responder respond) {
                t.delayer.after(600ms, std::move(respond), make_response(Status::ok, "slow"));
              };
            });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/slow")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow");
}

TEST(HttpTimeouts, AConnectionThatNeverSendsIsClosedAfterTheRequestTimeout) {
  Harness h([](ServerConfig& c) {
    c.limits.request_timeout = 300ms;
    c.limits.idle_timeout = 30s;
  });
  TestClient c(h.port());
  const auto start = Clock::now();
  EXPECT_TRUE(c.peer_closed(3s));
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(HttpTimeouts, SlowlorisHeadersAreCutOff) {
  Harness h([](ServerConfig& c) {
    c.limits.request_timeout = 500ms;
    c.limits.idle_timeout = 30s;
  });
  TestClient c(h.port());
  // 60 bytes at 100 ms each would take 6 s; the server must give up after about 0.5 s.
  const std::string head = "GET /iclock/cdata?SN=1 HTTP/1.1\r\nHost: test\r\nX-Slow: yes\r\n\r\n";
  const auto start = Clock::now();
  EXPECT_FALSE(c.trickle(head, 100ms)) << "the server read the whole trickled head";
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(h.handler.calls.load(), 0);
  EXPECT_EQ(h.counters().timeouts.load(), 1u);
  EXPECT_TRUE(h.logs.contains("timeout reading request head")) << h.logs.all();
}

TEST(HttpTimeouts, SlowBodyIsCutOff) {
  Harness h([](ServerConfig& c) {
    c.limits.request_timeout = 500ms;
    c.limits.idle_timeout = 30s;
  });
  TestClient c(h.port());
  ASSERT_TRUE(c.send("POST /iclock/cdata HTTP/1.1\r\nHost: t\r\nContent-Length: 60\r\n\r\n"));
  const auto start = Clock::now();
  EXPECT_FALSE(c.trickle(std::string(60, 'b'), 100ms));
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(h.handler.calls.load(), 0);
  EXPECT_TRUE(h.logs.contains("timeout reading request body")) << h.logs.all();
}

TEST(HttpTimeouts, AClientThatStopsReadingIsCutOffByTheWriteTimeout) {
  Harness h(
      [](ServerConfig& c) {
        c.limits.write_timeout = 400ms;
        c.limits.idle_timeout = 30s;
      },
      [](Harness& t) {
        t.handler.on_handle = [](Request, Responder respond) {
          // Far more than the socket buffers hold, so the write blocks on the client.
          respond(make_response(Status::ok, std::string(64 * 1024 * 1024, 'w')));
        };
      });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/big")));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().timeouts.load() == 1; }, 3s));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
}

TEST(HttpTimeouts, AClientLeavingMidBodyNeverReachesTheHandler) {
  Harness h;
  {
    TestClient c(h.port());
    ASSERT_TRUE(c.send("POST /iclock/cdata HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
                       std::string(500, 'a')));
    c.close();  // FIN after half the body
  }
  {
    TestClient c(h.port());
    ASSERT_TRUE(
        c.send("POST /iclock/cdata HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
               "\r\n100\r\n" +
               std::string(100, 'a')));
    c.reset();  // RST in the middle of a chunk
  }
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  EXPECT_EQ(h.handler.calls.load(), 0);
  EXPECT_EQ(h.counters().requests.load(), 0u);

  TestClient after(h.port());
  ASSERT_TRUE(after.send(request("GET", "/still/serving")));
  EXPECT_TRUE(after.read_response());
}

TEST(HttpTimeouts, AClientHalfClosingAfterItsRequestStillGetsTheResponse) {
  Harness h([](ServerConfig&) {},
            [](Harness& t) {
              t.handler.on_handle = [&t](Request, Responder respond) {
                t.delayer.after(100ms, std::move(respond), make_response(Status::ok, "done"));
              };
            });
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("POST", "/x", "rows")));
  c.shutdown_write();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "done");
  EXPECT_TRUE(c.peer_closed(1s));
}

TEST(HttpTimeouts, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  Harness h([](ServerConfig& c) { c.limits.max_connections = 2; });
  TestClient a(h.port());
  TestClient b(h.port());
  for (TestClient* c : {&a, &b}) {  // both accepted and served
    ASSERT_TRUE(c->send(request("GET", "/x")));
    ASSERT_TRUE(c->read_response());
  }
  TestClient refused(h.port());  // the kernel completes the handshake; the server closes it
  EXPECT_TRUE(refused.peer_closed(2s));
  EXPECT_TRUE(refused.pending().empty()) << "no response is sent to a refused connection";
  EXPECT_EQ(h.counters().connections_rejected.load(), 1u);
  // Logged just after the close the client saw.
  EXPECT_TRUE(Harness::eventually([&] { return h.logs.contains("connection limit of 2 reached"); }))
      << h.logs.all();

  a.close();
  ASSERT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 1; }));
  TestClient c(h.port());
  ASSERT_TRUE(c.send(request("GET", "/x")));
  EXPECT_TRUE(c.read_response());
  EXPECT_EQ(h.counters().connections_open.load(), 2u);
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n - 1;  // the iterator's own descriptor
}

TEST(HttpTimeouts, AcceptKeepsGoingAfterRunningOutOfDescriptors) {
  Harness h([](ServerConfig& c) { c.limits.accept_backoff = 50ms; });
  {
    // Run every code path once with descriptors to spare: UBSan's vptr check needs a pipe on its
    // first look at a type and reports a false "invalid vptr" when it cannot create one.
    TestClient warm(h.port());
    ASSERT_TRUE(warm.send(request("GET", "/warm-up")));
    ASSERT_TRUE(warm.read_response());
  }
  ASSERT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);

  // Room for exactly three more descriptors: client A, the server's end of A, client B.
  rlimit tight = original;
  tight.rlim_cur = open_descriptors() + 3;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  bool served_during = false;
  bool b_connected = false;
  std::optional<TestClient> a, b;
  try {
    a.emplace(h.port());
    a->send(request("GET", "/a"));
    served_during = a->read_response().has_value();
    b.emplace(h.port());  // in the backlog; accepting it fails with EMFILE
    b_connected = true;
    Harness::eventually([&] { return h.counters().accept_errors.load() >= 2; });
  } catch (const std::exception&) {
  }
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_TRUE(served_during);
  ASSERT_TRUE(b_connected);
  EXPECT_GE(h.counters().accept_errors.load(), 2u) << "the listener retried after a pause";
  EXPECT_TRUE(h.logs.contains("pausing accepts")) << h.logs.all();

  // With descriptors available again, the waiting connection is accepted and served.
  ASSERT_TRUE(b->send(request("GET", "/b")));
  auto r = b->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace zkpush::server::http::test
