// The whole server with a TLS listener beside the plain one: the API and the device endpoints over
// HTTPS, HSTS on API answers over TLS only, and --api-plain loopback refusing the API on plain
// HTTP from other addresses. Real sockets, real handshakes, a real store.
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "front/api/api_endpoints.hpp"
#include "protocol/device_requests.hpp"
#include "server/app.hpp"
#include "server/http/test_client.hpp"
#include "support/test_certificates.hpp"

namespace zkpush::server {
namespace {

namespace fs = std::filesystem;
using http::test::TestClient;

constexpr const char* kTlsServeToken = "tls-serve-token-0123456789";

// An IPv4 address of this machine other than loopback, or "" when it has none.
std::string tls_serve_other_address() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  std::string found;
  for (ifaddrs* i = list; i != nullptr && found.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) found = text;
  }
  ::freeifaddrs(list);
  return found;
}

class TlsServe : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-tls-serve-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cert_ = zkpush::test::make_test_certificate(dir_, "server", "zkpush-test");
    client_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(client_, cert_.cert.c_str(), nullptr);
    SSL_CTX_set_verify(client_, SSL_VERIFY_PEER, nullptr);
  }
  void TearDown() override {
    app_.reset();
    SSL_CTX_free(client_);
    fs::remove_all(dir_);
  }

  void start(const std::string& listen, ApiPlain api_plain = ApiPlain::any) {
    ServerConfig config;
    config.listen = listen;
    config.tls_listen = "127.0.0.1:0";
    config.tls_cert = cert_.cert.string();
    config.tls_key = cert_.key.string();
    config.api_plain = api_plain;
    config.api_token = kTlsServeToken;
    config.data_dir = (dir_ / "data").string();
    config.threads = 2;
    app_ = std::make_unique<App>(config);
    app_->start();
  }

  std::optional<http::test::RawResponse> get(TestClient& c, const std::string& target, bool token = true) {
    const std::string headers = token ? std::string("Authorization: Bearer ") + kTlsServeToken + "\r\n" : "";
    if (!c.send(http::test::request("GET", target, {}, headers))) return std::nullopt;
    return c.read_response();
  }
  std::optional<http::test::RawResponse> get_tls(const std::string& target, bool token = true) {
    TestClient c(app_->tls_port());
    std::string error;
    EXPECT_TRUE(c.start_tls(client_, &error)) << error;
    return get(c, target, token);
  }

  fs::path dir_;
  zkpush::test::TestCertificate cert_;
  SSL_CTX* client_ = nullptr;
  std::unique_ptr<App> app_;
};

TEST_F(TlsServe, ApiAndDeviceOverHttpsWhileThePlainListenerServes) {
  start("127.0.0.1:0");
  ASSERT_NE(app_->tls_port(), 0);
  auto api = get_tls("/api/v1/devices");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200) << api->body;
  EXPECT_EQ(api->header("Strict-Transport-Security"), "max-age=31536000");
  auto refused = get_tls("/api/v1/devices", false);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->header("Strict-Transport-Security"), "max-age=31536000");

  // A panel whose server address is https://…: the device endpoints, without HSTS (not the API).
  TestClient device(app_->tls_port());
  ASSERT_TRUE(device.start_tls(client_));
  auto init = get(device, "/iclock/cdata?SN=TLS0001&options=all&pushver=3.1.2", false);
  ASSERT_TRUE(init);
  EXPECT_EQ(init->status, 200) << init->body;
  EXPECT_FALSE(init->body.empty());
  EXPECT_FALSE(init->header("Strict-Transport-Security"));
  auto poll = get(device, "/iclock/getrequest?SN=TLS0001", false);  // the same connection
  ASSERT_TRUE(poll);
  EXPECT_EQ(poll->status, 200);

  // Plain HTTP keeps working, and never carries HSTS (RFC 6797).
  TestClient plain(app_->port());
  auto plain_api = get(plain, "/api/v1/devices");
  ASSERT_TRUE(plain_api);
  EXPECT_EQ(plain_api->status, 200);
  EXPECT_FALSE(plain_api->header("Strict-Transport-Security"));
  TestClient plain_device(app_->port());
  auto plain_init = get(plain_device, "/iclock/cdata?SN=PLAIN01&options=all&pushver=3.1.2", false);
  ASSERT_TRUE(plain_init);
  EXPECT_EQ(plain_init->status, 200);

  // A streamed API answer (Server-Sent Events) carries HSTS in its head too.
  TestClient stream(app_->tls_port());
  ASSERT_TRUE(stream.start_tls(client_));
  ASSERT_TRUE(stream.send(http::test::request("GET", "/api/v1/stream", {},
                                              std::string("Authorization: Bearer ") + kTlsServeToken + "\r\n")));
  auto head = stream.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head->header("Strict-Transport-Security"), "max-age=31536000");
  stream.close();

  TestClient metrics(app_->port());
  auto m = get(metrics, "/metrics", false);
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("zkpush_tls_handshake_failures_total 0"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("zkpush_tls_certificate_expiry_seconds "), std::string::npos);
}

