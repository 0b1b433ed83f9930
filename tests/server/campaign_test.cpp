// Firmware campaigns end to end (docs/serve.md "Firmware campaigns"): a file uploaded through the
// API, a campaign on three emulated panels that each pick another UPGRADE method (1 base64, 2 raw,
// 3 ranged), followed through GET /api/v1/campaigns/{id} to success with the bytes each panel was
// sent; a file changed on disk while its UPGRADE waited for an offline panel ends in the panel's
// checksum error; cancelling; and the API's refusals. Real server, real sockets, real emulator.
#include <nlohmann/json.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "emulator/device_session.hpp"
#include "emulator/session_harness.hpp"
#include "emulator/profiles.hpp"
#include "emulator/stats.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;

const std::string kCampaignToken = "campaign-api-token";

// A face terminal without ranged downloads and of no controller type: "auto" gives it method 2.
constexpr emulator::Profile kPlainTerminal{
    "plain", "terminal without ranged upgrade", 1, 1, false,
    "DeviceType=acc,~DeviceName=Plain,FirmVer=PL Ver 1.0.0,PushVersion=Ver 2.0.40-20230301,CommType=ethernet,"
    "MaxPackageSize=2048000,LockCount=1,ReaderCount=1,AuxInCount=1,AuxOutCount=1,MachineType=101,"
    "IPAddress=${IP},NetMask=255.255.255.0,GATEIPAddress=${GW},CmdFormat=0,SubcontractingUpgradeFunOn=0"};

// Emulated panels on one io_context thread; their state is reached through on_panels().
class Panels {
 public:
  Panels() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Panels() {
    for (std::size_t i = 0; i < sessions_.size(); ++i) stop(i);
    work_.reset();
    thread_.join();
  }
  // Runs f on the panels' thread and waits for it.
  template <typename F>
  auto on_panels(F f) {
    return emulator::e2e::run_on(io_, std::move(f));
  }
  std::size_t start(std::uint16_t port, const std::string& sn, const emulator::Profile* profile) {
    emulator::SessionOptions o;
    o.server = emulator::ServerAddress{"127.0.0.1", port};
    o.profile = profile;
    o.sn = sn;
    o.poll_interval = std::chrono::milliseconds(100);
    auto session = std::make_shared<emulator::DeviceSession>(io_.get_executor(), o, stats_);
    on_panels([&session] { session->start(); });
    sessions_.push_back(session);
    return sessions_.size() - 1;
  }
  void stop(std::size_t i) {
    if (!sessions_[i]) return;
    auto session = sessions_[i];
    on_panels([&session] { session->stop(); });
    sessions_[i].reset();
  }
  bool online(std::size_t i) {
    auto session = sessions_[i];
    return on_panels([&session] { return session->online(); });
  }
  std::string firmware(std::size_t i) {
    auto session = sessions_[i];
    return on_panels([&session] { return std::string(session->model().options().get_or("FirmVer", "")); });
  }

 private:
  emulator::Stats stats_;  // before the context, whose handlers may still refer to it when it goes
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::shared_ptr<emulator::DeviceSession>> sessions_;
  std::thread thread_;
};

// Polls `condition` until it holds, within a bound far above what the flows need (not a timing
// assertion: a broken flow fails instead of hanging).
template <typename F>
bool campaign_eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  std::mt19937 random(seed);
  for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
  return bytes;
}

class CampaignTest : public ServeFixture {
 protected:
  void TearDown() override {
    panels_.reset();
    ServeFixture::TearDown();
  }
  void start_server(ServerConfig config = {}) {
    config.api_token = kCampaignToken;
    start(config);
    panels_ = std::make_unique<Panels>();
  }
  std::size_t start_panel(const std::string& sn, const emulator::Profile* profile) {
    const auto i = panels_->start(app_->port(), sn, profile);
    EXPECT_TRUE(campaign_eventually([&] { return panels_->online(i); })) << sn;
    return i;
  }
  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {},
                  const std::string& content_type = "application/json") {
    std::string headers = "Authorization: Bearer " + kCampaignToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: " + content_type + "\r\n";
    return send_raw(http::test::request(method, target, body, headers));
  }
  json api_json(const std::string& method, const std::string& target, const std::string& body, int status) {
    auto r = api(method, target, body);
    EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j.is_discarded() ? json() : j;
  }
  json upload(const std::string& name, const std::string& bytes) {
    auto r = api("POST", "/api/v1/files?name=" + name, bytes, "application/octet-stream");
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  std::string url_base() const { return "http://127.0.0.1:" + std::to_string(app_->port()); }
  json campaign(std::int64_t id) { return api_json("GET", "/api/v1/campaigns/" + std::to_string(id), "", 200); }
  // The campaign once none of its panels is queued, sent or downloading any more.
  json finished(std::int64_t id) {
    json c;
    EXPECT_TRUE(campaign_eventually([&] {
      c = campaign(id);
      return c.value("state", "") != "running";
    })) << c.dump();
    return c;
  }
  static const json& target_of(const json& campaign, const std::string& sn) {
    for (const auto& t : campaign["targets"])
      if (t["sn"] == sn) return t;
    static const json none;
    ADD_FAILURE() << sn << " not in " << campaign.dump();
    return none;
  }

  std::unique_ptr<Panels> panels_;
};

