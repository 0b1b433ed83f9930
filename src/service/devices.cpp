#include "service/devices.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"
#include "service/random.hpp"

namespace zkpush::service {

namespace p = protocol;
using storage::Device;

namespace {

// The cache keeps no registration: its parameters are in the options (merged at registry), the
// devices row keeps the key list as received (save() leaves it alone when given none), and nothing
// served from memory reads it. It was the second copy of some 60 parameters per device: about a
// third of a registered device's memory.
void forget_registration(Device& d) {
  d.registry = protocol::Record{};
  d.options.fields.shrink_to_fit();
}

// The registration's fields in order, digested: equal for a registration sent again unchanged. 0 for
// none. A 64-bit digest: two different registrations of one device that collide would leave the
// second unsaved, with a chance of about one in 10^19.
std::uint64_t digest(const protocol::Record& r) {
  if (r.empty()) return 0;
  std::string all;
  for (const auto& f : r.fields) {
    all.append(f.key).push_back('\x1f');
    all.append(f.value).push_back(f.has_value ? '\x1e' : '\x1d');
  }
  const std::uint64_t h = std::hash<std::string>{}(all);
  return h == 0 ? 1 : h;
}

}  // namespace

namespace {

std::int64_t option_int(const Device& d, std::string_view key) {
  auto text = p::option_value(d.options, key);
  if (!text) return 0;
  auto value = p::text::parse_int(*text);
  return value && *value >= 0 ? *value : 0;
}

}  // namespace

Devices::Devices(storage::Store& store, const Clock& clock, DevicePolicy policy)
    : store_(store), clock_(clock), policy_(std::move(policy)) {}

void Devices::derive(DeviceState& state) {
  state.max_package_size = static_cast<std::size_t>(option_int(*state.device, "MaxPackageSize"));
  state.cmd_format = option_int(*state.device, "CmdFormat") == 1 ? 1 : 0;
}

std::int64_t online_window(int request_delay) noexcept {
  return std::max<std::int64_t>(3 * static_cast<std::int64_t>(request_delay), 90);
}

storage::StoreStatus Devices::load() {
  auto rows = store_.read_now([](storage::Reads& r) { return r.devices().all(); });
  if (!rows.ok()) return rows.error();
  const auto since = clock_.now() - online_window(policy_.request_delay);
  std::lock_guard lock(mutex_);
  auto previous = std::move(devices_);
  devices_.clear();
  for (auto& d : rows.value()) {
    DeviceState state;
    state.last_seen = d.last_seen;
    state.flushed_seen = d.last_seen;
    // As the log would say now: a restart tells no device online or offline again.
    state.told_online = d.last_seen >= since && d.last_seen > 0;
    // A reload while serving (another node's changes may have been missed) keeps what this node saw
    // and has not written yet, and what the log last said of the device.
    if (auto it = previous.find(d.sn); it != previous.end()) {
      state.last_seen = std::max(state.last_seen, it->second.last_seen);
      state.flushed_seen = std::min(state.flushed_seen, it->second.flushed_seen);
      state.told_online = it->second.told_online;
    }
    state.registration = digest(d.registry);
    forget_registration(d);
    state.device = std::make_shared<const Device>(std::move(d));
    derive(state);
    devices_[state.device->sn] = std::move(state);
  }
  return storage::Unit{};
}

std::optional<DeviceState> Devices::get(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

std::vector<DeviceState> Devices::all() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceState> out;
  out.reserve(devices_.size());
  for (const auto& [sn, s] : devices_) out.push_back(s);
  return out;
}

Devices::Totals Devices::totals(std::int64_t seen_since) const {
  std::lock_guard lock(mutex_);
  Totals t;
  for (const auto& [sn, s] : devices_) {
    ++t.known;
    if (s.last_seen >= seen_since) ++t.online;
    if (!s.device->approved) ++t.pending_approval;
  }
  return t;
}

std::shared_ptr<const Device> Devices::put(Device row) {
  const auto registration = digest(row.registry);
  forget_registration(row);
  std::lock_guard lock(mutex_);
  auto& state = devices_[row.sn];
  // A whole row (get(), with its registration): what the store holds now, another node's
  // registration included; none means none is known, which only stops registry() skipping a write.
  state.registration = registration;
  state.device = std::make_shared<const Device>(std::move(row));
  if (state.device->last_seen > state.last_seen) state.last_seen = state.device->last_seen;
  if (state.flushed_seen == 0) state.flushed_seen = state.device->last_seen;
  derive(state);
  return state.device;
}

void Devices::cache(Device row) { put(std::move(row)); }

std::shared_ptr<const Device> Devices::put_row(Device row, const protocol::Record* update) {
  const auto registration = digest(row.registry);
  forget_registration(row);
  std::lock_guard lock(mutex_);
  auto& state = devices_[row.sn];
  // get_row() leaves the registration out: the writes that use it leave the stored one alone
  // (save() keeps it when given none), except registry(), which tells its own.
  if (registration != 0) state.registration = registration;
  if (state.device) row.options = state.device->options;
  if (update) {
    storage::merge_options(row.options, *update);
    row.options.fields.shrink_to_fit();
  }
  state.device = std::make_shared<const Device>(std::move(row));
  if (state.device->last_seen > state.last_seen) state.last_seen = state.device->last_seen;
  if (state.flushed_seen == 0) state.flushed_seen = state.device->last_seen;
  derive(state);
  return state.device;
}

void Devices::merged_options(const std::string& sn, const protocol::Record& update) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return;
  auto changed = std::make_shared<Device>(*it->second.device);
  storage::merge_options(changed->options, update);
  changed->options.fields.shrink_to_fit();
  it->second.device = std::move(changed);
  derive(it->second);
}

