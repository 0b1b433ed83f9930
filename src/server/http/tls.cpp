#include "server/http/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace zkpush::server::http {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: forward secrecy (ECDHE) and authenticated encryption only, as Mozilla's
// "intermediate" profile less the DHE ones. TLS 1.3 suites are OpenSSL's defaults, all AEAD.
constexpr const char* kTlsCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// OpenSSL's queued errors as one line (and the queue emptied), or `fallback` when there are none.
std::string tls_openssl_errors(const char* fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

// A file that cannot be opened is named with the system's reason, clearer than OpenSSL's.
void tls_check_readable(const std::string& what, const std::string& path) {
  if (path.empty()) throw std::runtime_error(what + ": no file given");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(what + " " + path + ": cannot read: " + std::generic_category().message(errno));
}

// Never prompts: an encrypted key fails to load with a clear error instead of waiting on a tty.
int tls_no_passphrase(char*, int, int, void*) { return 0; }

std::string tls_name(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return out;
}

}  // namespace

std::string format_utc(std::int64_t unix_time) {
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

TlsContext load_tls_context(const std::string& cert_file, const std::string& key_file, std::int64_t now) {
  tls_check_readable("certificate file", cert_file);
  tls_check_readable("key file", key_file);
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw std::runtime_error("TLS: " + tls_openssl_errors("cannot set TLS 1.2 as the minimum"));
  }
  long options = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                 SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE;
#ifdef SSL_OP_NO_RENEGOTIATION
  options |= SSL_OP_NO_RENEGOTIATION;
#endif
  SSL_CTX_set_options(native, options);
  // Idle keep-alive connections (tens of thousands of panels) give their record buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(native, kTlsCiphers12) != 1) {
    throw std::runtime_error("TLS: " + tls_openssl_errors("no usable TLS 1.2 cipher"));
  }
  SSL_CTX_set_default_passwd_cb(native, tls_no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    throw std::runtime_error("certificate file " + cert_file + ": not a PEM certificate chain: " +
                             tls_openssl_errors("unreadable"));
  }
  X509* cert = SSL_CTX_get0_certificate(native);
  if (cert == nullptr) throw std::runtime_error("certificate file " + cert_file + ": no certificate");
  // Read apart from the context so that "not a key" and "not this certificate's key" get their
  // own messages.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(nullptr, EVP_PKEY_free);
  if (BIO* bio = BIO_new_file(key_file.c_str(), "r")) {
    key.reset(PEM_read_bio_PrivateKey(bio, nullptr, tls_no_passphrase, nullptr));
    BIO_free(bio);
  }
  if (!key) {
    throw std::runtime_error("key file " + key_file +
                             ": not an unencrypted PEM private key: " + tls_openssl_errors("unreadable"));
  }
  if (X509_check_private_key(cert, key.get()) != 1) {
    throw std::runtime_error("key file " + key_file + " does not match the certificate in " + cert_file + ": " +
                             tls_openssl_errors("mismatch"));
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("key file " + key_file + ": " + tls_openssl_errors("cannot use the key"));
  }

  TlsContext out;
  out.ssl = std::move(context);
  out.certificate.subject = tls_name(X509_get_subject_name(cert));
  out.certificate.issuer = tls_name(X509_get_issuer_name(cert));
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) out.certificate.not_after = timegm(&tm);
  const std::int64_t left = out.certificate.not_after - now;
  if (left <= 0) {
    out.warnings.push_back("certificate " + out.certificate.subject + " in " + cert_file + " expired on " +
                           format_utc(out.certificate.not_after));
  } else if (left < 30 * 86400) {
    out.warnings.push_back("certificate " + out.certificate.subject + " in " + cert_file + " expires on " +
                           format_utc(out.certificate.not_after) + ", in " + std::to_string(left / 86400) +
                           " day(s)");
  }
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) != 0) {
    out.warnings.push_back("key file " + key_file + " is readable or writable by group or others; chmod 600 it");
  }
  ERR_clear_error();
  return out;
}

}  // namespace zkpush::server::http