TEST_F(CampaignTest, ThreePanelsUpgradeByTheirOwnMethodsWithProgress) {
  start_server();
  const auto c3 = start_panel("CAMP0001", emulator::find_profile("c3-100"));  // MachineType 1: method 1
  const auto plain = start_panel("CAMP0002", &kPlainTerminal);               // method 2
  const auto inbio = start_panel("CAMP0003", emulator::find_profile("inbio460"));  // ranges: method 3

  // 2.5 MiB and a bit: method 3 pulls it in three 1 MiB ranges.
  const std::string bytes = random_bytes((5u << 20) / 2 + 4321, 11);
  const std::string md5 = p::md5_hex(bytes);
  auto stored = upload("emfw.cfg", bytes);
  EXPECT_EQ(stored["name"], "emfw.cfg");
  EXPECT_EQ(stored["size"], bytes.size());
  EXPECT_EQ(stored["md5"], md5);
  {
    std::ifstream in(dir_ / "files" / "emfw.cfg", std::ios::binary);
    const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(on_disk == bytes);
  }
  auto listed = api_json("GET", "/api/v1/files", "", 200);
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["md5"], md5);
  EXPECT_EQ(listed[0]["size"], bytes.size());

  auto created = api_json("POST", "/api/v1/campaigns",
                          json{{"file", "emfw.cfg"},
                               {"devices", {"CAMP0001", "CAMP0002", "CAMP0003"}},
                               {"method", "auto"},
                               {"url_base", url_base()}}
                              .dump(),
                          201);
  ASSERT_TRUE(created.contains("id")) << created.dump();
  EXPECT_EQ(created["md5"], md5);
  EXPECT_EQ(target_of(created, "CAMP0001")["method"], 1);
  EXPECT_EQ(target_of(created, "CAMP0002")["method"], 2);
  EXPECT_EQ(target_of(created, "CAMP0003")["method"], 3);
  EXPECT_EQ(target_of(created, "CAMP0001")["url"], url_base() + "/files/base64/emfw.cfg");
  EXPECT_EQ(target_of(created, "CAMP0003")["url"], url_base() + "/files/emfw.cfg?SN=CAMP0003");
  // Each panel's line is its method's, with the file's MD5 and size.
  for (const auto& t : created["targets"]) {
    auto row = stored_command(t["command_id"].get<std::int64_t>());
    ASSERT_TRUE(row);
    EXPECT_NE(row->line.find("checksum=" + md5), std::string::npos) << row->line;
    EXPECT_NE(row->line.find("size=" + std::to_string(bytes.size())), std::string::npos) << row->line;
    EXPECT_EQ(row->verb, "UPGRADE");
  }
  EXPECT_NE(stored_command(target_of(created, "CAMP0002")["command_id"].get<std::int64_t>())->line.find("type=1,"),
            std::string::npos);

  auto done = finished(created["id"].get<std::int64_t>());
  EXPECT_EQ(done["state"], "finished") << done.dump();
  EXPECT_EQ(done["counts"]["succeeded"], 3) << done.dump();
  for (const auto& t : done["targets"]) {
    EXPECT_EQ(t["state"], "succeeded") << t.dump();
    EXPECT_EQ(t["return"], 0) << t.dump();
    // Every byte of the file went to each panel exactly once (base64 counted as the file's bytes).
    EXPECT_EQ(t["bytes"], bytes.size()) << t.dump();
    EXPECT_EQ(t["progress"], 100) << t.dump();
  }
  // The panels run the new firmware, and the server learnt it.
  const std::string version = "ZK-EMU upgraded " + md5.substr(0, 8);
  for (auto i : {c3, plain, inbio}) EXPECT_EQ(panels_->firmware(i), version);
  for (const std::string sn : {"CAMP0001", "CAMP0002", "CAMP0003"}) {
    EXPECT_TRUE(campaign_eventually([&] {
      return api_json("GET", "/api/v1/devices/" + sn, "", 200).value("firmware", "") == version;
    })) << sn;
  }
  auto all = api_json("GET", "/api/v1/campaigns", "", 200);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["id"], created["id"]);
}

