// The emulator as a panel given an https:// server address, against our server's TLS listener:
// it registers over HTTPS when it trusts the server's CA, and does not when it does not.
#include <unistd.h>

#include <filesystem>

#include "emulator/http_client.hpp"
#include "emulator/session_harness.hpp"
#include "server/serve_fixture.hpp"
#include "support/test_certificates.hpp"

namespace zkpush::emulator {
namespace {

using server::e2e::ServeFixture;

class EmulatorTls : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    certs_ = std::filesystem::temp_directory_path() /
             ("zkpush-emulator-tls-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(certs_);
    std::filesystem::create_directories(certs_);
    cert_ = zkpush::test::make_test_certificate(certs_, "server", "emulator-tls");
    server::ServerConfig config;
    config.tls_listen = "127.0.0.1:0";
    config.tls_cert = cert_.cert.string();
    config.tls_key = cert_.key.string();
    start(config);
  }
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
    std::filesystem::remove_all(certs_);
  }
  ServerAddress https(std::shared_ptr<boost::asio::ssl::context> context) {
    ServerAddress address{"127.0.0.1", app_->tls_port(), true, std::move(context)};
    return address;
  }

  std::filesystem::path certs_;
  zkpush::test::TestCertificate cert_;
};

TEST_F(EmulatorTls, PanelTrustingTheCaRegistersOverHttps) {
  auto url = parse_server_url("https://127.0.0.1:" + std::to_string(app_->tls_port()) + "/iclock");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, app_->tls_port());
  EXPECT_EQ(parse_server_url("https://example.com")->port, 443);
  EXPECT_FALSE(parse_server_url("http://example.com")->tls);

  start_session(https(make_client_tls_context(cert_.cert.string(), false)), "EMUTLS0001", find_profile("inbio460"));
  ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();
  auto state = app_->devices().get("EMUTLS0001");
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->device->registry_code.empty());
}

TEST_F(EmulatorTls, PanelThatDoesNotTrustTheCertificateStaysOffline) {
  start_session(https(default_client_tls_context()), "EMUTLS0002", find_profile("inbio460"));
  ASSERT_TRUE(eventually([&] { return device_error().find("certificate verify failed") != std::string::npos; }))
      << device_error();
  EXPECT_FALSE(device_online());
  EXPECT_FALSE(app_->devices().get("EMUTLS0002").has_value());
  EXPECT_THROW(make_client_tls_context((certs_ / "absent.pem").string(), false), std::runtime_error);
}

}  // namespace
}  // namespace zkpush::emulator
