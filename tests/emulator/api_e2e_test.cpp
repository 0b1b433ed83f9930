// Every flow of the manual between the real `zkpush serve` and the real emulator, observed the way
// an operator sees it: through the JSON API over HTTP with the API token, never through the store.
// Registration with and without approval, events, door state, one test per command family with its
// result read back from GET /api/v1/commands/{id}, ACCOUNT, UPGRADE with Range, offline buffering.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "emulator/session_harness.hpp"
#include "protocol/codecs_session.hpp"
#include "server/serve_fixture.hpp"
#include "support/spec_fixtures.hpp"

namespace zkpush::emulator {
namespace {

using nlohmann::json;
using server::e2e::RawResponse;
using server::e2e::ServeFixture;

const std::string kToken = "emulator-api-token";

// The Appendix 2 wording of an event code, from the catalogue (either column is a valid name).
std::set<std::string> event_names(int code) {
  std::set<std::string> out;
  for (const auto& e : zkpush::testing::load_spec("enums.yaml")["events"]["codes"]) {
    if (e["code"].as<int>() != code) continue;
    out.insert(e["description"].as<std::string>());
    if (e["description_unified"]) out.insert(e["description_unified"].as<std::string>());
  }
  return out;
}

class EmulatorApiE2E : public ServeFixture, protected e2e::SessionHarness {
 protected:
  void TearDown() override {
    stop_device();
    ServeFixture::TearDown();
  }

  void start_server(server::ServerConfig config = {}) {
    config.api_token = kToken;
    start(config);
  }
  void start_device(const std::string& sn, const Profile* profile = find_profile("inbio460")) {
    start_session(ServerAddress{"127.0.0.1", app_->port()}, sn, profile);
  }
  void start_online(const std::string& sn, const Profile* profile = find_profile("inbio460")) {
    start_server();
    start_device(sn, profile);
    ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();
  }

  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::string headers = "Authorization: Bearer " + kToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(server::http::test::request(method, target, body, headers));
  }
  json api_json(const std::string& method, const std::string& target, const std::string& body = {},
                int status = 200) {
    auto r = api(method, target, body);
    EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j.is_discarded() ? json() : j;
  }
  json get(const std::string& target) { return api_json("GET", target); }

  std::int64_t post_command(const std::string& sn, const std::string& line) {
    auto created = api_json("POST", "/api/v1/devices/" + sn + "/commands", json{{"line", line}}.dump(), 201);
    EXPECT_TRUE(created.contains("id")) << created;
    return created.value("id", std::int64_t{0});
  }
  // The command once the device has answered it (done or failed).
  json finished(std::int64_t id) {
    json c;
    const bool answered = eventually([&] {
      c = get("/api/v1/commands/" + std::to_string(id));
      const auto status = c.value("status", std::string());
      return status == "done" || status == "failed";
    });
    EXPECT_TRUE(answered) << c.dump() << " " << device_error();
    return c;
  }
  json run(const std::string& sn, const std::string& line) { return finished(post_command(sn, line)); }

  json events(const std::string& sn) { return get("/api/v1/events?limit=1000&sn=" + sn); }
  bool event_count_is(const std::string& sn, std::size_t n) { return events(sn).size() == n; }
  json door(const std::string& sn, int number) {
    auto state = get("/api/v1/devices/" + sn + "/state");
    for (const auto& d : state.value("doors", json::array())) {
      if (d.value("door", 0) == number) return d;
    }
    return json::object();  // no state reported yet: value() on it gives the fallback
  }