TEST_F(CampaignTest, AFileChangedWhileItsUpgradeWaitedFailsWithTheChecksumError) {
  start_server();
  // The panel registers, then goes away: its UPGRADE waits queued.
  const auto first = start_panel("CAMP0010", &kPlainTerminal);
  panels_->stop(first);
  const std::string bytes = random_bytes(40000, 3);
  upload("fw-2.bin", bytes);
  auto created = api_json("POST", "/api/v1/campaigns",
                          json{{"file", "fw-2.bin"}, {"devices", {"CAMP0010"}}, {"url_base", url_base()}}.dump(), 201);
  const auto id = created["id"].get<std::int64_t>();
  EXPECT_EQ(target_of(campaign(id), "CAMP0010")["state"], "queued");
  // Same size, other content: only the checksum can tell.
  std::string changed = bytes;
  changed[100] = static_cast<char>(changed[100] ^ 0x5a);
  std::ofstream(dir_ / "files" / "fw-2.bin", std::ios::binary | std::ios::trunc) << changed;

  const auto again = start_panel("CAMP0010", &kPlainTerminal);
  auto done = finished(id);
  const auto& t = target_of(done, "CAMP0010");
  EXPECT_EQ(t["state"], "failed") << done.dump();
  EXPECT_EQ(t["return"], -19) << done.dump();  // Appendix 1
  EXPECT_EQ(t["return_name"], "Checksum error") << done.dump();
  EXPECT_EQ(t["bytes"], bytes.size());
  EXPECT_EQ(done["counts"]["failed"], 1);
  EXPECT_EQ(panels_->firmware(again), "PL Ver 1.0.0");  // nothing installed
}

TEST_F(CampaignTest, CancelStopsWhatWasNotSentAndTheUrlFollowsTheHostByDefault) {
  start_server();
  const auto i = start_panel("CAMP0020", emulator::find_profile("inbio460"));
  panels_->stop(i);
  upload("res.bin", random_bytes(1000, 5));
  // A resource file (type 2) goes by method 2, the one that carries a type.
  auto created = api_json("POST", "/api/v1/campaigns", json{{"file", "res.bin"}, {"devices", "all"}, {"type", 2}}.dump(), 201);
  const auto id = created["id"].get<std::int64_t>();
  const auto& t = target_of(created, "CAMP0020");
  EXPECT_EQ(t["method"], 2);
  EXPECT_EQ(t["url"], "http://test/files/res.bin");  // the API request's Host
  EXPECT_EQ(t["state"], "queued");
  EXPECT_NE(stored_command(t["command_id"].get<std::int64_t>())->line.find("UPGRADE type=2,"), std::string::npos);
  EXPECT_EQ(stored_pending("CAMP0020"), 1);

  auto cancelled = api_json("POST", "/api/v1/campaigns/" + std::to_string(id) + "/cancel", "", 200);
  EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
  EXPECT_EQ(target_of(cancelled, "CAMP0020")["state"], "cancelled") << cancelled.dump();
  EXPECT_TRUE(cancelled["cancelled_at"].is_number_integer());
  EXPECT_EQ(stored_pending("CAMP0020"), 0);
  EXPECT_EQ(app_->queue().pending("CAMP0020"), 0);
  api_json("POST", "/api/v1/campaigns/999/cancel", "", 404);
}

