#include "front/device_encryption.hpp"

#include <stdexcept>

namespace zkpush::front {

namespace enc = protocol::encryption;

enc::Opened DeviceEncryption::Session::open(std::string_view body) {
  std::lock_guard lock(mutex_);
  return channel_.open(body);
}

std::string DeviceEncryption::Session::seal(std::string_view body) {
  std::lock_guard lock(mutex_);
  return channel_.seal(body);
}

DeviceEncryption::DeviceEncryption(server::EncryptionMode mode) : mode_(mode) {
  if (!on()) return;
  // One P2 per server process: generating an RSA key per device costs tens of milliseconds of CPU
  // at each reconnect. The session keys still change with every exchange (fresh R1 and R2).
  auto keys = enc::KeyPair::generate();
  if (!keys) throw std::runtime_error("encryption: " + keys.error().to_string());
  keys_ = std::move(*keys);
}

protocol::Result<std::string> DeviceEncryption::exchange_public_key(const std::string& sn,
                                                                    std::string_view device_public_key) {
  if (!keys_) return protocol::make_error(protocol::Errc::unsupported, "communication encryption is off");
  // Checked now, not at the factors: a key we cannot use is refused where it was sent.
  if (auto probe = enc::encrypt_factor(device_public_key, enc::new_factor()); !probe) return std::move(probe).error();
  std::lock_guard lock(mutex_);
  devices_[sn] = Pending{std::string(device_public_key), nullptr};
  return keys_->public_key();
}

protocol::Result<std::string> DeviceEncryption::exchange_factors(const std::string& sn, std::string_view device_factors) {
  if (!keys_) return protocol::make_error(protocol::Errc::unsupported, "communication encryption is off");
  std::string device_key;
  {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(sn);
    if (it == devices_.end() || it->second.device_public_key.empty())
      return protocol::make_error(protocol::Errc::incomplete, "exchange public keys first (type=publickey)");
    device_key = it->second.device_public_key;
  }
  auto r1 = keys_->decrypt_factor(device_factors);
  if (!r1) return std::move(r1).error();
  const std::string r2 = enc::new_factor();
  auto r2_wire = enc::encrypt_factor(device_key, r2);
  if (!r2_wire) return std::move(r2_wire).error();
  auto channel = enc::Channel::derive(*r1, r2, enc::Direction::server_to_device);
  if (!channel) return std::move(channel).error();
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  // A new public key exchange in between (another connection): this one is stale.
  if (it == devices_.end() || it->second.device_public_key != device_key)
    return protocol::make_error(protocol::Errc::incomplete, "public key exchanged again meanwhile: exchange factors again");
  it->second.session = std::make_shared<Session>(std::move(*channel));
  return std::move(*r2_wire);
}

void DeviceEncryption::reset(const std::string& sn) {
  std::lock_guard lock(mutex_);
  devices_.erase(sn);
}

std::shared_ptr<DeviceEncryption::Session> DeviceEncryption::session(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  return it == devices_.end() ? nullptr : it->second.session;
}

}  // namespace zkpush::front
