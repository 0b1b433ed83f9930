// `zkpush serve` end to end: device flows over real sockets into a real SQLite store
// (fixture in serve_fixture.hpp).
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using ServeTest = ServeFixture;

TEST_F(ServeTest, HandshakeInitRegistryPushGetrequest) {
  start();
  const std::string sn = "DGD9190019050335134";
  const std::string token = handshake(sn);

  // Registered now: init answers registry=ok with the code and the configuration.
  auto init = send(p::format_init_request(sn), token);
  ASSERT_EQ(init.status, 200);
  auto answer = p::parse_init_answer(init.body);
  EXPECT_TRUE(answer.registered);
  EXPECT_FALSE(answer.registry_code.empty());
  EXPECT_EQ(answer.config.get_or("RequestDelay", ""), "30");

  auto poll = send(p::format_getrequest(sn), token);
  EXPECT_EQ(poll.status, 200);
  EXPECT_EQ(poll.body, "OK");
  ASSERT_TRUE(poll.header("Date").has_value());

  auto ping = send(p::format_ping(sn), token);
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.body, "OK");

  auto time = send(p::format_rtdata_time_request(sn), token);
  EXPECT_EQ(time.status, 200);
  auto parsed = p::parse_time_answer(time.body);
  ASSERT_TRUE(parsed.ok()) << time.body;
  EXPECT_EQ(parsed->server_tz, "+0000");

  // The device survives a restart: registry code and session come back from the store.
  restart();
  auto again = send(p::format_getrequest(sn), token);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "OK");
}

TEST_F(ServeTest, RtlogAcknowledgedThenStoredAndDeduplicated) {
  ServerConfig config;
  config.default_tz_minutes = 480;
  start(config);
  const std::string sn = "RTLOG0001";
  const std::string token = handshake(sn);

  std::vector<p::Record> records{rtlog_record(1, "2019-07-22 16:30:01"), rtlog_record(2, "2019-07-22 16:30:05")};
  auto up = send(p::format_rtlog_upload(sn, records), token);
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, "OK");
  // The same upload again (a device that missed our answer re-sends): no duplicate.
  auto again = send(p::format_rtlog_upload(sn, records), token);
  EXPECT_EQ(again.status, 200);

  restart();
  storage::EventFilter filter;
  filter.sn = sn;
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].time_local, "2019-07-22 16:30:01");
  ASSERT_TRUE(events[0].time_utc.has_value());
  EXPECT_EQ(*events[0].time_utc, 1563813001 - 8 * 3600);
  EXPECT_EQ(events[0].pin, "1");
  ASSERT_TRUE(events[0].index.has_value());
  EXPECT_EQ(*events[0].index, 1);
  EXPECT_EQ(stored_event_count(sn), 2);
}

TEST_F(ServeTest, WrongTokenRefusedUnderStrict) {
  start();
  const std::string sn = "TOKEN0001";
  const std::string token = handshake(sn);
  auto bad = send(p::format_getrequest(sn), std::string(32, 'a'));
  EXPECT_EQ(bad.status, 401);
  auto upload = send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}), std::string(32, 'b'));
  EXPECT_EQ(upload.status, 401);
  EXPECT_EQ(stored_event_count(sn), 0);
  auto good = send(p::format_getrequest(sn), token);
  EXPECT_EQ(good.status, 200);
}

TEST_F(ServeTest, WrongTokenAcceptedUnderWarn) {
  ServerConfig config;
  config.token = TokenPolicy::warn;
  start(config);
  const std::string sn = "TOKEN0002";
  handshake(sn);
  auto bad = send(p::format_getrequest(sn), std::string(32, 'a'));
  EXPECT_EQ(bad.status, 200);
}