TEST_F(TlsServe, ApiPlainLoopbackRefusesOtherAddressesOnPlainHttp) {
  const std::string other = tls_serve_other_address();
  if (other.empty()) GTEST_SKIP() << "this machine has no IPv4 address but loopback (see ApiAllowedDecision)";
  start("0.0.0.0:0", ApiPlain::loopback);
  {
    TestClient remote(app_->port(), other.c_str());
    auto r = get(remote, "/api/v1/devices");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    EXPECT_NE(r->body.find("\"code\":\"https_required\""), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("HTTPS"), std::string::npos) << r->body;
    EXPECT_FALSE(r->header("Strict-Transport-Security"));
  }
  {
    // The device endpoints stay on plain HTTP for every address: much firmware speaks only HTTP.
    TestClient remote(app_->port(), other.c_str());
    auto r = get(remote, "/iclock/cdata?SN=PLAIN02&options=all&pushver=3.1.2", false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  {
    TestClient local(app_->port());
    auto r = get(local, "/api/v1/devices");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  auto tls = get_tls("/api/v1/devices");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->status, 200);
}

TEST_F(TlsServe, BadCertificateStopsTheStart) {
  ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.tls_listen = "127.0.0.1:0";
  config.tls_cert = cert_.cert.string();
  config.tls_key = (dir_ / "absent.key").string();
  config.data_dir = (dir_ / "data").string();
  EXPECT_THROW(App{config}, std::runtime_error);
  config.tls_key.clear();
  EXPECT_THROW(App{config}, std::invalid_argument);
  config.tls_listen.clear();
  config.tls_key = cert_.key.string();
  EXPECT_THROW(App{config}, std::invalid_argument);  // a certificate without a TLS address
}

TEST(ApiAllowedDecision, LoopbackOnlyRefusesOtherAddressesOnPlainHttp) {
  using boost::asio::ip::make_address;
  using front::api::api_allowed;
  EXPECT_TRUE(api_allowed(ApiPlain::any, false, make_address("192.0.2.7")));
  EXPECT_TRUE(api_allowed(ApiPlain::loopback, false, make_address("127.0.0.1")));
  EXPECT_TRUE(api_allowed(ApiPlain::loopback, false, make_address("127.3.2.1")));
  EXPECT_TRUE(api_allowed(ApiPlain::loopback, false, make_address("::1")));
  EXPECT_TRUE(api_allowed(ApiPlain::loopback, false, make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(api_allowed(ApiPlain::loopback, false, make_address("192.0.2.7")));
  EXPECT_FALSE(api_allowed(ApiPlain::loopback, false, make_address("::ffff:192.0.2.7")));
  EXPECT_FALSE(api_allowed(ApiPlain::loopback, false, make_address("fd00::2")));
  EXPECT_TRUE(api_allowed(ApiPlain::loopback, true, make_address("192.0.2.7")));
}

}  // namespace
}  // namespace zkpush::server
