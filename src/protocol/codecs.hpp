// Value codecs of PUSH 3.1.2: everything that turns one field value into its meaning and back.
//
// One header per family; include this one for all of them.
//   codecs_time.hpp     Appendix 5/6 time, datetime and date texts, user validity, time periods,
//                       HTTP Date, rtdata time answer
//   codecs_bitmaps.hpp  EventTypes, VerifyStyles, New*EventTypes, AccSupportFunList and other 0/1
//                       lists, NewVFStyles / VERIFY_TYPE, MultiBio* lists
//   codecs_doors.hpp    door masks, AuthorizeFloors, rtstate, Appendix 8/9 codes
//   codecs_card.hpp     card numbers, templatev10 duress marks
//   codecs_session.hpp  token, Cookie header, protocol version negotiation
// All of them are pure: no I/O, no clock, no globals; errors come back as Result, never thrown.
#pragma once

#include "protocol/codecs_bitmaps.hpp"
#include "protocol/codecs_card.hpp"
#include "protocol/codecs_doors.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
