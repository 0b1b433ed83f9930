// Ingest completeness end to end: photos and templates kept with their content, table records
// upserted by key, ACCOUNT reconciliation (both carriers) reported in the command's result, the
// device's time zone, and presence kept across a stop (fixture in serve_fixture.hpp).
#include <nlohmann/json.hpp>

#include "protocol/account.hpp"
#include "protocol/base64.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using IngestTest = ServeFixture;

std::string binary_photo() {
  std::string bytes = "\xFF\xD8\xFF\xE0";  // a JPEG's start, then every byte value once
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

const storage::DeviceRecord* find_key(const std::vector<storage::DeviceRecord>& records, const std::string& key) {
  for (const auto& r : records)
    if (r.key == key) return &r;
  return nullptr;
}

std::string zk(int second) {
  return std::to_string(p::encode_zktime(p::CivilTime{2019, 7, 22, 16, 30, second}).value());
}

// A transaction.txt record (9.2) of pin `index` at 16:30:<index>.
p::Record transaction(int index) {
  return p::Record{{"cardno", "0"},    {"pin", std::to_string(index)}, {"verified", "1"},
                   {"doorid", "1"},    {"eventtype", "0"},             {"inoutstate", "0"},
                   {"time_second", zk(index)}, {"index", std::to_string(index)}};
}

std::vector<p::Record> transactions(int from, int to) {
  std::vector<p::Record> out;
  for (int i = from; i <= to; ++i) out.push_back(transaction(i));
  return out;
}

std::string rtlog_time(int second) { return "2019-07-22 16:30:" + std::string(second < 10 ? "0" : "") + std::to_string(second); }

TEST_F(IngestTest, PhotosAndTemplatesKeptWithContentBesideTheirMetadata) {
  start();
  const std::string sn = "PHOTO0001";
  const std::string token = handshake(sn);
  const std::string jpeg = binary_photo();
  const std::string b64 = p::base64_encode(jpeg);

  auto userpic = send(p::format_tabledata_upload(
                          sn, "userpic",
                          {p::Record{{"pin", "7"}, {"filename", "7.jpg"}, {"size", std::to_string(b64.size())}, {"content", b64}}}),
                      token);
  EXPECT_EQ(userpic.status, 200);
  EXPECT_EQ(userpic.body, "userpic=1");

  // 7.9: no table word; the manual's example answers ATTPHOTO=1 (its note says biophoto=).
  auto snap = send(p::format_tabledata_upload(sn, "ATTPHOTO",
                                              {p::Record{{"pin", "20181003143617-22.jpg"}, {"sn", sn},
                                                         {"size", std::to_string(jpeg.size())}, {"photo", b64}}}),
                   token);
  EXPECT_EQ(snap.status, 200);
  EXPECT_EQ(snap.body, "ATTPHOTO=1");

  auto bio = send(p::format_tabledata_upload(sn, "biophoto",
                                             {p::Record{{"pin", "7"}, {"filename", "7.jpg"}, {"type", "9"},
                                                        {"size", std::to_string(b64.size())}, {"content", b64}}}),
                  token);
  EXPECT_EQ(bio.body, "biophoto=1");

  const std::string tmpl = "TZNTUzIxAAAD";
  auto fp = send(p::format_tabledata_upload(sn, "templatev10",
                                            {p::Record{{"size", "12"}, {"uid", "7"}, {"pin", "7"}, {"fingerid", "6"},
                                                       {"valid", "1"}, {"template", tmpl}}}),
                 token);
  EXPECT_EQ(fp.body, "templatev10=1");
  auto unified = send(p::format_tabledata_upload(sn, "biodata",
                                                 {p::Record{{"pin", "7"}, {"no", "0"}, {"index", "0"}, {"valid", "1"},
                                                            {"duress", "0"}, {"type", "8"}, {"majorver", "5"},
                                                            {"minorver", "0"}, {"format", "0"}, {"Tmp", tmpl}}}),
                      token);
  EXPECT_EQ(unified.body, "biodata=1");

  auto errors = send(p::format_tabledata_upload(sn, "errorlog",
                                                {p::Record{{"errcode", "D01"}, {"errmsg", ""}, {"dataorigin", "dev"},
                                                           {"cmdid", ""}, {"additional", ""}}}),
                     token);
  EXPECT_EQ(errors.body, "errorlog=1");

  restart();  // what is read back comes from the database file
  EXPECT_EQ(stored_log(sn, "errorlog").size(), 1u);

  auto pics = stored_records(sn, "userpic", 0);
  ASSERT_EQ(pics.size(), 1u);
  EXPECT_EQ(pics[0].key, "7");
  EXPECT_EQ(pics[0].content, jpeg);
  EXPECT_EQ(pics[0].content_field, "content");
  EXPECT_EQ(pics[0].content_encoding, "binary");
  EXPECT_EQ(pics[0].fields.get_or("filename", ""), "7.jpg");
  EXPECT_FALSE(pics[0].fields.has("content"));  // not a second copy inside the fields

  auto snaps = stored_records(sn, "ATTPHOTO", 0);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].key, "20181003143617-22.jpg");
  EXPECT_EQ(snaps[0].content, jpeg);
  EXPECT_EQ(snaps[0].content_field, "photo");
  EXPECT_EQ(snaps[0].fields.get_or("size", ""), std::to_string(jpeg.size()));
  EXPECT_FALSE(snaps[0].fields.has("photo"));

  auto bios = stored_records(sn, "biophoto", 0);
  ASSERT_EQ(bios.size(), 1u);
  EXPECT_EQ(bios[0].key, "7/9");  // PIN + Type
  EXPECT_EQ(bios[0].content, jpeg);

  auto fps = stored_records(sn, "templatev10", 0);
  ASSERT_EQ(fps.size(), 1u);
  EXPECT_EQ(fps[0].key, "7/6");  // Pin + FingerID
  EXPECT_EQ(fps[0].content, tmpl);  // templates stay the base64 a device is given back
  EXPECT_EQ(fps[0].content_encoding, "base64");
  EXPECT_EQ(fps[0].fields.get_or("valid", ""), "1");

  auto unifieds = stored_records(sn, "biodata", 0);
  ASSERT_EQ(unifieds.size(), 1u);
  EXPECT_EQ(unifieds[0].key, "7/8/0/0");  // Pin + Type + No + Index
  EXPECT_EQ(unifieds[0].content, tmpl);
  EXPECT_EQ(unifieds[0].content_field, "Tmp");  // spelling as sent
}

