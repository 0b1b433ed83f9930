#include "emulator/device_model.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "protocol/codecs_doors.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace p = protocol;

namespace {

bool is_transaction(std::string_view table) { return p::text::iequals(table, "transaction"); }

// Records of a table are the same entity when every key field the catalogue lists is equal; a key
// field missing on both sides counts as equal (userauthorize's DevID exists only on some panels).
// The key fields' values of a record, joined (a missing field is distinct from an empty one);
// "" for tables without key fields, whose records are never the same entity.
std::string key_of(const p::TableSpec* spec, const p::Record& r) {
  std::string out;
  if (spec == nullptr || spec->key_fields.empty()) return out;
  for (std::string_view key : spec->key_fields) {
    auto v = r.get(key);
    out += v ? std::string(*v) : std::string("\x1e");
    out += '\x1f';
  }
  return out;
}

// The first key field is what names the entity (Pin, TimezoneId, Holiday...): it must be present.
bool has_keys(const p::TableSpec* spec, const p::Record& r) {
  if (spec == nullptr || spec->key_fields.empty()) return true;
  return r.has(spec->key_fields.front());
}

}  // namespace

bool matches(const p::Record& record, const p::Record& conditions) {
  for (const auto& c : conditions.fields) {
    if (c.key == "*" || c.value == "*") continue;
    auto v = record.get(c.key);
    if (!v || *v != c.value) return false;
  }
  return true;
}

DeviceModel::DeviceModel(std::string sn, p::Record options, int door_count)
    : sn_(std::move(sn)), options_(std::move(options)), doors_(static_cast<std::size_t>(std::max(door_count, 0))) {}

DeviceModel::Table* DeviceModel::table(std::string_view name, bool create) {
  const std::string key = p::text::to_lower(name);
  auto it = tables_.find(key);
  if (it != tables_.end()) return &it->second;
  if (!create) return nullptr;
  const p::TableSpec* spec = p::find_table(name);
  if (spec == nullptr) return nullptr;
  Table t;
  t.name = std::string(spec->name);
  return &tables_.emplace(key, std::move(t)).first->second;
}

const DeviceModel::Table* DeviceModel::table(std::string_view name) const {
  auto it = tables_.find(p::text::to_lower(name));
  return it == tables_.end() ? nullptr : &it->second;
}

std::optional<std::size_t> DeviceModel::capacity(std::string_view table) const {
  // The registration parameters that state a table's capacity (4.4).
  std::string_view option_name;
  if (p::text::iequals(table, "user")) option_name = "MaxUserCount";
  else if (p::text::iequals(table, "templatev10")) option_name = "MaxUserFingerCount";
  else return std::nullopt;
  auto value = option(option_name);
  if (!value) return std::nullopt;
  auto n = p::text::parse_int(p::text::trim(*value));
  if (!n || *n <= 0) return std::nullopt;  // 0 or unreadable: nothing stated
  return static_cast<std::size_t>(*n);
}

int DeviceModel::put(std::string_view table_name, p::Record record) {
  const p::TableSpec* spec = p::find_table(table_name);
  if (spec == nullptr || is_transaction(table_name)) return ret::no_such_table;
  if (!has_keys(spec, record)) return ret::bad_parameter;
  Table* t = table(table_name, true);
  record.prefix.clear();
  auto key = key_of(spec, record);
  if (!key.empty()) {
    auto it = t->by_key.find(key);
    if (it != t->by_key.end()) {
      auto& row = t->rows[it->second];
      for (const auto& f : record.fields) row.set(f.key, f.value);
      return ret::ok;
    }
    t->by_key.emplace(std::move(key), t->rows.size());
  }
  t->rows.push_back(std::move(record));
  return ret::ok;
}

int DeviceModel::update(const p::DataUpdate& update) {
  if (update.records.empty()) return ret::bad_parameter;
  // The protocol core decides which table the records belong to: "DATA UPDATE ExtBoardID=..." names
  // none (9.1.1 ExtBoardProperty/Config) and the elevator privilege example says "biodata".
  const p::TableSpec* spec = p::effective_table(p::Command{"0", update, std::nullopt});
  if (spec == nullptr) return ret::no_such_table;
  // All or nothing: a record without its key fields refuses the whole command, as a panel that
  // validates before writing would.
  for (const auto& r : update.records) {
    if (!has_keys(spec, r)) return ret::bad_parameter;
  }
  if (auto limit = capacity(spec->name)) {
    // A full panel refuses the whole command before writing any of it (Appendix 1: -18).
    const Table* t = table(spec->name);
    std::size_t have = t == nullptr ? 0 : t->rows.size();
    std::unordered_set<std::string> fresh;  // new keys (a key twice in one command is one row)
    for (const auto& r : update.records) {
      auto key = key_of(spec, r);
      if (t == nullptr || !t->by_key.contains(key)) fresh.insert(std::move(key));
    }
    if (have + fresh.size() > *limit) return ret::insufficient_space;
  }
  for (const auto& r : update.records) {
    if (int rc = put(spec->name, r); rc != ret::ok) return rc;
  }
  return ret::ok;
}

