#include "server/device_registry.hpp"

#include <algorithm>
#include <charconv>

#include "protocol/device_requests.hpp"
#include "protocol/text.hpp"

namespace zkpush::server {

namespace {

std::int64_t to_int(std::optional<std::string_view> text, std::int64_t fallback) {
  if (!text) return fallback;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || ptr != text->data() + text->size() || value < 0) return fallback;
  return value;
}

}  // namespace

void DeviceRegistry::derive(DeviceState& state) {
  const auto& options = state.device->options;
  state.max_package_size = static_cast<std::size_t>(to_int(protocol::option_value(options, "MaxPackageSize"), 0));
  state.cmd_format = static_cast<int>(to_int(protocol::option_value(options, "CmdFormat"), 0)) == 1 ? 1 : 0;
}

void DeviceRegistry::load(storage::Store& store) {
  auto devices = store.load_devices();
  auto counts = store.pending_counts();
  std::lock_guard lock(mutex_);
  devices_.clear();
  for (auto& d : devices) {
    DeviceState state;
    state.last_seen = d.last_seen;
    state.flushed_seen = d.last_seen;
    state.device = std::make_shared<const storage::Device>(std::move(d));
    derive(state);
    devices_[state.device->sn] = std::move(state);
  }
  for (const auto& [sn, n] : counts) {
    auto it = devices_.find(sn);
    if (it != devices_.end()) it->second.pending = n;
  }
}

std::optional<DeviceState> DeviceRegistry::get(const std::string& sn) const {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

void DeviceRegistry::put_device(const storage::Device& device) {
  std::lock_guard lock(mutex_);
  auto [it, added] = devices_.try_emplace(device.sn);
  auto& state = it->second;
  if (added) {
    state.device = std::make_shared<const storage::Device>(device);
  } else {
    storage::Device merged = device;
    const auto& known = *state.device;
    merged.approved = known.approved || device.approved;
    merged.time_zone = known.time_zone;
    merged.config = known.config;
    merged.options = known.options;
    if (known.first_seen > 0 && (device.first_seen == 0 || known.first_seen < device.first_seen))
      merged.first_seen = known.first_seen;
    merged.last_seen = std::max(known.last_seen, device.last_seen);
    state.device = std::make_shared<const storage::Device>(std::move(merged));
  }
  if (device.last_seen > state.last_seen) state.last_seen = device.last_seen;
  derive(state);
}

bool DeviceRegistry::apply_settings(const std::string& sn, const storage::DeviceSettings& settings) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return false;
  auto changed = std::make_shared<storage::Device>(*it->second.device);
  storage::apply_settings(*changed, settings);
  it->second.device = std::move(changed);
  return true;
}

void DeviceRegistry::merge_options(const std::string& sn, const protocol::Record& options) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return;
  auto changed = std::make_shared<storage::Device>(*it->second.device);
  auto& record = changed->options;
  auto bare = [](std::string_view k) { return !k.empty() && k.front() == '~' ? k.substr(1) : k; };
  for (const auto& f : options.fields) {
    if (!f.has_value) continue;
    bool replaced = false;
    for (auto& g : record.fields) {
      const auto a = bare(g.key);
      const auto b = bare(f.key);
      if (protocol::text::iequals(a, b)) {
        g = f;
        replaced = true;
        break;
      }
    }
    if (!replaced) record.fields.push_back(f);
  }
  it->second.device = std::move(changed);
  derive(it->second);
}

void DeviceRegistry::add_pending(const std::string& sn, std::int64_t delta) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it == devices_.end()) return;
  it->second.pending += delta;
  if (it->second.pending < 0) it->second.pending = 0;
}

void DeviceRegistry::touch(const std::string& sn, std::int64_t now) {
  std::lock_guard lock(mutex_);
  auto it = devices_.find(sn);
  if (it != devices_.end() && now > it->second.last_seen) it->second.last_seen = now;
}

std::vector<storage::DevicePresence> DeviceRegistry::take_presence() {
  std::lock_guard lock(mutex_);
  std::vector<storage::DevicePresence> out;
  for (auto& [sn, s] : devices_) {
    if (s.last_seen <= s.flushed_seen) continue;
    out.push_back(storage::DevicePresence{sn, s.last_seen, s.device->ip});
    s.flushed_seen = s.last_seen;
  }
  return out;
}

std::vector<DeviceState> DeviceRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<DeviceState> out;
  out.reserve(devices_.size());
  for (const auto& [sn, s] : devices_) out.push_back(s);
  return out;
}

DeviceRegistry::Totals DeviceRegistry::totals(std::int64_t seen_since) const {
  std::lock_guard lock(mutex_);
  Totals t;
  for (const auto& [sn, s] : devices_) {
    ++t.known;
    if (s.last_seen >= seen_since) ++t.online;
    if (!s.device->approved) ++t.pending_approval;
    t.pending_commands += s.pending;
  }
  return t;
}

}  // namespace zkpush::server