namespace {

// Saves the device side of a row and reads back the operator's columns as stored. The parameters
// are not read back: the writer knows them (put_row keeps the cache's, merged with what was sent),
// and decoding dozens per request is what slowed a registration burst.
Device save_and_read(storage::Transaction& tx, const Device& d) {
  tx.devices().save(d);
  auto stored = tx.devices().get_row(d.sn);
  if (!stored) throw storage::Refused(storage::StoreError::Reason::not_found, "device " + d.sn + " vanished");
  return std::move(*stored);
}

}  // namespace

void Devices::init(const std::string& sn, const std::string& push_version, const std::string& ip,
                   Reply<std::shared_ptr<const Device>> done) {
  const auto now = clock_.now();
  auto known = get(sn);
  if (known && known->device->approved && !known->device->registry_code.empty()) {
    touch(sn);
    if (known->device->push_version == push_version && known->device->ip == ip) return done(known->device);
  }
  Device d;
  d.sn = sn;
  d.first_seen = now;
  // Under automatic registration a device may go on without POST /iclock/registry (the step is
  // optional for firmware that does not register, decision 6); under approve it waits.
  d.approved = policy_.auto_register;
  if (known) {
    d = *known->device;  // device-side columns as known; the store keeps the operator's
  }
  d.push_version = push_version;
  d.ip = ip;
  d.last_seen = now;
  store_.write([d](storage::Transaction& tx) { return save_and_read(tx, d); },
               [this, done = std::move(done)](storage::StoreResult<Device> r) {
                 if (!r.ok()) return done(r.error());
                 done(put_row(std::move(r.value()), nullptr));
               });
}

void Devices::registry(const std::string& sn, const std::string& ip, protocol::Record registration,
                       Reply<Registration> done) {
  const auto now = clock_.now();
  auto known = get(sn);
  if (known && known->device->approved && !known->device->registry_code.empty() && known->device->ip == ip &&
      known->registration != 0 && known->registration == digest(registration)) {
    // The registration the store holds, sent again from the same address: a panel reconnecting
    // after a restart, its own or the server's. Nothing changes, so nothing is written (a burst of
    // reconnecting panels was a burst of the largest writes of all); presence notes it.
    touch(sn);
    return done(Registration{true, known->device});
  }
  Device d;
  if (known) {
    d = *known->device;
  } else {
    d.sn = sn;
    d.first_seen = now;
  }
  d.ip = ip;
  d.last_seen = now;
  d.registry = std::move(registration);
  // d.approved is the cache's value when the request arrived. An approval committed after that only
  // means this attempt gets 406 and the device's next registry is accepted; the save cannot undo it
  // (the store never lowers approved).
  const bool accept = policy_.auto_register || d.approved;
  if (accept) {
    d.approved = true;
    if (d.registry_code.empty()) d.registry_code = random_hex(16);
    if (d.registered_at == 0) d.registered_at = now;
  }
  store_.write(
      [d, now](storage::Transaction& tx) {
        tx.devices().save(d);
        tx.devices().merge_options(d.sn, d.registry, "registry", now);
        return tx.devices().get_row(d.sn);
      },
      [this, accept, registration = d.registry, done = std::move(done)](storage::StoreResult<std::optional<Device>> r) {
        if (!r.ok()) return done(r.error());
        if (!r.value()) return done(storage::StoreError{false, "device vanished", storage::StoreError::Reason::not_found});
        auto device = put_row(std::move(*r.value()), &registration);
        {
          std::lock_guard lock(mutex_);
          if (auto it = devices_.find(device->sn); it != devices_.end()) it->second.registration = digest(registration);
        }
        done(Registration{accept, std::move(device)});
      });
}