  AccessDecision swipe(const std::string& card, int door) {
    return on_device([&] {
      auto d = session_->swipe(Credential{card, "", 4}, door);
      session_->wake();
      return d;
    });
  }
};

// ---- registration ----------------------------------------------------------------------------------

TEST_F(EmulatorApiE2E, RegistersWithoutApprovalAndShowsInTheApi) {
  start_online("EMUAPI0001");
  auto list = get("/api/v1/devices");
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u) << list;
  const auto& d = list[0];
  EXPECT_EQ(d["sn"], "EMUAPI0001");
  EXPECT_EQ(d["approved"], true);
  EXPECT_EQ(d["registered"], true);
  EXPECT_EQ(d["online"], true);
  EXPECT_EQ(d["ip"], "127.0.0.1");
  EXPECT_EQ(d["push_version"], "3.1.2");
  // What the device registered with (its profile's 4.4 parameters) is what the API shows.
  EXPECT_EQ(d["firmware"], "AC Ver 5.7.8.3033 Jan 10 2023");
  EXPECT_EQ(d["options"]["LockCount"], "4");
  EXPECT_EQ(d["options"]["~DeviceName"], "inBio460");
  EXPECT_EQ(d["options"]["IPAddress"], "192.168.1.201");
  EXPECT_EQ(stats_.devices_registered.load(), 1);
}

TEST_F(EmulatorApiE2E, ApprovalRequiredKeepsTheDevicePendingUntilApproved) {
  server::ServerConfig config;
  config.registration = server::RegistrationPolicy::approve;
  start_server(config);
  start_device("EMUAPI0002");
  // The device asked (registry refused with 406) and the server knows it, unapproved.
  ASSERT_TRUE(eventually([&] { return stats_.refused.load() >= 1; })) << device_error();
  auto pending = get("/api/v1/devices/EMUAPI0002");
  EXPECT_EQ(pending["approved"], false) << pending;
  EXPECT_EQ(pending["registered"], false) << pending;
  EXPECT_FALSE(device_online());
  EXPECT_EQ(stats_.devices_registered.load(), 0);
  // Its registration parameters were kept for the operator to judge.
  EXPECT_EQ(pending["options"].value("~DeviceName", ""), "inBio460") << pending;

  auto approved = api_json("POST", "/api/v1/devices/EMUAPI0002/approve");
  EXPECT_EQ(approved["approved"], true);
  // The device retries after its ErrorDelay (30 s before any push config); wake it instead of waiting.
  on_device([&] { session_->wake(); });
  ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();
  auto now = get("/api/v1/devices/EMUAPI0002");
  EXPECT_EQ(now["approved"], true);
  EXPECT_EQ(now["registered"], true);
  EXPECT_EQ(now["online"], true);
  EXPECT_EQ(stats_.devices_registered.load(), 1);
}

// ---- events and door state ---------------------------------------------------------------------------

TEST_F(EmulatorApiE2E, SwipesBecomeEventsWithTheirCodesAndNames) {
  start_online("EMUAPI0003");
  // A stranger's card at door 2: refused, event 27.
  EXPECT_EQ(swipe("4242", 2).event, event_code::not_registered);
  // A user with a card and the right to every door: granted, event 0.
  EXPECT_EQ(run("EMUAPI0003", "DATA UPDATE user CardNo=123456\tPin=7\tPassword=\tGroup=1\tName=Seven")["return"], 0);
  EXPECT_EQ(run("EMUAPI0003", "DATA UPDATE userauthorize Pin=7\tAuthorizeTimezoneId=1\tAuthorizeDoorId=15\tDevID=1")["return"], 0);
  EXPECT_TRUE(swipe("123456", 3).granted());
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0003", 2); })) << events("EMUAPI0003");
  auto list = events("EMUAPI0003");
  const auto& refused = list[0];
  EXPECT_EQ(refused["event"], 27);
  EXPECT_EQ(event_names(27).count(refused.value("event_name", "")), 1u) << refused;
  EXPECT_EQ(refused["cardno"], "4242");
  EXPECT_EQ(refused["door"], 2);
  EXPECT_EQ(refused["index"], 1);
  EXPECT_EQ(refused["source"], "rtlog");
  EXPECT_EQ(refused["verifytype"], 4);
  const auto& granted = list[1];
  EXPECT_EQ(granted["event"], 0);
  EXPECT_EQ(event_names(0).count(granted.value("event_name", "")), 1u) << granted;
  EXPECT_EQ(granted["pin"], "7");
  EXPECT_EQ(granted["cardno"], "123456");
  EXPECT_EQ(granted["door"], 3);
  EXPECT_EQ(granted["index"], 2);
}

