// The fixture of the `zkpush serve` end-to-end tests: a real server on 127.0.0.1 (port 0), real
// sockets, a real SQLite store in a temporary folder; requests built with the protocol formatters,
// as a device would. Header-only so every test file that runs the whole server (tests/server, tests/emulator, tests/reliability) can use it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "server/app.hpp"
#include "server/http/test_client.hpp"
#include "service/clock.hpp"
#include "service/command_queue.hpp"
#include "storage/store.hpp"
#include "support/store_access.hpp"

namespace zkpush::server::e2e {

namespace p = protocol;
using http::test::RawResponse;
using http::test::TestClient;

inline std::atomic<int> g_counter{0};

// Unix seconds now, as the server's clock reads them.
inline std::int64_t unix_now() { return service::SystemClock().now(); }

class ServeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zkpush-serve-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    app_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(ServerConfig config = {}) {
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.string();
    config.threads = 2;
    config_ = config;
    app_ = std::make_unique<App>(config);
    app_->start();
  }
  void restart() {
    app_.reset();
    start(config_);
  }

  RawResponse send(const p::OutgoingRequest& r, const std::string& token = {}, bool may_be_cut = false) {
    std::string headers = "User-Agent: iClock Proxy/1.09\r\n";
    for (const auto& h : r.headers) headers += h.name + ": " + h.value + "\r\n";
    if (!token.empty()) headers += "Cookie: token=" + token + "\r\n";
    return send_raw(http::test::request(r.method, r.target, r.body, headers), may_be_cut);
  }
  // may_be_cut: the server may answer (413) and stop reading before the whole body is sent.
  RawResponse send_raw(const std::string& bytes, bool may_be_cut = false) {
    TestClient client(app_->port());
    const bool sent = client.send(bytes);
    if (!may_be_cut) {
      EXPECT_TRUE(sent);
    }
    auto response = client.read_response(std::chrono::milliseconds(10000));
    EXPECT_TRUE(response.has_value());
    return response.value_or(RawResponse{});
  }

  static p::Record registry_options() {
    return p::Record{{"DeviceType", "acc"}, {"~DeviceName", "inBio460"}, {"FirmVer", "AC Ver 5.7.8.3033"},
                     {"PushVersion", "Ver 2.0.33S"}, {"MaxPackageSize", "2048000"}, {"CmdFormat", "0"}};
  }

  // init -> registry -> push as in the manual; returns the token the device then sends.
  std::string handshake(const std::string& sn) {
    auto init = send(p::format_init_request(sn));
    EXPECT_EQ(init.status, 200);
    EXPECT_EQ(init.body, "OK");  // not registered yet
    auto reg = send(p::format_registry_request(sn, registry_options()));
    EXPECT_EQ(reg.status, 200) << reg.body;
    auto accepted = p::parse_registry_answer(reg.status, reg.body);
    EXPECT_TRUE(accepted.accepted);
    EXPECT_LE(accepted.registry_code.size(), 32u);
    auto push = send(p::format_push_config_request(sn));
    EXPECT_EQ(push.status, 200);
    auto config = p::parse_config_answer(push.body);
    auto session = config.get("SessionID");
    EXPECT_TRUE(session.has_value());
    EXPECT_EQ(config.get_or("PushProtVer", ""), "3.1.2");
    registry_code_ = accepted.registry_code;
    session_id_ = session.value_or("");
    return p::compute_token(accepted.registry_code, sn, session.value_or(""));
  }
  // What the last handshake() was given.
  std::string registry_code_;
  std::string session_id_;

  // Queues a command as the API does (the command queue service), with its default deadline and
  // priority unless given; the row's API id (0, and a test failure, when refused).
  std::int64_t enqueue(const std::string& sn, const std::string& line, std::optional<std::int64_t> expires_in = {},
                       std::optional<storage::CommandPriority> priority = {}) {
    std::promise<storage::StoreResult<storage::CommandRow>> promise;
    app_->queue().enqueue(service::EnqueueRequest{sn, line, expires_in, priority},
                          [&promise](storage::StoreResult<storage::CommandRow> r) { promise.set_value(std::move(r)); });
    auto r = promise.get_future().get();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value().id : 0;
  }

