// Access decisions of the emulated panel from its own tables: each refusal code and a grant.
#include "emulator/access_decision.hpp"

#include <gtest/gtest.h>

#include "protocol/codecs_time.hpp"

namespace zkpush::emulator {
namespace {

namespace p = protocol;

class Access : public ::testing::Test {
 protected:
  void SetUp() override {
    model_.put("user", p::Record{{"CardNo", "123456789"}, {"Pin", "1"}, {"StartTime", "0"}, {"EndTime", "0"}});
    // Doors 1 and 2 (mask 3), time rule 2: Mon 08:00-18:00, holiday type 1 09:00-12:00.
    model_.put("userauthorize", p::Record{{"Pin", "1"}, {"AuthorizeTimezoneId", "2"}, {"AuthorizeDoorId", "3"}});
    model_.put("timezone", p::Record{{"TimezoneId", "2"},
                                     {"MonTime1", std::to_string((800 << 16) + 1800)},
                                     {"Hol1Time1", std::to_string((900 << 16) + 1200)}});
  }
  AccessDecision card(const std::string& cardno, int door, p::CivilTime t) {
    return decide_access(model_, Credential{cardno, "", 4}, door, t);
  }
  DeviceModel model_{"EMU", p::Record{}, 4};
  const p::CivilTime monday_10h{2024, 5, 6, 10, 0, 0};  // 2024-05-06 is a Monday
};

TEST_F(Access, DayOfWeek) {
  EXPECT_EQ(day_of_week(monday_10h), 1);
  EXPECT_EQ(day_of_week(p::CivilTime{2000, 1, 1, 0, 0, 0}), 6);  // Saturday
}

TEST_F(Access, GrantedWithinPeriodOnAnAuthorizedDoor) {
  auto d = card("123456789", 2, monday_10h);
  EXPECT_EQ(d.event, event_code::granted);
  EXPECT_EQ(d.pin, "1");
  // The same card in the bracketed little-endian form is the same card.
  EXPECT_TRUE(card("[15CD5B07]", 1, monday_10h).granted());
}

TEST_F(Access, UnknownCardIs27) { EXPECT_EQ(card("42", 1, monday_10h).event, event_code::not_registered); }

TEST_F(Access, DoorOutsideTheMaskIs23) { EXPECT_EQ(card("123456789", 3, monday_10h).event, event_code::unauthorized); }

TEST_F(Access, OutsideTheTimeRuleIs21) {
  EXPECT_EQ(card("123456789", 1, p::CivilTime{2024, 5, 6, 19, 0, 0}).event, event_code::outside_time_period);
  EXPECT_EQ(card("123456789", 1, p::CivilTime{2024, 5, 7, 10, 0, 0}).event, event_code::outside_time_period);  // Tuesday
}

TEST_F(Access, HolidaysUseTheirOwnPeriods) {
  model_.put("holiday", p::Record{{"Holiday", "20240506"}, {"HolidayType", "1"}, {"Loop", "2"}});
  EXPECT_TRUE(card("123456789", 1, monday_10h).granted());  // 10:00 is within 09:00-12:00
  EXPECT_EQ(card("123456789", 1, p::CivilTime{2024, 5, 6, 14, 0, 0}).event, event_code::outside_time_period);
}

TEST_F(Access, HolidayLoopDecidesWhetherItRecursYearly) {
  const p::CivilTime afternoon{2024, 5, 6, 14, 0, 0};
  model_.put("holiday", p::Record{{"Holiday", "20230506"}, {"HolidayType", "1"}, {"Loop", "2"}});
  EXPECT_TRUE(card("123456789", 1, afternoon).granted());  // last year's date only: Monday periods
  model_.put("holiday", p::Record{{"Holiday", "20230506"}, {"HolidayType", "1"}, {"Loop", "1"}});
  EXPECT_EQ(card("123456789", 1, afternoon).event, event_code::outside_time_period);  // every 6 May
}

TEST_F(Access, ExpiredUserIs29) {
  model_.put("user", p::Record{{"Pin", "1"}, {"EndTime", "20240505"}});
  EXPECT_EQ(card("123456789", 1, monday_10h).event, event_code::expired);
  model_.put("user", p::Record{{"Pin", "1"}, {"EndTime", "20240506"}});  // the whole end day counts
  EXPECT_TRUE(card("123456789", 1, monday_10h).granted());
}

TEST_F(Access, DisabledUserIsBlacklisted39) {
  model_.put("user", p::Record{{"Pin", "1"}, {"Disable", "1"}});
  EXPECT_EQ(card("123456789", 1, monday_10h).event, event_code::blacklisted);
}

TEST_F(Access, LostMultiCardIs38AndOtherCardsWork) {
  model_.put("mulcarduser", p::Record{{"Pin", "1"}, {"CardNo", "555"}, {"LossCardFlag", "1"}, {"CardType", "1"}});
  model_.put("mulcarduser", p::Record{{"Pin", "1"}, {"CardNo", "777"}, {"LossCardFlag", "0"}, {"CardType", "1"}});
  EXPECT_EQ(card("555", 1, monday_10h).event, event_code::card_lost);
  EXPECT_TRUE(card("777", 1, monday_10h).granted());
}

TEST_F(Access, TimeRuleOneWithoutARowIsAlways) {
  model_.put("user", p::Record{{"CardNo", "9"}, {"Pin", "2"}});
  model_.put("userauthorize", p::Record{{"Pin", "2"}, {"AuthorizeTimezoneId", "1"}, {"AuthorizeDoorId", "15"}});
  EXPECT_TRUE(card("9", 4, p::CivilTime{2024, 5, 12, 3, 0, 0}).granted());
  model_.put("userauthorize", p::Record{{"Pin", "2"}, {"AuthorizeTimezoneId", "7"}, {"AuthorizeDoorId", "15"}});
  EXPECT_EQ(card("9", 4, p::CivilTime{2024, 5, 12, 3, 0, 0}).event, event_code::outside_time_period);
}

TEST_F(Access, PinVerification) {
  EXPECT_TRUE(decide_access(model_, Credential{"", "1", 1}, 1, monday_10h).granted());
  EXPECT_EQ(decide_access(model_, Credential{"", "99", 1}, 1, monday_10h).event, event_code::not_registered);
}

}  // namespace
}  // namespace zkpush::emulator
