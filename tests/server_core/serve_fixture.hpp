// The fixture of the `zkpush serve` end-to-end tests: a real server on 127.0.0.1 (port 0), real
// sockets, a real SQLite store in a temporary folder; requests built with the protocol formatters,
// as a device would. Header-only so every server_core test file can use it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "server/app.hpp"
#include "server/test_client.hpp"
#include "storage/store.hpp"

namespace zkpush::server::e2e {

namespace p = protocol;
using http::test::RawResponse;
using http::test::TestClient;

inline std::atomic<int> g_counter{0};

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
    return p::compute_token(accepted.registry_code, sn, session.value_or(""));
  }

  std::int64_t enqueue(const std::string& sn, const std::string& line) {
    std::promise<storage::StoreResult<storage::CommandRow>> promise;
    app_->router().enqueue_command(sn, line, std::nullopt,
                                   [&promise](storage::StoreResult<storage::CommandRow> r) { promise.set_value(std::move(r)); });
    auto r = promise.get_future().get();
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value().id : 0;
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
