// The TLS listener against real OpenSSL handshakes on real sockets: the same HTTP over TLS,
// beside the plain listener, with certificates made at run time (support/test_certificates.hpp).
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"
#include "server/http/test_server.hpp"
#include "server/http/tls.hpp"
#include "support/test_certificates.hpp"

namespace zkpush::server::http::test {
namespace {

namespace fs = std::filesystem;

std::int64_t tls_test_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// A temporary folder with certificates "a" (CN tls-a) and "b" (CN tls-b).
struct TlsFiles {
  TlsFiles() {
    dir = fs::temp_directory_path() /
          ("zkpush-tls-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    a = zkpush::test::make_test_certificate(dir, "a", "tls-a");
    b = zkpush::test::make_test_certificate(dir, "b", "tls-b");
  }
  ~TlsFiles() { fs::remove_all(dir); }
  std::shared_ptr<const TlsContext> context(const zkpush::test::TestCertificate& c) const {
    return std::make_shared<const TlsContext>(load_tls_context(c.cert, c.key, tls_test_now()));
  }
  fs::path dir;
  zkpush::test::TestCertificate a, b;
};

// A client context: trusts `ca` when given (and checks the name 127.0.0.1), else verifies nothing.
// `max_version`: 0 for OpenSSL's newest.
struct ClientContext {
  explicit ClientContext(const fs::path& ca = {}, int max_version = 0) {
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ca.empty()) {
      SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
    }
    if (max_version != 0) {
      // Old protocol versions are off at OpenSSL 3's default security level on the client too;
      // level 0 lets this client offer them, so that the refusal is the server's.
      SSL_CTX_set_security_level(ctx, 0);
      SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx, max_version);
    }
  }
  ~ClientContext() { SSL_CTX_free(ctx); }
  SSL_CTX* ctx = nullptr;
};

// The common name of the certificate the server showed on this connection.
std::string peer_common_name(const TestClient& c) {
  X509* cert = SSL_get1_peer_certificate(c.ssl());
  if (cert == nullptr) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

// Echoes whether the request came over TLS.
void install_secure_echo(Harness& h) {
  h.handler.on_handle = [](Request request, Responder respond) {
    respond(make_response(Status::ok, std::string(request.target()) + (request.secure ? " tls" : " plain")));
  };
}

std::function<void(ServerConfig&)> with_tls(std::shared_ptr<const TlsContext> context,
                                            std::function<void(ServerConfig&)> more = {}) {
  return [context = std::move(context), more = std::move(more)](ServerConfig& c) {
    c.tls = TlsListenConfig{"127.0.0.1", 0, context};
    if (more) more(c);
  };
}

TEST(HttpTls, KeepAliveOverTlsBesideThePlainListener) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)), install_secure_echo);
  ASSERT_NE(h.server->tls_port(), 0);
  ASSERT_NE(h.server->tls_port(), h.port());
  ClientContext trusting(files.a.cert);
  TestClient c(h.server->tls_port());
  std::string error;
  ASSERT_TRUE(c.start_tls(trusting.ctx, &error)) << error;
  EXPECT_EQ(peer_common_name(c), "tls-a");
  for (int i = 0; i < 3; ++i) {
    const std::string target = "/iclock/getrequest?SN=T" + std::to_string(i);
    ASSERT_TRUE(c.send(request("GET", target)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, target + " tls");
  }
  EXPECT_FALSE(c.peer_closed(100ms));
  // The plain listener serves at the same time, and says so.
  TestClient plain(h.port());
  ASSERT_TRUE(plain.send(request("GET", "/iclock/cdata")));
  auto r = plain.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/iclock/cdata plain");
  EXPECT_EQ(h.counters().requests.load(), 4u);
  EXPECT_EQ(h.counters().tls_handshake_failures.load(), 0u);
  EXPECT_EQ(h.counters().tls_certificate_expiry.load(), files.context(files.a)->certificate.not_after);
}

// Requests that arrive in one TLS record sit decrypted inside OpenSSL, where waiting for the
// socket to become readable would never see them: each must still be answered.
TEST(HttpTls, PipelinedRequestsInOneRecordAreAllAnswered) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)), install_secure_echo);
  ClientContext client;
  TestClient c(h.server->tls_port());
  ASSERT_TRUE(c.start_tls(client.ctx));
  ASSERT_TRUE(c.send(request("GET", "/1") + request("POST", "/2", "body") + request("GET", "/3")));
  for (const char* expected : {"/1 tls", "/2 tls", "/3 tls"}) {
    auto r = c.read_response(3s);
    ASSERT_TRUE(r) << expected;
    EXPECT_EQ(r->body, expected);
  }
}

