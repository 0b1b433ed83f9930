// What devices upload about themselves, read back through the JSON API end to end (docs/serve.md
// "JSON API"): table records listed, filtered and paged, a snapshot served as the exact JPEG it was,
// a template as its base64 text, the device log newest first, the door-state history decoded, the
// options with their sources; the errors of each route; all of it a viewer's. A device driven with
// the protocol formatters uploads everything (fixture in serve_fixture.hpp).
#include <nlohmann/json.hpp>

#include <set>

#include "protocol/base64.hpp"
#include "server/serve_fixture.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kDeviceDataAdmin = "device-data-admin-token";

// A small JPEG as a camera writes it: SOI, a JFIF APP0 segment, then every byte value once (NULs and
// bytes that are not UTF-8 included), and EOI.
std::string device_data_jpeg() {
  std::string bytes("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 20);
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes + "\xFF\xD9";
}

std::set<std::string> device_data_keys(const json& object) {
  std::set<std::string> out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

const std::set<std::string> kDeviceRecordKeys{"id",           "sn",          "table",       "key",       "fields",
                                        "content_field", "content_encoding", "content_bytes", "content_url",
                                        "updated_at"};
const std::set<std::string> kDeviceLogEntryKeys{"id", "sn", "kind", "data", "fields", "decoded", "meaning", "received_at"};

class DeviceDataApiTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    ServerConfig config;
    config.api_token = kDeviceDataAdmin;
    start(config);
  }
  RawResponse get(const std::string& target, const std::string& token = kDeviceDataAdmin) {
    return send_raw(http::test::request("GET", target, "", "Authorization: Bearer " + token + "\r\n"));
  }
  // A 200 JSON answer's body.
  json listed(const std::string& target, const std::string& token = kDeviceDataAdmin) {
    auto r = get(target, token);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  // An error answer: its status, and {"error", "code", "field"} with the field at fault.
  void refused(const std::string& target, int status, const std::string& code, const std::string& field = "") {
    auto r = get(target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("code", ""), code) << r.body;
    EXPECT_TRUE(j.contains("error") && j["error"].is_string()) << r.body;
    if (field.empty()) {
      EXPECT_FALSE(j.contains("field")) << r.body;
    } else {
      EXPECT_EQ(j.value("field", ""), field) << r.body;
    }
  }
  std::string viewer_token() {
    const std::string body = json{{"name", "records reader"}, {"role", "viewer"}}.dump();
    auto r = send_raw(http::test::request(
        "POST", "/api/v1/tokens", body, "Authorization: Bearer " + kDeviceDataAdmin + "\r\nContent-Type: application/json\r\n"));
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false).value("token", "");
  }
  void upload(const p::OutgoingRequest& request, const std::string& token, const std::string& answer) {
    auto r = send(request, token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, answer);
  }
};

std::vector<std::string> device_data_ids_of(const json& list, const char* field) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item[field].get<std::string>());
  return out;
}

