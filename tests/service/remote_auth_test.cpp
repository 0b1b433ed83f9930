// The remote identification decision (service/remote_auth.hpp), pure: each reason a panel's request
// is refused for, in the order a panel checks them, and what a granted one opens.
#include "service/remote_auth.hpp"

#include <gtest/gtest.h>

namespace zkpush::service {
namespace {

namespace p = protocol;

storage::TimeRule office() {
  storage::TimeRule rule;
  rule.id = 2;
  rule.name = "office";
  for (int day = 1; day <= 5; ++day) rule.days[static_cast<std::size_t>(day)] = {{8 * 60, 18 * 60 - 1}};  // Mon-Fri
  rule.days[8] = {{10 * 60, 12 * 60}};  // hol2: a short morning
  return rule;
}

AuthFacts ria(std::int64_t rule_id = 2) {
  AuthFacts f;
  storage::Person person;
  person.pin = "55";
  person.name = "Ria Example";
  person.cards = {{"7654321", false}};
  person.levels = {7};
  f.person = person;
  storage::AccessLevel level;
  level.id = 7;
  level.time_rule_id = rule_id;
  level.doors = {{"P1", 2}, {"P2", 1}};
  f.levels = {level};
  f.rules = {office()};
  return f;
}

// 2027-03-03 is a Wednesday, 2027-03-06 a Saturday.
constexpr p::CivilTime kWednesdayNoon{2027, 3, 3, 12, 0, 0};
constexpr p::CivilTime kSaturdayNoon{2027, 3, 6, 12, 0, 0};

TEST(RemoteAuthDecision, GrantedAtADoorOfHerLevelWithinItsTimeRule) {
  auto d = decide_remote_auth(ria(), "P1", 2, kWednesdayNoon);
  EXPECT_EQ(d.result, p::AuthResult::success);
  EXPECT_EQ(d.event, event_code::remote_granted);
  EXPECT_EQ(d.reason, "granted");
  EXPECT_EQ(d.tips, "Welcome, Ria");
  EXPECT_EQ(d.pin, "55");
  EXPECT_EQ(d.open_seconds, RemoteAuth::kDefaultOpenSeconds);
  // The door's drive time when set (at most 254).
  auto facts = ria();
  facts.drive_time = 9;
  EXPECT_EQ(decide_remote_auth(facts, "P1", 2, kWednesdayNoon).open_seconds, 9);
  // The other panel's door of the level too.
  EXPECT_EQ(decide_remote_auth(ria(), "P2", 1, kWednesdayNoon).result, p::AuthResult::success);
}

TEST(RemoteAuthDecision, EachRefusalHasItsReasonCodeAndTips) {
  AuthFacts nobody;
  auto d = decide_remote_auth(nobody, "P1", 2, kWednesdayNoon);
  EXPECT_EQ(d.result, p::AuthResult::failed);
  EXPECT_EQ(d.event, event_code::not_registered);
  EXPECT_EQ(d.tips, "Unknown card");
  EXPECT_TRUE(d.pin.empty());

  auto lost = ria();
  lost.card_lost = true;
  d = decide_remote_auth(lost, "P1", 2, kWednesdayNoon);
  EXPECT_EQ(d.event, event_code::card_lost);
  EXPECT_EQ(d.tips, "Card blocked");
  EXPECT_EQ(d.pin, "55");

  auto disabled = ria();
  disabled.person->disabled = true;
  EXPECT_EQ(decide_remote_auth(disabled, "P1", 2, kWednesdayNoon).event, event_code::blacklisted);

  auto early = ria();
  early.person->valid_from = "2027-03-04";
  EXPECT_EQ(decide_remote_auth(early, "P1", 2, kWednesdayNoon).event, event_code::expired);
  auto late = ria();
  late.person->valid_until = "2027-03-02";
  EXPECT_EQ(decide_remote_auth(late, "P1", 2, kWednesdayNoon).event, event_code::expired);
  auto within = ria();
  within.person->valid_from = "2027-03-03";
  within.person->valid_until = "2027-03-03";
  EXPECT_EQ(decide_remote_auth(within, "P1", 2, kWednesdayNoon).result, p::AuthResult::success);

  d = decide_remote_auth(ria(), "P1", 1, kWednesdayNoon);  // a door no level of hers holds
  EXPECT_EQ(d.event, event_code::unauthorized);
  EXPECT_EQ(d.tips, "No access to this door, Ria");
  EXPECT_EQ(decide_remote_auth(ria(), "P3", 2, kWednesdayNoon).event, event_code::unauthorized);

  d = decide_remote_auth(ria(), "P1", 2, kSaturdayNoon);  // her door, outside the rule
  EXPECT_EQ(d.event, event_code::outside_time_period);
  EXPECT_EQ(d.tips, "Not allowed at this time, Ria");
  EXPECT_EQ(decide_remote_auth(ria(), "P1", 2, p::CivilTime{2027, 3, 3, 7, 59, 0}).event, event_code::outside_time_period);
  EXPECT_EQ(decide_remote_auth(ria(), "P1", 2, p::CivilTime{2027, 3, 3, 17, 59, 59}).result, p::AuthResult::success);
  EXPECT_EQ(decide_remote_auth(ria(), "P1", 2, p::CivilTime{2027, 3, 3, 18, 0, 0}).event, event_code::outside_time_period);

  // The order a panel checks: a lost card is refused as lost even outside the time rule.
  auto both = ria();
  both.card_lost = true;
  EXPECT_EQ(decide_remote_auth(both, "P1", 2, kSaturdayNoon).event, event_code::card_lost);
}

TEST(RemoteAuthDecision, HolidaysUseTheirTypesPeriods) {
  std::vector<storage::Holiday> holidays{{1, "Spring", "2027-03-03", "2027-03-03", 2, false}};
  const auto rule = office();
  EXPECT_TRUE(rule_allows(rule, {}, kWednesdayNoon));
  EXPECT_TRUE(rule_allows(rule, holidays, kWednesdayNoon));  // hol2: 10:00-12:00, noon is its last minute
  EXPECT_FALSE(rule_allows(rule, holidays, p::CivilTime{2027, 3, 3, 9, 59, 0}));  // a Wednesday's 08:00 does not apply
  EXPECT_TRUE(rule_allows(rule, holidays, p::CivilTime{2027, 3, 3, 11, 0, 0}));
  EXPECT_FALSE(rule_allows(rule, holidays, p::CivilTime{2027, 3, 3, 12, 1, 0}));
  // Yearly: any year's same date; a range across the new year.
  std::vector<storage::Holiday> yearly{{2, "Midwinter", "2020-12-30", "2021-01-02", 3, true}};
  EXPECT_FALSE(rule_allows(rule, yearly, p::CivilTime{2027, 12, 31, 11, 0, 0}));  // hol3: no period
  EXPECT_FALSE(rule_allows(rule, yearly, p::CivilTime{2028, 1, 2, 11, 0, 0}));
  EXPECT_TRUE(rule_allows(rule, yearly, p::CivilTime{2028, 1, 3, 11, 0, 0}));  // a Monday, not a holiday
  auto facts = ria();
  facts.holidays = holidays;
  EXPECT_EQ(decide_remote_auth(facts, "P1", 2, p::CivilTime{2027, 3, 3, 13, 0, 0}).event, event_code::outside_time_period);
  EXPECT_EQ(decide_remote_auth(facts, "P1", 2, kWednesdayNoon).result, p::AuthResult::success);
}

// A door whose entry and exit readers are both in a zone ("reader"): the record's inoutstatus says
// which way the person goes; without it the door is neither.
TEST(RemoteAuthDecision, AZoneDoorWithTwoReadersTakesItsDirectionFromTheReader) {
  storage::ApbZone zone;
  zone.id = 3;
  zone.name = "Lab";
  zone.doors = {{"P1", 2, "reader"}, {"P2", 1, "in"}};
  EXPECT_EQ(apb_direction(zone, "P1", 2, 0), "in");
  EXPECT_EQ(apb_direction(zone, "P1", 2, 1), "out");
  EXPECT_EQ(apb_direction(zone, "P1", 2, -1), "");
  EXPECT_EQ(apb_direction(zone, "P2", 1, 1), "in");  // a one-way door ignores the reader
  EXPECT_EQ(apb_direction(zone, "P9", 1, 0), "");

  auto facts = ria();
  facts.zones = {zone};
  facts.presences = {storage::ApbPresence{3, "55", true, 1, 0}};  // inside the lab
  facts.inout = 0;  // the entry reader
  EXPECT_EQ(decide_remote_auth(facts, "P1", 2, kWednesdayNoon).event, event_code::anti_passback);
  facts.inout = 1;  // the exit reader of the same door: leaving is allowed
  EXPECT_EQ(decide_remote_auth(facts, "P1", 2, kWednesdayNoon).result, p::AuthResult::success);
}

}  // namespace
}  // namespace zkpush::service
