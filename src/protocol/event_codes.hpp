// The Appendix 2 event codes the code acts on: a panel (the emulator) logs them when it decides,
// when the server decides for it or when it carries out a CONTROL DEVICE action, and the server
// records its own remote-identification decisions with them. Their meanings for display come from
// the catalogue (describe.hpp).
#pragma once

namespace zkpush::protocol::event_code {

inline constexpr int granted = 0;  // normal verification, the door opens
inline constexpr int outside_time_period = 21;
inline constexpr int unauthorized = 23;
inline constexpr int anti_passback = 24;
inline constexpr int not_registered = 27;
inline constexpr int expired = 29;
inline constexpr int card_lost = 38;
inline constexpr int blacklisted = 39;
inline constexpr int remote_failed = 44;   // remote identification refused
inline constexpr int remote_timeout = 45;  // remote identification got no answer in time
inline constexpr int door_opened = 200;
inline constexpr int door_closed = 201;
inline constexpr int remote_granted = 222;  // remote identification succeeded

// What a panel logs when it carries out a CONTROL DEVICE action (9.4).
inline constexpr int cancel_alarm = 7;
inline constexpr int remote_open = 8;         // also a floor released (17)
inline constexpr int remote_close = 9;        // also a floor switched off (17/18 with DD=00)
inline constexpr int normal_open_off = 10;
inline constexpr int normal_open_on = 11;     // also a floor held open (18)
inline constexpr int aux_on = 12;
inline constexpr int aux_off = 13;
inline constexpr int door_locked = 63;        // a verification at a door locked by 06
inline constexpr int elevator_emergency_cancelled = 132;
inline constexpr int device_started = 206;
inline constexpr int dual_on = 227;
inline constexpr int dual_off = 228;
inline constexpr int remote_lock = 233;
inline constexpr int remote_unlock = 234;
inline constexpr int wifi_connected = 245;    // "Connect to hotspot"
inline constexpr int cellular_connected = 246;
inline constexpr int cable_connected = 248;   // "Plug in the internet cable"

}  // namespace zkpush::protocol::event_code
