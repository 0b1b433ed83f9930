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
// ---- CONTROL DEVICE 05-18, SET ADSCREEN_OPTIONS, APList (9.4, 9.5.3, 9.1.4) -------------------------------

std::vector<int> codes_of(const Execution& e) {
  std::vector<int> out;
  for (const auto& ev : e.events) out.push_back(ev.event);
  return out;
}

TEST_F(Executor, UnknownActionCodeIsMinus13AndOutOfRangeGroupsMinus11) {
  EXPECT_EQ(run("C:50:CONTROL DEVICE 13000000").result.return_code, ret::unknown_command);  // 0x13 = 19
  EXPECT_EQ(run("C:51:CONTROL DEVICE 00000000").result.return_code, ret::unknown_command);
  EXPECT_EQ(run("C:52:CONTROL DEVICE 0B050000").result.return_code, ret::bad_parameter);  // network switch 5
  EXPECT_EQ(run("C:53:CONTROL DEVICE 10050000").result.return_code, ret::bad_parameter);  // 0x10 = 16, counter 5
}

TEST_F(Executor, BatteryPowerAnswersTheLevelInTheResult) {
  model_.panel().battery_percent = 87;
  auto e = run("C:54:CONTROL DEVICE 05000000");
  EXPECT_EQ(e.result.return_code, 0);
  EXPECT_EQ(p::format_command_result(e.result), "ID=54&Return=0&CMD=CONTROL DEVICE&BatteryPower=87");
}

TEST_F(Executor, LockKeepsTheDoorShutUntilUnlocked) {
  EXPECT_FALSE(model_.door(2).locked);
  auto lock = run("C:55:CONTROL DEVICE 06020100");
  EXPECT_EQ(lock.result.return_code, 0);
  EXPECT_TRUE(model_.door(2).locked);
  EXPECT_TRUE(lock.doors_changed);
  EXPECT_EQ(codes_of(lock), std::vector<int>{233});
  // A remote open of the locked door is refused (event 63) and its relay stays closed.
  auto open = run("C:56:CONTROL DEVICE 01020105");
  EXPECT_FALSE(model_.door(2).relay_open);
  EXPECT_EQ(codes_of(open), std::vector<int>{63});
  auto unlock = run("C:57:CONTROL DEVICE 06020000");
  EXPECT_FALSE(model_.door(2).locked);
  EXPECT_EQ(codes_of(unlock), std::vector<int>{234});
  run("C:58:CONTROL DEVICE 01020105");
  EXPECT_TRUE(model_.door(2).relay_open);
  // 00 = every door.
  run("C:59:CONTROL DEVICE 06000100");
  for (int d = 1; d <= 4; ++d) EXPECT_TRUE(model_.door(d).locked) << d;
  EXPECT_FALSE(model_.door(2).relay_open);  // locking drops the open relay
}

TEST_F(Executor, EmergencyDualOnOpensAndDualOffShutsEveryDoor) {
  auto on = run("C:60:CONTROL DEVICE 07010000");
  EXPECT_EQ(model_.panel().emergency, 1);
  for (int d = 1; d <= 4; ++d) EXPECT_TRUE(model_.door(d).relay_open) << d;
  EXPECT_EQ(codes_of(on), (std::vector<int>{227, 227, 227, 227}));
  auto off = run("C:61:CONTROL DEVICE 07020000");
  EXPECT_EQ(model_.panel().emergency, 2);
  for (int d = 1; d <= 4; ++d) EXPECT_FALSE(model_.door(d).relay_open) << d;
  EXPECT_EQ(codes_of(off), (std::vector<int>{228, 228, 228, 228}));
}

TEST_F(Executor, ZigbeeAndLightingAndSubdeviceQueryAreKept) {
  EXPECT_EQ(run("C:62:CONTROL DEVICE 08030000").result.return_code, 0);
  EXPECT_EQ(model_.panel().zigbee, 3);
  EXPECT_EQ(run("C:63:CONTROL DEVICE 0A000000").result.return_code, 0);
  EXPECT_EQ(model_.panel().rs485_lighting, 1);
  EXPECT_EQ(run("C:64:CONTROL DEVICE 0D000000").result.return_code, 0);
  EXPECT_EQ(model_.panel().subdevice_queries, 1);
}

