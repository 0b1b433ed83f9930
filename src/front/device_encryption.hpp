// The server's side of communication encryption (4.2, 4.3, Appendix 16; docs/encryption.md): its key
// pair P2, and one session per device serial number, in memory only. A device exchanges keys again
// whenever it reconnects (Appendix 16 a), so a restart or an init simply ends the session; nothing
// about it is stored. The algorithms are protocol/encryption.hpp's.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/encryption.hpp"
#include "server/config.hpp"

namespace zkpush::front {

class DeviceEncryption {
 public:
  // One device's established session: both directions, shared by its concurrent requests.
  class Session {
   public:
    explicit Session(protocol::encryption::Channel channel) : channel_(std::move(channel)) {}
    protocol::encryption::Opened open(std::string_view body);
    std::string seal(std::string_view body);

   private:
    std::mutex mutex_;
    protocol::encryption::Channel channel_;
  };

  // Generates P2 unless `mode` is off (throws std::runtime_error if OpenSSL cannot).
  explicit DeviceEncryption(server::EncryptionMode mode);

  server::EncryptionMode mode() const noexcept { return mode_; }
  bool on() const noexcept { return mode_ != server::EncryptionMode::off; }

  // 4.2: keeps the device's PublicKey (P1) and ends any session of `sn`; returns ours (P2).
  protocol::Result<std::string> exchange_public_key(const std::string& sn, std::string_view device_public_key);
  // 4.3: the device's Factors (R1 encrypted to P2) -> ours (R2 encrypted to P1); the session is
  // established from then on. Needs a public key exchange first.
  protocol::Result<std::string> exchange_factors(const std::string& sn, std::string_view device_factors);
  // Init (a reconnecting device): no session until it exchanges keys again.
  void reset(const std::string& sn);
  // The established session of `sn`, or null.
  std::shared_ptr<Session> session(const std::string& sn) const;

 private:
  struct Pending {
    std::string device_public_key;
    std::shared_ptr<Session> session;
  };
  server::EncryptionMode mode_;
  std::optional<protocol::encryption::KeyPair> keys_;
  mutable std::mutex mutex_;
  std::map<std::string, Pending, std::less<>> devices_;
};

}  // namespace zkpush::front
