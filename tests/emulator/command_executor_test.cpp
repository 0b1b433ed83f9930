// What the emulated device answers to each command family: the result line, the uploads, the
// events and door changes; checked with the protocol core's own parsers.
#include "emulator/command_executor.hpp"

#include <gtest/gtest.h>

#include "protocol/account.hpp"
#include "protocol/codecs_doors.hpp"
#include "protocol/command_results.hpp"
#include "protocol/device_requests.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::emulator {
namespace {

namespace p = protocol;

class Executor : public ::testing::Test {
 protected:
  Execution run(const std::string& line) {
    auto commands = p::parse_commands(line);
    EXPECT_TRUE(commands.ok()) << line;
    return executor_.execute(commands->front(), model_, ctx_);
  }
  // Each upload as the server would parse it.
  static p::DeviceRequest parsed(const p::OutgoingRequest& r) {
    auto req = p::parse_device_request(r.method, r.target, r.body);
    EXPECT_TRUE(req.ok()) << r.target;
    return req.ok() ? *req : p::DeviceRequest{};
  }

  DeviceModel model_{"EMU0001", p::Record{{"LockCount", "4"}, {"FirmVer", "AC Ver 5.7.8.3033"}}, 4};
  CommandExecutor executor_;
  ExecutionContext ctx_{p::CivilTime{2024, 5, 6, 9, 30, 0}, 1714987800, 2048000};
};

TEST_F(Executor, UpdateThenQueryUploadsRecordsAndCountsThem) {
  EXPECT_EQ(run("C:10:DATA UPDATE user CardNo=\tPin=1\tPassword=\tGroup=1\tName=A").result.return_code, 0);
  EXPECT_EQ(run("C:11:DATA UPDATE user CardNo=\tPin=2\tPassword=\tGroup=1\tName=B").result.return_code, 0);
  auto q = run("C:12:DATA QUERY tablename=user,fielddesc=*,filter=*");
  EXPECT_EQ(q.result.return_code, 2);
  ASSERT_EQ(q.uploads.size(), 1u);
  auto req = parsed(q.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::querydata_tabledata);
  EXPECT_EQ(req.records.size(), 2u);
  EXPECT_EQ(p::format_command_result(q.result), "ID=12&Return=2&CMD=DATA QUERY");
}

TEST_F(Executor, QuerySplitsIntoPacksByMaxPackageSize) {
  for (int i = 0; i < 200; ++i) {
    model_.put("user", p::Record{{"Pin", std::to_string(i)}, {"Name", std::string(40, 'x')}});
  }
  ctx_.max_package_size = 4000;
  auto q = run("C:13:DATA QUERY tablename=user,fielddesc=*,filter=*");
  EXPECT_EQ(q.result.return_code, 200);
  ASSERT_GT(q.uploads.size(), 2u);
  std::size_t total = 0;
  for (const auto& u : q.uploads) {
    EXPECT_LE(u.body.size(), 4000u);
    total += parsed(u).records.size();
  }
  EXPECT_EQ(total, 200u);
}

TEST_F(Executor, CountUploadsTheNumberAndAnswersZero) {
  model_.put("user", p::Record{{"Pin", "1"}});
  auto c = run("C:14:DATA COUNT user");
  EXPECT_EQ(c.result.return_code, 0);
  ASSERT_EQ(c.uploads.size(), 1u);
  EXPECT_EQ(c.uploads[0].body, "user=1");
}

TEST_F(Executor, RepeatedIdAnswersMinus7AndRunsNothing) {
  EXPECT_EQ(run("C:20:DATA UPDATE user Pin=1\tName=A").result.return_code, 0);
  auto again = run("C:20:DATA UPDATE user Pin=1\tName=B");
  EXPECT_EQ(again.result.return_code, ret::repeated);
  EXPECT_EQ(model_.rows("user")[0].get_or("Name", ""), "A");
}

TEST_F(Executor, UnknownVerbIsMinus13AndBadParametersMinus11) {
  EXPECT_EQ(run("C:21:REBOOT NOW").result.return_code, ret::unknown_command);
  EXPECT_EQ(run("C:22:DATA UPDATE user Name=nobody").result.return_code, ret::bad_parameter);
  EXPECT_EQ(run("C:23:CONTROL DEVICE 01090105").result.return_code, ret::bad_parameter);  // door 9 of 4
  EXPECT_EQ(run("C:24:DATA UPDATE templatev10 Size=4\tPin=99\tFingerID=0\tValid=1\tTemplate=AAAA").result.return_code,
            ret::template_user_unknown);
}

TEST_F(Executor, OpenDoorChangesRelayAndLogsEvent8) {
  auto e = run("C:30:CONTROL DEVICE 01010105");
  EXPECT_EQ(e.result.return_code, 0);
  EXPECT_TRUE(e.doors_changed);
  EXPECT_TRUE(model_.door(1).relay_open);
  EXPECT_EQ(model_.door(1).relay_until, ctx_.unix_now + 5);
  ASSERT_EQ(e.events.size(), 1u);
  EXPECT_EQ(e.events[0].event, 8);
  EXPECT_EQ(e.events[0].door, 1);
  auto close = run("C:31:CONTROL DEVICE 01010100");
  EXPECT_FALSE(model_.door(1).relay_open);
  EXPECT_EQ(close.events.at(0).event, 9);
}

TEST_F(Executor, CancelAlarmClearsAlarmBits) {
  model_.door(2).alarm = 0x02;
  auto e = run("C:32:CONTROL DEVICE 02000000");
  EXPECT_EQ(e.result.return_code, 0);
  EXPECT_EQ(model_.door(2).alarm, 0);
  EXPECT_EQ(e.events.size(), 4u);  // one cancel event per door
}

TEST_F(Executor, RestartAsksTheSessionToReconnect) { EXPECT_TRUE(run("C:33:CONTROL DEVICE 03000000").restart); }

TEST_F(Executor, SetAndGetOptions) {
  EXPECT_EQ(run("C:40:SET OPTIONS Door1Drivertime=7,Door1KeepOpenTimeZone=0").result.return_code, 0);
  EXPECT_EQ(model_.option("Door1Drivertime").value_or(""), "7");
  auto g = run("C:41:GET OPTIONS Door1Drivertime,FirmVer,NoSuchKey");
  ASSERT_EQ(g.uploads.size(), 1u);
  auto req = parsed(g.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::querydata_options);
  EXPECT_EQ(g.uploads[0].body, "Door1Drivertime=7,FirmVer=AC Ver 5.7.8.3033");
}

TEST_F(Executor, AccountPullSdkFormCarriesATgzOfTheMissingRecords) {
  for (int i = 0; i < 5; ++i) {
    DeviceModel::Event e;
    e.time = p::CivilTime{2024, 5, 6, 9, i, 0};
    e.pin = std::to_string(i);
    model_.log(e);
  }
  auto a = run("C:50:ACCOUNT transaction ContentType=tgz MaxIndex=2");
  EXPECT_EQ(a.result.return_code, 3);
  EXPECT_EQ(p::format_command_result(a.result),
            "ID=50&Return=3&CMD=ACCOUNT&transaction&StartTime=&EndTime=&RecordSum=3");
  ASSERT_EQ(a.uploads.size(), 1u);
  auto req = parsed(a.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::querydata_account_tgz);
  auto body = p::parse_account_archive_body(a.uploads[0].body);
  ASSERT_TRUE(body.ok());
  auto records = p::transaction_records_from_tgz(body->data);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].get_or("index", ""), "3");
}

