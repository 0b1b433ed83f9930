// The algorithms of encryption.hpp, and the only file that names them. Why these: RSA because the
// manual's scheme encrypts each factor to the peer's public key (Appendix 16 c), which an RSA key
// does directly, and the manual's example PublicKey/Factors values have RSA sizes (256-byte
// ciphertexts); 2048 bits and OAEP with SHA-256 are today's minimum for that. HKDF-SHA256 turns the
// two factors into independent keys per direction; AES-256-GCM authenticates as it encrypts, which
// covers what the manual's "CRC32 check" was for and also detects deliberate changes.
#include "protocol/encryption.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <optional>

#include "protocol/base64.hpp"

namespace zkpush::protocol::encryption {

namespace {

constexpr int kRsaBits = 2048;
constexpr std::size_t kKeyBytes = 32;   // AES-256
constexpr std::size_t kSeqBytes = 8;    // big-endian sequence number, first on the wire
constexpr std::size_t kTagBytes = 16;   // GCM tag, last on the wire
constexpr std::size_t kIvBytes = 12;    // GCM nonce: 4 zero bytes, then the sequence number
constexpr std::uint64_t kWindow = 64;   // out-of-order arrivals tolerated (requests on several connections)
constexpr std::string_view kHkdfSalt = "zkpush push encryption v1";

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Error crypto_error(std::string what) { return make_error(Errc::bad_value, std::move(what), "encryption"); }

// Padding and digests for both directions of a factor.
bool set_oaep(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0;
}

std::array<unsigned char, kSeqBytes> seq_bytes(std::uint64_t seq) {
  std::array<unsigned char, kSeqBytes> b{};
  for (std::size_t i = 0; i < kSeqBytes; ++i) b[kSeqBytes - 1 - i] = static_cast<unsigned char>(seq >> (8 * i));
  return b;
}

// Associated data: marker, direction and sequence number, so that a body cannot be moved to the
// other direction (the keys differ too) or renumbered.
std::string aad_of(Direction d, const std::array<unsigned char, kSeqBytes>& seq) {
  std::string aad = "ZKE1";
  aad += static_cast<char>(d);
  aad.append(reinterpret_cast<const char*>(seq.data()), seq.size());
  return aad;
}

std::array<unsigned char, kIvBytes> iv_of(const std::array<unsigned char, kSeqBytes>& seq) {
  std::array<unsigned char, kIvBytes> iv{};
  std::copy(seq.begin(), seq.end(), iv.begin() + (kIvBytes - kSeqBytes));
  return iv;
}

std::optional<std::string> hkdf(std::string_view ikm, std::string_view info) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), EVP_PKEY_CTX_free);
  std::string out(kKeyBytes, '\0');
  std::size_t n = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes_of(kHkdfSalt), static_cast<int>(kHkdfSalt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes_of(ikm), static_cast<int>(ikm.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes_of(info), static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n) <= 0 || n != kKeyBytes)
    return std::nullopt;
  return out;
}

}  // namespace

bool looks_encrypted(std::string_view body) noexcept { return body.starts_with(kMarker); }

std::string_view failure_name(Failure failure) noexcept {
  switch (failure) {
    case Failure::malformed: return "malformed";
    case Failure::truncated: return "truncated";
    case Failure::authentication: return "authentication";
    case Failure::replayed: return "replayed";
  }
  return "malformed";
}

// ---- key pairs and factors --------------------------------------------------------------------------

Result<KeyPair> KeyPair::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(kRsaBits));
  if (raw == nullptr) return crypto_error("RSA key generation failed");
  KeyPair k;
  k.key_ = std::shared_ptr<void>(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(raw, &der);
  if (n <= 0) return crypto_error("public key encoding failed");
  k.public_text_ = base64_encode(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return k;
}

Result<std::string> KeyPair::decrypt_factor(std::string_view factors_text) const {
  auto cipher = base64_decode(factors_text);
  if (!cipher || cipher->empty()) return crypto_error("Factors is not base64");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(static_cast<EVP_PKEY*>(key_.get()), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 || !set_oaep(ctx.get())) return crypto_error("RSA context failed");
  std::size_t n = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &n, bytes_of(*cipher), cipher->size()) <= 0)
    return crypto_error("Factors cannot be decrypted with our key");
  std::string out(n, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, bytes_of(*cipher), cipher->size()) <= 0)
    return crypto_error("Factors cannot be decrypted with our key");
  out.resize(n);
  if (out.size() != kFactorBytes) return crypto_error("factor is " + std::to_string(out.size()) + " bytes, not 32");
  return out;
}

std::string new_factor() {
  std::string f(kFactorBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(f.data()), static_cast<int>(f.size())) != 1) return {};
  return f;
}

