// The Appendix 2 event codes that both roles act on: a panel (the emulator) logs them when it
// decides or when the server decides for it, and the server records its own remote-identification
// decisions with them. Their meanings for display come from the catalogue (describe.hpp).
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

}  // namespace zkpush::protocol::event_code