TEST_F(Executor, WiegandTestUploadsTestdataUntilStopped) {
  auto start = run("C:65:CONTROL DEVICE 0900000000");  // the manual's example: BB=00, with EE
  EXPECT_EQ(start.result.return_code, 0);
  EXPECT_TRUE(model_.panel().wiegand_test);
  ASSERT_EQ(start.uploads.size(), 1u);
  auto req = parsed(start.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::testdata_wiegand);
  ASSERT_EQ(req.records.size(), 1u);
  EXPECT_EQ(req.records[0].get_or("type", ""), "wg");
  EXPECT_EQ(req.records[0].get_or("bitscount", ""), "26");
  const std::string bits(req.records[0].get_or("bits", ""));
  ASSERT_EQ(bits.size(), 26u);
  // Wiegand 26: the first 13 bits hold an even number of ones, the last 13 an odd number.
  EXPECT_EQ(std::count(bits.begin(), bits.begin() + 13, '1') % 2, 0) << bits;
  EXPECT_EQ(std::count(bits.begin() + 13, bits.end(), '1') % 2, 1) << bits;
  EXPECT_EQ(bits.substr(1, 8), "00000001");  // facility 1
  EXPECT_EQ(req.records[0].get_or("sn", ""), "EMU0001");
  auto stop = run("C:66:CONTROL DEVICE 09020000");
  EXPECT_FALSE(model_.panel().wiegand_test);
  EXPECT_TRUE(stop.uploads.empty());
}

TEST_F(Executor, NetworkSwitchChangesCommTypeAndReportsIt) {
  auto to4g = run("C:67:CONTROL DEVICE 0B010000");
  EXPECT_EQ(to4g.result.return_code, 0);
  EXPECT_EQ(model_.panel().network, PanelState::Network::cellular);
  EXPECT_EQ(model_.option("CommType").value_or(""), "usb-4G-modem");
  ASSERT_EQ(to4g.uploads.size(), 1u);
  EXPECT_EQ(parsed(to4g.uploads[0]).endpoint, p::Endpoint::upload_options);
  EXPECT_EQ(to4g.uploads[0].body, "CommType=usb-4G-modem");
  EXPECT_EQ(codes_of(to4g), std::vector<int>{246});
  // Not on Wi-Fi: "from Wi-Fi to wired" cannot run.
  EXPECT_EQ(run("C:68:CONTROL DEVICE 0B040000").result.return_code, ret::execution_error);
  EXPECT_EQ(run("C:69:CONTROL DEVICE 0B030000").result.return_code, 0);
  EXPECT_EQ(model_.option("CommType").value_or(""), "ethernet");
  EXPECT_EQ(run("C:70:CONTROL DEVICE 0B020000").result.return_code, 0);
  EXPECT_EQ(model_.panel().network, PanelState::Network::wifi);
  // 14 tests the network in use: its connection event.
  EXPECT_EQ(codes_of(run("C:71:CONTROL DEVICE 0E000000")), std::vector<int>{245});
}

TEST_F(Executor, IdentityCardRegistrationModeWithDoorAndTimeout) {
  EXPECT_EQ(run("C:72:CONTROL DEVICE 0C01021E").result.return_code, 0);
  EXPECT_TRUE(model_.panel().id_card_registration);
  EXPECT_EQ(model_.panel().id_card_door, 2);
  EXPECT_EQ(model_.panel().id_card_until, ctx_.unix_now + 30);
  EXPECT_EQ(run("C:73:CONTROL DEVICE 0C000000").result.return_code, 0);
  EXPECT_FALSE(model_.panel().id_card_registration);
  EXPECT_EQ(run("C:74:CONTROL DEVICE 0C01091E").result.return_code, ret::bad_parameter);  // door 9 of 4
}

TEST_F(Executor, CancelElevatorEmergencyClearsItAndLogs132) {
  model_.panel().elevator_emergency = true;
  auto e = run("C:75:CONTROL DEVICE 0F000000");
  EXPECT_FALSE(model_.panel().elevator_emergency);
  EXPECT_EQ(codes_of(e), std::vector<int>{132});
}

TEST_F(Executor, ResetCounterZeroesTheChosenCountersAndReportsIrstate) {
  auto& panel = model_.panel();
  panel.incount = 5;
  panel.outcount = 7;
  panel.alarmcount = 2;
  auto out = run("C:76:CONTROL DEVICE 10010000");
  EXPECT_EQ(panel.outcount, 0);
  EXPECT_EQ(panel.incount, 5);
  ASSERT_EQ(out.uploads.size(), 1u);
  auto req = parsed(out.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::irstate);
  ASSERT_EQ(req.records.size(), 1u);
  EXPECT_EQ(req.records[0].get_or("outcount", ""), "0");
  EXPECT_EQ(req.records[0].get_or("incount", ""), "5");
  run("C:77:CONTROL DEVICE 10030000");
  EXPECT_EQ(panel.alarmcount, 0);
  EXPECT_EQ(panel.incount, 5);
  run("C:78:CONTROL DEVICE 10040000");
  EXPECT_EQ(panel.incount, 0);
}

