#include "storage/sqlite/devices.hpp"

#include <unordered_map>
#include <unordered_set>

#include "protocol/responses.hpp"
#include "protocol/text.hpp"
#include "storage/record_json.hpp"
#include "storage/result.hpp"
#include "storage/rows.hpp"

namespace zkpush::storage::sqlite::devices {

namespace {

constexpr std::string_view kSelectAll =
    "SELECT sn, approved, registry_code, session_id, push_version, ip, time_zone, registry, first_seen, last_seen, "
    "registered_at, config FROM devices ORDER BY sn";
constexpr std::string_view kSelectOne =
    "SELECT sn, approved, registry_code, session_id, push_version, ip, time_zone, registry, first_seen, last_seen, "
    "registered_at, config FROM devices WHERE sn = ?1";
constexpr std::string_view kSelectRow =
    "SELECT sn, approved, registry_code, session_id, push_version, ip, time_zone, '', first_seen, last_seen, "
    "registered_at, config FROM devices WHERE sn = ?1";
constexpr std::string_view kOptionsAll = "SELECT sn, key, value FROM device_options ORDER BY sn, key";
constexpr std::string_view kOptionsOne = "SELECT key, value FROM device_options WHERE sn = ?1 ORDER BY key";

}  // namespace

std::vector<Device> load_all(Connection& c) {
  // Devices and options come from one snapshot: the unit of work runs in one transaction.
  std::vector<Device> out;
  std::unordered_map<std::string, std::size_t> by_sn;
  {
    auto st = c.prepare(kSelectAll);
    while (st->step()) {
      out.push_back(rows::read_device(*st));
      by_sn.emplace(out.back().sn, out.size() - 1);
    }
  }
  auto st = c.prepare(kOptionsAll);
  while (st->step()) {
    auto it = by_sn.find(st->column_text(0));
    if (it != by_sn.end()) out[it->second].options.add(st->column_text(1), st->column_text(2));
  }
  // Held in the device cache for the server's life: no spare capacity per device.
  for (auto& d : out) d.options.fields.shrink_to_fit();
  return out;
}

std::optional<Device> get(Connection& c, const std::string& sn) {
  std::optional<Device> d;
  {
    auto st = c.prepare(kSelectOne);
    st->bind(1, sn);
    if (!st->step()) return std::nullopt;
    d = rows::read_device(*st);
  }
  auto st = c.prepare(kOptionsOne);
  st->bind(1, sn);
  while (st->step()) d->options.add(st->column_text(0), st->column_text(1));
  d->options.fields.shrink_to_fit();
  return d;
}

std::optional<Device> get_row(Connection& c, const std::string& sn) {
  auto st = c.prepare(kSelectRow);
  st->bind(1, sn);
  if (!st->step()) return std::nullopt;
  return rows::read_device(*st);
}

std::vector<DeviceOption> options(Connection& c, const std::string& sn) {
  auto st = c.prepare("SELECT key, value, source, updated_at FROM device_options WHERE sn = ?1 ORDER BY key");
  st->bind(1, sn);
  std::vector<DeviceOption> out;
  while (st->step()) out.push_back(DeviceOption{st->column_text(0), st->column_text(1), st->column_text(2), st->column_int(3)});
  return out;
}

std::vector<DevicePresence> presence(Connection& c) {
  auto st = c.prepare("SELECT sn, last_seen FROM devices ORDER BY sn");
  std::vector<DevicePresence> out;
  while (st->step()) out.push_back(DevicePresence{st->column_text(0), st->column_int(1), ""});
  return out;
}

std::int64_t count(Connection& c) {
  auto st = c.prepare("SELECT count(*) FROM devices");
  st->step();
  return st->column_int(0);
}

void save(Connection& c, const Device& d) {
  if (d.sn.empty()) throw Refused(StoreError::Reason::invalid, "a device needs a serial number");
  // An upsert, not INSERT OR REPLACE: replacing would delete the row, losing next_wire_id (wire ids
  // would restart) and tripping the foreign keys of its commands. first_seen keeps the earliest and
  // last_seen the latest known value, so a row saved from a stale copy never moves them backwards.
  // On conflict the operator's columns (time_zone, config) are left alone and approved can only be
  // raised (automatic registration): the copy may predate an approval or PATCH committed since.
  auto st = c.prepare(
      "INSERT INTO devices (sn, approved, registry_code, session_id, push_version, ip, time_zone, registry, "
      "first_seen, last_seen, registered_at, config) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
      "ON CONFLICT (sn) DO UPDATE SET approved = max(devices.approved, excluded.approved), "
      "registry_code = excluded.registry_code, session_id = excluded.session_id, "
      "push_version = excluded.push_version, ip = excluded.ip, "
      "registry = CASE WHEN excluded.registry = '[]' THEN devices.registry ELSE excluded.registry END, "
      "first_seen = CASE WHEN devices.first_seen > 0 AND (excluded.first_seen = 0 OR devices.first_seen < "
      "excluded.first_seen) THEN devices.first_seen ELSE excluded.first_seen END, "
      "last_seen = max(devices.last_seen, excluded.last_seen), registered_at = excluded.registered_at");
  st->bind(1, d.sn)
      .bind(2, d.approved ? 1 : 0)
      .bind(3, d.registry_code)
      .bind(4, d.session_id)
      .bind(5, d.push_version)
      .bind(6, d.ip)
      .bind(7, d.time_zone)
      .bind(8, record_to_json(d.registry))
      .bind(9, d.first_seen)
      .bind(10, d.last_seen)
      .bind(11, d.registered_at)
      .bind(12, record_to_json(d.config));
  st->run();
}

void update_settings(Connection& c, const std::string& sn, const DeviceSettings& settings) {
  if (settings.time_zone && !settings.time_zone->empty()) {
    const auto minutes = protocol::parse_tz_offset(*settings.time_zone);
    if (!minutes || protocol::format_tz_offset(*minutes) != *settings.time_zone)
      throw Refused(StoreError::Reason::invalid, "time zone '" + *settings.time_zone + "': expected +hhmm or -hhmm");
  }
  for (const auto& edit : settings.config) {
    if (edit.key.empty()) throw Refused(StoreError::Reason::invalid, "a configuration key cannot be empty");
  }
  // Read and written inside the same write job: the writer runs jobs one at a time, so the edits
  // apply to the row as it is now, not to the copy the API looked at.
  Device d;
  {
    auto st = c.prepare("SELECT approved, time_zone, config FROM devices WHERE sn = ?1");
    st->bind(1, sn);
    if (!st->step())
      throw Refused(StoreError::Reason::not_found, "changing settings: unknown device '" + sn + "'");
    d.approved = st->column_int(0) != 0;
    d.time_zone = st->column_text(1);
    d.config = record_from_json(st->column_text(2));
  }
  apply_settings(d, settings);
  auto st = c.prepare("UPDATE devices SET approved = ?2, time_zone = ?3, config = ?4 WHERE sn = ?1");
  st->bind(1, sn).bind(2, d.approved ? 1 : 0).bind(3, d.time_zone).bind(4, record_to_json(d.config));
  st->run();
}

void require(Connection& c, const std::string& sn, const char* what) {
  auto st = c.prepare("SELECT 1 FROM devices WHERE sn = ?1");
  st->bind(1, sn);
  if (!st->step())
    throw Refused(StoreError::Reason::not_found, std::string(what) + ": unknown device '" + sn + "'");
}

void merge_options(Connection& c, const std::string& sn, const protocol::Record& options, const std::string& source,
                   std::int64_t now) {
  require(c, sn, "merging options");
  // The key column compares without case, and a leading '~' (firmware marks some parameters with it:
  // ~DeviceName) names the same parameter: the stored spelling of either form is replaced by the
  // new one, value and spelling.
  // Per parameter, an upsert of its spelling and a delete of the other form (with or without '~'),
  // both lookups on the primary key. Not one `key = ?2 OR key = '~' || ?2`: SQLite runs that OR
  // over a temporary table per execution, which during a burst of registrations (dozens of
  // options each) took most of the writer thread.
  auto drop_other = c.prepare("DELETE FROM device_options WHERE sn = ?1 AND key = ?2");
  auto st = c.prepare(
      "INSERT INTO device_options (sn, key, value, source, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (sn, key) DO UPDATE SET key = excluded.key, value = excluded.value, source = excluded.source, "
      "updated_at = excluded.updated_at");
  // A device's first parameters (its first registration) have no other spelling to delete, unless
  // the upload itself names one key both ways: the deletes are skipped then, halving the statements
  // of a registration burst.
  bool stored_any = false;
  {
    auto any = c.prepare("SELECT 1 FROM device_options WHERE sn = ?1 LIMIT 1");
    any->bind(1, sn);
    stored_any = any->step();
  }
  std::unordered_set<std::string> seen;  // bare keys of this upload, lower case
  std::string other;
  for (const auto& f : options.fields) {
    // A bare key (GET OPTIONS asks with keys only) carries no value to merge.
    if (f.key.empty() || !f.has_value) continue;
    const bool marked = f.key.front() == '~';
    if (marked && f.key.size() == 1) continue;
    const bool repeated = !seen.insert(protocol::text::to_lower(marked ? f.key.substr(1) : f.key)).second;
    if (stored_any || repeated) {
      other = marked ? f.key.substr(1) : "~" + f.key;
      drop_other->bind(1, sn).bind(2, other);
      drop_other->run();
    }
    st->bind(1, sn).bind(2, f.key).bind(3, f.value).bind(4, source).bind(5, now);
    st->run();
  }
}

void touch(Connection& c, const std::vector<DevicePresence>& presence) {
  // Unknown devices are skipped: presence is not data worth creating a device for.
  auto st = c.prepare(
      "UPDATE devices SET last_seen = max(last_seen, ?2), ip = CASE WHEN ?3 <> '' THEN ?3 ELSE ip END WHERE sn = ?1");
  for (const auto& p : presence) {
    st->bind(1, p.sn).bind(2, p.last_seen).bind(3, p.ip);
    st->run();
  }
}

void remove(Connection& c, const std::string& sn) {
  {
    auto st = c.prepare("SELECT 1 FROM devices WHERE sn = ?1");
    st->bind(1, sn);
    if (!st->step()) throw Refused(StoreError::Reason::not_found, "unknown device '" + sn + "'");
  }
  {
    auto st = c.prepare("SELECT count(DISTINCT level_id) FROM level_doors WHERE sn = ?1");
    st->bind(1, sn);
    st->step();
    if (const auto levels = st->column_int(0); levels > 0)
      throw Refused(StoreError::Reason::conflict, "access levels (" + std::to_string(levels) +
                                                     ") name doors of '" + sn + "': take them out first");
  }
  // Children first: command_data and device_options reference their parents.
  static constexpr const char* kForget[] = {
      "DELETE FROM command_data WHERE command_id IN (SELECT id FROM commands WHERE sn = ?1)",
      "DELETE FROM commands WHERE sn = ?1",
      "DELETE FROM device_options WHERE sn = ?1",
      "DELETE FROM door_state WHERE sn = ?1",
      "DELETE FROM door_state_history WHERE sn = ?1",
      "DELETE FROM device_records WHERE sn = ?1",
      "DELETE FROM device_log WHERE sn = ?1",
      "DELETE FROM sync_items WHERE sn = ?1",
      "DELETE FROM sync_sends WHERE sn = ?1",
      "DELETE FROM sync_panels WHERE sn = ?1",
      "DELETE FROM sync_unmanaged WHERE sn = ?1",
      "DELETE FROM door_settings WHERE sn = ?1",
      "DELETE FROM sub_controllers WHERE sn = ?1 OR master_sn = ?1",
      "DELETE FROM devices WHERE sn = ?1",
  };
  for (const char* sql : kForget) {
    auto st = c.prepare(sql);
    st->bind(1, sn);
    st->run();
  }
}

namespace {

constexpr std::string_view kSubColumns =
    "SELECT sn, master_sn, online, is_authorize, requested, authorize_info, register_info, first_seen, last_seen "
    "FROM sub_controllers ";

}  // namespace

std::optional<SubController> sub_controller(Connection& c, const std::string& sn) {
  auto st = c.prepare(std::string(kSubColumns) + "WHERE sn = ?1");
  st->bind(1, sn);
  if (!st->step()) return std::nullopt;
  return rows::read_sub_controller(*st);
}

std::vector<SubController> sub_controllers(Connection& c, const std::string& master_sn) {
  std::vector<SubController> out;
  auto st = master_sn.empty() ? c.prepare(std::string(kSubColumns) + "ORDER BY sn")
                              : c.prepare(std::string(kSubColumns) + "WHERE master_sn = ?1 ORDER BY sn");
  if (!master_sn.empty()) st->bind(1, master_sn);
  while (st->step()) out.push_back(rows::read_sub_controller(*st));
  return out;
}

void save_sub_controller(Connection& c, const SubController& sub) {
  require(c, sub.sn, "saving a sub-controller");
  require(c, sub.master_sn, "saving a sub-controller's master");
  if (sub.sn == sub.master_sn)
    throw Refused(StoreError::Reason::invalid, "device '" + sub.sn + "' cannot be its own sub-controller");
  auto st = c.prepare(
      "INSERT INTO sub_controllers (sn, master_sn, online, is_authorize, requested, authorize_info, register_info, "
      "first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT (sn) DO UPDATE SET master_sn = excluded.master_sn, online = excluded.online, "
      "is_authorize = excluded.is_authorize, requested = excluded.requested, authorize_info = excluded.authorize_info, "
      "register_info = excluded.register_info, first_seen = min(first_seen, excluded.first_seen), "
      "last_seen = max(last_seen, excluded.last_seen)");
  st->bind(1, sub.sn).bind(2, sub.master_sn).bind(3, std::int64_t{sub.online ? 1 : 0});
  st->bind(4, std::int64_t{sub.is_authorize}).bind(5, std::int64_t{sub.requested});
  st->bind(6, sub.authorize_info).bind(7, sub.register_info).bind(8, sub.first_seen).bind(9, sub.last_seen);
  st->run();
}

}  // namespace zkpush::storage::sqlite::devices
