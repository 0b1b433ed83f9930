// Door-related encodings: door bitmasks (userauthorize), elevator floor bitmaps (userleauthorize),
// the real-time door status of 7.3 (rtstate) and the door-pair codes of Appendix 8.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

// ---- door bitmasks -------------------------------------------------------------------------------------

inline constexpr int kMaxDoors = 64;

// Bit n-1 = door n; ascending door numbers.
std::vector<int> doors_from_mask(std::uint64_t mask);
// Doors must be 1-64 (duplicates are fine).
Result<std::uint64_t> mask_from_doors(std::span<const int> doors);

// userauthorize.AuthorizeDoorId: a door bitmask (15 = doors 1-4), or a single door number when the
// device sets AccSupportFunList[15] (kFunOneDoorAuthorize).
Result<std::vector<int>> parse_authorize_doors(std::string_view value, bool one_door_per_record);
// In one-door mode exactly one door is allowed.
Result<std::string> format_authorize_doors(std::span<const int> doors, bool one_door_per_record);

// ---- elevator floors (userleauthorize.AuthorizeFloors) ------------------------------------------------

// A hexadecimal number, most significant digit first, bit k = floor k+1: floors 8 and 9 -> "180".
// Up to 256 floors (64 hex digits; leading zeros beyond that are tolerated).
Result<std::vector<int>> decode_floor_bitmap(std::string_view hex);
// Floors 1-256; upper case without leading zeros, "0" for no floor.
Result<std::string> encode_floor_bitmap(std::span<const int> floors);

// ---- rtstate (7.3) -----------------------------------------------------------------------------------

// Two bits per door in `sensor`: doors 1-4 in the first byte, door 1 in its two least significant
// bits; 0b11 is not defined by the manual.
enum class DoorSensor : std::uint8_t { none = 0, closed = 1, open = 2, undefined = 3 };
const char* door_sensor_name(DoorSensor sensor) noexcept;  // "none", "closed", "open", "undefined"

// One alarm byte per door in `alarm`, these bits (enums.yaml rtstate_layout):
enum DoorAlarm : std::uint8_t {
  alarm_accidental_open = 0x01,
  alarm_tamper = 0x02,
  alarm_duress_password = 0x04,
  alarm_duress_fingerprint = 0x08,
  alarm_sensor_timeout = 0x10,
  alarm_mains_failure = 0x20,
  alarm_battery_failure = 0x40,
  alarm_reader_tamper = 0x80,
};

struct DoorStatus {
  int door = 1;
  DoorSensor sensor = DoorSensor::none;
  // The relay bit of the door (one bit per door, door 1 = least significant bit of the first
  // byte): false = 0b0 "connected", true = 0b1 "disconnected".
  bool relay_disconnected = false;
  std::uint8_t alarms = 0;  // DoorAlarm bits

  bool operator==(const DoorStatus&) const = default;
};

// Names of the alarm bits that are set (catalogue wording), lowest bit first.
std::vector<std::string_view> alarm_names(std::uint8_t alarms);

// Doors 1..n. n = door_count when positive (LockCount), else every door the sensor bytes cover
// (4 per byte) plus any further door with a relay or alarm bit set.
Result<std::vector<DoorStatus>> decode_rtstate(std::string_view sensor, std::string_view relay,
                                               std::string_view alarm, int door_count = 0);

struct RtStateFields {
  std::string sensor;  // 1 byte per 4 doors (at least 1)
  std::string relay;   // 1 byte per 8 doors (at least 1)
  std::string alarm;   // 1 byte per door (at least 8: the 16 characters of 7.3)
};
// Upper-case hex. Doors must be 1-64; doors not listed are reported with everything clear.
Result<RtStateFields> encode_rtstate(std::span<const DoorStatus> doors);

// ---- Appendix 8 / 9 ---------------------------------------------------------------------------------

// Appendix 8 (AntiPassback). 192 gets the meaning the manual prints for 196 (readers 3 and 4):
// 192 is that pair as reader bits, 196 a misprint of it or a firmware constant; both are accepted.
std::optional<std::string_view> apb_name(std::int64_t value) noexcept;
std::optional<std::string_view> interlock_name(std::int64_t value) noexcept;  // Appendix 9

}  // namespace zkpush::protocol
