// Door masks, AuthorizeFloors, rtstate and the Appendix 8/9 codes.
#include "protocol/codecs_doors.hpp"

#include <gtest/gtest.h>

namespace zkpush::protocol {
namespace {

// ---- door masks -------------------------------------------------------------------------------------

TEST(DoorMask, BitNMinusOneIsDoorN) {
  EXPECT_EQ(doors_from_mask(1), (std::vector<int>{1}));
  EXPECT_EQ(doors_from_mask(3), (std::vector<int>{1, 2}));
  EXPECT_EQ(doors_from_mask(13), (std::vector<int>{1, 3, 4}));  // "13 LOCK1+3+4"
  EXPECT_EQ(doors_from_mask(15), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_TRUE(doors_from_mask(0).empty());
  EXPECT_EQ(*mask_from_doors(std::vector<int>{1, 3, 4}), 13u);
  EXPECT_EQ(*mask_from_doors(std::vector<int>{64}), 1ull << 63);
  EXPECT_FALSE(mask_from_doors(std::vector<int>{0}).ok());
  EXPECT_FALSE(mask_from_doors(std::vector<int>{65}).ok());
}

// AuthorizeFloors is a hex number (floors 8+9 -> 180); AuthorizeDoorId a bitmask unless
// AccSupportFunList[15]; Appendix 8 value 192 reads like the printed 196.
TEST(Doors, Ambiguity39_AuthorizeFloorsIsAHexNumber) {
  auto floors = decode_floor_bitmap("180");
  ASSERT_TRUE(floors.ok());
  EXPECT_EQ(*floors, (std::vector<int>{8, 9}));
  EXPECT_EQ(*encode_floor_bitmap(std::vector<int>{8, 9}), "180");
  EXPECT_EQ(*encode_floor_bitmap(std::vector<int>{}), "0");
  EXPECT_EQ(*decode_floor_bitmap("0000180"), (std::vector<int>{8, 9}));
  auto all = encode_floor_bitmap(std::vector<int>{1, 256});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 64u);
  EXPECT_EQ(*decode_floor_bitmap(*all), (std::vector<int>{1, 256}));
  EXPECT_FALSE(decode_floor_bitmap("1" + std::string(64, '0')).ok());  // floor 257
  EXPECT_FALSE(decode_floor_bitmap("18G").ok());
  EXPECT_FALSE(encode_floor_bitmap(std::vector<int>{257}).ok());
}

TEST(Doors, Ambiguity39_AuthorizeDoorIdDependsOnAccSupportFunList15) {
  EXPECT_EQ(*parse_authorize_doors("5", false), (std::vector<int>{1, 3}));
  EXPECT_EQ(*parse_authorize_doors("5", true), (std::vector<int>{5}));
  EXPECT_TRUE(parse_authorize_doors("0", true)->empty());
  EXPECT_FALSE(parse_authorize_doors("65", true).ok());
  EXPECT_FALSE(parse_authorize_doors("x", false).ok());
  EXPECT_EQ(*format_authorize_doors(std::vector<int>{1, 3}, false), "5");
  EXPECT_EQ(*format_authorize_doors(std::vector<int>{3}, true), "3");
  EXPECT_FALSE(format_authorize_doors(std::vector<int>{1, 3}, true).ok());
}

TEST(Doors, Ambiguity39_AntiPassback192And196) {
  auto printed = apb_name(196);
  auto bitwise = apb_name(192);
  ASSERT_TRUE(printed.has_value());
  ASSERT_TRUE(bitwise.has_value());
  EXPECT_EQ(*printed, *bitwise);
  EXPECT_NE(printed->find("3 and 4"), std::string_view::npos);
  EXPECT_TRUE(apb_name(0).has_value());
  EXPECT_FALSE(apb_name(7).has_value());
  EXPECT_TRUE(interlock_name(5).has_value());
  EXPECT_FALSE(interlock_name(6).has_value());
}

// ---- rtstate --------------------------------------------------------------------------------------------

// sensor: 2 bits per door from the least significant bits of the first byte, 4 doors per byte;
// relay: 1 bit per door (the template's single byte CC covers 8 doors); alarm: one byte per door,
// "first bit" = least significant; 0b10 = open; 0b11 reported as undefined.
TEST(Doors, Ambiguity34_RtstateLayout) {
  auto doors = decode_rtstate("00", "00", "0200000000000000");  // 7.3 example: door 1 tamper
  ASSERT_TRUE(doors.ok());
  ASSERT_EQ(doors->size(), 4u);  // one sensor byte covers doors 1-4
  EXPECT_EQ((*doors)[0].door, 1);
  EXPECT_EQ((*doors)[0].alarms, alarm_tamper);
  EXPECT_EQ((*doors)[0].sensor, DoorSensor::none);
  EXPECT_FALSE((*doors)[0].relay_disconnected);
  EXPECT_EQ((*doors)[1].alarms, 0);
  EXPECT_EQ(alarm_names((*doors)[0].alarms), (std::vector<std::string_view>{"tamper alarm"}));

  // sensor 0x96 = 10 01 01 10: door 1 open, door 2 closed, door 3 closed, door 4 open.
  auto s = decode_rtstate("96", "05", "", 4);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].sensor, DoorSensor::open);
  EXPECT_EQ((*s)[1].sensor, DoorSensor::closed);
  EXPECT_EQ((*s)[2].sensor, DoorSensor::closed);
  EXPECT_EQ((*s)[3].sensor, DoorSensor::open);
  // relay 05: doors 1 and 3 disconnected.
  EXPECT_TRUE((*s)[0].relay_disconnected);
  EXPECT_FALSE((*s)[1].relay_disconnected);
  EXPECT_TRUE((*s)[2].relay_disconnected);
  // Doors 5-8 in the second sensor byte; 0b11 is undefined.
  auto eight = decode_rtstate("0003", "00", "0000000000000000");
  ASSERT_TRUE(eight.ok());
  ASSERT_EQ(eight->size(), 8u);
  EXPECT_EQ((*eight)[4].sensor, DoorSensor::undefined);
  EXPECT_STREQ(door_sensor_name(DoorSensor::undefined), "undefined");
}

