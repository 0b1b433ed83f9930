// Door parameters (service/doors.hpp): what the API accepts, how settings are kept and the
// options that carry them to a panel. No store, no socket.
#include "service/doors.hpp"

#include <gtest/gtest.h>

#include <map>

namespace zkpush::service {
namespace {

TEST(DoorSettings, APatchIsCheckedKeptInOrderAndBecomesThePanelsOptions) {
  storage::DoorSettings door{"P1", 2, "", "{}", 0};
  EXPECT_EQ(apply_door_patch(door, R"({"name": "Back", "sensor_delay": 15, "drive_time": 5, "multi_card": true,
                                       "emergency_password": "87654321", "active_time_rule_id": 3})"),
            "");
  EXPECT_EQ(door.name, "Back");
  // Kept in the table's order whatever the patch's: equal settings are equal text.
  EXPECT_EQ(door.settings,
            R"({"drive_time":5,"sensor_delay":15,"active_time_rule_id":3,"emergency_password":"87654321","multi_card":true})");
  auto options = door_options(door);
  EXPECT_EQ(options.get_or("Door2Drivertime", ""), "5");
  EXPECT_EQ(options.get_or("Door2Detectortime", ""), "15");
  EXPECT_EQ(options.get_or("Door2ValidTZ", ""), "3");
  EXPECT_EQ(options.get_or("Door2SupperPassWord", ""), "87654321");
  EXPECT_EQ(options.get_or("Door2MultiCardOpenDoor", ""), "1");
  EXPECT_EQ(rules_named(door), std::vector<std::int64_t>{3});

  // null unsets; a refused patch leaves the settings as they were.
  EXPECT_EQ(apply_door_patch(door, R"({"multi_card": null})"), "");
  EXPECT_FALSE(door_options(door).has("Door2MultiCardOpenDoor"));
  const auto before = door;
  for (const char* bad : {R"({"drive_time": 255})", R"({"sensor_type": 3})", R"({"verify_mode": 99})",
                          R"({"duress_password": "1234567"})", R"({"lock_on_close": 1})", R"({"interlock": 1})",
                          R"({"colour": "red"})", R"([1])", R"({"normal_open_time_rule_id": -1})"}) {
    auto copy = door;
    EXPECT_NE(apply_door_patch(copy, bad), "") << bad;
  }
  EXPECT_EQ(door, before);
}

TEST(DoorSettings, ListsBecomeTableRowsNumberedAcrossThePanelsDoors) {
  storage::DoorSettings d1{"P1", 1, "", "{}", 0}, d3{"P1", 3, "", "{}", 0}, panel{"P1", 0, "", "{}", 0};
  ASSERT_EQ(apply_door_patch(d1, R"({"multi_card_groups": [[1, 2]], "first_card_persons": [{"pin": "9"}, {"pin": "4", "time_rule_id": 7}]})"), "");
  ASSERT_EQ(apply_door_patch(d3, R"({"multi_card_groups": [[5], [6, 7, 8, 9, 10]]})"), "");
  ASSERT_EQ(apply_door_patch(panel, R"({"linkages": [{"event": 204, "output": "lock", "out": 1, "seconds": 255,
                                         "type": "reader", "action": "unlock"}],
                                         "dst_rules": [{"year": 2030, "start": {"month": 3, "week": 2, "weekday": 5, "hour": 17},
                                                        "end": {"month": 8, "week": 2, "weekday": 5, "hour": 8}, "loop": true}]})"),
            "");
  EXPECT_EQ(rules_named(d1), (std::vector<std::int64_t>{1, 7}));  // a first card without a rule: always
  EXPECT_EQ(pins_named(d1), (std::vector<std::string>{"9", "4"}));
  // Given in any order, the doors' combinations are numbered 1, 2, 3 by door.
  const auto items = table_items({panel, d3, d1});
  std::map<std::pair<std::string, std::string>, std::string> by;
  for (const auto& i : items) by[{i.kind, i.key}] = i.content;
  auto row = [&](const char* kind, const char* key) { return by[{kind, key}]; };
  ASSERT_EQ(items.size(), 6u);
  EXPECT_EQ(row("firstcard", "1"),
            R"([{"DoorID":"1","TimezoneID":"7","Pin":"4","DevID":"1"},{"DoorID":"1","TimezoneID":"1","Pin":"9","DevID":"1"}])");
  EXPECT_EQ(row("multicard", "1"), R"([{"Index":"1","DoorId":"1","Group1":"1","Group2":"2","Group3":"","Group4":"","Group5":"","DevID":"1"}])");
  EXPECT_EQ(row("multicard", "3"), R"([{"Index":"3","DoorId":"3","Group1":"6","Group2":"7","Group3":"8","Group4":"9","Group5":"10","DevID":"1"}])");
  // Reserved: reader linkage (1) with the unlock action (32); the manual's example DST moments.
  EXPECT_EQ(row("linkage", "1"),
            R"([{"Index":"1","EventType":"204","InAddr":"0","OutType":"0","OutAddr":"1","OutTime":"255","Reserved":"33","InDevID":"1","OutDevID":"1"}])");
  EXPECT_EQ(row("dst", "all"), R"([{"Year":"2030","StartTime":"03020517","EndTime":"08020508","Loop":"1"}])");
  // A deleted person stops being a first card.
  EXPECT_TRUE(forget_pin(d1, "9"));
  EXPECT_FALSE(forget_pin(d1, "9"));
  EXPECT_EQ(pins_named(d1), std::vector<std::string>{"4"});
  // Lists belong to doors or to the panel; repeated pins or years are refused.
  auto copy = d1;
  EXPECT_NE(apply_door_patch(copy, R"({"linkages": []})"), "");
  EXPECT_NE(apply_door_patch(copy, R"({"first_card_persons": [{"pin": "1"}, {"pin": "1"}]})"), "");
  auto p2 = panel;
  EXPECT_NE(apply_door_patch(p2, R"({"multi_card_groups": [[1]]})"), "");
  EXPECT_NE(apply_door_patch(p2, R"({"dst_rules": [{"year": 2030, "start": {"month": 3, "week": 2, "weekday": 5, "hour": 17},
      "end": {"month": 8, "week": 2, "weekday": 5, "hour": 8}}, {"year": 2030, "start": {"month": 3, "week": 2, "weekday": 5, "hour": 17},
      "end": {"month": 8, "week": 2, "weekday": 5, "hour": 8}}]})"), "");
  EXPECT_EQ(p2, panel);
}

TEST(DoorSettings, ThePanelTakesAntiPassbackAndInterlockOfTheManualsTables) {
  storage::DoorSettings panel{"P1", 0, "", "{}", 0};
  EXPECT_EQ(apply_door_patch(panel, R"({"anti_passback": 240, "interlock": 5})"), "");
  auto options = door_options(panel);
  EXPECT_EQ(options.get_or("AntiPassback", ""), "240");
  EXPECT_EQ(options.get_or("InterLock", ""), "5");
  EXPECT_NE(apply_door_patch(panel, R"({"anti_passback": 7})"), "");  // not in Appendix 8
  EXPECT_NE(apply_door_patch(panel, R"({"interlock": 6})"), "");
  EXPECT_NE(apply_door_patch(panel, R"({"drive_time": 5})"), "");  // a door's, not the panel's
}

}  // namespace
}  // namespace zkpush::service
