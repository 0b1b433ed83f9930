// Devices: registration, sessions, presence and the token policy, with the one in-memory copy of the
// device rows that the hot path (a poll, a token check) reads instead of the database.
//
// One truth. The rules for merging a device's row (two owners, options without case or '~') live in
// the store only (storage/areas/devices.hpp). Every write here reads the row back inside its unit of
// work and the cache takes that copy after the commit, in commit order: the cache cannot disagree
// with the store about anything this node wrote. Presence (last_seen) is kept here and flushed in
// batches. What a second node writes reaches this cache only through refresh(): see
// docs/architecture.md, "Several nodes".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/fields.hpp"
#include "service/clock.hpp"
#include "service/live.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

struct DeviceState {
  std::shared_ptr<const storage::Device> device;  // the row as stored (options included); never null
  std::size_t max_package_size = 0;  // MaxPackageSize option; 0 = unknown (no limit)
  int cmd_format = 0;                // CmdFormat option
  std::int64_t last_seen = 0;        // presence, newer than the stored row's between flushes
  std::int64_t flushed_seen = 0;     // last_seen as last handed to the store
  bool told_online = false;          // what the message log last said of it (online / offline)
  // A digest of the registration the store holds (0: none known). The registration itself is not
  // kept (devices.cpp, forget_registration); this tells the same one sent again (registry()).
  std::uint64_t registration = 0;
};

// A device counts as online when seen within this many seconds: three polling intervals, at least
// 90 s, so one slow or lost poll does not flap the state.
std::int64_t online_window(int request_delay) noexcept;

struct DevicePolicy {
  bool auto_register = true;     // false: a new device waits for the operator's approval
  bool strict_token = true;      // a wrong token is refused (else accepted and reported)
  bool allow_missing_cookie = true;
  int default_tz_minutes = 0;    // when neither the operator nor the device set a zone
  // The configuration sent in init and push answers (a device's own overrides replace these).
  std::string server_name = "zkpush";
  std::string push_prot_ver = "3.1.2";
  int error_delay = 60, request_delay = 30, timeout_sec = 10, trans_interval = 1, realtime = 1;
  std::string trans_times = "00:00;14:05";
  std::string trans_tables = "User Transaction";
};

// What the token check found; the caller logs and counts it.
struct TokenCheck {
  enum class Outcome { no_session, ok, missing_accepted, missing_refused, mismatch_accepted, mismatch_refused };
  Outcome outcome = Outcome::ok;
  std::optional<std::string> variant;  // for a mismatch: how the device seems to compute it
  bool accepted() const noexcept {
    return outcome != Outcome::missing_refused && outcome != Outcome::mismatch_refused;
  }
};

class Devices {
 public:
  template <class T>
  using Reply = storage::Store::Reply<T>;

  Devices(storage::Store& store, const Clock& clock, DevicePolicy policy);

  // Start-up: every device from the store (blocking).
  storage::StoreStatus load();

  std::optional<DeviceState> get(const std::string& sn) const;
  std::vector<DeviceState> all() const;
  struct Totals {
    std::int64_t known = 0, online = 0, pending_approval = 0;
  };
  // Counted without copying any device (for /metrics). online: last_seen >= seen_since.
  Totals totals(std::int64_t seen_since) const;