TEST_F(ServeTest, ApprovePolicyRefusesWith406) {
  ServerConfig config;
  config.registration = RegistrationPolicy::approve;
  start(config);
  const std::string sn = "APPROVE0001";
  auto init = send(p::format_init_request(sn));
  EXPECT_EQ(init.status, 200);
  EXPECT_EQ(init.body, "OK");
  auto reg = send(p::format_registry_request(sn, registry_options()));
  EXPECT_EQ(reg.status, 406);
  EXPECT_FALSE(p::parse_registry_answer(reg.status, reg.body).accepted);
  // Still waiting: uploads are refused, and nothing is stored.
  auto up = send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}));
  EXPECT_EQ(up.status, 401);
  EXPECT_EQ(stored_event_count(sn), 0);
  auto device = stored_device(sn);
  ASSERT_TRUE(device.has_value());
  EXPECT_FALSE(device->approved);
  EXPECT_EQ(device->registry.get_or("DeviceType", ""), "acc");
}

TEST_F(ServeTest, QueuedCommandDeliveredAndClosedByDevicecmd) {
  start();
  const std::string sn = "CMD0001";
  const std::string token = handshake(sn);
  const auto id = enqueue(sn, "CONTROL DEVICE 01010105");
  ASSERT_NE(id, 0);

  auto poll = send(p::format_getrequest(sn), token);
  ASSERT_EQ(poll.status, 200);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok()) << poll.body;
  ASSERT_EQ(commands->size(), 1u);
  const auto& command = commands->front();
  EXPECT_EQ(poll.body.rfind("C:" + command.id + ":CONTROL DEVICE 01010105", 0), 0u) << poll.body;
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::sent);
  EXPECT_EQ(std::to_string(row->wire_id), command.id);

  auto result = p::make_command_result(command, 0);
  auto done = send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(done.body, "OK");
  row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::done);
  ASSERT_TRUE(row->return_code.has_value());
  EXPECT_EQ(*row->return_code, 0);

  // Nothing left to deliver.
  auto empty = send(p::format_getrequest(sn), token);
  EXPECT_EQ(empty.body, "OK");
}

TEST_F(ServeTest, FailedReturnMarksCommandFailed) {
  start();
  const std::string sn = "CMD0002";
  const std::string token = handshake(sn);
  const auto id = enqueue(sn, "DATA DELETE user Pin=1");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  auto result = p::make_command_result(commands->front(), -1001);
  auto done = send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
  EXPECT_EQ(done.status, 200);
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::failed);
  ASSERT_TRUE(row->return_code.has_value());
  EXPECT_EQ(*row->return_code, -1001);
}

TEST_F(ServeTest, MalformedRequestGets400AndServerKeepsServing) {
  start();
  auto no_sn = send_raw(http::test::request("GET", "/iclock/getrequest"));
  EXPECT_EQ(no_sn.status, 400);
  auto unknown = send_raw(http::test::request("GET", "/iclock/nonsense?SN=X1"));
  EXPECT_EQ(unknown.status, 400);
  const std::string sn = "MAL0001";
  const std::string token = handshake(sn);
  auto bad_results = send(p::OutgoingRequest{"POST", "/iclock/devicecmd?SN=" + sn, {}, "garbage without id"}, token);
  EXPECT_EQ(bad_results.status, 400);
  auto poll = send(p::format_getrequest(sn), token);
  EXPECT_EQ(poll.status, 200);
  EXPECT_EQ(poll.body, "OK");
}

TEST_F(ServeTest, UnknownDeviceMustStartWithInit) {
  start();
  auto poll = send(p::format_getrequest("NEVERSEEN"));
  EXPECT_EQ(poll.status, 401);
}