TEST_F(DeviceDataApiTest, RecordsAreListedFilteredPagedAndTheirPhotosServedAsImages) {
  const std::string sn = "READ0001";
  const std::string token = handshake(sn);
  const std::string jpeg = device_data_jpeg();
  upload(p::format_tabledata_upload(sn, "user", {p::Record{{"uid", "1"}, {"pin", "1"}, {"name", "Ann"}},
                                                 p::Record{{"uid", "2"}, {"pin", "2"}, {"name", "Bob"}},
                                                 p::Record{{"uid", "3"}, {"pin", "3"}, {"name", "Cy"}}}),
         token, "user=3");
  upload(p::format_tabledata_upload(sn, "ATTPHOTO", {p::Record{{"pin", "20190722163001-1.jpg"}, {"sn", sn},
                                                               {"size", std::to_string(jpeg.size())},
                                                               {"photo", p::base64_encode(jpeg)}}}),
         token, "ATTPHOTO=1");
  upload(p::format_tabledata_upload(sn, "templatev10", {p::Record{{"pin", "1"}, {"fingerid", "6"}, {"valid", "1"},
                                                                  {"template", "TZNTUzIxAAAD"}}}),
         token, "templatev10=1");
  // A re-upload replaces Bob's record and keeps its place (its id).
  upload(p::format_tabledata_upload(sn, "user", {p::Record{{"uid", "2"}, {"pin", "2"}, {"name", "Bobby"}}}), token, "user=1");

  auto all = listed("/api/v1/devices/" + sn + "/records");
  ASSERT_EQ(all.size(), 5u) << all;
  for (const auto& r : all) EXPECT_EQ(device_data_keys(r), kDeviceRecordKeys) << r;
  EXPECT_EQ(device_data_ids_of(all, "key"),
            (std::vector<std::string>{"1", "2", "3", "20190722163001-1.jpg", "1/6"}));  // oldest first
  EXPECT_EQ(all[1]["fields"], (json{{"uid", "2"}, {"pin", "2"}, {"name", "Bobby"}}));
  EXPECT_EQ(all[1]["table"], "user");
  EXPECT_EQ(all[1]["sn"], sn);
  EXPECT_TRUE(all[1]["content_url"].is_null());
  EXPECT_TRUE(all[1]["content_field"].is_null());
  EXPECT_EQ(all[1]["content_bytes"], 0);
  EXPECT_TRUE(all[1]["updated_at"].is_number_integer());

  // The snapshot: its metadata as sent, the photo by its URL.
  const auto& snap = all[3];
  EXPECT_EQ(snap["table"], "ATTPHOTO");
  EXPECT_EQ(snap["fields"], (json{{"pin", "20190722163001-1.jpg"}, {"sn", sn}, {"size", std::to_string(jpeg.size())}}));
  EXPECT_EQ(snap["content_field"], "photo");
  EXPECT_EQ(snap["content_encoding"], "binary");
  EXPECT_EQ(snap["content_bytes"], jpeg.size());
  const std::string photo_url = "/api/v1/devices/" + sn + "/records/" + std::to_string(snap["id"].get<std::int64_t>()) + "/content";
  EXPECT_EQ(snap["content_url"], photo_url);
  auto photo = get(photo_url);
  EXPECT_EQ(photo.status, 200);
  EXPECT_EQ(photo.header("Content-Type").value_or(""), "image/jpeg");
  EXPECT_EQ(photo.body, jpeg);  // the exact bytes

  // The template: the base64 text a device is given back.
  EXPECT_EQ(all[4]["content_encoding"], "base64");
  EXPECT_EQ(all[4]["content_field"], "template");
  auto tmpl = get(all[4]["content_url"].get<std::string>());
  EXPECT_EQ(tmpl.status, 200);
  EXPECT_EQ(tmpl.header("Content-Type").value_or(""), "text/plain");
  EXPECT_EQ(tmpl.body, "TZNTUzIxAAAD");

  // Filtered by table (any case) and key; paged by the last id seen.
  EXPECT_EQ(device_data_ids_of(listed("/api/v1/devices/" + sn + "/records?table=USER"), "key"),
            (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(device_data_ids_of(listed("/api/v1/devices/" + sn + "/records?table=attphoto"), "key"),
            (std::vector<std::string>{"20190722163001-1.jpg"}));
  EXPECT_EQ(device_data_ids_of(listed("/api/v1/devices/" + sn + "/records?table=templatev10&key=1/6"), "key"),
            (std::vector<std::string>{"1/6"}));
  auto first = listed("/api/v1/devices/" + sn + "/records?table=user&limit=2");
  EXPECT_EQ(device_data_ids_of(first, "key"), (std::vector<std::string>{"1", "2"}));
  auto rest = listed("/api/v1/devices/" + sn + "/records?table=user&limit=2&after_id=" +
                     std::to_string(first[1]["id"].get<std::int64_t>()));
  EXPECT_EQ(device_data_ids_of(rest, "key"), (std::vector<std::string>{"3"}));
  EXPECT_TRUE(listed("/api/v1/devices/" + sn + "/records?table=biophoto").empty());

  // Another device's records are its own.
  const std::string other = "READ0002";
  upload(p::format_tabledata_upload(other, "user", {p::Record{{"uid", "1"}, {"pin", "1"}, {"name", "Dee"}}}), handshake(other),
         "user=1");
  auto others = listed("/api/v1/devices/" + other + "/records");
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0]["fields"]["name"], "Dee");
  EXPECT_EQ(listed("/api/v1/devices/" + sn + "/records").size(), 5u);

  // Errors: the device, the record, its content, and every parameter.
  refused("/api/v1/devices/NOSUCH/records", 404, "not_found");
  refused("/api/v1/devices/NOSUCH/records/1/content", 404, "not_found");
  refused("/api/v1/devices/" + sn + "/records/" + std::to_string(others[0]["id"].get<std::int64_t>()) + "/content", 404,
          "not_found");  // a record of READ0002
  refused("/api/v1/devices/" + sn + "/records/" + std::to_string(all[0]["id"].get<std::int64_t>()) + "/content", 404,
          "not_found");  // a user: no photo
  refused("/api/v1/devices/" + sn + "/records/999999/content", 404, "not_found");
  refused("/api/v1/devices/" + sn + "/records/abc/content", 400, "invalid");
  refused("/api/v1/devices/" + sn + "/records?limit=0", 400, "invalid", "limit");
  refused("/api/v1/devices/" + sn + "/records?limit=ten", 400, "invalid", "limit");
  refused("/api/v1/devices/" + sn + "/records?after_id=x", 400, "invalid", "after_id");
  refused("/api/v1/devices/" + sn + "/records?table=nosuchtable", 400, "invalid", "table");
  // An empty parameter counts as absent, as everywhere in the API.
  EXPECT_EQ(listed("/api/v1/devices/" + sn + "/records?table=&limit=&after_id=").size(), 5u);

  // A viewer reads all of it.
  const std::string viewer = viewer_token();
  EXPECT_EQ(listed("/api/v1/devices/" + sn + "/records", viewer).size(), 5u);
  auto seen = get(photo_url, viewer);
  EXPECT_EQ(seen.status, 200);
  EXPECT_EQ(seen.body, jpeg);
}

