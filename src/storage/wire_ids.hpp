// Where a device's command ids (C:<id>:) start.
//
// Ids are per device, strictly increasing and never reused (the device's counter is kept with the
// device and survives restarts). The first id of a device is not 1 but the number of seconds since
// 2020-01-01T00:00:00Z when its first command is queued: firmware remembers ids it has run and
// answers -7 ("repeated command") without running it, so a server that lost its data folder (or a
// new server taking over a device) must not start below ids the device has already seen. With this
// start a wiped server resumes above every earlier id unless the device received more than one
// command per second on average since its first one.
//
// Devices read the id as a 32-bit signed integer: the start is capped at 2^30 (reached in 2054),
// leaving over a billion ids of room, and a device whose counter reaches 2^31-1 is refused further
// commands rather than wrapped.
#pragma once

#include <cstdint>

namespace zkpush::storage {

inline constexpr std::int64_t kWireIdEpoch = 1577836800;  // 2020-01-01T00:00:00Z
inline constexpr std::int64_t kFirstWireIdCap = std::int64_t{1} << 30;
inline constexpr std::int64_t kMaxWireId = 2147483647;

constexpr std::int64_t first_wire_id(std::int64_t unix_now) noexcept {
  std::int64_t id = unix_now - kWireIdEpoch;
  if (id < 1) return 1;  // a clock before 2020 is broken; still never 0
  return id > kFirstWireIdCap ? kFirstWireIdCap : id;
}

}  // namespace zkpush::storage