Result<std::string> encrypt_factor(std::string_view peer_public_key, std::string_view factor) {
  auto der = base64_decode(peer_public_key);
  if (!der || der->empty()) return crypto_error("PublicKey is not base64");
  const unsigned char* p = bytes_of(*der);
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())), EVP_PKEY_free);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return crypto_error("PublicKey is not an RSA public key");
  if (EVP_PKEY_get_bits(key.get()) < kRsaBits) return crypto_error("PublicKey is shorter than 2048 bits");
  if (factor.size() != kFactorBytes) return crypto_error("a factor is 32 bytes");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 || !set_oaep(ctx.get())) return crypto_error("RSA context failed");
  std::size_t n = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &n, bytes_of(factor), factor.size()) <= 0)
    return crypto_error("RSA encryption failed");
  std::string out(n, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, bytes_of(factor), factor.size()) <= 0)
    return crypto_error("RSA encryption failed");
  out.resize(n);
  return base64_encode(out);
}

// ---- the session channel ----------------------------------------------------------------------------

Result<Channel> Channel::derive(std::string_view r1, std::string_view r2, Direction local) {
  if (r1.size() != kFactorBytes || r2.size() != kFactorBytes) return crypto_error("factors are 32 bytes each");
  std::string ikm;
  ikm.append(r1).append(r2);
  auto d2s = hkdf(ikm, "device to server");
  auto s2d = hkdf(ikm, "server to device");
  if (!d2s || !s2d) return crypto_error("HKDF failed");
  Channel c;
  c.out_ = local;
  c.out_key_ = local == Direction::device_to_server ? *d2s : *s2d;
  c.in_key_ = local == Direction::device_to_server ? *s2d : *d2s;
  return c;
}

std::string Channel::seal(std::string_view plain) {
  const auto seq = seq_bytes(next_out_++);
  const auto iv = iv_of(seq);
  const std::string aad = aad_of(out_, seq);
  std::string wire(reinterpret_cast<const char*>(seq.data()), seq.size());
  wire.resize(kSeqBytes + plain.size() + kTagBytes);
  auto* out = reinterpret_cast<unsigned char*>(wire.data()) + kSeqBytes;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(out_key_), iv.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) == 1;
  int written = 0;
  if (ok && !plain.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), out, &len, bytes_of(plain), static_cast<int>(plain.size())) == 1;
    written = len;
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out + written, &len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), out + plain.size()) == 1;
  // An OpenSSL failure here is not something input can cause; an empty marker body then fails
  // authentication at the receiver rather than going out in plain text.
  if (!ok) return std::string(kMarker);
  return std::string(kMarker) + base64_encode(wire);
}

Opened Channel::open(std::string_view wire) {
  Opened r;
  if (!looks_encrypted(wire)) return r;
  auto bytes = base64_decode(wire.substr(kMarker.size()));
  if (!bytes) return r;
  if (bytes->size() < kSeqBytes + kTagBytes) {
    r.failure = Failure::truncated;
    return r;
  }
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < kSeqBytes; ++i) seq = (seq << 8) | static_cast<unsigned char>((*bytes)[i]);
  // Cheap refusals before the cipher; the window moves only after authentication, so a forged
  // number cannot push it forward.
  if (seq == 0) return r;
  if (seq <= highest_in_) {
    const std::uint64_t age = highest_in_ - seq;
    if (age >= kWindow || (window_ >> age) & 1u) {
      r.failure = Failure::replayed;
      return r;
    }
  }
  const auto seq_b = seq_bytes(seq);
  const auto iv = iv_of(seq_b);
  const Direction in = out_ == Direction::device_to_server ? Direction::server_to_device : Direction::device_to_server;
  const std::string aad = aad_of(in, seq_b);
  const std::size_t cipher_len = bytes->size() - kSeqBytes - kTagBytes;
  const auto* cipher = bytes_of(*bytes) + kSeqBytes;
  std::string tag = bytes->substr(kSeqBytes + cipher_len);
  std::string plain(cipher_len, '\0');
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  int written = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(in_key_), iv.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) == 1;
  if (ok && cipher_len > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, cipher,
                           static_cast<int>(cipher_len)) == 1;
    written = len;
  }
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + written, &len) == 1;
  if (!ok) {
    r.failure = Failure::authentication;
    return r;
  }
  if (seq > highest_in_) {
    const std::uint64_t shift = seq - highest_in_;
    window_ = shift >= kWindow ? 1u : (window_ << shift) | 1u;
    highest_in_ = seq;
  } else {
    window_ |= std::uint64_t{1} << (highest_in_ - seq);
  }
  r.ok = true;
  r.plain = std::move(plain);
  return r;
}

}  // namespace zkpush::protocol::encryption