TEST(HttpTls, ChunkedStreamOverTls) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)), [](Harness& t) {
    t.handler.on_handle = [](Request, Responder respond) {
      auto stream = respond.stream(make_stream_head(Status::ok, "text/event-stream"));
      static_cast<void>(stream->write("data: one\n\n"));
      static_cast<void>(stream->write("data: two\n\n"));
      stream->close();
    };
  });
  ClientContext client;
  TestClient c(h.server->tls_port());
  ASSERT_TRUE(c.start_tls(client.ctx));
  ASSERT_TRUE(c.send(request("GET", "/events")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->body, "data: one\n\ndata: two\n\n");
  // The connection goes on after the stream.
  ASSERT_TRUE(c.send(request("GET", "/events")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "data: one\n\ndata: two\n\n");
}

TEST(HttpTls, ClientThatNeverHandshakesIsClosedAfterTheTimeout) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a), [](ServerConfig& c) { c.limits.tls_handshake_timeout = 200ms; }));
  TestClient silent(h.server->tls_port());
  EXPECT_TRUE(silent.peer_closed(5s));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  EXPECT_EQ(h.counters().timeouts.load(), 1u);
  EXPECT_EQ(h.counters().tls_handshake_failures.load(), 1u);
  EXPECT_TRUE(h.logs.contains("timeout in the TLS handshake")) << h.logs.all();
  EXPECT_EQ(h.handler.calls.load(), 0);
}

TEST(HttpTls, HandshakesCountInTheConnectionLimit) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a), [](ServerConfig& c) { c.limits.max_connections = 1; }));
  TestClient silent(h.server->tls_port());  // holds the only connection while it handshakes
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 1; }));
  TestClient refused(h.server->tls_port());
  EXPECT_TRUE(refused.peer_closed(5s));
  EXPECT_EQ(h.counters().connections_rejected.load(), 1u);
}

TEST(HttpTls, Tls11ClientIsRefused) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)));
  {
    ClientContext old(fs::path(), TLS1_1_VERSION);
    TestClient c(h.server->tls_port());
    std::string error;
    EXPECT_FALSE(c.start_tls(old.ctx, &error));
    EXPECT_TRUE(Harness::eventually([&] { return h.counters().tls_handshake_failures.load() == 1; }));
  }
  // The same client allowed TLS 1.2 gets through: the version was the reason.
  ClientContext tls12(fs::path(), TLS1_2_VERSION);
  TestClient c(h.server->tls_port());
  std::string error;
  ASSERT_TRUE(c.start_tls(tls12.ctx, &error)) << error;
  EXPECT_EQ(SSL_version(c.ssl()), TLS1_2_VERSION);
  ASSERT_TRUE(c.send(request("GET", "/x")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(h.counters().tls_handshake_failures.load(), 1u);
}

TEST(HttpTls, PlainHttpOnTheTlsPortFailsCleanly) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)));
  TestClient plain(h.server->tls_port());
  ASSERT_TRUE(plain.send(request("GET", "/iclock/cdata?SN=1")));
  EXPECT_TRUE(plain.peer_closed(5s));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().tls_handshake_failures.load() == 1; }));
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 0; }));
  EXPECT_EQ(h.handler.calls.load(), 0);
  // Logged at debug only (a scanner must not flood the log at info).
  EXPECT_TRUE(h.logs.contains("TLS handshake failed")) << h.logs.all();
  // The listener goes on.
  ClientContext client;
  TestClient c(h.server->tls_port());
  ASSERT_TRUE(c.start_tls(client.ctx));
  ASSERT_TRUE(c.send(request("GET", "/after")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpTls, ReloadSwapsTheCertificateForNewConnectionsOnly) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)));
  ClientContext client;
  TestClient old_connection(h.server->tls_port());
  ASSERT_TRUE(old_connection.start_tls(client.ctx));
  EXPECT_EQ(peer_common_name(old_connection), "tls-a");
  ASSERT_TRUE(old_connection.send(request("GET", "/before")));
  ASSERT_TRUE(old_connection.read_response());

  auto b = files.context(files.b);
  h.server->set_tls_context(b);
  EXPECT_EQ(h.counters().tls_certificate_expiry.load(), b->certificate.not_after);
  TestClient new_connection(h.server->tls_port());
  ASSERT_TRUE(new_connection.start_tls(client.ctx));
  EXPECT_EQ(peer_common_name(new_connection), "tls-b");
  ASSERT_TRUE(new_connection.send(request("GET", "/new")));
  auto r = new_connection.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The keep-alive connection made before the reload goes on with its own context.
  ASSERT_TRUE(old_connection.send(request("GET", "/after")));
  r = old_connection.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /after ");
  EXPECT_EQ(h.counters().connections_accepted.load(), 2u);
}