TEST_F(DeviceDataApiTest, LogIsListedNewestFirstParsedAndPagedByKind) {
  const std::string sn = "LOG0001";
  const std::string token = handshake(sn);
  upload(p::format_tabledata_upload(sn, "errorlog", {p::Record{{"errcode", "D01E0001"}, {"errmsg", ""}, {"dataorigin", "dev"},
                                                               {"cmdid", ""}, {"additional", ""}}}),
         token, "errorlog=1");
  auto ir = send(p::format_irstate_upload(sn, {p::Record{{"irstate", "1"}, {"irsensecount", "2"}}}), token);
  EXPECT_EQ(ir.status, 200) << ir.body;
  upload(p::format_tabledata_upload(sn, "errorlog", {p::Record{{"errcode", "D02"}, {"errmsg", "disk"}, {"dataorigin", "dev"},
                                                               {"cmdid", ""}, {"additional", ""}}}),
         token, "errorlog=1");

  auto log = listed("/api/v1/devices/" + sn + "/log");
  ASSERT_EQ(log.size(), 3u) << log;
  for (const auto& e : log) EXPECT_EQ(device_data_keys(e), kDeviceLogEntryKeys) << e;
  EXPECT_EQ(device_data_ids_of(log, "kind"), (std::vector<std::string>{"errorlog", "irstate", "errorlog"}));  // newest first
  EXPECT_EQ(log[0]["fields"],
            (json{{"errcode", "D02"}, {"errmsg", "disk"}, {"dataorigin", "dev"}, {"cmdid", ""}, {"additional", ""}}));
  EXPECT_NE(log[0]["data"].get<std::string>().find("errcode=D02"), std::string::npos) << log[0];
  EXPECT_EQ(log[1]["fields"], (json{{"irstate", "1"}, {"irsensecount", "2"}}));
  EXPECT_EQ(log[0]["sn"], sn);
  EXPECT_TRUE(log[0]["received_at"].is_number_integer());
  EXPECT_GT(log[0]["id"].get<std::int64_t>(), log[1]["id"].get<std::int64_t>());

  auto errors = listed("/api/v1/devices/" + sn + "/log?kind=errorlog");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0]["fields"]["errcode"], "D02");
  EXPECT_EQ(errors[1]["fields"]["errcode"], "D01E0001");
  // The Appendix 17 meaning next to the code, and the code's parts; null for a code it does not list.
  EXPECT_EQ(errors[1]["meaning"], "Face detection failed");
  EXPECT_EQ(errors[1]["decoded"]["errcode"]["module"], "PUSH communication");
  EXPECT_EQ(errors[1]["decoded"]["errcode"]["type"], "error");
  EXPECT_EQ(errors[1]["decoded"]["errcode"]["value"], 1);
  EXPECT_TRUE(errors[0]["meaning"].is_null()) << errors[0];
  EXPECT_EQ(log[1]["decoded"]["irsensecount"], 2);
  EXPECT_TRUE(log[1]["meaning"].is_null());
  auto newest = listed("/api/v1/devices/" + sn + "/log?limit=1");
  ASSERT_EQ(newest.size(), 1u);
  auto older = listed("/api/v1/devices/" + sn + "/log?limit=5&before_id=" + std::to_string(newest[0]["id"].get<std::int64_t>()));
  EXPECT_EQ(device_data_ids_of(older, "kind"), (std::vector<std::string>{"irstate", "errorlog"}));

  refused("/api/v1/devices/NOSUCH/log", 404, "not_found");
  refused("/api/v1/devices/" + sn + "/log?kind=transaction", 400, "invalid", "kind");
  refused("/api/v1/devices/" + sn + "/log?before_id=-3", 400, "invalid", "before_id");
  refused("/api/v1/devices/" + sn + "/log?limit=0", 400, "invalid", "limit");
  EXPECT_EQ(listed("/api/v1/devices/" + sn + "/log", viewer_token()).size(), 3u);
}