TEST_F(Executor, ElevatorFloorsAreReleasedHeldAndSwitchedOff) {
  auto bitmap = p::make_floor_bitmap(std::vector<unsigned>{1, 3, 10});
  ASSERT_TRUE(bitmap.ok());
  auto out = p::ControlDevice::elevator_output(*bitmap, 8);
  ASSERT_TRUE(out.ok());
  auto e = run("C:79:CONTROL DEVICE " + p::format_control_device(*out));
  EXPECT_EQ(e.result.return_code, 0);
  auto& panel = model_.panel();
  ASSERT_EQ(panel.floors_open.size(), 3u);
  EXPECT_EQ(panel.floors_open.at(10), ctx_.unix_now + 8);
  ASSERT_EQ(e.events.size(), 3u);
  EXPECT_EQ(e.events[2].door, 10);  // the floor is the event's address
  EXPECT_EQ(e.events[2].event, 8);
  auto hold = p::ControlDevice::elevator_normal_open(*bitmap, 0xFF);
  auto h = run("C:80:CONTROL DEVICE " + p::format_control_device(*hold));
  EXPECT_EQ(panel.floors_normal_open.size(), 3u);
  EXPECT_EQ(codes_of(h), (std::vector<int>{11, 11, 11}));
  auto off = p::ControlDevice::elevator_normal_open(*bitmap, 0);
  auto o = run("C:81:CONTROL DEVICE " + p::format_control_device(*off));
  EXPECT_TRUE(panel.floors_normal_open.empty());
  EXPECT_TRUE(panel.floors_open.empty());
  EXPECT_EQ(codes_of(o), (std::vector<int>{10, 10, 10}));
}

TEST_F(Executor, RestartLogsTheStartAndDropsTimedRelays) {
  run("C:82:CONTROL DEVICE 01010105");
  run("C:83:CONTROL DEVICE 04020100");  // door 2 normal open: held, survives
  auto e = run("C:84:CONTROL DEVICE 03000000");
  EXPECT_TRUE(e.restart);
  EXPECT_FALSE(model_.door(1).relay_open);
  EXPECT_TRUE(model_.door(2).relay_open);
  EXPECT_EQ(codes_of(e), std::vector<int>{206});
}

TEST_F(Executor, ElevatorPrivilegeFloorsAreHeldPerUser) {
  // The manual's example (with the table name it meant): floors 8 and 9 are "180".
  EXPECT_EQ(run("C:85:DATA UPDATE userleauthorize Pin=2\tAuthorizeTimezoneId=1\tAuthorizeFloorId=1\tAuthorizeFloors=180")
                .result.return_code,
            0);
  EXPECT_EQ(model_.user_floors("2"), (std::vector<unsigned>{8, 9}));
  EXPECT_TRUE(model_.user_floors("3").empty());
}

TEST_F(Executor, AdscreenOptionsAnswerPendingThenFinal) {
  // A panel without an advertising screen does not have the command.
  auto none = run("C:90:SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,URL=http://srv/ad.jpg");
  EXPECT_EQ(none.result.return_code, ret::unknown_command);
  EXPECT_FALSE(none.final_result.has_value());
  model_.set_option("IsSupportADScreen", "1");
  auto e = run("C:86:SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=1,Range=50,URL=http://srv/ad.jpg,InPlayInterval=5");
  EXPECT_EQ(e.result.return_code, -5000);
  ASSERT_TRUE(e.final_result.has_value());
  EXPECT_EQ(p::format_command_result(*e.final_result), "ID=86&Return=0&CMD=SET ADSCREEN_OPTIONS");
  ASSERT_EQ(model_.panel().adscreen.size(), 1u);
  EXPECT_EQ(model_.panel().adscreen[0].get_or("URL", ""), "http://srv/ad.jpg");
  // The same area again replaces it; without a URL the final answer is -11.
  run("C:87:SET ADSCREEN_OPTIONS InOut=0,Area=1,Type=0,URL=http://srv/ad.mp4");
  ASSERT_EQ(model_.panel().adscreen.size(), 1u);
  EXPECT_EQ(model_.panel().adscreen[0].get_or("Type", ""), "0");
  auto bad = run("C:88:SET ADSCREEN_OPTIONS InOut=0,Area=2,Type=1");
  EXPECT_EQ(bad.result.return_code, -5000);
  EXPECT_EQ(bad.final_result->return_code, ret::bad_parameter);
}

TEST_F(Executor, AplistQueryUploadsTheWifiScan) {
  auto q = run("C:89:DATA QUERY tablename=[APList],fielddesc=*,filter=*");
  EXPECT_EQ(q.result.return_code, 2);
  ASSERT_EQ(q.uploads.size(), 1u);
  auto req = parsed(q.uploads[0]);
  EXPECT_EQ(req.endpoint, p::Endpoint::querydata_vmtable);
  ASSERT_EQ(req.records.size(), 2u);
  EXPECT_EQ(req.records[0].get_or("ssid", ""), "office");
}

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