  // ---- the device's side -------------------------------------------------------------------------------
  // init (GET cdata?options=all). For a registered device: its registry code (the answer carries it)
  // and its row; for a new or unregistered one the row is saved (a new one approved under automatic
  // registration) and the registry code is empty.
  void init(const std::string& sn, const std::string& push_version, const std::string& ip,
            Reply<std::shared_ptr<const storage::Device>> done);
  struct Registration {
    bool accepted = false;  // false: waits for approval (406)
    std::shared_ptr<const storage::Device> device;
  };
  // POST registry: saves the registration and its parameters in one unit of work. The registration
  // the store holds, sent again from the same address by an approved device, is answered without a
  // write.
  void registry(const std::string& sn, const std::string& ip, protocol::Record registration,
                Reply<Registration> done);
  // push: a new session; the row with it.
  void push(const std::string& sn, Reply<std::shared_ptr<const storage::Device>> done);
  // Parameters the device uploaded ("options", "get_options").
  void merge_options(const std::string& sn, protocol::Record options, std::string source, storage::Store::Done done);
  // In a caller's unit of work (ingest): the same merge; merged_options() once it has committed.
  static void merge_options_in(storage::Transaction& tx, const std::string& sn, const protocol::Record& options,
                               const std::string& source, std::int64_t now);
  // The cache's copy after a committed merge, by the store's rule (storage::merge_options). Write
  // outcomes arrive in commit order, so the copy ends as the store does.
  void merged_options(const std::string& sn, const protocol::Record& options);
  // A whole row read elsewhere, into the cache.
  void cache(storage::Device row);
  // Seen now (a request got through). A device the log last told offline calls the
  // presence hook (outside the lock): the caller flushes soon, and the log says it is online.
  void touch(const std::string& sn);
  void on_presence_change(std::function<void()> hook) { presence_hook_ = std::move(hook); }
  // Presence that changed since the previous call, for the store.
  std::vector<storage::DevicePresence> take_presence();
  // Writes last_seen, and a "device" message ({"sn","state":"online"|"offline","last_seen"}) for
  // each device that came online or went offline (online_window) since the log last said, in the
  // same unit of work; rings `live` (if set) when there were any.
  // Several nodes on one store (`shared`): a device may poll any of them, so only the node that
  // leads (`tell`) says when devices come and go, from the latest last_seen any node stored; the
  // others only write what they saw.
  void flush_presence(storage::Store::Done done, bool shared = false, bool tell = true);
  void set_live(Live* live) noexcept { live_ = live; }

  // ---- the operator's side -------------------------------------------------------------------------------
  // Only the given operator fields (approve, PATCH). not_found for an unknown device.
  void update_settings(const std::string& sn, storage::DeviceSettings settings,
                       Reply<std::shared_ptr<const storage::Device>> done);
  // Forgets a device (storage DeviceWrites::remove), then drops it from the cache. A device that
  // calls again starts over as a new one (under --registration approve: waiting again).
  void remove(const std::string& sn, storage::Store::Done done);
  // Re-reads a device written elsewhere (another node) into the cache.
  void refresh(const std::string& sn, storage::Store::Done done);
  // The same, blocking (the store's change feed, never an I/O thread); a device removed there leaves
  // the cache.
  storage::StoreStatus refresh_now(const std::string& sn);

  // ---- policy ---------------------------------------------------------------------------------------------
  // The Cookie header of a request from a device with a session, against its token.
  TokenCheck check_token(const storage::Device& device, std::string_view cookie_header) const;
  // The device's zone in minutes: the operator's setting, else its own signed MachineTZ, else the
  // server's default.
  int tz_minutes(const storage::Device& device) const;
  // The configuration lines of init / push answers: the server's, with the device's overrides.
  protocol::Record config_lines(const storage::Device& device, bool push) const;

  const Clock& clock() const noexcept { return clock_; }
  const DevicePolicy& policy() const noexcept { return policy_; }

 private:
  static void derive(DeviceState& state);
  // A whole row (load, refresh, the operator's writes).
  std::shared_ptr<const storage::Device> put(storage::Device row);
  // A row read back without its parameters (get_row): the cached options are kept, `update` (if
  // any) merged into them.
  std::shared_ptr<const storage::Device> put_row(storage::Device row, const protocol::Record* update);

  storage::Store& store_;
  const Clock& clock_;
  DevicePolicy policy_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, DeviceState> devices_;
  std::function<void()> presence_hook_;
  Live* live_ = nullptr;
};

}  // namespace zkpush::service
