// The emulated device's tables: DATA UPDATE/DELETE/COUNT/QUERY semantics on every table of the
// catalogue, checked against the manual's examples.
#include "emulator/device_model.hpp"

#include <gtest/gtest.h>

#include "protocol/codecs_doors.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/fields.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::emulator {
namespace {

namespace p = protocol;

p::Command parse(const std::string& line) {
  auto commands = p::parse_commands(line);
  EXPECT_TRUE(commands.ok()) << line;
  EXPECT_EQ(commands->size(), 1u);
  return commands->front();
}

DeviceModel fresh() { return DeviceModel("EMU0001", p::Record{{"LockCount", "4"}}, 4); }

TEST(DeviceModel, UpdateUpsertsByKey) {
  auto m = fresh();
  auto c = parse("C:1:DATA UPDATE user CardNo=123\tPin=1\tPassword=\tGroup=0\tName=Ann");
  EXPECT_EQ(m.update(std::get<p::DataUpdate>(c.body)), ret::ok);
  auto again = parse("C:2:DATA UPDATE user Pin=1\tName=Anne");
  EXPECT_EQ(m.update(std::get<p::DataUpdate>(again.body)), ret::ok);
  ASSERT_EQ(m.rows("user").size(), 1u);
  EXPECT_EQ(m.rows("user")[0].get_or("Name", ""), "Anne");
  EXPECT_EQ(m.rows("user")[0].get_or("CardNo", ""), "123");  // fields not named are kept
}

TEST(DeviceModel, UpdateWithoutKeyIsRefusedWhole) {
  auto m = fresh();
  auto c = parse("C:1:DATA UPDATE user Pin=1\tName=A\nCardNo=5\tName=B");
  EXPECT_EQ(m.update(std::get<p::DataUpdate>(c.body)), ret::bad_parameter);
  EXPECT_TRUE(m.rows("user").empty());
}

TEST(DeviceModel, CompositeKeysAndOptionalKeyFields) {
  auto m = fresh();
  // userauthorize is keyed by Pin + AuthorizeDoorId (+ DevID on some panels only).
  auto c = parse("C:1:DATA UPDATE userauthorize Pin=1\tAuthorizeTimezoneId=1\tAuthorizeDoorId=3\n"
                 "Pin=1\tAuthorizeTimezoneId=2\tAuthorizeDoorId=4\n"
                 "Pin=1\tAuthorizeTimezoneId=5\tAuthorizeDoorId=3");
  EXPECT_EQ(m.update(std::get<p::DataUpdate>(c.body)), ret::ok);
  ASSERT_EQ(m.rows("userauthorize").size(), 2u);
  EXPECT_EQ(m.rows("userauthorize")[0].get_or("AuthorizeTimezoneId", ""), "5");
}

TEST(DeviceModel, DeleteByConditionAndAll) {
  auto m = fresh();
  for (int i = 1; i <= 3; ++i) m.put("user", p::Record{{"Pin", std::to_string(i)}});
  auto del = parse("C:1:DATA DELETE user Pin=2");
  EXPECT_EQ(m.remove(std::get<p::DataDelete>(del.body)), ret::ok);
  EXPECT_EQ(m.rows("user").size(), 2u);
  EXPECT_EQ(m.find("user", "Pin", "2"), nullptr);
  auto all = parse("C:2:DATA DELETE user *");
  EXPECT_EQ(m.remove(std::get<p::DataDelete>(all.body)), ret::ok);
  EXPECT_TRUE(m.rows("user").empty());
}

TEST(DeviceModel, UnknownTableIsMinus100) {
  auto m = fresh();
  p::DataUpdate u{"nosuchtable", {p::Record{{"A", "1"}}}};
  EXPECT_EQ(m.update(u), ret::no_such_table);
  p::DataCount c{"nosuchtable", {}, false};
  EXPECT_EQ(m.count(c), ret::no_such_table);
}

TEST(DeviceModel, CountWholeTableAndWithCondition) {
  auto m = fresh();
  m.put("biophoto", p::Record{{"PIN", "1"}, {"Type", "9"}});
  m.put("biophoto", p::Record{{"PIN", "2"}, {"Type", "9"}});
  m.put("biophoto", p::Record{{"PIN", "3"}, {"Type", "2"}});
  EXPECT_EQ(m.count(p::DataCount{"biophoto", {}, false}), 3);
  EXPECT_EQ(m.count(p::DataCount{"biophoto", p::Record{{"Type", "9"}}, false}), 2);
}

// The 9.1.4 example: three users, queried back in the upload layout of the manual byte for byte.
TEST(DeviceModel, QueryUserMatchesTheManualsExample) {
  auto fixture = testing::load_fixture("9.1.4-query-user.txt");
  auto m = fresh();
  m.put("user", p::Record{{"CardNo", ""}, {"Pin", "1"}, {"Password", ""}, {"Group", "1"}, {"StartTime", "0"},
                          {"EndTime", "0"}, {"Name", ""}, {"Privilege", "0"}, {"Disable", "0"}, {"Verify", "0"}});
  m.put("user", p::Record{{"CardNo", ""}, {"Pin", "2"}, {"Password", "1"}, {"Group", "1"}, {"StartTime", "0"},
                          {"EndTime", "0"}, {"Name", ""}, {"Privilege", "0"}, {"Disable", "0"}, {"Verify", "0"}});
  m.put("user", p::Record{{"CardNo", ""}, {"Pin", "3"}, {"Password", ""}, {"Group", "1"}, {"StartTime", "0"},
                          {"EndTime", "0"}, {"Name", ""}, {"Privilege", "0"}, {"Disable", "0"}, {"Verify", "0"}});
  auto command = parse(fixture.blocks_of("COMMAND").front()->content);
  auto records = m.query(std::get<p::DataQuery>(command.body));
  ASSERT_EQ(records.size(), 3u);
  auto requests = p::format_querydata_packages("3383154200002", command.id, "user", records, 2048000);
  ASSERT_EQ(requests.size(), 1u);
  const std::string& block = fixture.blocks_of("REQUEST").front()->content;
  const std::string body = block.substr(block.find("\n\n") + 2);
  EXPECT_EQ(requests[0].body, body);
  EXPECT_NE(block.find(requests[0].target), std::string::npos) << requests[0].target;
}

TEST(DeviceModel, EventIndexesIncreaseAndSurviveDelete) {
  auto m = fresh();
  DeviceModel::Event e;
  e.time = p::CivilTime{2024, 5, 1, 8, 0, 0};
  EXPECT_EQ(m.log(e).index, 1);
  EXPECT_EQ(m.log(e).index, 2);
  auto del = parse("C:1:DATA DELETE transaction *");
  EXPECT_EQ(m.remove(std::get<p::DataDelete>(del.body)), ret::ok);
  EXPECT_TRUE(m.events().empty());
  EXPECT_EQ(m.log(e).index, 3);
  EXPECT_EQ(m.count(p::DataCount{"transaction", {}, false}), 1);
  auto q = m.query(p::DataQuery{"transaction", "*", {}, "*"});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].prefix, "transaction");
  EXPECT_EQ(q[0].get_or("index", ""), "3");
  EXPECT_EQ(q[0].get_or("time_second", ""), std::to_string(*p::encode_zktime(e.time)));
}

