// Lockouts: a serial number, or a peer address, that keeps presenting wrong device tokens is refused
// for a while without its token being checked (docs/security-devices.md). Someone guessing tokens
// for one device hits the device's count; someone spraying serial numbers from one address hits the
// address's count.
//
// The counts and the lockouts live in memory (a restart forgets them: a lockout is a brake, not a
// record). What must outlive the process is written when a lockout starts, in one unit of work: a
// "security" message in the message log (so the live stream, webhooks and MQTT carry it) and an
// audit entry with actor "device <SN>" and the address. Memory is bounded: past `max_keys` counts
// whose window has passed are forgotten first, then all counts (never the lockouts themselves).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "service/clock.hpp"
#include "service/live.hpp"
#include "storage/store.hpp"

namespace zkpush::service {

struct LockoutPolicy {
  int device_after = 10;              // refused tokens of one serial number within `window` (0: never)
  int address_after = 30;             // refused tokens from one address, any serial number (0: never)
  std::int64_t window_seconds = 600;  // failures older than this are forgotten
  std::int64_t lock_seconds = 900;    // how long a lockout lasts
  std::size_t max_keys = 100'000;     // per kind of count (device, address)
};

enum class LockScope { device, address };
const char* lock_scope_name(LockScope scope) noexcept;  // "device" | "address"

struct Lockout {
  LockScope scope = LockScope::device;
  std::string key;           // the serial number, or the address
  std::string sn;            // the serial number whose failure started it
  std::string address;       // the address it came from
  int failures = 0;          // counted when it started
  std::int64_t since = 0;    // Unix seconds
  std::int64_t until = 0;
};

class Lockouts {
 public:
  Lockouts(storage::Store& store, const Clock& clock, LockoutPolicy policy);

  // The lockout that refuses a request of `sn` from `address` (the device's first), if any; an
  // expired one is forgotten here. `address_scope` false: the address is not checked (loopback
  // without --limit-loopback).
  std::optional<Lockout> locked(const std::string& sn, const std::string& address, bool address_scope = true);

  // A token refused for `sn` from `address`: counted; a count reaching its threshold starts a
  // lockout, which is logged (warn, once), counted, and written (message and audit entry with the
  // request's `method` and `target`, path and query as asked, secrets already cut). The lockouts started.
  std::vector<Lockout> failed(const std::string& sn, const std::string& address, const std::string& method,
                              const std::string& target, bool address_scope = true);
  // A token accepted: the device's failures are forgotten (after a lockout expired too).
  void succeeded(const std::string& sn);

  // The operator lifts a lockout (and its count); false when there was none.
  bool lift(LockScope scope, const std::string& key);
  // Lockouts in force now, oldest first.
  std::vector<Lockout> list();

  std::uint64_t started(LockScope scope) const noexcept;  // since start (zkpush_device_lockouts_total)
  const LockoutPolicy& policy() const noexcept { return policy_; }
  void set_live(Live* live) noexcept { live_ = live; }

 private:
  struct Count {
    int failures = 0;
    std::int64_t window_start = 0;
  };
  using Counts = std::unordered_map<std::string, Count>;
  using Locks = std::unordered_map<std::string, Lockout>;
  // Adds one failure to `counts[key]`; true when it reaches `after`.
  bool count(Counts& counts, const std::string& key, int after, std::int64_t now, int& failures);
  void record(const Lockout& lockout, const std::string& method, const std::string& target);

  storage::Store& store_;
  const Clock& clock_;
  LockoutPolicy policy_;
  Live* live_ = nullptr;
  std::mutex mutex_;
  Counts device_counts_, address_counts_;
  Locks device_locks_, address_locks_;
  std::atomic<std::uint64_t> started_device_{0}, started_address_{0};
  // Sizes of the maps, read without the lock: a request when nobody is locked out or counted (the
  // usual case) costs two atomic loads. Written under the lock (sync_sizes).
  std::atomic<std::size_t> locks_n_{0}, device_counts_n_{0};
  void sync_sizes() noexcept {
    locks_n_.store(device_locks_.size() + address_locks_.size(), std::memory_order_relaxed);
    device_counts_n_.store(device_counts_.size(), std::memory_order_relaxed);
  }
};

}  // namespace zkpush::service
