// Communication encryption (manual 4.2, 4.3, Appendix 16). The manual leaves every algorithm to an
// undocumented "encryption library" on the device, so this is our scheme built from standard OpenSSL
// primitives; docs/encryption.md is its exact wire format. The algorithms are chosen in
// encryption.cpp only: a real scheme, once known, replaces that file behind this interface.
//
//   key pairs          RSA-2048; PublicKey= is base64 of the DER SubjectPublicKeyInfo
//   factors R1, R2     32 random bytes each, RSA-OAEP (SHA-256, MGF1-SHA-256) to the peer's key
//   session keys       HKDF-SHA256 over R1 || R2, one key per direction
//   bodies             AES-256-GCM, nonce from a per-direction sequence number; a receiver refuses
//                      a sequence number it has seen (replay) or one older than its 64-message window
//
// Pure computation: no I/O, no clock; not thread-safe per object (a caller shares one under a lock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace zkpush::protocol::encryption {

// What starts an encrypted body ("ZKE1:" then base64); anything else is plain text.
inline constexpr std::string_view kMarker = "ZKE1:";
// Names the scheme in logs and docs.
inline constexpr std::string_view kSchemeName = "rsa2048-oaep-sha256/hkdf-sha256/aes-256-gcm (zkpush v1)";
inline constexpr std::size_t kFactorBytes = 32;

bool looks_encrypted(std::string_view body) noexcept;

// One side's asymmetric key pair (P1 on the device, P2 on the server, with their private halves).
class KeyPair {
 public:
  static Result<KeyPair> generate();
  // The PublicKey= value.
  const std::string& public_key() const noexcept { return public_text_; }
  // A Factors= value sent to us (encrypted to our public key) -> the raw factor.
  Result<std::string> decrypt_factor(std::string_view factors_text) const;

 private:
  std::shared_ptr<void> key_;  // EVP_PKEY, freed with EVP_PKEY_free
  std::string public_text_;
};

// A fresh random factor (kFactorBytes).
std::string new_factor();
// The Factors= value of `factor` encrypted to the peer's PublicKey= text (whitespace in it ignored).
Result<std::string> encrypt_factor(std::string_view peer_public_key, std::string_view factor);

enum class Direction : std::uint8_t { device_to_server = 1, server_to_device = 2 };

// Why a body was refused.
enum class Failure { malformed, truncated, authentication, replayed };
std::string_view failure_name(Failure failure) noexcept;  // "malformed", "truncated", ...

struct Opened {
  bool ok = false;
  std::string plain;
  Failure failure = Failure::malformed;
};

// One session's two directions, derived from R1 (the device's factor) and R2 (the server's).
class Channel {
 public:
  // `local`: the side using the channel (device_to_server for the device, server_to_device for the server).
  static Result<Channel> derive(std::string_view r1, std::string_view r2, Direction local);

  // The wire text of `plain` (kMarker + base64), with the next sequence number of our direction.
  std::string seal(std::string_view plain);
  // A body of the other direction: authenticated, then its sequence number checked against the window.
  Opened open(std::string_view wire);

 private:
  Direction out_ = Direction::device_to_server;
  std::string out_key_;
  std::string in_key_;
  std::uint64_t next_out_ = 1;
  std::uint64_t highest_in_ = 0;  // highest sequence number accepted
  std::uint64_t window_ = 0;      // bit i: highest_in_ - i was accepted
};

}  // namespace zkpush::protocol::encryption