TEST_F(ServeTest, OptionsRtstateAndTabledataStored) {
  start();
  const std::string sn = "DATA0001";
  const std::string token = handshake(sn);
  auto options = send(p::format_options_upload(sn, p::Record{{"IPAddress", "192.168.1.201"}, {"LockCount", "4"}}), token);
  EXPECT_EQ(options.status, 200);
  auto device = stored_device(sn);
  ASSERT_TRUE(device.has_value());
  EXPECT_EQ(device->options.get_or("LockCount", ""), "4");

  auto state = send(p::format_rtstate_upload(
                        sn, {p::Record{{"time", "2019-07-22 16:30:01"}, {"sensor", "01"}, {"relay", "00"}, {"alarm", "0000"}}}),
                    token);
  EXPECT_EQ(state.status, 200);
  auto door = stored_door_state(sn);
  ASSERT_TRUE(door.has_value());
  EXPECT_EQ(door->sensor, "01");

  auto users = send(p::format_tabledata_upload(sn, "user", {p::Record{{"uid", "1"}, {"cardno", "0"}, {"pin", "1"}, {"name", "Ann"}},
                                                            p::Record{{"uid", "2"}, {"cardno", "0"}, {"pin", "2"}, {"name", "Bob"}}}),
                    token);
  EXPECT_EQ(users.status, 200);
  EXPECT_EQ(users.body, "user=2");
  EXPECT_EQ(stored_records(sn, "user", 0).size(), 2u);
}

TEST_F(ServeTest, QuerydataKeptWithItsCommand) {
  start();
  const std::string sn = "QUERY0001";
  const std::string token = handshake(sn);
  const auto id = enqueue(sn, "DATA QUERY tablename=user,fielddesc=*,filter=*");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  const std::string cmdid = commands->front().id;
  auto data = send(p::format_querydata_tabledata(sn, cmdid, "user",
                                                 {p::Record{{"uid", "1"}, {"pin", "1"}}, p::Record{{"uid", "2"}, {"pin", "2"}}}),
                   token);
  EXPECT_EQ(data.status, 200);
  EXPECT_EQ(data.body, "user=2");
  auto kept = stored_command_data(id);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].kind, "tabledata");
  // DATA QUERY's Return is a record count, not a status: 2 means done.
  auto result = p::make_command_result(commands->front(), 2);
  send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::done);
}

TEST_F(ServeTest, PendingThenFinalResult) {
  start();
  const std::string sn = "PEND0001";
  const std::string token = handshake(sn);
  const auto id = enqueue(sn, "CONTROL DEVICE 01010105");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  auto pending = p::make_command_result(commands->front(), -5000);
  send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(pending))}), token);
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::sent);
  auto repeated = p::make_command_result(commands->front(), -7);
  send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(repeated))}), token);
  row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::done);
}

TEST_F(ServeTest, ControlDeviceGetsDefaultExpiry) {
  start();
  const std::string sn = "EXP0001";
  handshake(sn);
  const auto id = enqueue(sn, "CONTROL DEVICE 01010105");
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_GT(row->expires_at, 0);
  EXPECT_LE(row->expires_at - row->created_at, 30);
  const auto other = enqueue(sn, "DATA DELETE user Pin=1");
  EXPECT_EQ(stored_command(other)->expires_at, 0);
}

TEST_F(ServeTest, GetrequestRespectsMaxPackageSize) {
  start();
  const std::string sn = "PKG0001";
  send(p::format_init_request(sn));
  auto options = registry_options();
  options.set("MaxPackageSize", "60");
  auto reg = send(p::format_registry_request(sn, options));
  auto code = p::parse_registry_answer(reg.status, reg.body).registry_code;
  auto push = send(p::format_push_config_request(sn));
  const std::string token =
      p::compute_token(code, sn, std::string(p::parse_config_answer(push.body).get_or("SessionID", "")));
  for (int i = 0; i < 3; ++i) enqueue(sn, "DATA DELETE user Pin=" + std::to_string(i));
  std::size_t delivered = 0;
  for (int poll = 0; poll < 3; ++poll) {
    auto r = send(p::format_getrequest(sn), token);
    auto commands = p::parse_commands(r.body);
    ASSERT_TRUE(commands.ok()) << r.body;
    EXPECT_LE(commands->size(), 1u) << r.body;  // each line is ~40 bytes: one per 60-byte package
    delivered += commands->size();
  }
  EXPECT_EQ(delivered, 3u);
}

