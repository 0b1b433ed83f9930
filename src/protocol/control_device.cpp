#include "protocol/control_device.hpp"

#include <string>

#include "protocol/text.hpp"

namespace zkpush::protocol {

using text::hex_digit;

namespace {

constexpr std::string_view kCodeNames[] = {
    "",
    "Control the output",
    "Cancel the alarm",
    "Restart the device",
    "Control normal open",
    "Obtain battery power",
    "Lock/unlock the door",
    "Emergency dual-on/dual-off",
    "Zigbee command",
    "Wiegand test",
    "RS485 lighting",
    "Network switchover",
    "Identity-card registration mode",
    "Query sub-device connection status",
    "Test the switched network",
    "Cancel elevator emergency state",
    "Reset entrance-control counter",
    "Elevator floor output",
    "Elevator floor normal open",
};

Error range_error(std::string what) { return make_error(Errc::bad_value, std::move(what), "CONTROL DEVICE"); }

Status check_door(unsigned door, const char* what) {
  if (door > ControlDevice::max_door)
    return range_error(std::string(what) + " must be 0 (all) or 1.." + std::to_string(ControlDevice::max_door) +
                       ", got " + std::to_string(door));
  return Ok{};
}

Status check_byte(unsigned value, const char* what) {
  if (value > 0xFF) return range_error(std::string(what) + " must fit in one byte, got " + std::to_string(value));
  return Ok{};
}

Result<ControlDevice> make(std::uint8_t aa, unsigned bb = 0, unsigned cc = 0, unsigned dd = 0) {
  // Reject before narrowing, or door 257 would silently become door 1.
  for (unsigned v : {bb, cc, dd})
    if (v > 0xFF) return range_error("CONTROL DEVICE groups are single bytes, got " + std::to_string(v));
  ControlDevice c;
  c.aa = aa;
  c.bb = static_cast<std::uint8_t>(bb);
  c.cc = static_cast<std::uint8_t>(cc);
  c.dd = static_cast<std::uint8_t>(dd);
  if (auto st = validate_control_device(c); !st) return st.error();
  return c;
}

}  // namespace

std::string_view control_code_name(std::uint8_t aa) noexcept {
  if (aa < std::size(kCodeNames)) return kCodeNames[aa];
  return {};
}

Result<FloorBitmap> make_floor_bitmap(std::span<const unsigned> floors) {
  FloorBitmap bitmap{};
  for (unsigned floor : floors) {
    if (floor < 1 || floor > 256)
      return make_error(Errc::bad_value, "floor must be 1..256, got " + std::to_string(floor), "floor bitmap");
    unsigned bit = floor - 1;
    bitmap[bit / 8] = static_cast<std::uint8_t>(bitmap[bit / 8] | (0x80u >> (bit % 8)));
  }
  return bitmap;
}

std::vector<unsigned> floors_of(const FloorBitmap& bitmap) {
  std::vector<unsigned> floors;
  for (unsigned bit = 0; bit < 256; ++bit)
    if (bitmap[bit / 8] & (0x80u >> (bit % 8))) floors.push_back(bit + 1);
  return floors;
}

// ---- named constructors ---------------------------------------------------------------------------

Result<ControlDevice> ControlDevice::output(unsigned door, OutputTarget target, unsigned duration) {
  if (auto st = check_byte(duration, "duration"); !st) return st.error();
  return make(1, door, static_cast<unsigned>(target), duration);
}

Result<ControlDevice> ControlDevice::open_door(unsigned door, unsigned seconds) {
  if (seconds < 1 || seconds > 254)
    return range_error("door opening time must be 1..254 seconds (0 closes, 255 holds open), got " +
                       std::to_string(seconds));
  return output(door, OutputTarget::lock, seconds);
}

Result<ControlDevice> ControlDevice::close_door(unsigned door) { return output(door, OutputTarget::lock, close); }

Result<ControlDevice> ControlDevice::aux_output(unsigned out, unsigned duration) {
  return output(out, OutputTarget::aux_output, duration);
}

Result<ControlDevice> ControlDevice::cancel_alarm(unsigned door) { return make(2, door); }
Result<ControlDevice> ControlDevice::restart(unsigned slave_device) { return make(3, slave_device); }
Result<ControlDevice> ControlDevice::normal_open(unsigned door, bool enable) { return make(4, door, enable ? 1 : 0); }
Result<ControlDevice> ControlDevice::battery_power() { return make(5); }
Result<ControlDevice> ControlDevice::lock_door(unsigned door) { return make(6, door, 1); }
Result<ControlDevice> ControlDevice::unlock_door(unsigned door) { return make(6, door, 0); }
Result<ControlDevice> ControlDevice::emergency(bool dual_on) { return make(7, dual_on ? 1 : 2); }
Result<ControlDevice> ControlDevice::zigbee(ZigbeeAction action) { return make(8, static_cast<unsigned>(action)); }
Result<ControlDevice> ControlDevice::wiegand_test(bool start) { return make(9, start ? 1 : 2); }
Result<ControlDevice> ControlDevice::rs485_lighting() { return make(10); }
Result<ControlDevice> ControlDevice::network_switch(NetworkSwitch direction) {
  return make(11, static_cast<unsigned>(direction));
}
Result<ControlDevice> ControlDevice::id_card_registration(bool enable, unsigned door, unsigned timeout) {
  if (auto st = check_byte(timeout, "timeout"); !st) return st.error();
  return make(12, enable ? 1 : 0, door, timeout);
}
Result<ControlDevice> ControlDevice::query_subdevice() { return make(13); }
Result<ControlDevice> ControlDevice::test_switched_network() { return make(14); }
Result<ControlDevice> ControlDevice::cancel_elevator_emergency() { return make(15); }
Result<ControlDevice> ControlDevice::reset_counter(CounterReset which) { return make(16, static_cast<unsigned>(which)); }

namespace {
Result<ControlDevice> elevator(std::uint8_t aa, const FloorBitmap& floors, unsigned duration) {
  if (auto st = check_byte(duration, "duration"); !st) return st.error();
  ControlDevice c;
  c.aa = aa;
  c.floors = floors;
  c.dd = static_cast<std::uint8_t>(duration);
  if (auto st = validate_control_device(c); !st) return st.error();
  return c;
}
}  // namespace

Result<ControlDevice> ControlDevice::elevator_output(const FloorBitmap& floors, unsigned duration) {
  return elevator(17, floors, duration);
}
Result<ControlDevice> ControlDevice::elevator_normal_open(const FloorBitmap& floors, unsigned duration) {
  return elevator(18, floors, duration);
}

// ---- validation and wire text ---------------------------------------------------------------------

Status validate_control_device(const ControlDevice& c) {
  if (c.aa < 1 || c.aa > 18) return range_error("unknown action code AA=" + std::to_string(c.aa));
  if (c.is_elevator() != c.floors.has_value())
    return range_error(c.is_elevator() ? "elevator actions 17/18 need a floor bitmap"
                                       : "only elevator actions 17/18 carry a floor bitmap");
  auto in = [&](unsigned v, unsigned lo, unsigned hi, const char* what) -> Status {
    if (v < lo || v > hi)
      return range_error(std::string(what) + " of action " + std::to_string(c.aa) + " must be " + std::to_string(lo) +
                         ".." + std::to_string(hi) + ", got " + std::to_string(v));
    return Ok{};
  };
  switch (c.aa) {
    case 1:
      if (auto st = check_door(c.bb, "door"); !st) return st;
      return in(c.cc, 1, 2, "CC (1 lock, 2 auxiliary output)");
    case 2:
    case 3:
      return check_door(c.bb, c.aa == 2 ? "door" : "slave device");
    case 4:
    case 6:
      if (auto st = check_door(c.bb, "door"); !st) return st;
      return in(c.cc, 0, 1, "CC");
    case 7:
      return in(c.bb, 1, 2, "BB");
    case 8:
    case 11:
    case 16:
      return in(c.bb, 1, 4, "BB");
    case 9:
      // BB=00 is what the manual's only example sends; it is read as "start".
      return in(c.bb, 0, 2, "BB");
    case 12:
      if (auto st = in(c.bb, 0, 1, "BB"); !st) return st;
      return check_door(c.cc, "door");
    case 17:
    case 18:
      if (floors_of(*c.floors).empty()) return range_error("elevator action without any floor");
      return Ok{};
    default:
      return Ok{};
  }
}

std::string format_control_device(const ControlDevice& c) {
  auto byte = [](std::uint8_t b) { return text::to_hex(&b, 1, true); };
  std::string out = byte(c.aa);
  if (c.floors) out += text::to_hex(c.floors->data(), c.floors->size(), true);
  else out += byte(c.bb);
  out += byte(c.cc);
  out += byte(c.dd);
  if (c.ee) out += byte(*c.ee);
  return out;
}

Result<ControlDevice> parse_control_device(std::string_view hex) {
  hex = text::trim_line(hex);
  for (char ch : hex)
    if (hex_digit(ch) < 0)
      return make_error(Errc::malformed, "CONTROL DEVICE payload must be hex digits", "'" + std::string(hex.substr(0, 80)) + "'");
  auto bytes = text::parse_hex_bytes(hex);
  if (!bytes || bytes->empty())
    return make_error(Errc::malformed, "CONTROL DEVICE payload needs 8 or 10 hex digits",
                      std::to_string(hex.size()) + " digits");
  const auto& b = *bytes;
  ControlDevice c;
  c.aa = b[0];
  std::size_t rest = 1;
  if (c.is_elevator()) {
    if (b.size() != 35 && b.size() != 36)
      return make_error(Errc::malformed, "elevator CONTROL DEVICE needs AA, a 64-digit floor bitmap, CC and DD (70 or 72 hex digits)",
                        std::to_string(hex.size()) + " digits");
    FloorBitmap floors{};
    for (std::size_t i = 0; i < floors.size(); ++i) floors[i] = b[1 + i];
    c.floors = floors;
    rest = 33;
  } else {
    if (b.size() != 4 && b.size() != 5)
      return make_error(Errc::malformed, "CONTROL DEVICE payload needs 8 or 10 hex digits",
                        std::to_string(hex.size()) + " digits");
    c.bb = b[1];
    rest = 2;
  }
  c.cc = b[rest];
  c.dd = b[rest + 1];
  if (b.size() > rest + 2) c.ee = b[rest + 2];
  return c;
}

}  // namespace zkpush::protocol
