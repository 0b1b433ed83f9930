// Certificates for the TLS tests, made at run time with OpenSSL's API into a test's temporary
// folder: nothing secret is committed, and nothing expires in the repository.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace zkpush::test {

struct TestCertificate {
  std::filesystem::path cert;  // PEM certificate
  std::filesystem::path key;   // PEM private key (mode 0600)
  std::string common_name;
};

// A self-signed EC P-256 certificate for `common_name`, with the subject alternative names
// IP:127.0.0.1 and DNS:localhost, valid from an hour ago for `valid_seconds` (negative: already
// expired), written as <dir>/<stem>.crt and <dir>/<stem>.key. Throws std::runtime_error.
TestCertificate make_test_certificate(const std::filesystem::path& dir, const std::string& stem,
                                      const std::string& common_name,
                                      std::int64_t valid_seconds = 365LL * 86400);

}  // namespace zkpush::test
