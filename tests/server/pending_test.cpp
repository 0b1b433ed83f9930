// What a device still has to receive, as the JSON API shows it: `pending` of GET /api/v1/devices
// and GET /api/v1/devices/{sn}, end to end over real sockets (fixture in serve_fixture.hpp). It is
// exactly the number of the device's commands that are queued, or sent and unanswered; it goes
// down by exactly one when one of them expires (with no poll to notice it), is cancelled, or is
// answered by the device, and it is still exact after a restart.
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
using namespace std::chrono_literals;
using nlohmann::json;

const std::string kPendingToken = "pending-api-token";

class PendingTest : public ServeFixture {
 protected:
  void start_api() {
    ServerConfig config;
    config.api_token = kPendingToken;
    start(config);
  }

  RawResponse api(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::string headers = "Authorization: Bearer " + kPendingToken + "\r\n";
    if (!body.empty()) headers += "Content-Type: application/json\r\n";
    return send_raw(http::test::request(method, target, body, headers));
  }
  json ok(const RawResponse& r, int status = 200) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j.is_discarded() ? json() : j;
  }

  // POST /api/v1/devices/{sn}/commands with `body`; the command as created.
  json post(const std::string& sn, const json& body) {
    auto created = ok(api("POST", "/api/v1/devices/" + sn + "/commands", body.dump()), 201);
    EXPECT_TRUE(created.contains("id") && created["id"].is_number_integer()) << created;
    EXPECT_EQ(created.value("status", ""), "queued") << created;
    return created;
  }
  std::int64_t queue(const std::string& sn, const std::string& line) {
    return post(sn, json{{"line", line}}).value("id", std::int64_t{0});
  }
  json command(std::int64_t id) { return ok(api("GET", "/api/v1/commands/" + std::to_string(id))); }
  std::string status_of(std::int64_t id) { return command(id).value("status", "<none>"); }
  std::int64_t wire_id_of(std::int64_t id) { return command(id).value("wire_id", std::int64_t{-1}); }

  // `pending` of GET /api/v1/devices/{sn}, and of the device's entry in GET /api/v1/devices.
  std::int64_t pending(const std::string& sn) {
    auto device = ok(api("GET", "/api/v1/devices/" + sn));
    EXPECT_TRUE(device["pending"].is_number_integer()) << device;
    return device.value("pending", std::int64_t{-1});
  }
  std::int64_t listed_pending(const std::string& sn) {
    auto list = ok(api("GET", "/api/v1/devices"));
    for (const auto& d : list)
      if (d.value("sn", "") == sn) {
        EXPECT_TRUE(d["pending"].is_number_integer()) << d;
        return d.value("pending", std::int64_t{-1});
      }
    ADD_FAILURE() << sn << " is not listed: " << list;
    return -1;
  }
  // Both views show `n`, and so does counting the commands that are queued or sent among `ids`
  // (every command of the device) by their own status.
  void expect_pending(const std::string& sn, std::int64_t n, const std::vector<std::int64_t>& ids) {
    std::int64_t open = 0;
    for (auto id : ids) {
      const auto status = status_of(id);
      if (status == "queued" || status == "sent") ++open;
    }
    EXPECT_EQ(open, n) << sn << ": commands queued or sent";
    EXPECT_EQ(pending(sn), n) << "GET /api/v1/devices/" << sn;
    EXPECT_EQ(listed_pending(sn), n) << "GET /api/v1/devices, " << sn;
  }

  // One getrequest; the commands it delivered.
  std::vector<p::Command> poll(const std::string& sn, const std::string& token) {
    auto r = send(p::format_getrequest(sn), token);
    EXPECT_EQ(r.status, 200);
    if (r.body == "OK") return {};
    auto commands = p::parse_commands(r.body);
    EXPECT_TRUE(commands.ok()) << r.body;
    return commands.ok() ? *commands : std::vector<p::Command>{};
  }
  void answer(const std::string& sn, const std::string& token, const p::Command& command, std::int64_t code) {
    auto result = p::make_command_result(command, code);
    auto r = send(p::format_devicecmd_results(sn, {p::parse_amp_list(p::format_command_result(result))}), token);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // The delivered command with the API id `id`.
  const p::Command* delivered(const std::vector<p::Command>& commands, std::int64_t id) {
    const auto wire = std::to_string(wire_id_of(id));
    for (const auto& c : commands)
      if (c.id == wire) return &c;
    ADD_FAILURE() << "command " << id << " (wire id " << wire << ") was not delivered";
    return nullptr;
  }

  // Returns just after the clock's second changed: a deadline one second away is then about a
  // whole second away.
  static void wait_for_next_second() {
    const auto start = unix_now();
    while (unix_now() == start) std::this_thread::sleep_for(5ms);
  }
  static void wait_until(std::int64_t unix_seconds) {
    while (unix_now() < unix_seconds) std::this_thread::sleep_for(50ms);
  }
  // The queue's own count (what a poll consults) reaches `n`: the deadline sweep runs at most a
  // second after a deadline.
  bool queue_count_becomes(const std::string& sn, std::int64_t n) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (app_->queue().pending(sn) != n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(20ms);
    return app_->queue().pending(sn) == n;
  }
};