void Devices::push(const std::string& sn, Reply<std::shared_ptr<const Device>> done) {
  auto known = get(sn);
  if (!known) return done(storage::StoreError{false, "unknown device " + sn, storage::StoreError::Reason::not_found});
  Device d = *known->device;
  d.session_id = random_hex(16);
  d.last_seen = clock_.now();
  store_.write([d](storage::Transaction& tx) { return save_and_read(tx, d); },
               [this, done = std::move(done)](storage::StoreResult<Device> r) {
                 if (!r.ok()) return done(r.error());
                 done(put_row(std::move(r.value()), nullptr));
               });
}

void Devices::merge_options_in(storage::Transaction& tx, const std::string& sn, const protocol::Record& options,
                               const std::string& source, std::int64_t now) {
  tx.devices().merge_options(sn, options, source, now);
}

void Devices::merge_options(const std::string& sn, protocol::Record options, std::string source,
                            storage::Store::Done done) {
  const auto now = clock_.now();
  auto update = std::make_shared<const protocol::Record>(std::move(options));
  store_.write([sn, update, source = std::move(source), now](
                   storage::Transaction& tx) { merge_options_in(tx, sn, *update, source, now); },
               [this, sn, update, done = std::move(done)](storage::StoreStatus s) {
                 if (s.ok()) merged_options(sn, *update);
                 done(std::move(s));
               });
}

void Devices::touch(const std::string& sn) {
  const auto now = clock_.now();
  bool back = false;
  {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(sn);
    if (it == devices_.end()) return;
    if (now > it->second.last_seen) it->second.last_seen = now;
    back = !it->second.told_online;
  }
  if (back && presence_hook_) presence_hook_();
}

std::vector<storage::DevicePresence> Devices::take_presence() {
  std::lock_guard lock(mutex_);
  std::vector<storage::DevicePresence> out;
  for (auto& [sn, s] : devices_) {
    if (s.last_seen <= s.flushed_seen) continue;
    out.push_back(storage::DevicePresence{sn, s.last_seen, s.device->ip});
    s.flushed_seen = s.last_seen;
  }
  return out;
}

void Devices::flush_presence(storage::Store::Done done, bool shared, bool tell) {
  auto presence = take_presence();
  if (shared && tell) {
    // What the other nodes saw: their devices' last_seen, flushed as this node flushes its own.
    // Not read (the database is failing): this node's own view decides this time.
    auto stored = store_.read_now([](storage::Reads& r) { return r.devices().presence(); });
    std::lock_guard lock(mutex_);
    for (const auto& p : stored.ok() ? stored.value() : std::vector<storage::DevicePresence>{}) {
      auto it = devices_.find(p.sn);
      if (it == devices_.end() || it->second.last_seen >= p.last_seen) continue;
      it->second.last_seen = p.last_seen;
      it->second.flushed_seen = std::max(it->second.flushed_seen, p.last_seen);  // stored already
    }
  }
  struct Change {
    std::string sn;
    std::string body;
    bool online = false;
  };
  std::vector<Change> changes;
  const auto now = clock_.now();
  {
    const auto since = now - online_window(policy_.request_delay);
    std::lock_guard lock(mutex_);
    for (auto& [sn, s] : devices_) {
      if (!tell) break;
      const bool online = s.last_seen >= since && s.last_seen > 0;
      if (online == s.told_online) continue;
      s.told_online = online;
      nlohmann::ordered_json body{{"sn", sn}, {"state", online ? "online" : "offline"}, {"online", online},
                                  {"last_seen", s.last_seen}, {"time", now}};
      changes.push_back(Change{sn, body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), online});
    }
  }
  if (presence.empty() && changes.empty()) {
    if (done) done(storage::Unit{});
    return;
  }
  const bool ring = !changes.empty();
  std::vector<std::pair<std::string, bool>> changed;  // what was told, to take back if not written
  changed.reserve(changes.size());
  for (const auto& c : changes) changed.emplace_back(c.sn, c.online);
  store_.write(
      [presence = std::move(presence), changes = std::move(changes), now](storage::Transaction& tx) {
        if (!presence.empty()) tx.devices().touch(presence);
        for (const auto& c : changes) tx.messages().add("device", c.sn, c.body, now);
      },
      [this, ring, changed = std::move(changed), done = std::move(done)](storage::StoreResult<storage::Unit> r) {
        if (!r.ok()) {
          // Not written: told at the next flush instead.
          std::lock_guard lock(mutex_);
          for (const auto& [sn, online] : changed) {
            auto it = devices_.find(sn);
            if (it != devices_.end() && it->second.told_online == online) it->second.told_online = !online;
          }
        }
        if (r.ok() && ring && live_) live_->ring(Live::Ring::messages);
        if (done) done(std::move(r));
      });
}

