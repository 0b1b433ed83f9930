// CONTROL DEVICE: one named constructor per action code of 9.4, the hex payload both ways, and the
// three decisions about its layout.
#include "protocol/control_device.hpp"

#include <gtest/gtest.h>

#include <set>

#include "protocol/command_builders.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::protocol {
namespace {

ControlDevice ok(Result<ControlDevice> r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? r.value() : ControlDevice{};
}

FloorBitmap floors(std::initializer_list<unsigned> list) {
  std::vector<unsigned> v(list);
  auto r = make_floor_bitmap(v);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : FloorBitmap{};
}

ControlDevice action(int aa) {
  ControlDevice c;
  c.aa = static_cast<std::uint8_t>(aa);
  return c;
}

struct Case {
  Result<ControlDevice> control;
  const char* hex;
};

TEST(ControlDevice, EveryActionCodeHasANamedConstructor) {
  const std::string elevator1 = "11" "80" + std::string(62, '0') + "00" "05";
  const std::string elevator2 = "12" "AA80" + std::string(60, '0') + "00" "FF";
  const Case cases[] = {
      {ControlDevice::open_door(1, 5), "01010105"},
      {ControlDevice::close_door(0), "01000100"},
      {ControlDevice::output(2, OutputTarget::lock, ControlDevice::hold_open), "010201FF"},
      {ControlDevice::aux_output(1, 10), "0101020A"},
      {ControlDevice::cancel_alarm(1), "02010000"},
      {ControlDevice::restart(), "03000000"},
      {ControlDevice::normal_open(0, true), "04000100"},
      {ControlDevice::battery_power(), "05000000"},
      {ControlDevice::lock_door(3), "06030100"},
      {ControlDevice::unlock_door(3), "06030000"},
      {ControlDevice::emergency(true), "07010000"},
      {ControlDevice::emergency(false), "07020000"},
      {ControlDevice::zigbee(ZigbeeAction::allow_access), "08030000"},
      {ControlDevice::wiegand_test(true), "09010000"},
      {ControlDevice::wiegand_test(false), "09020000"},
      {ControlDevice::rs485_lighting(), "0A000000"},
      {ControlDevice::network_switch(NetworkSwitch::wired_to_wifi), "0B020000"},
      {ControlDevice::id_card_registration(true, 2, 30), "0C01021E"},
      {ControlDevice::query_subdevice(), "0D000000"},
      {ControlDevice::test_switched_network(), "0E000000"},
      {ControlDevice::cancel_elevator_emergency(), "0F000000"},
      {ControlDevice::reset_counter(CounterReset::all), "10040000"},
      {ControlDevice::elevator_output(floors({1}), 5), elevator1.c_str()},
      {ControlDevice::elevator_normal_open(floors({1, 3, 5, 7, 9}), ControlDevice::hold_open), elevator2.c_str()},
  };
  std::set<int> codes;
  for (const auto& c : cases) {
    ControlDevice cd = ok(c.control);
    SCOPED_TRACE(c.hex);
    EXPECT_EQ(format_control_device(cd), c.hex);
    auto back = parse_control_device(c.hex);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ(*back, cd);
    EXPECT_TRUE(validate_control_device(*back).ok());
    EXPECT_FALSE(control_code_name(cd.aa).empty());
    // As a command, in both CmdFormats.
    auto cmd = control_device(221, cd);
    ASSERT_TRUE(cmd.ok()) << cmd.error().to_string();
    EXPECT_EQ(format_command(*cmd), "C:221:CONTROL DEVICE " + std::string(c.hex));
    auto parsed = parse_command(format_command(*cmd, CommandFormat{1, 1, "SN", 0}));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->body, cmd->body);
    codes.insert(cd.aa);
  }
  EXPECT_EQ(codes.size(), 18u);
  EXPECT_EQ(*codes.begin(), 1);
  EXPECT_EQ(*codes.rbegin(), 18);
}

TEST(ControlDevice, CatalogueCodesAndExamples) {
  YAML::Node spec = zkpush::testing::load_spec("commands.yaml");
  YAML::Node control;
  for (std::size_t i = 0; i < spec["commands"].size(); ++i)
    if (spec["commands"][i]["id"].as<std::string>() == "control_device") control = spec["commands"][i];
  ASSERT_TRUE(control);
  int examples = 0;
  for (const auto& code : control["aa_codes"]) {
    int n = code["code"].as<int>();
    SCOPED_TRACE(n);
    EXPECT_EQ(code["aa_hex"].as<std::string>(), format_control_device(action(n)).substr(0, 2));
    EXPECT_FALSE(control_code_name(static_cast<std::uint8_t>(n)).empty());
    std::vector<std::string> lines;
    if (code["example"]) lines.push_back(code["example"].as<std::string>());
    if (code["examples"])
      for (const auto& e : code["examples"]) lines.push_back(e.as<std::string>());
    for (std::string line : lines) {
      line = line.substr(0, line.find(" ("));
      if (line.find("CONTROL DEVICE") == std::string::npos) continue;
      auto c = parse_command(line);
      ASSERT_TRUE(c.ok()) << line;
      const auto& cd = std::get<ControlDevice>(c->body);
      EXPECT_EQ(cd.aa, n);
      EXPECT_TRUE(validate_control_device(cd).ok()) << line;
      EXPECT_EQ(format_command(*c), line);
      ++examples;
    }
  }
  EXPECT_EQ(examples, 9);
}