TEST_F(Executor, AccountControllerFormSendsOverviewThenFiles) {
  for (int i = 0; i < 7; ++i) {
    DeviceModel::Event e;
    e.time = p::CivilTime{2024, 5, 6, 10, i, 0};
    model_.log(e);
  }
  ctx_.account_controller_form = true;
  ctx_.account_records_per_file = 3;
  auto a = run("C:51:ACCOUNT transaction StartIndex=2\tEndIndex=7");
  EXPECT_EQ(a.result.return_code, 6);
  ASSERT_EQ(a.uploads.size(), 3u);  // overview + 2 files
  EXPECT_EQ(parsed(a.uploads[0]).endpoint, p::Endpoint::account_overview);
  EXPECT_EQ(parsed(a.uploads[1]).endpoint, p::Endpoint::account_file);
  auto files = p::transaction_records_from_tgz(a.uploads[2].body);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 3u);
}

TEST_F(Executor, EnrollUploadsATemplateAndKeepsIt) {
  model_.put("user", p::Record{{"Pin", "1"}});
  auto e = run("C:60:ENROLL_BIO TYPE=9\tNO=0\tPIN=1\tRETRY=3\tOVERWRITE=1\tMODE=1");
  EXPECT_EQ(e.result.return_code, 0);
  ASSERT_EQ(e.uploads.size(), 1u);
  EXPECT_EQ(parsed(e.uploads[0]).endpoint, p::Endpoint::enroll_bio_upload);
  EXPECT_EQ(model_.rows("biodata").size(), 1u);
}

TEST_F(Executor, UpgradeAndTestHostAreLeftToTheSession) {
  auto u = run("C:70:UPGRADE checksum=0123456789abcdef0123456789abcdef,url=http://127.0.0.1/files/fw.bin,size=10");
  ASSERT_TRUE(u.upgrade.has_value());
  EXPECT_EQ(u.upgrade->url, "http://127.0.0.1/files/fw.bin");
  auto t = run("C:71:Test Host Address=127.0.0.1:8088");
  ASSERT_TRUE(t.test_host.has_value());
  EXPECT_EQ(*t.test_host, "127.0.0.1:8088");
}

// Every command of the manual's examples executes without throwing and answers a well-formed
// result the server side parses back to the same ID.
TEST_F(Executor, EveryManualCommandGetsAParseableResult) {
  int seen = 0;
  for (const auto& file : testing::fixture_files()) {
    auto fixture = testing::load_fixture(file);
    for (const auto* block : fixture.blocks_of("COMMAND")) {
      if (block->content.find("${") != std::string::npos || block->content.find("$(") != std::string::npos) continue;
      auto commands = p::parse_commands(block->content);
      if (!commands) continue;
      for (const auto& c : *commands) {
        CommandExecutor fresh;
        auto e = fresh.execute(c, model_, ctx_);
        auto back = p::parse_command_result(p::format_command_result(e.result));
        ASSERT_TRUE(back.ok()) << file;
        EXPECT_EQ(back->id, c.id) << file;
        EXPECT_NE(e.result.return_code, ret::unknown_command) << file << ": " << block->content;
        ++seen;
      }
    }
  }
  EXPECT_GT(seen, 80);
}

}  // namespace
}  // namespace zkpush::emulator