TEST_F(EmulatorApiE2E, DoorSensorChangesShowInTheStateAndTheEvents) {
  start_online("EMUAPI0004");
  ASSERT_TRUE(eventually([&] { return door("EMUAPI0004", 3).value("sensor", "") == "closed"; }))
      << get("/api/v1/devices/EMUAPI0004/state");
  on_device([&] { session_->set_door_sensor(3, true); });
  ASSERT_TRUE(eventually([&] { return door("EMUAPI0004", 3).value("sensor", "") == "open"; }))
      << get("/api/v1/devices/EMUAPI0004/state");
  EXPECT_EQ(door("EMUAPI0004", 1).value("sensor", ""), "closed");
  auto state = get("/api/v1/devices/EMUAPI0004/state");
  EXPECT_EQ(state["doors"].size(), 4u) << state;  // LockCount=4
  on_device([&] { session_->set_door_sensor(3, false); });
  ASSERT_TRUE(eventually([&] { return door("EMUAPI0004", 3).value("sensor", "") == "closed"; }));
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0004", 2); })) << events("EMUAPI0004");
  auto list = events("EMUAPI0004");
  EXPECT_EQ(list[0]["event"], 200);
  EXPECT_EQ(event_names(200).count(list[0].value("event_name", "")), 1u) << list[0];
  EXPECT_EQ(list[0]["door"], 3);
  EXPECT_EQ(list[1]["event"], 201);
  EXPECT_EQ(list[1]["door"], 3);
}

// ---- command families --------------------------------------------------------------------------------

TEST_F(EmulatorApiE2E, DataUpdateUserReachesTheDevice) {
  start_online("EMUAPI0010");
  auto c = run("EMUAPI0010", "DATA UPDATE user CardNo=555\tPin=21\tPassword=9\tGroup=1\tName=Ann\tPrivilege=0");
  EXPECT_EQ(c["status"], "done") << c;
  EXPECT_EQ(c["return"], 0);
  EXPECT_EQ(c["return_name"], "Successful");
  EXPECT_EQ(c["verb"], "DATA UPDATE");
  EXPECT_TRUE(c["done_at"].is_number()) << c;
  auto name = on_device([&] {
    const auto* u = session_->model().find("user", "Pin", "21");
    return u ? std::string(u->get_or("Name", "?")) : std::string("<missing>");
  });
  EXPECT_EQ(name, "Ann");
}

TEST_F(EmulatorApiE2E, DataDeleteRemovesTheRecord) {
  start_online("EMUAPI0011");
  ASSERT_EQ(run("EMUAPI0011", "DATA UPDATE user CardNo=1\tPin=1\tName=A")["return"], 0);
  ASSERT_EQ(run("EMUAPI0011", "DATA UPDATE user CardNo=2\tPin=2\tName=B")["return"], 0);
  auto c = run("EMUAPI0011", "DATA DELETE user Pin=1");
  EXPECT_EQ(c["status"], "done") << c;
  EXPECT_EQ(c["return"], 0);
  auto pins = on_device([&] {
    std::vector<std::string> out;
    for (const auto& r : session_->model().rows("user")) out.emplace_back(r.get_or("Pin", ""));
    return out;
  });
  EXPECT_EQ(pins, std::vector<std::string>{"2"});
}

TEST_F(EmulatorApiE2E, DataCountIsInTheResult) {
  start_online("EMUAPI0012");
  for (int pin = 1; pin <= 3; ++pin) {
    ASSERT_EQ(run("EMUAPI0012", "DATA UPDATE user Pin=" + std::to_string(pin) + "\tName=U")["return"], 0);
  }
  auto c = run("EMUAPI0012", "DATA COUNT user");
  EXPECT_EQ(c["status"], "done") << c;
  EXPECT_EQ(c["return"], 0);  // the count travels in the querydata body (decision 14)
  ASSERT_TRUE(c["result"].is_object()) << c;
  EXPECT_EQ(c["result"]["counts"]["user"], 3) << c["result"];
}