// The states between queued and succeeded, seen one step at a time with a panel driven by hand:
// sent once delivered, downloading with the bytes of each range the server sent it, succeeded with
// the panel's answer.
TEST_F(CampaignTest, APanelIsSentThenDownloadingWithTheBytesItGot) {
  start_server();
  const std::string token = handshake("CAMP0040");
  const std::string bytes = random_bytes((3u << 20) / 2, 9);  // 1.5 MiB
  upload("big.bin", bytes);
  auto created = api_json("POST", "/api/v1/campaigns",
                          json{{"file", "big.bin"}, {"devices", {"CAMP0040"}}, {"method", 3}, {"url_base", url_base()}}.dump(),
                          201);
  const auto id = created["id"].get<std::int64_t>();
  EXPECT_EQ(target_of(created, "CAMP0040")["state"], "queued");

  auto polled = send(p::format_getrequest("CAMP0040"), token);
  ASSERT_EQ(polled.status, 200);
  auto commands = p::parse_commands(polled.body);
  ASSERT_TRUE(commands.ok() && commands->size() == 1u) << polled.body;
  const auto* upgrade = std::get_if<p::Upgrade>(&(*commands)[0].body);
  ASSERT_NE(upgrade, nullptr) << polled.body;
  EXPECT_EQ(upgrade->method, 3);
  EXPECT_EQ(upgrade->size, bytes.size());
  EXPECT_EQ(upgrade->checksum, p::md5_hex(bytes));
  auto sent = target_of(campaign(id), "CAMP0040");
  EXPECT_EQ(sent["state"], "sent") << sent.dump();
  EXPECT_EQ(sent["bytes"], 0);

  auto first = send(p::format_firmware_range_request(upgrade->url, 0, (1u << 20) - 1));
  ASSERT_EQ(first.status, 206);
  auto downloading = target_of(campaign(id), "CAMP0040");
  EXPECT_EQ(downloading["state"], "downloading") << downloading.dump();
  EXPECT_EQ(downloading["bytes"], 1u << 20);
  EXPECT_EQ(downloading["progress"], 66);  // 1 MiB of 1.5

  auto rest = send(p::format_firmware_range_request(upgrade->url, 1u << 20, bytes.size() - 1));
  ASSERT_EQ(rest.status, 206);
  EXPECT_TRUE(first.body + rest.body == bytes);
  auto result = p::make_command_result((*commands)[0], 0);
  ASSERT_EQ(send(p::format_devicecmd_results("CAMP0040", {p::parse_amp_list(p::format_command_result(result))}), token).status,
            200);
  auto done = campaign(id);
  EXPECT_EQ(done["state"], "finished");
  EXPECT_EQ(target_of(done, "CAMP0040")["state"], "succeeded");
  EXPECT_EQ(target_of(done, "CAMP0040")["bytes"], bytes.size());
}

TEST_F(CampaignTest, BadRequestsAreRefused) {
  ServerConfig config;
  config.max_file_mb = 1;
  start_server(config);
  handshake("CAMP0030");
  upload("ok.bin", "firmware");
  // File names: no path, no dot-name, no control character.
  for (const std::string name : {"..%2Fx", "a%2Fb", ".hidden", "a%0Ab", "", "a,b"}) {
    auto r = api("POST", "/api/v1/files?name=" + name, "bytes", "application/octet-stream");
    EXPECT_EQ(r.status, 400) << name << ": " << r.body;
  }
  EXPECT_EQ(api("POST", "/api/v1/files?name=empty.bin", "", "application/octet-stream").status, 400);
  // Over --max-file-mb: 413 from the transport, nothing written.
  {
    const std::string big((1u << 20) + 1, 'x');
    std::string headers = "Authorization: Bearer " + kCampaignToken + "\r\nContent-Type: application/octet-stream\r\n";
    auto r = send_raw(http::test::request("POST", "/api/v1/files?name=big.bin", big, headers), true);
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "files" / "big.bin"));
  }
  // Campaigns: unknown file and device 404, bad fields 400, nothing queued.
  api_json("POST", "/api/v1/campaigns", json{{"file", "missing.bin"}, {"devices", {"CAMP0030"}}}.dump(), 404);
  auto unknown = api_json("POST", "/api/v1/campaigns", json{{"file", "ok.bin"}, {"devices", {"NOPE"}}}.dump(), 404);
  EXPECT_EQ(unknown["field"], "devices");
  api_json("POST", "/api/v1/campaigns", json{{"file", "../ok.bin"}, {"devices", {"CAMP0030"}}}.dump(), 400);
  api_json("POST", "/api/v1/campaigns", json{{"file", "ok.bin"}, {"devices", json::array()}}.dump(), 400);
  api_json("POST", "/api/v1/campaigns", json{{"file", "ok.bin"}, {"devices", {"CAMP0030"}}, {"method", 4}}.dump(), 400);
  api_json("POST", "/api/v1/campaigns",
           json{{"file", "ok.bin"}, {"devices", {"CAMP0030"}}, {"method", 3}, {"type", 2}}.dump(), 400);
  api_json("POST", "/api/v1/campaigns", json{{"file", "ok.bin"}, {"devices", {"CAMP0030"}}, {"url_base", "ftp://x"}}.dump(),
           400);
  api_json("POST", "/api/v1/campaigns", json{{"file", "ok.bin"}, {"devices", {"CAMP0030"}}, {"colour", 1}}.dump(), 400);
  EXPECT_EQ(stored_pending("CAMP0030"), 0);
  EXPECT_TRUE(api_json("GET", "/api/v1/campaigns", "", 200).empty());
  api_json("GET", "/api/v1/campaigns/77", "", 404);
  // Delete: gone from the folder and the list; a second time 404.
  api_json("DELETE", "/api/v1/files/ok.bin", "", 200);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "files" / "ok.bin"));
  EXPECT_TRUE(api_json("GET", "/api/v1/files", "", 200).empty());
  api_json("DELETE", "/api/v1/files/ok.bin", "", 404);
}

}  // namespace
}  // namespace zkpush::server::e2e