TEST(ControlDevice, RangesAreChecked) {
  EXPECT_FALSE(ControlDevice::open_door(1, 0).ok());
  EXPECT_FALSE(ControlDevice::open_door(1, 255).ok());
  EXPECT_FALSE(ControlDevice::open_door(17, 5).ok());
  EXPECT_FALSE(ControlDevice::open_door(257, 5).ok());  // not narrowed to door 1
  EXPECT_FALSE(ControlDevice::output(1, OutputTarget::lock, 256).ok());
  EXPECT_FALSE(ControlDevice::output(1, static_cast<OutputTarget>(3), 5).ok());
  EXPECT_FALSE(ControlDevice::zigbee(static_cast<ZigbeeAction>(5)).ok());
  EXPECT_FALSE(ControlDevice::network_switch(static_cast<NetworkSwitch>(0)).ok());
  EXPECT_FALSE(ControlDevice::reset_counter(static_cast<CounterReset>(9)).ok());
  EXPECT_FALSE(ControlDevice::id_card_registration(true, 1, 300).ok());
  EXPECT_FALSE(ControlDevice::elevator_output(FloorBitmap{}, 5).ok());
  EXPECT_FALSE(validate_control_device(action(19)).ok());
  EXPECT_FALSE(validate_control_device(action(0)).ok());
  ControlDevice with_floors = action(3);
  with_floors.floors = floors({2});
  EXPECT_FALSE(validate_control_device(with_floors).ok());
}

TEST(ControlDevice, FloorBitmapRunsLeftToRight) {
  FloorBitmap b = floors({1, 8, 9, 256});
  EXPECT_EQ(b[0], 0x81);
  EXPECT_EQ(b[1], 0x80);
  EXPECT_EQ(b[31], 0x01);
  EXPECT_EQ(floors_of(b), (std::vector<unsigned>{1, 8, 9, 256}));
  std::vector<unsigned> bad{0};
  EXPECT_FALSE(make_floor_bitmap(bad).ok());
  bad = {257};
  EXPECT_FALSE(make_floor_bitmap(bad).ok());
}

TEST(ControlDeviceAmbiguity, Ambiguity18_EightDigitsSentEightOrTenAccepted) {
  ControlDevice open = ok(ControlDevice::open_door(1, 5));
  EXPECT_EQ(format_control_device(open), "01010105");
  auto ten = parse_control_device("0101010500");
  ASSERT_TRUE(ten.ok());
  EXPECT_EQ(ten->ee, 0);
  EXPECT_EQ(format_control_device(*ten), "0101010500");
  ControlDevice with_operator = open;
  with_operator.ee = 0x2A;
  EXPECT_EQ(format_control_device(with_operator), "010101052A");
  for (const char* bad : {"010101", "01010105000", "010101050000", ""})
    EXPECT_FALSE(parse_control_device(bad).ok()) << bad;
}

TEST(ControlDeviceAmbiguity, Ambiguity19_AaIsHexOfTheDecimalCodeDoorsUpTo16) {
  EXPECT_EQ(format_control_device(ok(ControlDevice::network_switch(NetworkSwitch::wired_to_4g))), "0B010000");
  EXPECT_EQ(format_control_device(ok(ControlDevice::query_subdevice())), "0D000000");
  EXPECT_EQ(format_control_device(ok(ControlDevice::reset_counter(CounterReset::out_counter))), "10010000");
  // Door "10" of the table is read as hex 0x10: doors 1..16; door 10 travels as 0A.
  EXPECT_EQ(format_control_device(ok(ControlDevice::open_door(10, 5))), "010A0105");
  EXPECT_EQ(format_control_device(ok(ControlDevice::open_door(16, 5))), "01100105");
  // DD: 00 closes, FF holds open, 01-FE are seconds.
  EXPECT_EQ(format_control_device(ok(ControlDevice::open_door(1, 254))), "010101FE");
  EXPECT_EQ(format_control_device(ok(ControlDevice::output(1, OutputTarget::lock, 255))), "010101FF");
}

TEST(ControlDeviceAmbiguity, Ambiguity20_WiegandBb00ElevatorLayoutUnusedGroups) {
  // The manual's Wiegand example (BB=00, with EE) is accepted and read as a start.
  auto manual = parse_control_device("0900000000");
  ASSERT_TRUE(manual.ok());
  EXPECT_TRUE(validate_control_device(*manual).ok());
  // What we send: BB=01 start / 02 stop, eight digits.
  EXPECT_EQ(format_control_device(ok(ControlDevice::wiegand_test(true))), "09010000");
  // Elevator actions: AA, 32-byte floor bitmap in place of BB, CC=00, DD, [EE]: 70 or 72 digits.
  ControlDevice lift = ok(ControlDevice::elevator_output(floors({1, 3, 5, 7, 9}), 5));
  std::string hex = format_control_device(lift);
  EXPECT_EQ(hex.size(), 70u);
  EXPECT_EQ(hex.substr(0, 6), "11AA80");
  EXPECT_EQ(hex.substr(66), "0005");
  auto back = parse_control_device(hex + "01");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ee, 1);
  EXPECT_EQ(floors_of(*back->floors), (std::vector<unsigned>{1, 3, 5, 7, 9}));
  EXPECT_FALSE(parse_control_device(hex.substr(0, 68)).ok());
  // Battery (05) and sub-device status (0D): no parameters, nothing else is sent.
  EXPECT_EQ(format_control_device(ok(ControlDevice::battery_power())), "05000000");
}

}  // namespace
}  // namespace zkpush::protocol