TEST_F(IngestTest, PhotoThatIsNotBase64IsKeptAsSent) {
  start();
  const std::string sn = "PHOTO0002";
  const std::string token = handshake(sn);
  auto snap = send(p::format_tabledata_upload(sn, "ATTPHOTO",
                                              {p::Record{{"pin", "x.jpg"}, {"sn", sn}, {"size", "3"}, {"photo", "not*base64"}}}),
                   token);
  EXPECT_EQ(snap.status, 200);
  auto snaps = stored_records(sn, "ATTPHOTO", 0);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].content, "not*base64");
  EXPECT_EQ(snaps[0].content_encoding, "base64");
}

TEST_F(IngestTest, ReuploadsReplaceByCatalogueKey) {
  start();
  const std::string sn = "UPSERT0001";
  const std::string token = handshake(sn);

  send(p::format_tabledata_upload(sn, "user", {p::Record{{"uid", "1"}, {"pin", "1"}, {"name", "Ann"}}}), token);
  auto renamed = send(p::format_tabledata_upload(sn, "user", {p::Record{{"uid", "1"}, {"pin", "1"}, {"name", "Anna"}}}), token);
  EXPECT_EQ(renamed.body, "user=1");
  auto users = stored_records(sn, "user", 0);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].fields.get_or("name", ""), "Anna");

  // identitycard is keyed by pin: a new card number for the same person replaces the old one.
  send(p::format_tabledata_upload(sn, "identitycard", {p::Record{{"pin", "1"}, {"ID_Num", "A1"}, {"Name", "Ann"}}}), token);
  send(p::format_tabledata_upload(sn, "identitycard", {p::Record{{"pin", "1"}, {"ID_Num", "B2"}, {"Name", "Ann"}}}), token);
  auto cards = stored_records(sn, "identitycard", 0);
  ASSERT_EQ(cards.size(), 1u);
  EXPECT_EQ(cards[0].fields.get_or("ID_Num", ""), "B2");

  // Two fingers of one person are two records; a re-enrolled finger replaces its template.
  auto finger = [](const std::string& id, const std::string& tmpl) {
    return p::Record{{"pin", "1"}, {"fingerid", id}, {"valid", "1"}, {"template", tmpl}};
  };
  send(p::format_tabledata_upload(sn, "templatev10", {finger("0", "AAAA"), finger("1", "BBBB")}), token);
  send(p::format_tabledata_upload(sn, "templatev10", {finger("0", "CCCC")}), token);
  auto fingers = stored_records(sn, "templatev10", 0);
  ASSERT_EQ(fingers.size(), 2u);
  ASSERT_NE(find_key(fingers, "1/0"), nullptr);
  EXPECT_EQ(find_key(fingers, "1/0")->content, "CCCC");
  EXPECT_EQ(find_key(fingers, "1/1")->content, "BBBB");
}