TEST(HttpTls, FailedReloadKeepsTheCurrentCertificate) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)));
  // What a reload does with bad files: the load throws, so nothing is set.
  EXPECT_THROW(files.context({files.dir / "missing.crt", files.b.key, "x"}), std::runtime_error);
  EXPECT_THROW(files.context({files.b.cert, files.a.key, "x"}), std::runtime_error);
  EXPECT_EQ(h.server->tls_context()->certificate.subject, "CN=tls-a");
  ClientContext client;
  TestClient c(h.server->tls_port());
  ASSERT_TRUE(c.start_tls(client.ctx));
  EXPECT_EQ(peer_common_name(c), "tls-a");
}

TEST(HttpTls, StopClosesTlsConnectionsGracefully) {
  TlsFiles files;
  Harness h(with_tls(files.context(files.a)));
  ClientContext client;
  TestClient idle(h.server->tls_port());
  ASSERT_TRUE(idle.start_tls(client.ctx));
  ASSERT_TRUE(idle.send(request("GET", "/x")));
  ASSERT_TRUE(idle.read_response());
  TestClient handshaking(h.server->tls_port());
  EXPECT_TRUE(Harness::eventually([&] { return h.counters().connections_open.load() == 2; }));
  h.server->stop();
  EXPECT_TRUE(idle.peer_closed(2s));
  EXPECT_TRUE(handshaking.peer_closed(2s));
  EXPECT_EQ(h.counters().connections_open.load(), 0u);
  EXPECT_EQ(h.counters().tls_handshake_failures.load(), 0u);  // a stop is no failed handshake
}

TEST(TlsContext, BadFilesAreRefusedWithTheirReason) {
  TlsFiles files;
  try {
    load_tls_context((files.dir / "missing.crt").string(), files.a.key.string(), tls_test_now());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.crt: cannot read"), std::string::npos) << e.what();
  }
  try {
    load_tls_context(files.a.cert.string(), files.b.key.string(), tls_test_now());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the certificate"), std::string::npos) << e.what();
  }
  std::ofstream(files.dir / "junk.crt") << "not a certificate\n";
  try {
    load_tls_context((files.dir / "junk.crt").string(), files.a.key.string(), tls_test_now());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a PEM certificate chain"), std::string::npos) << e.what();
  }
}

TEST(TlsContext, WarnsOfExpiryAndAKeyOthersCanRead) {
  TlsFiles files;
  auto fine = load_tls_context(files.a.cert.string(), files.a.key.string(), tls_test_now());
  EXPECT_TRUE(fine.warnings.empty());
  EXPECT_EQ(fine.certificate.subject, "CN=tls-a");
  EXPECT_GT(fine.certificate.not_after, tls_test_now() + 300 * 86400);

  auto soon = zkpush::test::make_test_certificate(files.dir, "soon", "tls-soon", 10 * 86400);
  auto expiring = load_tls_context(soon.cert.string(), soon.key.string(), tls_test_now());
  ASSERT_EQ(expiring.warnings.size(), 1u);
  EXPECT_NE(expiring.warnings[0].find("expires on"), std::string::npos) << expiring.warnings[0];

  auto old = zkpush::test::make_test_certificate(files.dir, "old", "tls-old", -60);
  auto expired = load_tls_context(old.cert.string(), old.key.string(), tls_test_now());
  ASSERT_EQ(expired.warnings.size(), 1u);
  EXPECT_NE(expired.warnings[0].find("expired on"), std::string::npos) << expired.warnings[0];

  fs::permissions(files.a.key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto readable = load_tls_context(files.a.cert.string(), files.a.key.string(), tls_test_now());
  ASSERT_EQ(readable.warnings.size(), 1u);
  EXPECT_NE(readable.warnings[0].find("chmod 600"), std::string::npos) << readable.warnings[0];
}

}  // namespace
}  // namespace zkpush::server::http::test