// The manual's error log example (7.12) as printed, under our device's SN (its Content-Length is the
// manual's copy error: the formatter counts the body): stored, answered errorlog=1, read back with
// the Appendix 17 meaning of D01E0001.
TEST_F(DeviceDataApiTest, TheManualsErrorLogExampleIsReadBackWithItsMeaning) {
  const std::string sn = "ERRLOG01";
  const std::string token = handshake(sn);
  const auto fixture = zkpush::testing::load_fixture("7.12-upload-errorlog.txt");
  const std::string block = fixture.blocks_of("REQUEST").at(0)->content;
  const std::string first = block.substr(0, block.find('\n'));
  p::OutgoingRequest request;
  request.method = "POST";
  request.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
  request.target.replace(request.target.find("5165181600015"), 13, sn);
  request.body = block.substr(block.find("\n\n") + 2);
  request.headers.push_back({"Content-Type", std::string(p::kPushContentType)});
  ASSERT_EQ(request.body.rfind("errorlog errcode=D01E0001\t", 0), 0u) << request.body;
  upload(request, token, "errorlog=1");
  auto log = listed("/api/v1/devices/" + sn + "/log?kind=errorlog");
  ASSERT_EQ(log.size(), 1u) << log;
  EXPECT_EQ(log[0]["meaning"], "Face detection failed");
  EXPECT_EQ(log[0]["fields"]["errcode"], "D01E0001");
  EXPECT_EQ(log[0]["fields"]["dataorigin"], "cmd");
  EXPECT_EQ(log[0]["fields"]["cmdid"], "123");
  EXPECT_EQ(log[0]["decoded"]["errcode"]["origin"], "device");
  EXPECT_EQ(log[0]["decoded"]["errcode"]["module"], "PUSH communication");
}