nlohmann::json result_of(storage::Store& store, std::int64_t id) {
  auto row = test::read(store, [id](storage::Reads& r) { return r.commands().get(id); });
  EXPECT_TRUE(row.has_value());
  if (!row) return {};
  auto j = nlohmann::json::parse(row->result, nullptr, false);
  EXPECT_TRUE(j.is_object()) << row->result;
  return j;
}

TEST_F(IngestTest, AccountTgzInsertsMissingEventsAndReportsThem) {
  ServerConfig config;
  config.api_token = "ingest-token";
  start(config);
  const std::string sn = "ACCT0001";
  const std::string token = handshake(sn);
  // rtlog delivered 1 and 3; the device's log holds 1..5.
  EXPECT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, rtlog_time(1)), rtlog_record(3, rtlog_time(3))}), token).status,
            200);
  const auto id = enqueue(sn, "ACCOUNT transaction ContentType=tgz MaxIndex=0");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  const std::string cmdid = commands->front().id;

  // The result first, then the archive: the result is completed when the archive arrives.
  auto result = p::make_command_result(commands->front(), 5);
  EXPECT_EQ(send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token).status, 200);

  auto tgz = p::transaction_tgz(transactions(1, 5));
  ASSERT_TRUE(tgz.ok());
  auto up = send(p::format_querydata_account(sn, cmdid, *tgz, 5), token);
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.body, "transaction=5");
  // Re-posted (the device missed our answer): nothing inserted twice, nothing counted twice.
  EXPECT_EQ(send(p::format_querydata_account(sn, cmdid, *tgz, 5), token).status, 200);

  EXPECT_EQ(stored_event_count(sn), 5);
  storage::EventFilter filter;
  filter.sn = sn;
  auto events = stored_events(filter);
  ASSERT_EQ(events.size(), 5u);
  int from_account = 0;
  for (const auto& e : events) from_account += e.source == "account" ? 1 : 0;
  EXPECT_EQ(from_account, 3);

  auto j = result_of(app_->store(), id);
  EXPECT_EQ(j.value("records", -1), 5) << j.dump();
  EXPECT_EQ(j.value("missing_inserted", -1), 3) << j.dump();
  EXPECT_EQ(stored_command(id)->status, storage::CommandStatus::done);

  auto api = send_raw(http::test::request("GET", "/api/v1/commands/" + std::to_string(id), {},
                                          "Authorization: Bearer ingest-token\r\n"));
  ASSERT_EQ(api.status, 200);
  EXPECT_NE(api.body.find("\"missing_inserted\":3"), std::string::npos) << api.body;
}

