#include "service/lockouts.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/text.hpp"

namespace zkpush::service {

const char* lock_scope_name(LockScope scope) noexcept { return scope == LockScope::device ? "device" : "address"; }

Lockouts::Lockouts(storage::Store& store, const Clock& clock, LockoutPolicy policy)
    : store_(store), clock_(clock), policy_(policy) {}

std::optional<Lockout> Lockouts::locked(const std::string& sn, const std::string& address, bool address_scope) {
  const bool devices = policy_.device_after > 0, addresses = policy_.address_after > 0 && address_scope;
  if ((!devices && !addresses) || locks_n_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  const auto in_force = [now](Locks& locks, const std::string& key) -> std::optional<Lockout> {
    auto it = locks.find(key);
    if (it == locks.end()) return std::nullopt;
    if (it->second.until > now) return it->second;
    locks.erase(it);  // expired: the next failure starts a new count
    return std::nullopt;
  };
  struct Sync {
    Lockouts* self;
    ~Sync() { self->sync_sizes(); }
  } sync{this};
  if (devices && device_locks_.size() > 0) {
    if (auto l = in_force(device_locks_, sn)) return l;
  }
  if (addresses && address_locks_.size() > 0) {
    if (auto l = in_force(address_locks_, address)) return l;
  }
  return std::nullopt;
}

bool Lockouts::count(Counts& counts, const std::string& key, int after, std::int64_t now, int& failures) {
  if (counts.size() >= policy_.max_keys && !counts.contains(key)) {
    // A flood of invented keys: forget windows that have passed, then everything.
    std::erase_if(counts, [this, now](const auto& e) { return now - e.second.window_start >= policy_.window_seconds; });
    if (counts.size() >= policy_.max_keys) counts.clear();
  }
  auto& c = counts[key];
  if (c.failures == 0 || now - c.window_start >= policy_.window_seconds) c = Count{0, now};
  failures = ++c.failures;
  if (failures < after) return false;
  counts.erase(key);  // the lockout replaces the count
  return true;
}

std::vector<Lockout> Lockouts::failed(const std::string& sn, const std::string& address, const std::string& method,
                                      const std::string& target, bool address_scope) {
  std::vector<Lockout> started;
  const auto now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    const auto start = [&](LockScope scope, Locks& locks, const std::string& key, int failures) {
      if (locks.size() >= policy_.max_keys) {
        std::erase_if(locks, [now](const auto& e) { return e.second.until <= now; });
        if (locks.size() >= policy_.max_keys) return;  // memory first: this one is only counted
      }
      Lockout l{scope, key, sn, address, failures, now, now + policy_.lock_seconds};
      locks[key] = l;
      started.push_back(std::move(l));
    };
    int failures = 0;
    if (policy_.device_after > 0 && count(device_counts_, sn, policy_.device_after, now, failures))
      start(LockScope::device, device_locks_, sn, failures);
    if (address_scope && policy_.address_after > 0 && count(address_counts_, address, policy_.address_after, now, failures))
      start(LockScope::address, address_locks_, address, failures);
    sync_sizes();
  }
  for (const auto& l : started) {
    (l.scope == LockScope::device ? started_device_ : started_address_).fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("{} {}: {} {} locked out for {} s after {} refused device tokens within {} s (lift: DELETE "
                 "/api/v1/lockouts/{}/{})",
                 address, protocol::text::printable(sn), lock_scope_name(l.scope), protocol::text::printable(l.key),
                 policy_.lock_seconds, l.failures, policy_.window_seconds, lock_scope_name(l.scope),
                 protocol::text::printable(l.key));
    record(l, method, target);
  }
  return started;
}

void Lockouts::record(const Lockout& l, const std::string& method, const std::string& target) {
  nlohmann::ordered_json body{{"type", "lockout"},           {"scope", lock_scope_name(l.scope)},
                              {"key", l.key},                {"sn", l.sn},
                              {"address", l.address},        {"failures", l.failures},
                              {"window_seconds", policy_.window_seconds}, {"since", l.since},
                              {"until", l.until},            {"time", l.since}};
  const auto text = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  storage::AuditEntry entry;
  entry.at = l.since;
  entry.actor = "device " + l.sn;
  entry.remote = l.address;
  entry.method = method;
  entry.target = target;
  entry.operation = l.scope == LockScope::device ? "deviceLockout" : "addressLockout";
  entry.status = 403;
  store_.write(
      [text, entry, sn = l.sn](storage::Transaction& tx) {
        tx.messages().add("security", sn, text, entry.at);
        tx.audit().append(entry);
      },
      // Not `this`: the commit may come after the Lockouts are gone (a store draining at shutdown).
      [live = live_, key = l.key](storage::StoreResult<storage::Unit> r) {
        // The lockout holds either way; only its record is missing.
        if (!r.ok()) {
          spdlog::error("lockout of {}: message and audit entry not written: {}", protocol::text::printable(key),
                        r.error().message);
          return;
        }
        if (live) live->ring(Live::Ring::messages);
      });
}

void Lockouts::succeeded(const std::string& sn) {
  if (policy_.device_after <= 0 || device_counts_n_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mutex_);
  device_counts_.erase(sn);
  sync_sizes();
}

bool Lockouts::lift(LockScope scope, const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  auto& locks = scope == LockScope::device ? device_locks_ : address_locks_;
  (scope == LockScope::device ? device_counts_ : address_counts_).erase(key);
  auto it = locks.find(key);
  bool in_force = false;
  if (it != locks.end()) {
    in_force = it->second.until > now;
    locks.erase(it);
  }
  sync_sizes();
  return in_force;
}

std::vector<Lockout> Lockouts::list() {
  std::vector<Lockout> out;
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  for (auto* locks : {&device_locks_, &address_locks_}) {
    for (const auto& [key, l] : *locks) {
      if (l.until > now) out.push_back(l);
    }
  }
  std::sort(out.begin(), out.end(), [](const Lockout& a, const Lockout& b) {
    return a.since != b.since ? a.since < b.since : a.key < b.key;
  });
  return out;
}

std::uint64_t Lockouts::started(LockScope scope) const noexcept {
  return (scope == LockScope::device ? started_device_ : started_address_).load(std::memory_order_relaxed);
}

}  // namespace zkpush::service