TEST_F(EmulatorApiE2E, DataQueryInSeveralPacksHasEveryRecord) {
  // A device with a small MaxPackageSize: the answer must come in several querydata packs.
  static const std::string registration = [] {
    std::string r(find_profile("inbio460")->registration);
    const std::string from = "MaxPackageSize=2048000";
    r.replace(r.find(from), from.size(), "MaxPackageSize=1024");
    return r;
  }();
  static Profile small = *find_profile("inbio460");
  small.registration = registration;
  start_online("EMUAPI0013", &small);
  EXPECT_EQ(get("/api/v1/devices/EMUAPI0013")["options"]["MaxPackageSize"], "1024");
  constexpr int kUsers = 40;
  on_device([&] {
    for (int pin = 1; pin <= kUsers; ++pin) {
      session_->model().put("user", protocol::Record{{"Pin", std::to_string(pin)},
                                                     {"CardNo", std::to_string(100000 + pin)},
                                                     {"Name", "User " + std::to_string(pin)}});
    }
  });
  auto c = run("EMUAPI0013", "DATA QUERY tablename=user,fielddesc=*,filter=*");
  EXPECT_EQ(c["status"], "done") << c;
  EXPECT_EQ(c["return"], kUsers);
  ASSERT_TRUE(c["result"].is_object()) << c;
  EXPECT_EQ(c["result"]["table"], "user");
  const auto& records = c["result"]["records"];
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kUsers)) << c["result"];
  std::set<std::string> pins;
  for (const auto& r : records) pins.insert(r.value("pin", ""));
  for (int pin = 1; pin <= kUsers; ++pin) EXPECT_EQ(pins.count(std::to_string(pin)), 1u) << pin;
  const auto& uploads = c["result"]["uploads"];
  ASSERT_GT(uploads.size(), 1u) << uploads;
  std::set<std::int64_t> packidx;
  for (const auto& u : uploads) {
    EXPECT_EQ(u.value("packcnt", 0), static_cast<std::int64_t>(uploads.size())) << u;
    EXPECT_LE(u.value("bytes", 0), 1024) << u;
    packidx.insert(u.value("packidx", std::int64_t{0}));
  }
  EXPECT_EQ(packidx.size(), uploads.size());
}

TEST_F(EmulatorApiE2E, SetOptionsThenGetOptions) {
  start_online("EMUAPI0014");
  auto set = run("EMUAPI0014", "SET OPTIONS Door1Drivertime=7,Door1Detectortime=15");
  EXPECT_EQ(set["status"], "done") << set;
  EXPECT_EQ(set["return"], 0);
  EXPECT_EQ(on_device([&] { return std::string(session_->model().option("Door1Drivertime").value_or("")); }), "7");

  auto got = run("EMUAPI0014", "GET OPTIONS Door1Drivertime, LockCount,~DeviceName");
  EXPECT_EQ(got["status"], "done") << got;
  EXPECT_EQ(got["return"], 0);
  ASSERT_TRUE(got["result"].is_object()) << got;
  const auto& options = got["result"]["options"];
  EXPECT_EQ(options.value("Door1Drivertime", ""), "7") << options;
  EXPECT_EQ(options.value("LockCount", ""), "4") << options;
  EXPECT_EQ(options.value("~DeviceName", ""), "inBio460") << options;
  // GET OPTIONS answers are merged into the device's options.
  EXPECT_EQ(get("/api/v1/devices/EMUAPI0014")["options"].value("Door1Drivertime", ""), "7");
}