void Devices::remove(const std::string& sn, storage::Store::Done done) {
  store_.write([sn](storage::Transaction& tx) { tx.devices().remove(sn); },
               [this, sn, done = std::move(done)](storage::StoreResult<storage::Unit> r) {
                 if (r.ok()) {
                   std::lock_guard lock(mutex_);
                   devices_.erase(sn);
                 }
                 done(std::move(r));
               });
}

void Devices::update_settings(const std::string& sn, storage::DeviceSettings settings,
                              Reply<std::shared_ptr<const Device>> done) {
  store_.write(
      [sn, settings = std::move(settings)](storage::Transaction& tx) {
        tx.devices().update_settings(sn, settings);
        auto stored = tx.devices().get(sn);
        if (!stored) throw storage::Refused(storage::StoreError::Reason::not_found, "unknown device " + sn);
        return std::move(*stored);
      },
      [this, done = std::move(done)](storage::StoreResult<Device> r) {
        if (!r.ok()) return done(r.error());
        done(put(std::move(r.value())));
      });
}

void Devices::refresh(const std::string& sn, storage::Store::Done done) {
  store_.read([sn](storage::Reads& r) { return r.devices().get(sn); },
              [this, done = std::move(done)](storage::StoreResult<std::optional<Device>> r) {
                if (!r.ok()) return done(r.error());
                if (r.value()) put(std::move(*r.value()));
                done(storage::Unit{});
              });
}

storage::StoreStatus Devices::refresh_now(const std::string& sn) {
  auto r = store_.read_now([&sn](storage::Reads& reads) { return reads.devices().get(sn); });
  if (!r.ok()) return r.error();
  if (r.value()) {
    put(std::move(*r.value()));
  } else {
    std::lock_guard lock(mutex_);
    devices_.erase(sn);
  }
  return storage::Unit{};
}

TokenCheck Devices::check_token(const Device& d, std::string_view cookie_header) const {
  using Outcome = TokenCheck::Outcome;
  if (d.registry_code.empty() || d.session_id.empty()) return {Outcome::no_session, std::nullopt};
  auto cookie = p::parse_cookie_token(cookie_header);
  if (!cookie) return {policy_.allow_missing_cookie ? Outcome::missing_accepted : Outcome::missing_refused, std::nullopt};
  const auto expected = p::compute_token(d.registry_code, d.sn, d.session_id);
  if (p::token_matches(cookie->token, expected)) return {Outcome::ok, std::nullopt};
  return {policy_.strict_token ? Outcome::mismatch_refused : Outcome::mismatch_accepted,
          p::diagnose_token(cookie->token, d.registry_code, d.sn, d.session_id)};
}

int Devices::tz_minutes(const Device& device) const {
  // 1. The zone set for the device on the server (stored with the device row).
  if (!device.time_zone.empty()) {
    if (auto tz = p::parse_tz_offset(device.time_zone)) return *tz;
  }
  // 2. The device's own MachineTZ parameter (Appendix 12 "Time zone"), uploaded with its options.
  // The manual does not give its format: only the +hhmm form the protocol uses for ServerTZ is
  // trusted (a sign is required: a bare number may be an index of the device's zone list); anything
  // else would shift every event by a guess.
  if (auto machine = p::option_value(device.options, "MachineTZ")) {
    const auto text = p::text::trim(*machine);
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
      if (auto tz = p::parse_tz_offset(text)) return *tz;
    }
  }
  // 3. The server's default.
  return policy_.default_tz_minutes;
}

p::Record Devices::config_lines(const Device& device, bool push) const {
  p::Record c;
  c.add("ServerVersion", "zkpush 0.1.0");
  c.add("ServerName", policy_.server_name);
  c.add("PushProtVer", policy_.push_prot_ver);
  c.add("ErrorDelay", std::to_string(policy_.error_delay));
  c.add("RequestDelay", std::to_string(policy_.request_delay));
  c.add("TransTimes", policy_.trans_times);
  c.add("TransInterval", std::to_string(policy_.trans_interval));
  c.add("TransTables", policy_.trans_tables);
  c.add("Realtime", std::to_string(policy_.realtime));
  if (!device.session_id.empty()) c.add("SessionID", device.session_id);
  c.add("TimeoutSec", std::to_string(policy_.timeout_sec));
  if (push) c.add("PushOptionsFlag", "1");
  // Per-device overrides (PATCH /api/v1/devices/{sn}): only keys of the configuration, checked when
  // they were set, replace the server's values.
  for (const auto& f : device.config.fields) c.set(f.key, f.value);
  return c;
}

}  // namespace zkpush::service