int DeviceModel::remove(const p::DataDelete& del) {
  if (is_transaction(del.table)) {
    events_.clear();  // indexes keep increasing: a cleared log does not reuse them
    return ret::ok;
  }
  if (p::find_table(del.table) == nullptr) return ret::no_such_table;
  Table* t = table(del.table, false);
  if (t == nullptr) return ret::ok;
  if (del.all || del.conditions.empty()) {
    t->rows.clear();
    t->by_key.clear();
    return ret::ok;
  }
  if (std::erase_if(t->rows, [&](const p::Record& r) { return matches(r, del.conditions); }) > 0) {
    const p::TableSpec* spec = p::find_table(t->name);
    t->by_key.clear();
    for (std::size_t i = 0; i < t->rows.size(); ++i)
      if (auto key = key_of(spec, t->rows[i]); !key.empty()) t->by_key.emplace(std::move(key), i);
  }
  return ret::ok;
}

std::int64_t DeviceModel::count(const p::DataCount& c) const {
  if (is_transaction(c.table)) return static_cast<std::int64_t>(events_.size());
  if (p::find_table(c.table) == nullptr) return ret::no_such_table;
  const Table* t = table(c.table);
  if (t == nullptr) return 0;
  if (c.counts_whole_table()) return static_cast<std::int64_t>(t->rows.size());
  return std::count_if(t->rows.begin(), t->rows.end(), [&](const p::Record& r) { return matches(r, c.conditions); });
}

std::vector<p::Record> DeviceModel::query(const p::DataQuery& q) const {
  std::vector<p::Record> out;
  const p::TableSpec* spec = p::find_table(q.table);
  if (is_transaction(q.table)) {
    for (const auto& e : events_) {
      p::Record r = transaction_record(e);
      if (!matches(r, q.filter)) continue;
      r.prefix = "transaction";
      out.push_back(std::move(r));
    }
    return out;
  }
  if (spec != nullptr && spec->name == "APList") {
    // A virtual table: the Wi-Fi scan, not data the server sent.
    for (const auto& ap : panel_.access_points) {
      if (!matches(ap, q.filter)) continue;
      p::Record r = ap;
      r.prefix = "APList";
      out.push_back(std::move(r));
    }
    return out;
  }
  const Table* t = table(q.table);
  if (t == nullptr || spec == nullptr) return out;
  // Query uploads name their table before the first field (9.1.4: "user uid=1\tcardno=...").
  const std::string prefix(spec->name);
  std::int64_t uid = 0;
  for (const auto& row : t->rows) {
    ++uid;
    if (!matches(row, q.filter)) continue;
    p::Record r;
    r.prefix = prefix;
    // The user table's uploads carry the device's internal id first (7.5, 9.1.4).
    // Tables with an upload layout answer in it, every field present (9.1.4 example: "cardno=" even
    // when empty); fields of the row the layout does not name follow in lower case.
    for (const p::FieldSpec& f : spec->upload_fields) {
      if (f.name == "uid") {
        r.add("uid", std::to_string(uid));
      } else {
        r.add(f.name, row.get_or(f.name, ""));
      }
    }
    for (const auto& f : row.fields) {
      if (spec->upload_field(f.key) == nullptr) r.add(p::text::to_lower(f.key), f.value);
    }
    out.push_back(std::move(r));
  }
  return out;
}

const std::vector<p::Record>& DeviceModel::rows(std::string_view name) const {
  static const std::vector<p::Record> none;
  const Table* t = table(name);
  return t == nullptr ? none : t->rows;
}

const p::Record* DeviceModel::find(std::string_view name, std::string_view key, std::string_view value) const {
  const Table* t = table(name);
  if (t == nullptr) return nullptr;
  for (const auto& r : t->rows) {
    if (auto v = r.get(key); v && *v == value) return &r;
  }
  return nullptr;
}

std::optional<std::string_view> DeviceModel::option(std::string_view key) const {
  return p::option_value(options_, key);
}

int DeviceModel::option_int(std::string_view key, int fallback) const {
  auto v = option(key);
  if (!v) return fallback;
  try {
    return std::stoi(std::string(*v));
  } catch (const std::exception&) {
    return fallback;
  }
}

DoorState& DeviceModel::door(int number) {
  if (number < 1 || number > door_count()) throw std::out_of_range("no door " + std::to_string(number));
  return doors_[static_cast<std::size_t>(number - 1)];
}

const DoorState& DeviceModel::door(int number) const {
  if (number < 1 || number > door_count()) throw std::out_of_range("no door " + std::to_string(number));
  return doors_[static_cast<std::size_t>(number - 1)];
}

