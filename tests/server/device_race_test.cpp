// Lost updates of the device row between the device's requests and the JSON API.
//
// A device's request copies the device cache's row when it arrives, changes its own fields and
// saves the copy; the API changes approved / time_zone / config meanwhile. Each side must write only
// its own fields (storage/types.hpp `Device`), in the store and in the cache, so whichever
// commits last cannot undo the other. The first tests make the interleaving deterministic: the
// test takes the copy a request would have read, lets the API commit over real sockets, then commits
// the device-side write of that copy exactly as the device service does (devices().save and the row
// read back in one unit of work, cached after the commit). The last ones race real requests,
// asserting the invariant every round.
#include <nlohmann/json.hpp>

#include <future>
#include <vector>

#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using nlohmann::json;

const std::string kRaceToken = "race-api-token";

class DeviceRaceTest : public ServeFixture {
 protected:
  void start_api(ServerConfig config = {}) {
    config.api_token = kRaceToken;
    start(config);
  }
  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::string headers = "Authorization: Bearer " + kRaceToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(http::test::request(method, target, body, headers));
  }
  json ok_json(const RawResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  // The row as the device cache hands it to a request when it arrives.
  storage::Device arrived(const std::string& sn) {
    auto state = app_->devices().get(sn);
    EXPECT_TRUE(state.has_value()) << sn;
    return state ? *state->device : storage::Device{};
  }
  // What the device service (service/devices.cpp) does with its copy: save it, read the row back
  // in the same unit of work, and cache that row once committed.
  void commit_device_write(const storage::Device& d) {
    std::promise<storage::StoreResult<std::optional<storage::Device>>> done;
    app_->store().write(
        [d](storage::Transaction& tx) {
          tx.devices().save(d);
          return tx.devices().get(d.sn);
        },
        [this, &done](storage::StoreResult<std::optional<storage::Device>> r) {
          if (r.ok() && r.value()) app_->devices().cache(*r.value());
          done.set_value(std::move(r));
        });
    auto r = done.get_future().get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r.value().has_value()) << d.sn;
  }
  storage::Device stored(const std::string& sn) {
    auto d = stored_device(sn);
    EXPECT_TRUE(d.has_value()) << sn;
    return d.value_or(storage::Device{});
  }
  // The device's next registration must be accepted with a code, and its session must work.
  void expect_device_accepted(const std::string& sn) {
    auto reg = send(p::format_registry_request(sn, registry_options()));
    ASSERT_EQ(reg.status, 200) << reg.body;
    auto answer = p::parse_registry_answer(reg.status, reg.body);
    ASSERT_TRUE(answer.accepted);
    EXPECT_FALSE(answer.registry_code.empty());
    auto push = send(p::format_push_config_request(sn));
    ASSERT_EQ(push.status, 200) << push.body;
    const std::string session(p::parse_config_answer(push.body).get_or("SessionID", ""));
    ASSERT_FALSE(session.empty());
    auto poll = send(p::format_getrequest(sn), p::compute_token(answer.registry_code, sn, session));
    EXPECT_EQ(poll.status, 200) << poll.body;
  }
};

ServerConfig approval_required() {
  ServerConfig c;
  c.registration = RegistrationPolicy::approve;
  return c;
}

TEST_F(DeviceRaceTest, AnApprovalCommittedWhileARegistryIsInFlightIsKept) {
  start_api(approval_required());
  const std::string sn = "RACE0001";
  ASSERT_EQ(send(p::format_init_request(sn)).status, 200);
  ASSERT_EQ(send(p::format_registry_request(sn, registry_options())).status, 406);

  // A second registry arrives and reads the row (approved = false): it will answer 406.
  storage::Device d = arrived(sn);
  ASSERT_FALSE(d.approved);
  // The operator approves before that registry's write commits.
  EXPECT_EQ(ok_json(api("POST", "/api/v1/devices/" + sn + "/approve"))["approved"], true);
  // Now the registry's write of its copy, as on_registry builds it when it refuses.
  d.ip = "127.0.0.1";
  d.last_seen = unix_now();
  d.registry = registry_options();
  commit_device_write(d);

  EXPECT_TRUE(stored(sn).approved);
  ASSERT_TRUE(app_->devices().get(sn).has_value());
  EXPECT_TRUE(app_->devices().get(sn)->device->approved);
  EXPECT_EQ(ok_json(api("GET", "/api/v1/devices/" + sn))["approved"], true);
  expect_device_accepted(sn);
  // And after a restart (the device cache rebuilt from the store).
  restart();
  EXPECT_TRUE(app_->devices().get(sn)->device->approved);
}

