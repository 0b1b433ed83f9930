// Door parameters (service/doors.hpp): what the API accepts, how settings are kept and the
// options that carry them to a panel. No store, no socket.
#include "service/doors.hpp"

#include <gtest/gtest.h>

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