TEST_F(PendingTest, AnExpiredCommandLeavesPendingWithoutAPoll) {
  start_api();
  const std::string sn = "PENDEXP01";
  const std::string token = handshake(sn);
  EXPECT_EQ(pending(sn), 0);
  const auto first = queue(sn, "DATA DELETE user Pin=1");
  const auto second = queue(sn, "DATA DELETE user Pin=2");
  wait_for_next_second();
  const auto created = post(sn, json{{"line", "DATA DELETE user Pin=3"}, {"expires_in", 1}});
  const std::int64_t expiring = created.value("id", std::int64_t{0});
  const std::int64_t expires_at = created.value("expires_at", std::int64_t{0});
  EXPECT_EQ(expires_at - created.value("created_at", std::int64_t{0}), 1) << created;
  const auto before = pending(sn);
  const auto listed_before = listed_pending(sn);
  if (unix_now() < expires_at) {  // read before the deadline (the second has just begun): all three
    EXPECT_EQ(before, 3);
    EXPECT_EQ(listed_before, 3);
  }

  // No poll: the deadline alone takes it out.
  wait_until(expires_at + 1);
  EXPECT_EQ(status_of(expiring), "expired");
  expect_pending(sn, 2, {first, second, expiring});
  // The device as approve and PATCH answer it counts the same way, before or after the sweep.
  EXPECT_EQ(ok(api("POST", "/api/v1/devices/" + sn + "/approve")).value("pending", std::int64_t{-1}), 2);
  EXPECT_EQ(ok(api("PATCH", "/api/v1/devices/" + sn, R"({"time_zone": null})")).value("pending", std::int64_t{-1}), 2);
  EXPECT_EQ(status_of(first), "queued");
  EXPECT_EQ(status_of(second), "queued");
  EXPECT_TRUE(queue_count_becomes(sn, 2)) << app_->queue().pending(sn);
  // Too late to cancel; that takes nothing off a second time.
  EXPECT_EQ(api("DELETE", "/api/v1/commands/" + std::to_string(expiring)).status, 409);
  EXPECT_EQ(status_of(expiring), "expired");
  expect_pending(sn, 2, {first, second, expiring});

  // The device gets the other two, never the expired one; sent and unanswered, they stay pending.
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_NE(delivered(commands, first), nullptr);
  EXPECT_NE(delivered(commands, second), nullptr);
  EXPECT_EQ(status_of(expiring), "expired");
  expect_pending(sn, 2, {first, second, expiring});
}

TEST_F(PendingTest, ACancelledCommandLeavesPendingOnce) {
  start_api();
  const std::string sn = "PENDCAN01", other = "PENDCAN02";
  const std::string token = handshake(sn);
  handshake(other);
  const auto others = queue(other, "DATA DELETE user Pin=9");
  const std::vector<std::int64_t> ids{queue(sn, "DATA DELETE user Pin=1"), queue(sn, "DATA DELETE user Pin=2"),
                                      queue(sn, "DATA DELETE user Pin=3")};
  expect_pending(sn, 3, ids);
  expect_pending(other, 1, {others});

  auto cancelled = ok(api("DELETE", "/api/v1/commands/" + std::to_string(ids[1])));
  EXPECT_EQ(cancelled.value("status", ""), "cancelled");
  expect_pending(sn, 2, ids);
  // Cancelled again: the same answer, and not counted twice.
  EXPECT_EQ(ok(api("DELETE", "/api/v1/commands/" + std::to_string(ids[1]))).value("status", ""), "cancelled");
  expect_pending(sn, 2, ids);
  expect_pending(other, 1, {others});  // another device's count is its own
  EXPECT_EQ(app_->queue().pending(sn), 2);

  // The device gets the two others; delivered, they still count.
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_NE(delivered(commands, ids[0]), nullptr);
  EXPECT_NE(delivered(commands, ids[2]), nullptr);
  EXPECT_EQ(status_of(ids[1]), "cancelled");
  expect_pending(sn, 2, ids);
}