TEST_F(IngestTest, AccountControllerFilesInsertMissingEventsAndReportThem) {
  start();
  const std::string sn = "ACCT0002";
  const std::string token = handshake(sn);
  EXPECT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(2, rtlog_time(2)), rtlog_record(5, rtlog_time(5))}), token).status,
            200);
  const auto id = enqueue(sn, "ACCOUNT transaction MaxIndex=0");
  auto poll = send(p::format_getrequest(sn), token);
  auto commands = p::parse_commands(poll.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << poll.body;
  const std::string cmdid = commands->front().id;

  auto overview = send(p::format_account_overview(sn, cmdid, p::account_overview_record(6, "transaction.tgz", 2)), token);
  EXPECT_EQ(overview.status, 200);
  auto first = p::transaction_tgz(transactions(1, 3));
  auto second = p::transaction_tgz(transactions(4, 6));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(send(p::format_account_file(sn, cmdid, 1, 3, *first), token).status, 200);
  EXPECT_EQ(send(p::format_account_file(sn, cmdid, 1, 3, *first), token).status, 200);  // re-sent
  EXPECT_EQ(send(p::format_account_file(sn, cmdid, 2, 3, *second), token).status, 200);
  auto result = p::make_command_result(commands->front(), 6);
  EXPECT_EQ(send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token).status, 200);

  EXPECT_EQ(stored_event_count(sn), 6);
  auto j = result_of(app_->store(), id);
  EXPECT_EQ(j.value("records", -1), 6) << j.dump();
  EXPECT_EQ(j.value("missing_inserted", -1), 4) << j.dump();
  EXPECT_EQ(j.value("expected_records", -1), 6) << j.dump();

  // rtlog sending what ACCOUNT already recovered creates no duplicate either.
  send(p::format_rtlog_upload(sn, {rtlog_record(6, rtlog_time(6))}), token);
  EXPECT_EQ(stored_event_count(sn), 6);
}

TEST_F(IngestTest, AccountArchiveForAnUnknownCommandStillRecoversEvents) {
  start();
  const std::string sn = "ACCT0004";
  const std::string token = handshake(sn);
  auto tgz = p::transaction_tgz(transactions(1, 2));
  ASSERT_TRUE(tgz.ok());
  EXPECT_EQ(send(p::format_account_file(sn, "999999", 1, 2, *tgz), token).status, 200);
  EXPECT_EQ(stored_event_count(sn), 2);
}

TEST_F(IngestTest, CorruptAccountArchiveRefusedAndNothingStored) {
  start();
  const std::string sn = "ACCT0003";
  const std::string token = handshake(sn);
  enqueue(sn, "ACCOUNT transaction MaxIndex=0");
  auto commands = p::parse_commands(send(p::format_getrequest(sn), token).body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u);
  auto tgz = p::transaction_tgz(transactions(1, 3));
  ASSERT_TRUE(tgz.ok());
  auto cut = send(p::format_account_file(sn, commands->front().id, 1, 3, tgz->substr(0, tgz->size() / 2)), token);
  EXPECT_EQ(cut.status, 400) << cut.body;
  EXPECT_EQ(stored_event_count(sn), 0);
}

class ZoneTest : public ServeFixture {
 protected:
  std::string handshake_with_options(const std::string& sn, p::Record extra) {
    send(p::format_init_request(sn));
    auto options = registry_options();
    for (const auto& field : extra.fields) options.set(field.key, field.value);
    auto reg = send(p::format_registry_request(sn, options));
    auto code = p::parse_registry_answer(reg.status, reg.body).registry_code;
    auto push = send(p::format_push_config_request(sn));
    return p::compute_token(code, sn, std::string(p::parse_config_answer(push.body).get_or("SessionID", "")));
  }
  std::optional<std::int64_t> utc_of_latest_event(const std::string& sn) {
    storage::EventFilter filter;
    filter.sn = sn;
    auto events = stored_events(filter);
    if (events.empty()) return std::nullopt;
    return events.back().time_utc;
  }
};