TEST_F(ServeTest, CmdFormat1DeviceGetsEnvelope) {
  start();
  const std::string sn = "ENV0001";
  send(p::format_init_request(sn));
  auto options = registry_options();
  options.set("CmdFormat", "1");
  auto reg = send(p::format_registry_request(sn, options));
  auto code = p::parse_registry_answer(reg.status, reg.body).registry_code;
  auto push = send(p::format_push_config_request(sn));
  const std::string token =
      p::compute_token(code, sn, std::string(p::parse_config_answer(push.body).get_or("SessionID", "")));
  enqueue(sn, "CONTROL DEVICE 01010105");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  ASSERT_TRUE(commands->front().envelope.has_value()) << poll.body;
  EXPECT_EQ(commands->front().envelope->sn, sn);
}

TEST_F(ServeTest, RepeatedResultKeepsEarlierOne) {
  start();
  const std::string sn = "REP0001";
  const std::string token = handshake(sn);
  const auto id = enqueue(sn, "DATA DELETE user Pin=1");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  for (std::int64_t code : {0, -7}) {
    auto r = p::make_command_result(commands->front(), code);
    EXPECT_EQ(send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(r))}), token).status, 200);
  }
  auto row = stored_command(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, storage::CommandStatus::done);
  ASSERT_TRUE(row->return_code.has_value());
  EXPECT_EQ(*row->return_code, 0);
}

TEST_F(ServeTest, TransactionQueryRecoversMissingEvents) {
  start();
  const std::string sn = "TRANS0001";
  const std::string token = handshake(sn);
  // Event index 1 arrived through rtlog; the query returns 1 and 2.
  send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}), token);
  const auto id = enqueue(sn, "DATA QUERY tablename=transaction,fielddesc=*,filter=*");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  auto zk = [](int second) {
    return std::to_string(p::encode_zktime(p::CivilTime{2019, 7, 22, 16, 30, second}).value());
  };
  std::vector<p::Record> records{
      p::Record{{"cardno", "0"}, {"pin", "1"}, {"verified", "1"}, {"doorid", "1"}, {"eventtype", "0"},
                {"inoutstate", "0"}, {"time_second", zk(1)}, {"index", "1"}},
      p::Record{{"cardno", "0"}, {"pin", "2"}, {"verified", "1"}, {"doorid", "1"}, {"eventtype", "0"},
                {"inoutstate", "0"}, {"time_second", zk(9)}, {"index", "2"}}};
  auto up = send(p::format_querydata_tabledata(sn, commands->front().id, "transaction", records), token);
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(stored_event_count(sn), 2);
  storage::EventFilter filter;
  filter.sn = sn;
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].time_local, "2019-07-22 16:30:09");
  EXPECT_EQ(events[1].source, "query");
  EXPECT_EQ(stored_command_data(id).size(), 1u);
}

TEST_F(ServeTest, BodyLimitLargerOnlyForAccountCarriers) {
  start();
  const std::string sn = "BIG0001";
  const std::string token = handshake(sn);
  const std::string big(5u << 20, 'x');  // above the transport's 4 MiB default
  auto rtlog = send(p::OutgoingRequest{"POST", "/iclock/cdata?SN=" + sn + "&table=rtlog", {}, big}, token, true);
  EXPECT_EQ(rtlog.status, 413);
  auto account = send(p::OutgoingRequest{"POST", "/iclock/file?SN=" + sn + "&cmdid=1&fileseq=1&contenttype=tgz&table=transaction&count=1", {}, big}, token);
  EXPECT_NE(account.status, 413);  // read whole; refused for what it is (not a tgz), not for its size
}

}  // namespace
}  // namespace zkpush::server