TEST(Rtstate, DoorCountFromContextOrData) {
  auto one = decode_rtstate("01", "00", "0200000000000000", 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].sensor, DoorSensor::closed);
  // An alarm on door 6 extends a one-byte sensor to 6 doors.
  auto six = decode_rtstate("00", "00", "0000000000800000");
  ASSERT_TRUE(six.ok());
  ASSERT_EQ(six->size(), 6u);
  EXPECT_EQ((*six)[5].alarms, alarm_reader_tamper);
  EXPECT_TRUE(decode_rtstate("", "", "")->empty());
  EXPECT_FALSE(decode_rtstate("0", "00", "").ok());
  EXPECT_FALSE(decode_rtstate("ZZ", "00", "").ok());
  EXPECT_FALSE(decode_rtstate(std::string(34, '0'), "00", "").ok());  // > 64 doors
}

TEST(Rtstate, EncodeMatchesTheExampleAndRoundTrips) {
  std::vector<DoorStatus> doors = {{1, DoorSensor::none, false, alarm_tamper}};
  auto f = encode_rtstate(doors);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->sensor, "00");
  EXPECT_EQ(f->relay, "00");
  EXPECT_EQ(f->alarm, "0200000000000000");

  std::vector<DoorStatus> many = {{1, DoorSensor::open, true, 0},
                                  {2, DoorSensor::closed, false, alarm_duress_password | alarm_mains_failure},
                                  {5, DoorSensor::closed, true, alarm_accidental_open}};
  auto g = encode_rtstate(many);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->sensor, "0601");
  EXPECT_EQ(g->relay, "11");
  EXPECT_EQ(g->alarm, "0024000001000000");
  auto back = decode_rtstate(g->sensor, g->relay, g->alarm, 5);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[0], many[0]);
  EXPECT_EQ((*back)[1], many[1]);
  EXPECT_EQ((*back)[4], many[2]);
  EXPECT_EQ((*back)[2], (DoorStatus{3, DoorSensor::none, false, 0}));
  EXPECT_FALSE(encode_rtstate(std::vector<DoorStatus>{{0, DoorSensor::none, false, 0}}).ok());
}

}  // namespace
}  // namespace zkpush::protocol