  // A command the API would refuse (a record without its key), written to the queue's table as an
  // older server might have left it: how a device's refusal of a bad command is tested.
  std::int64_t enqueue_unchecked(const std::string& sn, const std::string& line, const std::string& verb) {
    const auto now = unix_now();
    auto row = zkpush::test::write(app_->store(), [&](storage::Transaction& tx) {
      return tx.commands().insert(storage::NewCommand{sn, line, verb, storage::CommandPriority::normal, now, 0}, now);
    });
    app_->queue().note_queued(sn, 1);
    return row.id;
  }

  // What the store holds (blocking reads; a failed read is a test failure).
  std::optional<storage::Device> stored_device(const std::string& sn) {
    return zkpush::test::read(app_->store(), [&sn](storage::Reads& r) { return r.devices().get(sn); });
  }
  std::optional<storage::CommandRow> stored_command(std::int64_t id) {
    return zkpush::test::read(app_->store(), [id](storage::Reads& r) { return r.commands().get(id); });
  }
  std::vector<storage::CommandData> stored_command_data(std::int64_t id) {
    return zkpush::test::read(app_->store(), [id](storage::Reads& r) { return r.commands().data(id); });
  }
  std::vector<storage::EventRow> stored_events(const storage::EventFilter& filter) {
    return zkpush::test::read(app_->store(), [&filter](storage::Reads& r) { return r.events().list(filter); });
  }
  std::int64_t stored_event_count(const std::string& sn) {
    return zkpush::test::read(app_->store(), [&sn](storage::Reads& r) { return r.events().count(sn); });
  }
  std::optional<storage::DoorStateUpdate> stored_door_state(const std::string& sn) {
    return zkpush::test::read(app_->store(), [&sn](storage::Reads& r) { return r.door_states().get(sn); });
  }
  std::vector<storage::DeviceRecord> stored_records(const std::string& sn, const std::string& table,
                                                    std::int64_t limit = 0) {
    return zkpush::test::read(app_->store(),
                      [&](storage::Reads& r) { return r.device_data().records(sn, table, limit); });
  }
  std::vector<storage::DeviceLogEntry> stored_log(const std::string& sn, const std::string& kind,
                                                  std::int64_t limit = 0) {
    return zkpush::test::read(app_->store(), [&](storage::Reads& r) { return r.device_data().log(sn, kind, limit); });
  }
  // Queued or sent commands of a device in the store.
  std::int64_t stored_pending(const std::string& sn) {
    return zkpush::test::read(app_->store(), [&sn](storage::Reads& r) { return r.commands().pending_count(sn); });
  }

  // Polls as the device (every 50 ms, at most 5 s) until a command comes, and answers the first
  // one with `code`: the panel side of an API call that waits for the answer. Whether one came.
  bool answer_next_command(const std::string& sn, const std::string& token, int code) {
    for (int i = 0; i < 100; ++i) {
      auto r = send(p::format_getrequest(sn), token);
      if (r.status == 200 && r.body != "OK") {
        auto commands = p::parse_commands(r.body);
        if (commands.ok() && !commands->empty()) {
          auto result = p::make_command_result((*commands)[0], code);
          return send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token)
                     .status == 200;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  static p::Record rtlog_record(int index, const std::string& time) {
    return p::Record{{"time", time},          {"pin", "1"},          {"cardno", "0"},     {"eventaddr", "1"},
                     {"event", "0"},         {"inoutstatus", "0"},  {"verifytype", "1"}, {"index", std::to_string(index)}};
  }

  std::filesystem::path dir_;
  ServerConfig config_;
  std::unique_ptr<App> app_;
};

}  // namespace zkpush::server::e2e
