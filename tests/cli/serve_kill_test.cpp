// Durability of the real `zkpush serve` binary under SIGKILL: two devices' worth of uploaders post
// rtlog batches while the server is killed mid-stream and restarted on the same data folder, three
// times (ZKPUSH_SOAK_ROUNDS times: `make soak` runs 20). Every batch answered 200 must be in the
// database exactly once afterwards, the database must pass its integrity check, and a command
// queued before the kills must still be queued.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/codecs_session.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "server/http/test_client.hpp"
#include "storage/open_store.hpp"
#include "storage/store.hpp"
#include "support/spec_fixtures.hpp"
#include "support/store_access.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace p = zkpush::protocol;
using zkpush::server::http::test::RawResponse;
using zkpush::server::http::test::TestClient;

constexpr const char* kApiToken = "kill-test-token";

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One request on its own connection; nullopt when the server is gone (refused, reset, no answer).
std::optional<RawResponse> roundtrip(std::uint16_t port, const std::string& bytes) {
  try {
    TestClient client(port);
    if (!client.send(bytes)) return std::nullopt;
    return client.read_response(std::chrono::milliseconds(5000));
  } catch (const std::exception&) {
    return std::nullopt;  // connect refused while the server is down
  }
}

std::string device_request(const p::OutgoingRequest& r, const std::string& token) {
  std::string headers = "User-Agent: iClock Proxy/1.09\r\n";
  for (const auto& h : r.headers) headers += h.name + ": " + h.value + "\r\n";
  if (!token.empty()) headers += "Cookie: token=" + token + "\r\n";
  return zkpush::server::http::test::request(r.method, r.target, r.body, headers);
}

// The binary, started on `port` with `data`; its output goes to <data>/serve-<n>.log.
class Server {
 public:
  Server(std::uint16_t port, const fs::path& data, int n) : port_(port) {
    const std::string binary = zkpush::testing::zkpush_binary().string();
    std::vector<std::string> args{binary, "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--data", data.string(), "--api-token", kApiToken, "--threads", "2"};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e)
      if (std::string(*e).rfind("ZKPUSH_", 0) != 0) env.emplace_back(*e);
    std::vector<char*> argv, envp;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string log = (data / ("serve-" + std::to_string(n) + ".log")).string();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Server() { kill(); }

  // Waits until /healthz answers (the store is open and the port bound).
  bool ready() {
    for (int i = 0; i < 200; ++i) {
      auto r = roundtrip(port_, zkpush::server::http::test::request("GET", "/healthz"));
      if (r && r->status == 200) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited: see the log
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::uint16_t port_;
  pid_t pid_ = -1;
};

p::Record rtlog(std::int64_t index) {
  return p::Record{{"time", "2019-07-22 16:30:01"}, {"pin", "1"},         {"cardno", "0"},
                   {"eventaddr", "1"},              {"event", "0"},        {"inoutstatus", "0"},
                   {"verifytype", "1"},             {"index", std::to_string(index)}};
}

// ZKPUSH_SOAK_ROUNDS, else 3: a few rounds in `make test`, many in `make soak`.
int soak_rounds() {
  const char* env = std::getenv("ZKPUSH_SOAK_ROUNDS");
  if (env == nullptr || *env == '\0') return 3;
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 1 || n > 10000) {
    ADD_FAILURE() << "ZKPUSH_SOAK_ROUNDS: expected a number of rounds (1-10000), got '" << env << "'";
    return 3;
  }
  return static_cast<int>(n);
}

class ServeKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-kill-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);  // kept with the logs when it failed
  }
  fs::path dir_;
};