constexpr std::int64_t kLocal = 1563813001;  // 2019-07-22 16:30:01 read as if it were UTC

TEST_F(ZoneTest, ServerDefaultWhenTheDeviceHasNoZone) {
  ServerConfig config;
  config.default_tz_minutes = 60;
  start(config);
  const std::string token = handshake_with_options("TZ0001", {});
  send(p::format_rtlog_upload("TZ0001", {rtlog_record(1, "2019-07-22 16:30:01")}), token);
  EXPECT_EQ(utc_of_latest_event("TZ0001"), kLocal - 3600);
}

TEST_F(ZoneTest, DeviceMachineTZOptionWins) {
  ServerConfig config;
  config.default_tz_minutes = 60;
  start(config);
  const std::string sn = "TZ0002";
  const std::string token = handshake_with_options(sn, p::Record{{"MachineTZ", "+0530"}});
  send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}), token);
  EXPECT_EQ(utc_of_latest_event(sn), kLocal - 330 * 60);
  // The zone also comes with a later options upload; a value without a sign is not trusted.
  send(p::format_options_upload(sn, p::Record{{"MachineTZ", "-0300"}}), token);
  send(p::format_rtlog_upload(sn, {rtlog_record(2, "2019-07-22 16:30:01")}), token);
  EXPECT_EQ(utc_of_latest_event(sn), kLocal + 3 * 3600);
  send(p::format_options_upload(sn, p::Record{{"MachineTZ", "8"}}), token);
  send(p::format_rtlog_upload(sn, {rtlog_record(3, "2019-07-22 16:30:01")}), token);
  EXPECT_EQ(utc_of_latest_event(sn), kLocal - 3600);
}

TEST_F(ZoneTest, ServerSideZoneOfTheDeviceWinsOverItsOption) {
  start();
  const std::string sn = "TZ0003";
  const std::string token = handshake_with_options(sn, p::Record{{"MachineTZ", "+0530"}});
  storage::DeviceSettings settings;
  settings.time_zone = "-0800";
  test::write(app_->store(), [&](storage::Transaction& tx) { tx.devices().update_settings(sn, settings); });
  ASSERT_FALSE(HasFailure());
  restart();  // the device cache reads the zone from the store

  send(p::format_rtlog_upload(sn, {rtlog_record(1, "2019-07-22 16:30:01")}), token);
  EXPECT_EQ(utc_of_latest_event(sn), kLocal + 8 * 3600);
  // Recovered ACCOUNT records get the same zone.
  enqueue(sn, "ACCOUNT transaction MaxIndex=0");
  auto commands = p::parse_commands(send(p::format_getrequest(sn), token).body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u);
  auto tgz = p::transaction_tgz({transaction(9)});
  ASSERT_TRUE(tgz.ok());
  EXPECT_EQ(send(p::format_account_file(sn, commands->front().id, 1, 1, *tgz), token).status, 200);
  EXPECT_EQ(utc_of_latest_event(sn), kLocal + 8 + 8 * 3600);
  auto time = p::parse_time_answer(send(p::format_rtdata_time_request(sn), token).body);
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->server_tz, "-0800");
}

TEST_F(IngestTest, PresenceFlushedAtStop) {
  ServerConfig config;
  config.presence_interval = 3600;  // only the flush at stop can write it
  start(config);
  const std::string sn = "SEEN0001";
  const std::string token = handshake(sn);
  const auto saved = stored_device(sn)->last_seen;
  // Let the clock's second move on, so that the poll's presence differs from what the handshake saved.
  while (unix_now() <= saved) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before_poll = unix_now();
  EXPECT_EQ(send(p::format_getrequest(sn), token).status, 200);
  EXPECT_EQ(stored_device(sn)->last_seen, saved);  // kept in memory while running
  restart();
  auto device = stored_device(sn);
  ASSERT_TRUE(device.has_value());
  EXPECT_GE(device->last_seen, before_poll);
}

}  // namespace
}  // namespace zkpush::server