TEST_F(EmulatorApiE2E, ControlDeviceOpensTheRelayAndTheStateShowsIt) {
  start_online("EMUAPI0015");
  ASSERT_TRUE(eventually([&] { return door("EMUAPI0015", 1).value("relay", "") == "connected"; }));
  // Door 1, lock, 60 s (manual 9.4 example with a longer time so it stays open while we look).
  auto c = run("EMUAPI0015", "CONTROL DEVICE 0101013C");
  EXPECT_EQ(c["status"], "done") << c;
  EXPECT_EQ(c["return"], 0);
  ASSERT_TRUE(eventually([&] { return door("EMUAPI0015", 1).value("relay", "") == "disconnected"; }))
      << get("/api/v1/devices/EMUAPI0015/state");
  EXPECT_EQ(door("EMUAPI0015", 2).value("relay", ""), "connected");
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0015", 1); })) << events("EMUAPI0015");
  auto e = events("EMUAPI0015")[0];
  EXPECT_EQ(e["event"], 8);  // remote opening
  EXPECT_EQ(e["door"], 1);
}

TEST_F(EmulatorApiE2E, AccountCountsItsRecordsInBothForms) {
  start_online("EMUAPI0016");
  for (int i = 0; i < 5; ++i) swipe(std::to_string(9000 + i), 1);
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0016", 5); })) << events("EMUAPI0016");

  // 9.2.1 (pull SDK form: one querydata tgz).
  auto pullsdk = run("EMUAPI0016", "ACCOUNT transaction ContentType=tgz MaxIndex=0");
  EXPECT_EQ(pullsdk["status"], "done") << pullsdk;
  EXPECT_EQ(pullsdk["return"], 5);
  ASSERT_TRUE(pullsdk["result"].is_object()) << pullsdk;
  EXPECT_EQ(pullsdk["result"]["account"]["records"], 5) << pullsdk["result"];
  EXPECT_EQ(pullsdk["result"]["account"]["missing_inserted"], 0) << pullsdk["result"];

  // 9.2.2 (controller form: overview + /iclock/file parts), from index 3.
  auto controller = run("EMUAPI0016", "ACCOUNT transaction MaxIndex=2");
  EXPECT_EQ(controller["status"], "done") << controller;
  EXPECT_EQ(controller["return"], 3);
  ASSERT_TRUE(controller["result"].is_object()) << controller;
  EXPECT_EQ(controller["result"]["account"]["records"], 3) << controller["result"];
  EXPECT_EQ(controller["result"]["account"]["missing_inserted"], 0);
  EXPECT_EQ(controller["result"]["account"]["expected_records"], 3);
  // Transactions rtlog had delivered are recognised, not duplicated.
  EXPECT_EQ(events("EMUAPI0016").size(), 5u);
}

class UpgradeTest : public EmulatorApiE2E {
 protected:
  // A random file of `size` bytes in the server's files folder; its MD5.
  std::string place_file(const std::string& name, std::size_t size) {
    std::filesystem::create_directories(dir_ / "files");
    std::string bytes(size, '\0');
    std::mt19937 random(7);
    for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
    std::ofstream(dir_ / "files" / name, std::ios::binary) << bytes;
    return protocol::md5_hex(bytes);
  }
  std::string line(const std::string& md5, std::size_t size, const std::string& name) {
    return "UPGRADE checksum=" + md5 + ",size=" + std::to_string(size) + ",url=http://127.0.0.1:" +
           std::to_string(app_->port()) + "/files/" + name + ",supportsubcontracting=1";
  }
};

TEST_F(UpgradeTest, Method3DownloadsInRangesAndChecksTheMd5) {
  start_online("EMUAPI0017");
  constexpr std::size_t kSize = (5u << 20) / 2 + 12345;  // 2.5 MiB and a bit: three ranged requests
  const std::string md5 = place_file("emfw.bin", kSize);
  const auto files_before = stats_.of(Exchange::file).count();
  auto ok = run("EMUAPI0017", line(md5, kSize, "emfw.bin"));
  EXPECT_EQ(ok["status"], "done") << ok;
  EXPECT_EQ(ok["return"], 0);
  EXPECT_EQ(stats_.of(Exchange::file).count() - files_before, 3u);
  EXPECT_EQ(stats_.failures[static_cast<std::size_t>(Exchange::file)].load(), 0u);

  auto bad = run("EMUAPI0017", line(std::string(32, '0'), kSize, "emfw.bin"));
  EXPECT_EQ(bad["status"], "failed") << bad;
  EXPECT_EQ(bad["return"], -19);  // Appendix 1: checksum error
  EXPECT_TRUE(bad["return_name"].is_string()) << bad;
}