TEST_F(ServeKillTest, AcknowledgedUploadsSurviveSigkill) {
  const std::uint16_t port = free_port();
  const std::string sn = "KILL0001";
  std::string token;
  std::int64_t command_id = 0;
  {
    Server server(port, dir_, 0);
    ASSERT_TRUE(server.ready()) << "see " << (dir_ / "serve-0.log");
    auto init = roundtrip(port, device_request(p::format_init_request(sn), ""));
    ASSERT_TRUE(init && init->status == 200);
    auto reg = roundtrip(port, device_request(p::format_registry_request(sn, p::Record{{"DeviceType", "acc"}}), ""));
    ASSERT_TRUE(reg.has_value());
    auto accepted = p::parse_registry_answer(reg->status, reg->body);
    ASSERT_TRUE(accepted.accepted) << reg->body;
    auto push = roundtrip(port, device_request(p::format_push_config_request(sn), ""));
    ASSERT_TRUE(push && push->status == 200);
    token = p::compute_token(accepted.registry_code, sn,
                             std::string(p::parse_config_answer(push->body).get_or("SessionID", "")));
    auto created = roundtrip(port, zkpush::server::http::test::request(
                                      "POST", "/api/v1/devices/" + sn + "/commands", R"({"line": "DATA DELETE user Pin=42"})",
                                      std::string("Authorization: Bearer ") + kApiToken +
                                          "\r\nContent-Type: application/json\r\n"));
    ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    auto pos = created->body.find("\"id\":");
    ASSERT_NE(pos, std::string::npos);
    command_id = std::stoll(created->body.substr(pos + 5));
    server.kill();  // the command was acknowledged (201): it must survive this too
  }

  const int kRounds = soak_rounds();
  constexpr int kBatch = 25;
  std::mutex mutex;
  std::set<std::int64_t> acknowledged;  // indexes of every record in a batch answered 200
  std::atomic<std::int64_t> next_batch{0};
  // Per uploader, the batch whose answer it did not get: re-sent first after the restart, as a
  // device does (it may well be stored already: it must not be stored twice).
  std::optional<std::int64_t> unanswered[2];
  int resent = 0;  // re-sent batches answered 200
  for (int round = 1; round <= kRounds; ++round) {
    Server server(port, dir_, round);
    ASSERT_TRUE(server.ready()) << "restart " << round << " failed, see " << (dir_ / ("serve-" + std::to_string(round) + ".log"));
    std::atomic<bool> stop{false};
    std::atomic<int> acked_this_round{0};
    std::vector<std::thread> uploaders;
    for (int t = 0; t < 2; ++t) {
      uploaders.emplace_back([&, t] {
        while (!stop) {
          const bool retry = unanswered[t].has_value();
          const std::int64_t batch = retry ? *unanswered[t] : next_batch++;
          std::vector<p::Record> records;
          for (int i = 0; i < kBatch; ++i) records.push_back(rtlog(batch * kBatch + i + 1));
          auto r = roundtrip(port, device_request(p::format_rtlog_upload(sn, records), token));
          if (r && r->status == 200) {
            std::lock_guard lock(mutex);
            for (int i = 0; i < kBatch; ++i) acknowledged.insert(batch * kBatch + i + 1);
            ++acked_this_round;
            if (retry) ++resent;
            unanswered[t].reset();
          } else {
            unanswered[t] = batch;
          }
        }
      });
    }
    // Kill once uploads are flowing (and while they still are).
    for (int i = 0; i < 400 && acked_this_round < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server.kill();
    stop = true;
    for (auto& t : uploaders) t.join();
    EXPECT_GT(acked_this_round.load(), 0) << "round " << round << ": no upload was acknowledged";
  }

  auto store = zkpush::storage::open_store("sqlite:" + (dir_ / "zkpush.db").string());
  EXPECT_EQ(store->integrity_check(), "ok");
  zkpush::storage::EventFilter filter;
  filter.sn = sn;
  filter.limit = 0;
  std::map<std::int64_t, int> stored;
  for (const auto& e : zkpush::test::read(*store, [&](zkpush::storage::Reads& r) { return r.events().list(filter); })) {
    ASSERT_TRUE(e.index.has_value());
    ++stored[*e.index];
  }
  std::size_t missing = 0;
  for (auto index : acknowledged) {
    auto it = stored.find(index);
    if (it == stored.end()) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged records";
  for (const auto& [index, n] : stored) EXPECT_EQ(n, 1) << "index " << index << " stored " << n << " times";
  EXPECT_GE(stored.size(), acknowledged.size());
  EXPECT_GT(resent, 0);  // the dedupe of re-sent batches was exercised
  std::printf("%d rounds: acknowledged %zu records, stored %zu, batches re-sent and acknowledged %d\n", kRounds,
              acknowledged.size(), stored.size(), resent);

  auto command = zkpush::test::read(*store, [&](zkpush::storage::Reads& r) { return r.commands().get(command_id); });
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->status, zkpush::storage::CommandStatus::queued);
  auto device = zkpush::test::read(*store, [&](zkpush::storage::Reads& r) { return r.devices().get(sn); });
  ASSERT_TRUE(device.has_value());
  EXPECT_FALSE(device->registry_code.empty());
}

}  // namespace
