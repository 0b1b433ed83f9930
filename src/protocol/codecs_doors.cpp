#include "protocol/codecs_doors.hpp"

#include <algorithm>
#include <limits>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using text::hex_digit;
using text::quoted;

namespace {

// rtstate values: hex bytes, spaces ignored, empty = no bytes.
Result<std::vector<std::uint8_t>> rtstate_bytes(std::string_view value, std::string_view what, std::size_t max_bytes) {
  std::string compact;
  for (char c : value)
    if (c != ' ' && c != '\t') compact.push_back(c);
  auto bytes = text::parse_hex_bytes(compact);
  if (!bytes) return make_error(Errc::malformed, "rtstate value is not whole hex bytes", std::string(what) + "=" + quoted(value));
  if (bytes->size() > max_bytes) return make_error(Errc::too_large, "rtstate value covers more than 64 doors", std::string(what));
  return std::move(*bytes);
}

}  // namespace

// ---- door bitmasks -------------------------------------------------------------------------------------

std::vector<int> doors_from_mask(std::uint64_t mask) {
  std::vector<int> out;
  for (int bit = 0; bit < kMaxDoors; ++bit)
    if (mask & (std::uint64_t{1} << bit)) out.push_back(bit + 1);
  return out;
}

Result<std::uint64_t> mask_from_doors(std::span<const int> doors) {
  std::uint64_t mask = 0;
  for (int door : doors) {
    if (door < 1 || door > kMaxDoors) return make_error(Errc::bad_value, "door numbers are 1-64", std::to_string(door));
    mask |= std::uint64_t{1} << (door - 1);
  }
  return mask;
}

Result<std::vector<int>> parse_authorize_doors(std::string_view value, bool one_door_per_record) {
  auto v = text::parse_uint(value);
  if (!v) return make_error(Errc::malformed, "AuthorizeDoorId is an unsigned decimal number", quoted(value));
  if (!one_door_per_record) return doors_from_mask(*v);
  if (*v == 0) return std::vector<int>{};
  if (*v > static_cast<std::uint64_t>(kMaxDoors)) return make_error(Errc::bad_value, "door numbers are 1-64", quoted(value));
  return std::vector<int>{static_cast<int>(*v)};
}

Result<std::string> format_authorize_doors(std::span<const int> doors, bool one_door_per_record) {
  if (one_door_per_record) {
    if (doors.size() != 1) return make_error(Errc::bad_value, "one door per userauthorize record on this device");
    if (doors[0] < 1 || doors[0] > kMaxDoors) return make_error(Errc::bad_value, "door numbers are 1-64", std::to_string(doors[0]));
    return std::to_string(doors[0]);
  }
  auto mask = mask_from_doors(doors);
  if (!mask) return mask.error();
  return std::to_string(*mask);
}

// ---- elevator floors ----------------------------------------------------------------------------------

Result<std::vector<int>> decode_floor_bitmap(std::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c == ' ' || c == '\t') continue;
    if (hex_digit(c) < 0) return make_error(Errc::malformed, "AuthorizeFloors is a hexadecimal number", quoted(hex));
    if (digits.empty() && c == '0') continue;  // leading zeros carry no floor
    digits.push_back(c);
  }
  if (digits.size() > 64) return make_error(Errc::too_large, "AuthorizeFloors covers at most 256 floors", quoted(hex));
  std::vector<int> floors;
  for (std::size_t r = 0; r < digits.size(); ++r) {
    const int nibble = hex_digit(digits[digits.size() - 1 - r]);
    for (int i = 0; i < 4; ++i)
      if (nibble & (1 << i)) floors.push_back(static_cast<int>(r) * 4 + i + 1);
  }
  return floors;
}

Result<std::string> encode_floor_bitmap(std::span<const int> floors) {
  std::uint8_t nibbles[64] = {};  // nibbles[r] = hex digit r from the right
  for (int floor : floors) {
    if (floor < 1 || floor > 256) return make_error(Errc::bad_value, "floors are 1-256", std::to_string(floor));
    const int k = floor - 1;
    nibbles[k / 4] = static_cast<std::uint8_t>(nibbles[k / 4] | (1u << (k % 4)));
  }
  std::string out;
  for (int r = 63; r >= 0; --r) {
    if (out.empty() && nibbles[r] == 0) continue;
    out.push_back("0123456789ABCDEF"[nibbles[r]]);
  }
  return out.empty() ? std::string("0") : out;
}

// ---- rtstate -----------------------------------------------------------------------------------------

