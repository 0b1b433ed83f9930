// How an emulated panel decides a card swipe or a PIN verification at a door, from its own tables
// only (the server is not asked): user and card, privilege door mask, time rule with holidays,
// validity periods, lost cards and disabled users. The answer is the Appendix 2 event the panel
// logs and uploads as rtlog.
//
// Rules (in the order a panel checks them): unknown credential 27; lost card 38; disabled user 39
// (blacklist); user outside StartTime/EndTime 29; no userauthorize row covering the door 23;
// privilege outside its own StartTime/EndTime 29; outside every period of the privilege's time
// rule today (holiday periods on holidays) 21; else 0 and the door's relay opens.
// A privilege naming time rule 1 when no timezone row 1 exists is "always": panels ship with rule
// 1 as 24 hours, and servers rely on it.
#pragma once

#include <string>

#include "emulator/device_model.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/event_codes.hpp"

namespace zkpush::emulator {

namespace event_code = protocol::event_code;  // Appendix 2 codes

struct Credential {
  std::string cardno;    // decimal or "[hex]"; empty for a PIN/fingerprint verification
  std::string pin;       // when verifying by user ID (fingerprint, face, password)
  int verifytype = 4;    // Appendix 3: 4 = card, 1 = fingerprint, 3 = password, 15 = face...
};

struct AccessDecision {
  int event = event_code::not_registered;
  std::string pin = "0";     // the user, when identified
  std::string cardno = "0";  // as presented
  bool granted() const noexcept { return event == event_code::granted; }
};

AccessDecision decide_access(const DeviceModel& model, const Credential& credential, int door,
                             const protocol::CivilTime& now);

// Day of week of a civil date, 0 = Sunday.
int day_of_week(const protocol::CivilTime& t) noexcept;

}  // namespace zkpush::emulator