TEST_F(DeviceRaceTest, ASettingsChangeCommittedWhileAPushIsInFlightKeepsBoth) {
  start_api();
  const std::string sn = "RACE0002";
  const std::string old_token = handshake(sn);

  // A push arrives and reads the row; the operator changes the zone and the configuration before
  // the push's new SessionID is committed.
  storage::Device d = arrived(sn);
  auto patched = ok_json(api("PATCH", "/api/v1/devices/" + sn,
                             R"({"time_zone": "+0530", "config": {"RequestDelay": 7}})"));
  EXPECT_EQ(patched["time_zone"], "+0530");
  const std::string session = "0123456789abcdef0123456789abcdef";
  d.session_id = session;
  d.last_seen = unix_now();
  commit_device_write(d);

  for (const auto& row : {stored(sn), *app_->devices().get(sn).value().device}) {
    EXPECT_EQ(row.session_id, session);
    EXPECT_EQ(row.time_zone, "+0530");
    EXPECT_EQ(row.config.get_or("RequestDelay", ""), "7");
  }
  // The device uses the token of the new session, and the server uses the operator's zone.
  const std::string token = p::compute_token(d.registry_code, sn, session);
  EXPECT_EQ(send(p::format_getrequest(sn), token).status, 200);
  EXPECT_EQ(send(p::format_getrequest(sn), old_token).status, 401);
  auto time = p::parse_time_answer(send(p::format_rtdata_time_request(sn), token).body);
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->server_tz, "+0530");
}

TEST_F(DeviceRaceTest, ARegistryOfAnOldCopyCommittedBeforeTheApprovalChangesNothingEither) {
  // The other order: the handler's write commits first, the approval second.
  start_api(approval_required());
  const std::string sn = "RACE0003";
  ASSERT_EQ(send(p::format_init_request(sn)).status, 200);
  storage::Device d = arrived(sn);
  d.registry = registry_options();
  commit_device_write(d);
  EXPECT_EQ(ok_json(api("POST", "/api/v1/devices/" + sn + "/approve"))["approved"], true);
  EXPECT_TRUE(stored(sn).approved);
  EXPECT_TRUE(app_->devices().get(sn)->device->approved);
  EXPECT_EQ(stored(sn).registry, registry_options());
  expect_device_accepted(sn);
}

// Real requests racing: a registry, an approval and a PATCH sent at once. Whatever order the server
// runs them in, the approval and the zone must be kept in the store and in the device cache.
TEST_F(DeviceRaceTest, ApprovalsAndPatchesRacingRegistriesAreNeverLost) {
  start_api(approval_required());
  constexpr int kRounds = 40;
  for (int i = 0; i < kRounds; ++i) {
    const std::string sn = "RACEA" + std::to_string(1000 + i);
    SCOPED_TRACE(sn);
    ASSERT_EQ(send(p::format_init_request(sn)).status, 200);
    auto reg = std::async(std::launch::async, [&] { return send(p::format_registry_request(sn, registry_options())); });
    auto approve = std::async(std::launch::async, [&] { return api("POST", "/api/v1/devices/" + sn + "/approve"); });
    auto patch = std::async(std::launch::async,
                            [&] { return api("PATCH", "/api/v1/devices/" + sn, R"({"time_zone": "-0300"})"); });
    const auto reg_status = reg.get().status;
    EXPECT_TRUE(reg_status == 200 || reg_status == 406) << reg_status;  // 406 if it read the row first
    EXPECT_EQ(approve.get().status, 200);
    EXPECT_EQ(patch.get().status, 200);

    for (const auto& row : {stored(sn), *app_->devices().get(sn).value().device}) {
      EXPECT_TRUE(row.approved);
      EXPECT_EQ(row.time_zone, "-0300");
    }
    expect_device_accepted(sn);
    if (::testing::Test::HasFailure()) break;
  }
}

// Pushes racing PATCHes of a registered device: the session the device was given must be the one
// kept (its token works), and the zone must survive.
TEST_F(DeviceRaceTest, SessionsAndSettingsRacingAreBothKept) {
  start_api();
  const std::string sn = "RACEP0001";
  handshake(sn);
  constexpr int kRounds = 40;
  const std::string registry_code = app_->devices().get(sn).value().device->registry_code;
  for (int i = 0; i < kRounds; ++i) {
    SCOPED_TRACE(i);
    const std::string zone = (i % 2 ? "+0" : "-0") + std::to_string(100 + i % 10);
    auto push = std::async(std::launch::async, [&] { return send(p::format_push_config_request(sn)); });
    auto patch = std::async(std::launch::async, [&] {
      return api("PATCH", "/api/v1/devices/" + sn, R"({"time_zone": ")" + zone + R"(", "config": {"Realtime": )" +
                                                           std::to_string(i % 2) + "}}");
    });
    auto pushed = push.get();
    ASSERT_EQ(pushed.status, 200) << pushed.body;
    ASSERT_EQ(patch.get().status, 200);
    const std::string session(p::parse_config_answer(pushed.body).get_or("SessionID", ""));
    ASSERT_FALSE(session.empty());

    for (const auto& row : {stored(sn), *app_->devices().get(sn).value().device}) {
      EXPECT_EQ(row.session_id, session);
      EXPECT_EQ(row.time_zone, zone);
      EXPECT_EQ(row.config.get_or("Realtime", ""), std::to_string(i % 2));
    }
    EXPECT_EQ(send(p::format_getrequest(sn), p::compute_token(registry_code, sn, session)).status, 200);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace zkpush::server
