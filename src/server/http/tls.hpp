// TLS for the transport: the server's OpenSSL context, built from a PEM certificate chain and key,
// and the slot the TLS listener takes it from. A reload (SIGHUP) builds a new context and puts it
// in the slot: new connections get the new one, while each open connection keeps a shared_ptr to
// the context it was accepted with, so nothing is dropped (docs/transport.md "TLS").
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace zkpush::server::http {

// What the log and /metrics say about the certificate: never anything of the key.
struct CertificateInfo {
  std::string subject;          // RFC 2253, e.g. "CN=zkpush.example"
  std::string issuer;           // the same for a self-signed certificate
  std::int64_t not_after = 0;   // Unix time the certificate expires
};

struct TlsContext {
  std::shared_ptr<boost::asio::ssl::context> ssl;
  CertificateInfo certificate;
  // Things an installer should fix but that do not stop the server: a certificate that expired or
  // expires within 30 days, a key file readable by group or others.
  std::vector<std::string> warnings;
};

// Builds a server context: TLS 1.2 minimum (TLS 1.3 with OpenSSL's defaults), ECDHE with AEAD
// ciphers for 1.2, the server's cipher preference, no compression, no renegotiation. `cert_file`
// holds the certificate chain (PEM, the server's certificate first), `key_file` its private key
// (PEM, unencrypted: a server restarted by systemd has nobody to type a passphrase). Throws
// std::runtime_error naming the file and OpenSSL's reason: missing or unreadable file, not PEM,
// an encrypted key, a key that does not match the certificate. `now`: Unix time for the warnings.
TlsContext load_tls_context(const std::string& cert_file, const std::string& key_file, std::int64_t now);

// "2027-01-31 12:00:00 UTC".
std::string format_utc(std::int64_t unix_time);

// The context new TLS connections are accepted with. Read once per accepted connection, written on
// reload: a mutex is cheap at that rate.
class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {}
  std::shared_ptr<const TlsContext> get() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  void set(std::shared_ptr<const TlsContext> context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> context_;
};

}  // namespace zkpush::server::http