TEST_F(PendingTest, AnAnsweredCommandLeavesPendingOnce) {
  start_api();
  const std::string sn = "PENDANS01";
  const std::string token = handshake(sn);
  const std::vector<std::int64_t> ids{queue(sn, "DATA DELETE user Pin=1"), queue(sn, "DATA DELETE user Pin=2"),
                                      queue(sn, "CONTROL DEVICE 01010105")};
  expect_pending(sn, 3, ids);

  // Delivered is not answered: all three still count.
  auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 3u);
  for (auto id : ids) EXPECT_EQ(status_of(id), "sent") << id;
  expect_pending(sn, 3, ids);

  const auto* first = delivered(commands, ids[0]);
  ASSERT_NE(first, nullptr);
  answer(sn, token, *first, 0);
  EXPECT_EQ(status_of(ids[0]), "done");
  expect_pending(sn, 2, ids);
  // The same answer again (the device missed ours): counted once.
  answer(sn, token, *first, 0);
  expect_pending(sn, 2, ids);

  // -5000 (passed on to a sub-controller) is not the final answer: it still counts...
  const auto* control = delivered(commands, ids[2]);
  ASSERT_NE(control, nullptr);
  answer(sn, token, *control, -5000);
  EXPECT_EQ(status_of(ids[2]), "sent");
  expect_pending(sn, 2, ids);
  // ...until the final one, a failure here.
  answer(sn, token, *control, -1001);
  EXPECT_EQ(status_of(ids[2]), "failed");
  expect_pending(sn, 1, ids);
  EXPECT_EQ(app_->queue().pending(sn), 1);

  // Nothing is due for the next poll (the one left was sent moments ago).
  EXPECT_TRUE(poll(sn, token).empty());
  const auto* second = delivered(commands, ids[1]);
  ASSERT_NE(second, nullptr);
  answer(sn, token, *second, 0);
  expect_pending(sn, 0, ids);
}

TEST_F(PendingTest, ExactAfterARestart) {
  start_api();
  const std::string sn = "PENDRST01";
  const std::string token = handshake(sn);
  const auto answered = queue(sn, "DATA DELETE user Pin=1");
  const auto sent = queue(sn, "DATA DELETE user Pin=2");
  const auto first_poll = poll(sn, token);
  ASSERT_EQ(first_poll.size(), 2u);
  const auto* first = delivered(first_poll, answered);
  ASSERT_NE(first, nullptr);
  answer(sn, token, *first, 0);
  const auto cancelled = queue(sn, "DATA DELETE user Pin=3");
  const auto queued = queue(sn, "DATA DELETE user Pin=4");
  ok(api("DELETE", "/api/v1/commands/" + std::to_string(cancelled)));
  std::vector<std::int64_t> ids{answered, sent, cancelled, queued};
  expect_pending(sn, 2, ids);

  // Read back from the store: one sent and unanswered, one queued.
  restart();
  expect_pending(sn, 2, ids);
  EXPECT_EQ(app_->queue().pending(sn), 2);

  // A deadline that passes while the server is down.
  wait_for_next_second();
  const auto created = post(sn, json{{"line", "DATA DELETE user Pin=5"}, {"expires_in", 1}});
  const std::int64_t expiring = created.value("id", std::int64_t{0});
  ids.push_back(expiring);
  const auto before = pending(sn);
  if (unix_now() < created.value("expires_at", std::int64_t{0})) {
    EXPECT_EQ(before, 3);
  }
  app_.reset();
  wait_until(created.value("expires_at", std::int64_t{0}) + 1);
  start(config_);
  expect_pending(sn, 2, ids);
  EXPECT_EQ(status_of(expiring), "expired");
  EXPECT_TRUE(queue_count_becomes(sn, 2)) << app_->queue().pending(sn);

  // The device gets the queued one only (the sent one is not due again yet, the expired one never).
  const auto commands = poll(sn, token);
  ASSERT_EQ(commands.size(), 1u);
  const auto* last = delivered(commands, queued);
  ASSERT_NE(last, nullptr);
  expect_pending(sn, 2, ids);
  answer(sn, token, *last, 0);
  expect_pending(sn, 1, ids);
  // The command sent before the restart is answered after it.
  const auto* earlier = delivered(first_poll, sent);
  ASSERT_NE(earlier, nullptr);
  answer(sn, token, *earlier, 0);
  EXPECT_EQ(status_of(sent), "done");
  expect_pending(sn, 0, ids);
  EXPECT_EQ(app_->queue().pending(sn), 0);
}

}  // namespace
}  // namespace zkpush::server
