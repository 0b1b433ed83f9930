// A measurement run by hand, not a check: the memory the server spends per idle keep-alive
// connection. Disabled by default; run it with
//   ZKPUSH_SCALE_CONNECTIONS=10000 server_tests --gtest_filter='HttpScale*' --gtest_also_run_disabled_tests
// after raising the descriptor limit (ulimit -n) above twice the connection count.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"

namespace zkpush::server::http::test {
namespace {

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// The clients live in a child process forked before the server's threads exist, so that their
// sockets and buffers do not count in the server's resident memory.
[[noreturn]] void run_clients(int port_pipe, int ready_pipe, int count) {
  std::uint16_t port = 0;
  if (read(port_pipe, &port, sizeof port) != sizeof port) _exit(2);
  std::vector<TestClient*> clients;
  clients.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto* c = new TestClient(port);
    // One poll each, as a device does after connecting; the connection then stays idle.
    if (!c->send(request("GET", "/iclock/getrequest?SN=DEV" + std::to_string(i))) ||
        !c->read_response()) {
      _exit(3);
    }
    clients.push_back(c);
  }
  char ok = 1;
  if (write(ready_pipe, &ok, 1) != 1) _exit(4);
  // Hold the connections until the parent closes the pipe.
  if (read(port_pipe, &port, sizeof port) < 0) _exit(5);
  _exit(0);
}

TEST(HttpScale, DISABLED_MemoryPerIdleKeepAliveConnection) {
  const char* env = std::getenv("ZKPUSH_SCALE_CONNECTIONS");
  const int count = env ? std::atoi(env) : 10'000;
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < static_cast<rlim_t>(count) + 100) {
    GTEST_SKIP() << "raise the hard descriptor limit above " << count + 100;
  }

  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    run_clients(to_child[0], to_parent[1], count);
  }
  close(to_child[0]);
  close(to_parent[1]);

  Harness h([&](ServerConfig& c) {
    c.log_level = LogLevel::warn;
    c.limits.max_connections = static_cast<std::size_t>(count) + 10;
    c.limits.idle_timeout = std::chrono::minutes(10);
  });
  {  // warm up: thread-local caches, the first allocations of each kind
    TestClient c(h.port());
    c.send(request("GET", "/warmup"));
    ASSERT_TRUE(c.read_response());
  }
  ASSERT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  malloc_trim(0);
  const long rss_before = resident_bytes();
  rusage usage_before{};
  getrusage(RUSAGE_SELF, &usage_before);
  const auto start = std::chrono::steady_clock::now();
  const auto heap_before = mallinfo2().uordblks;

  std::uint16_t port = h.port();
  ASSERT_EQ(write(to_child[1], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  char ok = 0;
  ASSERT_EQ(read(to_parent[0], &ok, 1), 1) << "the client process failed";
  ASSERT_TRUE(Harness::eventually(
      [&] { return h.counters().connections_open.load() == static_cast<std::uint64_t>(count); },
      std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all back to idle
  const auto elapsed = std::chrono::steady_clock::now() - start;
  rusage usage_after{};
  getrusage(RUSAGE_SELF, &usage_after);
  const long rss_after = resident_bytes();
  const auto heap_after = mallinfo2().uordblks;

  std::printf("idle keep-alive connections: %d\n", count);
  std::printf("RSS:  %ld -> %ld bytes, %.0f bytes per connection\n", rss_before, rss_after,
              static_cast<double>(rss_after - rss_before) / count);
  auto cpu_ms = [](const rusage& u) {
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
  };
  std::printf("connect + one request each: %.1f s wall, server CPU %.0f ms\n",
              std::chrono::duration<double>(elapsed).count(),
              cpu_ms(usage_after) - cpu_ms(usage_before));
  std::printf("heap: %zu -> %zu bytes in use, %.0f bytes per connection\n", heap_before, heap_after,
              static_cast<double>(heap_after - heap_before) / count);

  close(to_child[1]);  // the child exits and its connections close
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(h.counters().requests.load(), static_cast<std::uint64_t>(count) + 1);
}

}  // namespace
}  // namespace zkpush::server::http::test