const char* door_sensor_name(DoorSensor sensor) noexcept {
  switch (sensor) {
    case DoorSensor::none: return "none";
    case DoorSensor::closed: return "closed";
    case DoorSensor::open: return "open";
    case DoorSensor::undefined: return "undefined";
  }
  return "undefined";
}

std::vector<std::string_view> alarm_names(std::uint8_t alarms) {
  static constexpr std::string_view kMasks[8] = {"0x01", "0x02", "0x04", "0x08", "0x10", "0x20", "0x40", "0x80"};
  std::vector<std::string_view> out;
  for (int bit = 0; bit < 8; ++bit) {
    if (!(alarms & (1u << bit))) continue;
    const EnumEntry* e = find_enum_entry("rtstate_layout", kMasks[bit], "alarm");
    out.push_back(e ? e->name : kMasks[bit]);
  }
  return out;
}

Result<std::vector<DoorStatus>> decode_rtstate(std::string_view sensor, std::string_view relay, std::string_view alarm,
                                               int door_count) {
  auto s = rtstate_bytes(sensor, "sensor", kMaxDoors / 4);
  if (!s) return s.error();
  auto r = rtstate_bytes(relay, "relay", kMaxDoors / 8);
  if (!r) return r.error();
  auto a = rtstate_bytes(alarm, "alarm", kMaxDoors);
  if (!a) return a.error();

  auto relay_bit = [&](int door) {
    const auto k = static_cast<std::size_t>(door - 1);
    return k / 8 < r->size() && ((*r)[k / 8] & (1u << (k % 8))) != 0;
  };
  auto alarm_byte = [&](int door) -> std::uint8_t {
    const auto k = static_cast<std::size_t>(door - 1);
    return k < a->size() ? (*a)[k] : 0;
  };
  auto sensor_bits = [&](int door) {
    const auto k = static_cast<std::size_t>(door - 1);
    if (k / 4 >= s->size()) return DoorSensor::none;
    return static_cast<DoorSensor>(((*s)[k / 4] >> ((k % 4) * 2)) & 0x3u);
  };

  int n = std::min(door_count, kMaxDoors);
  if (n <= 0) {
    n = static_cast<int>(s->size()) * 4;
    for (int door = n + 1; door <= kMaxDoors; ++door)
      if (relay_bit(door) || alarm_byte(door) != 0) n = door;
  }
  std::vector<DoorStatus> doors;
  for (int door = 1; door <= n; ++door)
    doors.push_back(DoorStatus{door, sensor_bits(door), relay_bit(door), alarm_byte(door)});
  return doors;
}

Result<RtStateFields> encode_rtstate(std::span<const DoorStatus> doors) {
  int n = 0;
  for (const auto& d : doors) {
    if (d.door < 1 || d.door > kMaxDoors) return make_error(Errc::bad_value, "door numbers are 1-64", std::to_string(d.door));
    n = std::max(n, d.door);
  }
  std::vector<std::uint8_t> sensor(static_cast<std::size_t>(std::max(1, (n + 3) / 4)), 0);
  std::vector<std::uint8_t> relay(static_cast<std::size_t>(std::max(1, (n + 7) / 8)), 0);
  std::vector<std::uint8_t> alarm(static_cast<std::size_t>(std::max(8, n)), 0);
  for (const auto& d : doors) {
    const auto k = static_cast<std::size_t>(d.door - 1);
    sensor[k / 4] = static_cast<std::uint8_t>(sensor[k / 4] | ((static_cast<unsigned>(d.sensor) & 0x3u) << ((k % 4) * 2)));
    if (d.relay_disconnected) relay[k / 8] = static_cast<std::uint8_t>(relay[k / 8] | (1u << (k % 8)));
    alarm[k] = static_cast<std::uint8_t>(alarm[k] | d.alarms);
  }
  return RtStateFields{text::to_hex(sensor.data(), sensor.size(), true), text::to_hex(relay.data(), relay.size(), true),
                       text::to_hex(alarm.data(), alarm.size(), true)};
}

// ---- Appendix 8 / 9 ---------------------------------------------------------------------------------

std::optional<std::string_view> apb_name(std::int64_t value) noexcept {
  if (value == 192) value = 196;
  if (const EnumEntry* e = find_enum_entry("apb_values", std::to_string(value))) return e->name;
  return std::nullopt;
}

std::optional<std::string_view> interlock_name(std::int64_t value) noexcept {
  if (const EnumEntry* e = find_enum_entry("interlock_values", std::to_string(value))) return e->name;
  return std::nullopt;
}

}  // namespace zkpush::protocol