p::Record DeviceModel::rtstate_record(const p::CivilTime& now) const {
  std::vector<p::DoorStatus> doors;
  for (int i = 1; i <= door_count(); ++i) {
    const DoorState& d = door(i);
    p::DoorStatus s;
    s.door = i;
    s.sensor = d.sensor_open ? p::DoorSensor::open : p::DoorSensor::closed;
    // Bit set = the relay is switched (lock released), as panels report an unlocked door.
    s.relay_disconnected = d.relay_open;
    s.alarms = static_cast<std::uint8_t>(d.alarm);
    doors.push_back(s);
  }
  auto fields = p::encode_rtstate(doors);
  p::Record r;
  r.add("time", p::format_datetime(now));
  if (fields) {
    r.add("sensor", fields->sensor);
    r.add("relay", fields->relay);
    r.add("alarm", fields->alarm);
  }
  return r;
}

p::Record DeviceModel::irstate_record() const {
  return p::Record{{"irstate", std::to_string(panel_.irstate)},
                   {"irsensecount", std::to_string(panel_.irsensecount)},
                   {"incount", std::to_string(panel_.incount)},
                   {"outcount", std::to_string(panel_.outcount)},
                   {"alarmcount", std::to_string(panel_.alarmcount)},
                   {"runcount", std::to_string(panel_.runcount)}};
}

p::Record DeviceModel::wiegand_reading() const {
  // A 26-bit frame (facility 1, a card number derived from the SN): even parity over the first 12
  // data bits, odd over the last 12.
  std::uint32_t card = 0;
  for (char ch : sn_) card = (card * 31u + static_cast<unsigned char>(ch)) & 0xFFFFu;
  const std::uint32_t data = (1u << 16) | card;
  std::string bits;
  for (int i = 23; i >= 0; --i) bits += ((data >> i) & 1u) ? '1' : '0';
  const auto ones = [&](std::ptrdiff_t from) { return std::count(bits.begin() + from, bits.begin() + from + 12, '1'); };
  bits = std::string(1, ones(0) % 2 ? '1' : '0') + bits + (ones(12) % 2 ? '0' : '1');
  return p::Record{{"type", "wg"}, {"bitscount", "26"}, {"bits", bits}, {"sn", sn_}};
}

std::vector<unsigned> DeviceModel::user_floors(std::string_view pin) const {
  std::vector<unsigned> floors;
  const p::Record* r = find("userleauthorize", "Pin", pin);
  if (r == nullptr) return floors;
  // A hex number, floor n at bit n-1: floors 8 and 9 are "180" (tables.yaml, userleauthorize).
  const std::string_view hex = r->get_or("AuthorizeFloors", "");
  unsigned base = 1;
  for (auto it = hex.rbegin(); it != hex.rend() && base <= 256; ++it, base += 4) {
    const int nibble = p::text::hex_digit(*it);
    if (nibble < 0) return {};
    for (unsigned bit = 0; bit < 4; ++bit)
      if ((nibble >> bit) & 1) floors.push_back(base + bit);
  }
  std::sort(floors.begin(), floors.end());
  return floors;
}

const DeviceModel::Event& DeviceModel::log(Event event) {
  event.index = ++last_index_;
  events_.push_back(std::move(event));
  return events_.back();
}

void DeviceModel::trim_events(std::int64_t acked_index, std::size_t keep) {
  if (events_.size() <= keep + keep / 4) return;  // trim in chunks, not on every upload
  std::size_t drop = events_.size() - keep;
  std::size_t uploaded = 0;
  while (uploaded < events_.size() && events_[uploaded].index <= acked_index) ++uploaded;
  drop = std::min(drop, uploaded);
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(drop));
}

p::Record DeviceModel::rtlog_record(const Event& e) {
  return p::Record{{"time", p::format_datetime(e.time)},
                   {"pin", e.pin},
                   {"cardno", e.cardno},
                   {"sitecode", "0"},
                   {"linkid", "0"},
                   {"eventaddr", std::to_string(e.door)},
                   {"event", std::to_string(e.event)},
                   {"inoutstatus", std::to_string(e.inout)},
                   {"verifytype", std::to_string(e.verifytype)},
                   {"index", std::to_string(e.index)}};
}

p::Record DeviceModel::transaction_record(const Event& e) {
  auto seconds = p::encode_zktime(e.time);
  return p::Record{{"cardno", e.cardno},
                   {"pin", e.pin},
                   {"verified", std::to_string(e.verifytype)},
                   {"doorid", std::to_string(e.door)},
                   {"eventtype", std::to_string(e.event)},
                   {"inoutstate", std::to_string(e.inout)},
                   {"time_second", seconds ? std::to_string(*seconds) : "0"},
                   {"index", std::to_string(e.index)}};
}

}  // namespace zkpush::emulator
