// The `zkpush serve` binary: starts on a free port, answers a device, stops on SIGTERM with status 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "server/test_client.hpp"

namespace {

using zkpush::server::http::test::TestClient;

TEST(ServeCommand, ServesAndStopsOnSigterm) {
  const auto dir = std::filesystem::temp_directory_path() / ("zkpush-serve-cli-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const std::string data = (dir / "data").string();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    ::execl(ZKPUSH_BINARY, ZKPUSH_BINARY, "serve", "--listen", "127.0.0.1:0", "--data", data.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  struct Reaper {  // kills the server if an assertion leaves the test early
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};
  // The log line "zkpush serving on 127.0.0.1:<port>" tells the port.
  std::string log;
  int port = 0;
  const std::regex serving("serving on [^ ]*:([0-9]+)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (port == 0 && std::chrono::steady_clock::now() < deadline) {
    char buffer[512];
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    log.append(buffer, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(log, m, serving)) port = std::stoi(m[1]);
  }
  ASSERT_NE(port, 0) << log;

  TestClient client(static_cast<std::uint16_t>(port));
  ASSERT_TRUE(client.send(zkpush::server::http::test::request("GET", "/iclock/cdata?SN=CLI0001&options=all&pushver=3.1.2")));
  auto response = client.read_response();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "OK");
  client.close();

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  reaper.pid = 0;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::close(out[0]);
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "zkpush.db"));
  std::filesystem::remove_all(dir);
}

}  // namespace
