// In-memory state of every device, loaded from the store at start and kept in step with what the
// handlers write, so that the hot path (an idle getrequest, a token check) never reads the database.
// Thread-safe: every accessor copies under one mutex. The device row itself is shared and immutable
// (a write replaces it), so the copy a request takes is a few integers and a reference count: an idle
// getrequest or a ping used to copy every option the device ever sent (a fifth of its CPU).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/store.hpp"

namespace zkpush::server {

struct DeviceState {
  std::shared_ptr<const storage::Device> device;  // the row as last written (options included); never null
  std::int64_t pending = 0;     // queued or sent-and-unanswered commands (an upper bound)
  std::size_t max_package_size = 0;  // MaxPackageSize option; 0 = unknown (no limit)
  int cmd_format = 0;                // CmdFormat option
  std::int64_t last_seen = 0;
  std::int64_t flushed_seen = 0;  // last_seen as last handed to take_presence()
};

class DeviceRegistry {
 public:
  // Loads every device and the pending counts. Throws storage::StoreUnavailable.
  void load(storage::Store& store);

  std::optional<DeviceState> get(const std::string& sn) const;
  // The device path's write, with the rule of Store::save_device: a new device is added whole; a
  // known one takes the device-side fields only, keeping the operator's (time_zone, config, and
  // approved unless `device` raises it) and its options (merge_options owns them). The copy may have
  // been read before an API write whose callback already ran here; the order of the two no longer
  // matters. Derived option values are recomputed.
  void put_device(const storage::Device& device);
  // The API's write, with the rule of Store::update_device_settings: only the given operator-side
  // fields of a known device change. False for an unknown device.
  bool apply_settings(const std::string& sn, const storage::DeviceSettings& settings);
  // Merges options into the cached row the way the store does (latest wins, keys without case).
  void merge_options(const std::string& sn, const protocol::Record& options);
  void add_pending(const std::string& sn, std::int64_t delta);
  void touch(const std::string& sn, std::int64_t now);
  std::vector<DeviceState> all() const;
  // Counted under the lock without copying any device (for /metrics). online: last_seen >= seen_since.
  struct Totals {
    std::int64_t known = 0, online = 0, pending_approval = 0, pending_commands = 0;
  };
  Totals totals(std::int64_t seen_since) const;
  // Presence that changed since the previous call (last_seen moved), for Store::touch_devices.
  std::vector<storage::DevicePresence> take_presence();

 private:
  static void derive(DeviceState& state);
  mutable std::mutex mutex_;
  std::unordered_map<std::string, DeviceState> devices_;
};

}  // namespace zkpush::server