TEST_F(EmulatorApiE2E, UnknownVerbIsAnsweredMinus13) {
  start_online("EMUAPI0018");
  // The API refuses a verb it cannot parse (docs/serve.md), and so does the command queue behind
  // it: nothing of this server queues one. A row left in the store by something else (another
  // node, an older version) still reaches the device: it is written straight into the store and
  // the queue reloads its counts as at start-up. Its result is read through the API.
  auto refused = api("POST", "/api/v1/devices/EMUAPI0018/commands", json{{"line", "FROBNICATE now"}}.dump());
  EXPECT_EQ(refused.status, 400) << refused.body;
  auto prepared = app_->queue().prepare(service::EnqueueRequest{"EMUAPI0018", "FROBNICATE now", {}, {}});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().reason, storage::StoreError::Reason::invalid);
  storage::NewCommand unknown;
  unknown.sn = "EMUAPI0018";
  unknown.line = "FROBNICATE now";
  unknown.created_at = server::e2e::unix_now();
  const auto row = zkpush::test::write(app_->store(), [&](storage::Transaction& tx) {
    return tx.commands().insert(unknown, unknown.created_at);
  });
  ASSERT_NE(row.id, 0);
  ASSERT_TRUE(app_->queue().load().ok());
  EXPECT_EQ(app_->queue().pending("EMUAPI0018"), 1);
  on_device([&] { session_->wake(); });
  auto c = finished(row.id);
  EXPECT_EQ(c["status"], "failed") << c;
  EXPECT_EQ(c["return"], -13);
  EXPECT_TRUE(c["return_name"].is_string()) << c;
  EXPECT_EQ(c["result_line"].value("cmd", ""), "FROBNICATE") << c;
}

// ---- offline buffering -------------------------------------------------------------------------------

TEST_F(EmulatorApiE2E, EventsLoggedOfflineArriveOnceAndInOrder) {
  start_online("EMUAPI0019");
  swipe("1000", 1);
  swipe("1001", 2);
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0019", 2); })) << events("EMUAPI0019");
  on_device([&] { session_->go_offline(std::chrono::steady_clock::now() + std::chrono::seconds(3)); });
  ASSERT_TRUE(eventually([&] { return !device_online(); }));
  // Logged while cut off (checked in the same step, on the device's executor).
  const bool all_offline = on_device([&] {
    bool offline = true;
    for (int i = 2; i < 12; ++i) {
      offline = offline && !session_->online();
      session_->swipe(Credential{std::to_string(1000 + i), "", 4}, 1 + i % 4);
    }
    return offline && session_->acked_index() == 2;
  });
  EXPECT_TRUE(all_offline);
  ASSERT_TRUE(eventually([&] { return device_online(); })) << device_error();
  ASSERT_TRUE(eventually([&] { return event_count_is("EMUAPI0019", 12); })) << events("EMUAPI0019");
  auto list = events("EMUAPI0019");
  for (std::size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i]["index"], static_cast<std::int64_t>(i + 1)) << list[i];
    EXPECT_EQ(list[i]["cardno"], std::to_string(1000 + i)) << list[i];
  }
  // Nothing more comes later (a duplicate would be a 13th event).
  on_device([&] { session_->wake(); });
  EXPECT_EQ(run("EMUAPI0019", "DATA COUNT user")["status"], "done");
  EXPECT_EQ(events("EMUAPI0019").size(), 12u);
}

}  // namespace
}  // namespace zkpush::emulator
