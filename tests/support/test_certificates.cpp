#include "support/test_certificates.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace zkpush::test {
namespace {

struct TestCertFileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

void test_cert_check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

}  // namespace

TestCertificate make_test_certificate(const std::filesystem::path& dir, const std::string& stem,
                                      const std::string& common_name, std::int64_t valid_seconds) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  test_cert_check(key != nullptr, "EC key generation");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  test_cert_check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_seconds));
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  test_cert_check(san != nullptr, "subjectAltName");
  X509_add_ext(cert.get(), san, -1);
  X509_EXTENSION_free(san);
  test_cert_check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

  TestCertificate out{dir / (stem + ".crt"), dir / (stem + ".key"), common_name};
  {
    std::unique_ptr<FILE, TestCertFileCloser> f(std::fopen(out.cert.c_str(), "w"));
    test_cert_check(f != nullptr, "cannot write the certificate");
    test_cert_check(PEM_write_X509(f.get(), cert.get()) == 1, "PEM_write_X509");
  }
  {
    std::unique_ptr<FILE, TestCertFileCloser> f(std::fopen(out.key.c_str(), "w"));
    test_cert_check(f != nullptr, "cannot write the key");
    ::chmod(out.key.c_str(), 0600);
    test_cert_check(PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1,
                    "PEM_write_PrivateKey");
  }
  return out;
}

}  // namespace zkpush::test