TEST_F(DeviceDataApiTest, DoorStateHistoryIsDecodedNewestFirstAndOptionsSayWhereTheyCameFrom) {
  const std::string sn = "HIST0001";
  const std::string token = handshake(sn);
  auto options = send(p::format_options_upload(sn, p::Record{{"LockCount", "2"}, {"IPAddress", "192.168.1.201"}}), token);
  EXPECT_EQ(options.status, 200);
  auto state = [&](const std::string& time, const std::string& sensor) {
    auto r = send(p::format_rtstate_upload(sn, {p::Record{{"time", time}, {"sensor", sensor}, {"relay", "00"}, {"alarm", "0000000000000000"}}}),
                  token);
    EXPECT_EQ(r.status, 200) << r.body;
  };
  state("2019-07-22 16:30:01", "05");  // both doors closed (01 each)
  state("2019-07-22 16:30:05", "05");  // the same again: no change
  state("2019-07-22 16:30:09", "06");  // door 1 open (bits 10), door 2 closed (01)

  auto history = listed("/api/v1/devices/" + sn + "/state/history");
  ASSERT_EQ(history.size(), 2u) << history;
  EXPECT_EQ(history[0]["time"], "2019-07-22 16:30:09");
  EXPECT_EQ(history[0]["sensor"], "06");
  EXPECT_EQ(history[0]["sn"], sn);
  ASSERT_EQ(history[0]["doors"].size(), 2u);  // LockCount
  EXPECT_EQ(history[0]["doors"][0]["sensor"], "open");
  EXPECT_EQ(history[0]["doors"][1]["sensor"], "closed");
  EXPECT_EQ(history[1]["time"], "2019-07-22 16:30:01");
  EXPECT_EQ(history[1]["doors"][0]["sensor"], "closed");
  EXPECT_GT(history[0]["id"].get<std::int64_t>(), history[1]["id"].get<std::int64_t>());
  // The shape of GET .../state, with the change's id and device first.
  auto current = listed("/api/v1/devices/" + sn + "/state");
  json same = history[0];
  same.erase("id");
  same.erase("sn");
  EXPECT_EQ(same, current);
  auto page = listed("/api/v1/devices/" + sn + "/state/history?limit=1&before_id=" +
                     std::to_string(history[0]["id"].get<std::int64_t>()));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0]["id"], history[1]["id"]);
  refused("/api/v1/devices/NOSUCH/state/history", 404, "not_found");
  refused("/api/v1/devices/" + sn + "/state/history?before_id=x", 400, "invalid", "before_id");
  refused("/api/v1/devices/" + sn + "/state/history?limit=-1", 400, "invalid", "limit");

  auto stored = listed("/api/v1/devices/" + sn + "/options");
  ASSERT_TRUE(stored.is_object()) << stored;
  EXPECT_EQ(stored["LockCount"]["value"], "2");
  EXPECT_EQ(stored["LockCount"]["source"], "options");
  EXPECT_TRUE(stored["LockCount"]["updated_at"].is_number_integer());
  EXPECT_EQ(stored["FirmVer"], (json{{"value", "AC Ver 5.7.8.3033"}, {"source", "registry"},
                                     {"updated_at", stored["FirmVer"]["updated_at"]}}));
  EXPECT_EQ(stored["~DeviceName"]["value"], "inBio460");  // spelt as the device sent it
  // Every option of the device, none more.
  auto device = listed("/api/v1/devices/" + sn);
  ASSERT_EQ(stored.size(), device["options"].size());
  for (const auto& [key, value] : device["options"].items()) EXPECT_EQ(stored[key]["value"], value) << key;
  refused("/api/v1/devices/NOSUCH/options", 404, "not_found");
  EXPECT_EQ(listed("/api/v1/devices/" + sn + "/options", viewer_token()), stored);
}

}  // namespace
}  // namespace zkpush::server
