// Who may talk to `zkpush serve`, end to end: the device allow-list of /iclock/* (serial numbers and
// networks; refused devices never reach the device cache or the database) and the API token, which
// is always set: generated into <data>/api-token at the first start and reused after a restart.
#include <sys/stat.h>

#include <fstream>

#include "serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

class AccessTest : public ServeFixture {
 protected:
  // The device is known nowhere: neither in memory nor on disk.
  void expect_unknown(const std::string& sn) {
    EXPECT_FALSE(app_->devices().get(sn).has_value()) << sn;
    EXPECT_FALSE(stored_device(sn).has_value()) << sn;
  }
};

TEST_F(AccessTest, UnlistedSerialNumberRefusedBeforeAnyRow) {
  ServerConfig config;
  config.allow_sn = {"ALLOW*", "EXACT0001"};
  start(config);
  handshake("ALLOW0001");
  handshake("EXACT0001");

  const std::string sn = "DENY0001";
  for (const auto& request : {p::format_init_request(sn), p::format_registry_request(sn, registry_options()),
                              p::format_push_config_request(sn), p::format_getrequest(sn)}) {
    auto r = send(request);
    EXPECT_EQ(r.status, 403) << request.target;
    EXPECT_EQ(r.body, "serial number not allowed: DENY0001");
  }
  auto upload = send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}));
  EXPECT_EQ(upload.status, 403);
  expect_unknown(sn);
  EXPECT_TRUE(stored_device("ALLOW0001").has_value());
  // A near miss of the exact entry is refused too.
  EXPECT_EQ(send(p::format_init_request("EXACT00011")).status, 403);
  expect_unknown("EXACT00011");
}

TEST_F(AccessTest, UnlistedNetworkRefusedButHealthAndApiStayOpen) {
  ServerConfig config;
  config.allow_net = {"10.0.0.0/8"};  // the tests connect from 127.0.0.1
  start(config);
  const std::string sn = "NET0001";
  auto init = send(p::format_init_request(sn));
  EXPECT_EQ(init.status, 403);
  EXPECT_EQ(init.body, "network not allowed: 127.0.0.1");
  EXPECT_EQ(send(p::format_registry_request(sn, registry_options())).status, 403);
  expect_unknown(sn);

  // Firmware files name no device: the network part of the list still applies.
  std::filesystem::create_directories(dir_ / "files");
  std::ofstream(dir_ / "files" / "fw.bin") << "firmware";
  auto file = send_raw(http::test::request("GET", "/files/fw.bin"));
  EXPECT_EQ(file.status, 403);
  EXPECT_EQ(file.body, "network not allowed: 127.0.0.1");

  EXPECT_EQ(send_raw(http::test::request("GET", "/healthz")).status, 200);
  const std::string auth = "Authorization: Bearer " + app_->config().api_token + "\r\n";
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices", {}, auth)).status, 200);
}

TEST_F(AccessTest, ListedNetworkAndSerialNumberServed) {
  ServerConfig config;
  config.allow_net = {"192.168.0.0/16, 127.0.0.0/8", "::1/128"};
  config.allow_sn = {"GOOD????"};
  start(config);
  const std::string token = handshake("GOOD0001");
  auto poll = send(p::format_getrequest("GOOD0001"), token);
  EXPECT_EQ(poll.status, 200);
  EXPECT_EQ(poll.body, "OK");
  // The network is fine, the serial number is not: both must allow.
  auto other = send(p::format_init_request("GOOD00011"));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body, "serial number not allowed: GOOD00011");
  expect_unknown("GOOD00011");
}

TEST_F(AccessTest, BadAllowListEntryStopsTheStart) {
  ServerConfig config;
  config.allow_net = {"10.0.0.0/8,192.168.1.300"};
  config.listen = "127.0.0.1:0";
  config.data_dir = (dir_ / "never-created").string();
  try {
    App app(config);
    FAIL() << "started with a bad --allow-net";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'192.168.1.300'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "never-created"));
}

TEST_F(AccessTest, ApiTokenGeneratedStoredAndReusedAfterRestart) {
  start();  // no api_token configured
  const std::string token = app_->config().api_token;
  ASSERT_EQ(token.size(), 64u);
  const auto file = dir_ / "api-token";
  std::ifstream in(file);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(stored, token);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices")).status, 401);
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices", {}, "Authorization: Bearer wrong\r\n")).status, 401);
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices", {}, auth)).status, 200);

  restart();
  EXPECT_EQ(app_->config().api_token, token);
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices", {}, auth)).status, 200);
}

TEST_F(AccessTest, ConfiguredApiTokenWinsAndIsNotStored) {
  ServerConfig config;
  config.api_token = "operator-chosen";
  start(config);
  EXPECT_EQ(app_->config().api_token, "operator-chosen");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "api-token"));
  EXPECT_EQ(send_raw(http::test::request("GET", "/api/v1/devices", {}, "Authorization: Bearer operator-chosen\r\n")).status,
            200);
}

}  // namespace
}  // namespace zkpush::server::e2e