TEST(DeviceModel, RtstateRecordEncodesDoors) {
  auto m = fresh();
  m.door(1).sensor_open = true;
  m.door(2).relay_open = true;
  m.door(1).alarm = 0x02;
  auto r = m.rtstate_record(p::CivilTime{2017, 1, 10, 15, 42, 40});
  EXPECT_EQ(r.get_or("time", ""), "2017-01-10 15:42:40");
  auto doors = p::decode_rtstate(r.get_or("sensor", ""), r.get_or("relay", ""), r.get_or("alarm", ""), 4);
  ASSERT_TRUE(doors.ok());
  ASSERT_EQ(doors->size(), 4u);
  EXPECT_EQ((*doors)[0].sensor, p::DoorSensor::open);
  EXPECT_EQ((*doors)[0].alarms, 0x02);
  EXPECT_TRUE((*doors)[1].relay_disconnected);
  EXPECT_EQ((*doors)[2].sensor, p::DoorSensor::closed);
  EXPECT_THROW(m.door(5), std::out_of_range);
}

// Every DATA UPDATE example of the manual applies to a fresh model (templates need their user).
TEST(DeviceModel, EveryManualUpdateExampleApplies) {
  int applied = 0;
  for (const auto& file : testing::fixture_files()) {
    if (file.find("-update-") == std::string::npos) continue;
    auto fixture = testing::load_fixture(file);
    for (const auto* block : fixture.blocks_of("COMMAND")) {
      if (block->content.find("${") != std::string::npos) continue;
      auto commands = p::parse_commands(block->content);
      ASSERT_TRUE(commands.ok()) << file;
      for (const auto& c : *commands) {
        const auto* u = std::get_if<p::DataUpdate>(&c.body);
        if (u == nullptr) continue;
        auto m = fresh();
        EXPECT_EQ(m.update(*u), ret::ok) << file << ": " << block->content;
        const auto* spec = p::effective_table(c);
        ASSERT_NE(spec, nullptr) << file;
        EXPECT_FALSE(m.rows(spec->name).empty()) << file;
        ++applied;
      }
    }
  }
  EXPECT_GT(applied, 40);
}

}  // namespace
}  // namespace zkpush::emulator
