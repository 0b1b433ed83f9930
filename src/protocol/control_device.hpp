// CONTROL DEVICE (manual 9.4): the AABBCCDD[EE] hex payload and one named constructor per action.
//
// Each group is one byte written with %02X. AA is the action code, listed in decimal by the manual
// (10..18) but carried as hex on the wire (11 -> "0B"). The elevator actions 17 and 18 put a
// 32-byte floor bitmap where the one-byte BB goes. The payload also appears without a "C:" line in
// the remote-identification answer (section 10), hence the standalone parse/format functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

enum class ControlCode : std::uint8_t {
  output = 1,
  cancel_alarm = 2,
  restart = 3,
  normal_open = 4,
  battery_power = 5,
  lock_unlock = 6,
  emergency = 7,
  zigbee = 8,
  wiegand_test = 9,
  rs485_lighting = 10,
  network_switch = 11,
  id_card_registration = 12,
  query_subdevice = 13,
  test_switched_network = 14,
  cancel_elevator_emergency = 15,
  reset_counter = 16,
  elevator_output = 17,
  elevator_normal_open = 18,
};

// English name of an action code ("Cancel the alarm"); empty for codes the manual does not define.
std::string_view control_code_name(std::uint8_t aa) noexcept;

// Floor n (1..256) is bit 7-((n-1)%8) of byte (n-1)/8: floors run from the left of the hex text.
using FloorBitmap = std::array<std::uint8_t, 32>;
Result<FloorBitmap> make_floor_bitmap(std::span<const unsigned> floors);
std::vector<unsigned> floors_of(const FloorBitmap& bitmap);

enum class OutputTarget : std::uint8_t { lock = 1, aux_output = 2 };
enum class ZigbeeAction : std::uint8_t { rejoin_network = 1, stop_rejoin = 2, allow_access = 3, stop_access = 4 };
enum class NetworkSwitch : std::uint8_t { wired_to_4g = 1, wired_to_wifi = 2, cellular_to_wired = 3, wifi_to_wired = 4 };
enum class CounterReset : std::uint8_t { out_counter = 1, in_counter = 2, alarm_count = 3, all = 4 };

struct ControlDevice {
  // DD of the output actions: 00 switches off, FF holds open, anything between is seconds.
  static constexpr std::uint8_t close = 0x00;
  static constexpr std::uint8_t hold_open = 0xFF;
  static constexpr unsigned max_door = 16;  // "01-10" read as hex: docs/protocol-decisions.md, 19

  std::uint8_t aa = 0;
  std::uint8_t bb = 0;
  std::uint8_t cc = 0;
  std::uint8_t dd = 0;
  std::optional<std::uint8_t> ee;      // "Operator": never defined; only sent when set
  std::optional<FloorBitmap> floors;   // actions 17/18 only, in place of BB

  bool is_elevator() const noexcept { return aa == 17 || aa == 18; }
  bool operator==(const ControlDevice&) const = default;

  // ---- one constructor per action (door/device 0 = all, 1..16 = that one) ----
  // duration: 0 off, 1..254 seconds, 255 held open.
  static Result<ControlDevice> output(unsigned door, OutputTarget target, unsigned duration);
  static Result<ControlDevice> open_door(unsigned door, unsigned seconds);  // seconds 1..254
  static Result<ControlDevice> close_door(unsigned door);
  static Result<ControlDevice> aux_output(unsigned output, unsigned duration);
  static Result<ControlDevice> cancel_alarm(unsigned door = 0);
  static Result<ControlDevice> restart(unsigned slave_device = 0);
  static Result<ControlDevice> normal_open(unsigned door, bool enable);
  static Result<ControlDevice> battery_power();
  static Result<ControlDevice> lock_door(unsigned door);
  static Result<ControlDevice> unlock_door(unsigned door);
  static Result<ControlDevice> emergency(bool dual_on);  // true: all open, false: all closed
  static Result<ControlDevice> zigbee(ZigbeeAction action);
  static Result<ControlDevice> wiegand_test(bool start);
  static Result<ControlDevice> rs485_lighting();
  static Result<ControlDevice> network_switch(NetworkSwitch direction);
  static Result<ControlDevice> id_card_registration(bool enable, unsigned door, unsigned timeout);
  static Result<ControlDevice> query_subdevice();
  static Result<ControlDevice> test_switched_network();
  static Result<ControlDevice> cancel_elevator_emergency();
  static Result<ControlDevice> reset_counter(CounterReset which);
  static Result<ControlDevice> elevator_output(const FloorBitmap& floors, unsigned duration);
  static Result<ControlDevice> elevator_normal_open(const FloorBitmap& floors, unsigned duration);
};

// Checks the groups against the table of 9.4 (action known, ranges, floors only for 17/18).
Status validate_control_device(const ControlDevice& control);
// Upper-case hex: 8 digits, 10 with EE; 70/72 for the elevator actions.
std::string format_control_device(const ControlDevice& control);
// Accepts either case, 8 or 10 digits (70 or 72 for actions 17/18). Does not check ranges.
Result<ControlDevice> parse_control_device(std::string_view hex);

}  // namespace zkpush::protocol
