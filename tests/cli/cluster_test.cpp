// Several real `zkpush serve` processes on one PostgreSQL database (docs/architecture.md, "Several
// server nodes"), driven as a site would drive them: panels speaking plain HTTP (or `zkpush
// simulate`) to whichever node a load balancer gives them, the JSON API of any node, and a node
// killed with SIGKILL. What must hold: a command queued on one node reaches a panel polling
// another, its answer on a third shows everywhere, events are stored once whichever node took
// them, nothing a panel was answered 200 for is lost when a node dies, and the lead (expiry
// sweeps, webhook deliveries) moves to a surviving node. What an operator changes through one node
// (an approval, a device's configuration, a cancel, an API token, a webhook, a sub-controller's
// authorization) holds on the others.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cli/run_zkpush.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/commands.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "server/http/test_client.hpp"
#include "support/http_receiver.hpp"
#include "support/postgres_cluster.hpp"

namespace {

namespace fs = std::filesystem;
namespace p = zkpush::protocol;
using zkpush::cli_test::ZkpushProcess;
using zkpush::server::http::test::RawResponse;
using zkpush::server::http::test::TestClient;
using Json = nlohmann::json;

// Every node takes the same token, as nodes behind one load balancer share their configuration.
constexpr const char* kClusterToken = "cluster-nodes-token-8c41f0d2b7e9";

// One request on a connection of its own; nullopt when the node is gone (refused, reset, silent).
std::optional<RawResponse> cluster_roundtrip(int port, const std::string& bytes) {
  try {
    TestClient client(static_cast<std::uint16_t>(port));
    if (!client.send(bytes)) return std::nullopt;
    return client.read_response(std::chrono::milliseconds(10000));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<RawResponse> cluster_api(int port, const std::string& method, const std::string& target,
                                       const std::string& body = {}, const std::string& token = kClusterToken) {
  std::string headers = "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) headers += "Content-Type: application/json\r\n";
  return cluster_roundtrip(port, zkpush::server::http::test::request(method, target, body, headers));
}

// POST /api/v1/devices/{sn}/commands through `port`: the command's id, or 0 (with a failure).
std::int64_t cluster_queue(int port, const std::string& sn, const Json& command) {
  auto r = cluster_api(port, "POST", "/api/v1/devices/" + sn + "/commands", command.dump());
  if (!r || r->status != 201) {
    ADD_FAILURE() << "queueing on :" << port << " for " << sn << ": " << (r ? r->body : "no answer");
    return 0;
  }
  return Json::parse(r->body).at("id").get<std::int64_t>();
}

std::optional<Json> cluster_command(int port, std::int64_t id) {
  auto r = cluster_api(port, "GET", "/api/v1/commands/" + std::to_string(id));
  if (!r || r->status != 200) return std::nullopt;
  return Json::parse(r->body);
}

// Every event of `sn` a node lists, oldest first, page by page.
std::vector<Json> cluster_events(int port, const std::string& sn) {
  std::vector<Json> all;
  for (std::int64_t after = 0;;) {
    auto page = cluster_api(port, "GET", "/api/v1/events?sn=" + sn + "&limit=1000&after_id=" + std::to_string(after));
    if (!page || page->status != 200) {
      ADD_FAILURE() << "listing events of " << sn << " on :" << port << ": " << (page ? page->body : "no answer");
      return all;
    }
    const auto events = Json::parse(page->body);
    if (events.empty()) return all;
    for (const auto& e : events) {
      all.push_back(e);
      after = e.at("id").get<std::int64_t>();
    }
  }
}

// A node: `zkpush serve` on the shared database, its own data folder, the shared API token.
class ClusterNode : public ZkpushProcess {
 public:
  ClusterNode(const std::string& url, int port, const fs::path& data, std::vector<std::string> extra = {})
      : ZkpushProcess(command(url, port, data, std::move(extra))) {}

 private:
  static std::vector<std::string> command(const std::string& url, int port, const fs::path& data,
                                          std::vector<std::string> extra) {
    std::vector<std::string> args{"serve",  "--store",     url,           "--listen", "127.0.0.1:" + std::to_string(port),
                                  "--data", data.string(), "--api-token", kClusterToken, "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

// A panel spoken for by hand, as the manual has it: each request a plain HTTP request to the node
// given, the token cookie after the handshake.
class ClusterPanel {
 public:
  explicit ClusterPanel(std::string sn) : sn_(std::move(sn)) {}
  const std::string& sn() const { return sn_; }

  // init, registry, push; false (with a failure) when one is refused.
  bool handshake(int port) {
    auto init = send(port, p::format_init_request(sn_), false);
    if (!init || init->status != 200) return fail("init", init);
    auto reg = send(port, p::format_registry_request(sn_, p::Record{{"DeviceType", "acc"}, {"~DeviceName", "cluster"}}), false);
    if (!reg) return fail("registry", reg);
    const auto accepted = p::parse_registry_answer(reg->status, reg->body);
    if (!accepted.accepted) return fail("registry", reg);
    auto push = send(port, p::format_push_config_request(sn_), false);
    if (!push || push->status != 200) return fail("push", push);
    token_ = p::compute_token(accepted.registry_code, sn_,
                              std::string(p::parse_config_answer(push->body).get_or("SessionID", "")));
    return true;
  }
  std::optional<RawResponse> poll(int port) { return send(port, p::format_getrequest(sn_)); }
  std::optional<RawResponse> answer(int port, const std::string& wire_id, int ret, const std::string& cmd) {
    return send(port, p::format_devicecmd_results(sn_, {p::Record{{"ID", wire_id}, {"Return", std::to_string(ret)}, {"CMD", cmd}}}));
  }
  // rtlog records with indexes first..last; the status of the answer (0: none).
  int upload(int port, std::int64_t first, std::int64_t last) {
    std::vector<p::Record> records;
    for (auto index = first; index <= last; ++index) {
      records.push_back(p::Record{{"time", "2026-05-06 07:08:09"}, {"pin", "7"}, {"cardno", "0"}, {"eventaddr", "1"},
                                  {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "1"}, {"index", std::to_string(index)}});
    }
    auto r = send(port, p::format_rtlog_upload(sn_, records));
    return r ? r->status : 0;
  }

 std::optional<RawResponse> send(int port, const p::OutgoingRequest& r, bool with_token = true) {
    std::string headers = "User-Agent: iClock Proxy/1.09\r\n";
    for (const auto& h : r.headers) headers += h.name + ": " + h.value + "\r\n";
    if (with_token && !token_.empty()) headers += "Cookie: token=" + token_ + "\r\n";
    return cluster_roundtrip(port, zkpush::server::http::test::request(r.method, r.target, r.body, headers));
  }
 private:
  bool fail(const char* what, const std::optional<RawResponse>& r) {
    ADD_FAILURE() << sn_ << ": " << what << ": " << (r ? std::to_string(r->status) + " " + r->body : "no answer");
    return false;
  }
  std::string sn_;
  std::string token_;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-cluster-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    url_ = zkpush::test::postgres_database_url(dir_.string());
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path data(const std::string& node) const { return dir_ / node; }
  fs::path dir_;
  std::string url_;
};

// The contract, step by step, with two nodes and a panel driven by hand.
class ClusterTwoNodes : public ClusterTest {};

TEST_F(ClusterTwoNodes, CommandsEventsAndAKilledNode) {
  // A command sent and not answered is sent again after 2 s (by whichever node the panel polls).
  ClusterNode a(url_, 19101, data("a"), {"--resend-after", "2"});
  ASSERT_EQ(a.wait_serving(), 19101) << a.log();
  ClusterNode b(url_, 19102, data("b"), {"--resend-after", "2"});
  ASSERT_EQ(b.wait_serving(), 19102) << b.log();
  const int pa = 19101, pb = 19102;

  ClusterPanel panel("CLUSTER0001");
  ASSERT_TRUE(panel.handshake(pa));

  // A command queued through B reaches the panel polling A (B's commit, NOTIFY, A's queue).
  const auto queued_at = std::chrono::steady_clock::now();
  const std::int64_t id = cluster_queue(pb, panel.sn(), {{"line", "CONTROL DEVICE 01010103"}});
  ASSERT_NE(id, 0);
  std::string wire_id;
  int polls = 0;
  while (wire_id.empty() && std::chrono::steady_clock::now() < queued_at + std::chrono::seconds(10)) {
    auto r = panel.poll(pa);
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << a.log();
    ++polls;
    if (r->body != "OK") {
      auto commands = p::parse_commands(r->body);
      ASSERT_TRUE(commands.ok()) << r->body;
      ASSERT_EQ(commands.value().size(), 1u) << r->body;
      EXPECT_NE(r->body.find(":CONTROL DEVICE 01010103"), std::string::npos) << r->body;
      wire_id = commands.value().front().id;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - queued_at);
  ASSERT_FALSE(wire_id.empty()) << "not delivered by A within 10 s\n" << a.log();
  std::printf("a command queued through B was delivered on a poll to A after %lld ms (%d polls)\n",
              static_cast<long long>(took.count()), polls);

  // Answered to B: done, read through A.
  auto answered = panel.answer(pb, wire_id, 0, "CONTROL DEVICE");
  ASSERT_TRUE(answered && answered->status == 200) << (answered ? answered->body : "no answer");
  auto on_a = cluster_command(pa, id);
  ASSERT_TRUE(on_a);
  EXPECT_EQ((*on_a)["status"], "done") << on_a->dump();
  EXPECT_EQ((*on_a)["return"], 0) << on_a->dump();
  EXPECT_EQ((*on_a)["attempts"], 1) << on_a->dump();
  // Nothing more for the panel on either node.
  for (int port : {pa, pb}) {
    auto r = panel.poll(port);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "OK") << port;
  }

  // Events to either node, one batch re-sent to the other (a 200 the panel did not read): listed
  // once by both.
  ASSERT_EQ(panel.upload(pa, 1, 10), 200);
  ASSERT_EQ(panel.upload(pb, 11, 20), 200);
  ASSERT_EQ(panel.upload(pb, 1, 10), 200);
  for (int port : {pa, pb}) {
    const auto events = cluster_events(port, panel.sn());
    std::set<std::int64_t> ids, indexes;
    for (const auto& e : events) {
      ids.insert(e.at("id").get<std::int64_t>());
      indexes.insert(e.at("index").get<std::int64_t>());
    }
    EXPECT_EQ(events.size(), 20u) << port;
    EXPECT_EQ(ids.size(), events.size()) << port;
    EXPECT_EQ(indexes.size(), 20u) << port;
    EXPECT_EQ(*indexes.begin(), 1);
    EXPECT_EQ(*indexes.rbegin(), 20);
  }

  // A command A delivers, and A dies before the panel answers it.
  const std::int64_t orphan = cluster_queue(pb, panel.sn(), {{"line", "CONTROL DEVICE 01020105"}});
  ASSERT_NE(orphan, 0);
  std::string orphan_wire;
  for (int i = 0; i < 500 && orphan_wire.empty(); ++i) {
    auto r = panel.poll(pa);
    ASSERT_TRUE(r && r->status == 200);
    if (r->body == "OK") {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    auto commands = p::parse_commands(r->body);
    ASSERT_TRUE(commands.ok() && commands.value().size() == 1u) << r->body;
    orphan_wire = commands.value().front().id;
  }
  ASSERT_FALSE(orphan_wire.empty()) << a.log();

  // The panel uploads to A, batch after batch; A is killed mid-stream; the panel goes on through B,
  // re-sending the batch it had no answer for, as a panel behind a load balancer would.
  std::mutex mutex;
  std::set<std::int64_t> acknowledged;  // indexes answered 200
  std::atomic<int> node{pa};
  std::atomic<int> on_a_batches{0}, on_b_batches{0};
  std::atomic<bool> stop{false};
  std::thread uploader([&] {
    constexpr std::int64_t kBatch = 10;
    std::int64_t next = 21;
    for (int failures = 0; !stop && failures < 200;) {
      const int to = node;
      if (panel.upload(to, next, next + kBatch - 1) == 200) {
        std::lock_guard lock(mutex);
        for (auto i = next; i < next + kBatch; ++i) acknowledged.insert(i);
        next += kBatch;
        ++(to == pa ? on_a_batches : on_b_batches);
      } else {
        ++failures;
        node = pb;  // the balancer takes A out
      }
    }
  });
  for (int i = 0; i < 1000 && on_a_batches < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  a.kill();
  for (int i = 0; i < 1000 && on_b_batches < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  uploader.join();
  EXPECT_GE(on_a_batches.load(), 5);
  EXPECT_GE(on_b_batches.load(), 5) << b.log();

  // Through B alone: the command A sent is sent again (same wire id) and the answer closes it; a
  // command queued there is delivered and answered there; every acknowledged event is listed once.
  std::optional<RawResponse> poll_b;
  for (int i = 0; i < 500; ++i) {
    poll_b = panel.poll(pb);
    ASSERT_TRUE(poll_b && poll_b->status == 200) << b.log();
    if (poll_b->body != "OK") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    auto again = p::parse_commands(poll_b->body);
    ASSERT_TRUE(again.ok() && again.value().size() == 1u) << poll_b->body;
    EXPECT_EQ(again.value().front().id, orphan_wire) << poll_b->body;
    auto answered_b = panel.answer(pb, orphan_wire, 0, "CONTROL DEVICE");
    ASSERT_TRUE(answered_b && answered_b->status == 200);
    auto closed = cluster_command(pb, orphan);
    ASSERT_TRUE(closed);
    EXPECT_EQ((*closed)["status"], "done") << closed->dump();
    EXPECT_EQ((*closed)["attempts"], 2) << closed->dump();
  }
  const std::int64_t second = cluster_queue(pb, panel.sn(), {{"line", "CONTROL DEVICE 01010203"}});
  ASSERT_NE(second, 0);
  poll_b = panel.poll(pb);
  ASSERT_TRUE(poll_b && poll_b->status == 200);
  auto commands = p::parse_commands(poll_b->body);
  ASSERT_TRUE(commands.ok() && commands.value().size() == 1u) << poll_b->body;
  auto answer_b = panel.answer(pb, commands.value().front().id, 0, "CONTROL DEVICE");
  ASSERT_TRUE(answer_b && answer_b->status == 200);
  auto done = cluster_command(pb, second);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"], "done") << done->dump();

  const auto events = cluster_events(pb, panel.sn());
  std::set<std::int64_t> ids, indexes;
  for (const auto& e : events) {
    ids.insert(e.at("id").get<std::int64_t>());
    indexes.insert(e.at("index").get<std::int64_t>());
  }
  EXPECT_EQ(ids.size(), events.size());
  EXPECT_EQ(indexes.size(), events.size()) << "an event listed twice";
  std::size_t missing = 0;
  {
    std::lock_guard lock(mutex);
    for (auto i : acknowledged) missing += indexes.count(i) == 0 ? 1 : 0;
    std::printf("after the kill: %zu events acknowledged (%d batches by A, %d by B), %zu listed by B\n",
                acknowledged.size() + 20, on_a_batches.load(), on_b_batches.load(), events.size());
    // What is listed was sent: the first 20 and the batches, at most one batch without its 200 (cut by the kill).
    EXPECT_LE(indexes.size(), acknowledged.size() + 20 + 10);
  }
  EXPECT_EQ(missing, 0u) << "acknowledged events missing after the kill";
  EXPECT_EQ(b.stop(), 0) << b.log();
}

// What an operator does on one node reaches a panel on the other: an approval, a device's own
// configuration, a cancel; an API call waiting for the panel's answer on one node sees it given on
// the other.
TEST_F(ClusterTwoNodes, ApprovalConfigurationCancelAndWaitsCrossNodes) {
  // No lockout of the test's address while it waits for a token to be taken (401s until then).
  const std::vector<std::string> options{"--registration", "approve", "--api-lockout-after", "0"};
  ClusterNode a(url_, 19103, data("a"), options);
  ASSERT_EQ(a.wait_serving(), 19103) << a.log();
  ClusterNode b(url_, 19104, data("b"), options);
  ASSERT_EQ(b.wait_serving(), 19104) << b.log();
  const int pa = 19103, pb = 19104;

  // Held for approval at A, approved through B, then admitted by A.
  ClusterPanel panel("CLUSTER0002");
  auto init = panel.send(pa, p::format_init_request(panel.sn()), false);
  ASSERT_TRUE(init && init->status == 200);
  const p::Record registration{{"DeviceType", "acc"}, {"~DeviceName", "cluster"}};
  auto held = panel.send(pa, p::format_registry_request(panel.sn(), registration), false);
  ASSERT_TRUE(held);
  EXPECT_FALSE(p::parse_registry_answer(held->status, held->body).accepted) << held->status << " " << held->body;
  auto approved = cluster_api(pb, "POST", "/api/v1/devices/" + panel.sn() + "/approve");
  ASSERT_TRUE(approved && approved->status == 200) << (approved ? approved->body : "no answer");
  const auto approved_at = std::chrono::steady_clock::now();
  bool admitted = false;
  while (!admitted && std::chrono::steady_clock::now() < approved_at + std::chrono::seconds(10)) {
    auto reg = panel.send(pa, p::format_registry_request(panel.sn(), registration), false);
    ASSERT_TRUE(reg);
    admitted = p::parse_registry_answer(reg->status, reg->body).accepted;
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(admitted) << "approved through B, still held by A after 10 s\n" << a.log();
  std::printf("approved through B, admitted by A after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - approved_at).count()));
  ASSERT_TRUE(panel.handshake(pa));

  // The panel's own RequestDelay set through B is what A tells it.
  auto patched = cluster_api(pb, "PATCH", "/api/v1/devices/" + panel.sn(), R"({"config":{"RequestDelay":7}})");
  ASSERT_TRUE(patched && patched->status == 200) << (patched ? patched->body : "no answer");
  std::string delay;
  for (int i = 0; i < 500 && delay != "7"; ++i) {
    auto push = panel.send(pa, p::format_push_config_request(panel.sn()), false);
    ASSERT_TRUE(push && push->status == 200);
    delay = std::string(p::parse_config_answer(push->body).get_or("RequestDelay", ""));
    if (delay != "7") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(delay, "7") << a.log();
  ASSERT_TRUE(panel.handshake(pa));  // the session of the last push answer

  // Queued through B, cancelled through A: B never delivers it.
  const std::int64_t cancelled = cluster_queue(pb, panel.sn(), {{"line", "CONTROL DEVICE 01010103"}});
  ASSERT_NE(cancelled, 0);
  auto cancel = cluster_api(pa, "DELETE", "/api/v1/commands/" + std::to_string(cancelled));
  ASSERT_TRUE(cancel && cancel->status == 200) << (cancel ? cancel->body : "no answer");
  EXPECT_EQ(Json::parse(cancel->body)["status"], "cancelled") << cancel->body;
  for (int port : {pb, pa}) {
    auto r = panel.poll(port);
    ASSERT_TRUE(r && r->status == 200);
    EXPECT_EQ(r->body, "OK") << port;
  }
  // The device as each node shows it: the same pending count (none).
  for (int port : {pa, pb}) {
    std::int64_t pending = -1;
    for (int i = 0; i < 1000 && pending != 0; ++i) {  // up to 20 s: a deadline for a loaded machine
      auto device = cluster_api(port, "GET", "/api/v1/devices/" + panel.sn());
      ASSERT_TRUE(device && device->status == 200);
      pending = Json::parse(device->body).value("pending", std::int64_t{-1});
      if (pending != 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(pending, 0) << port;
  }

  // A door opened through B with ?wait=8s: the panel takes it from A and answers A; B's call
  // answers 200 with the command done.
  std::optional<RawResponse> waited;
  std::thread caller([&] {
    waited = cluster_api(pb, "POST", "/api/v1/doors/" + panel.sn() + "/1/open?wait=8s", R"({"seconds":3})");
  });
  std::string wire;
  for (int i = 0; i < 400 && wire.empty(); ++i) {
    auto r = panel.poll(pa);
    if (r && r->status == 200 && r->body != "OK") {
      auto commands = p::parse_commands(r->body);
      if (commands.ok() && !commands.value().empty()) wire = commands.value().front().id;
    }
    if (wire.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(wire.empty()) << a.log();
  if (!wire.empty()) {
    auto answered = panel.answer(pa, wire, 0, "CONTROL DEVICE");
    EXPECT_TRUE(answered && answered->status == 200);
  }
  caller.join();
  ASSERT_TRUE(waited);
  EXPECT_EQ(waited->status, 200) << waited->body;
  EXPECT_EQ(Json::parse(waited->body, nullptr, false).value("status", ""), "done") << waited->body;

  // An API token made through B opens A's API; revoked through B, it no longer does.
  auto made = cluster_api(pb, "POST", "/api/v1/tokens", R"({"name":"cluster viewer","role":"viewer"})");
  ASSERT_TRUE(made && made->status == 201) << (made ? made->body : "no answer");
  const auto token = Json::parse(made->body);
  const std::string secret = token.at("token");
  auto status_on = [&](int port) {
    auto r = cluster_api(port, "GET", "/api/v1/devices", {}, secret);
    return r ? r->status : 0;
  };
  EXPECT_EQ(status_on(pb), 200);
  int on_a = 0;
  for (int i = 0; i < 150 && (on_a = status_on(pa)) != 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(on_a, 200) << "a token made through B, refused by A after 15 s";
  auto revoked = cluster_api(pb, "DELETE", "/api/v1/tokens/" + std::to_string(token.at("id").get<std::int64_t>()));
  ASSERT_TRUE(revoked && revoked->status == 200) << (revoked ? revoked->body : "no answer");
  EXPECT_EQ(status_on(pb), 401);
  for (int i = 0; i < 150 && (on_a = status_on(pa)) != 401; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(on_a, 401) << "a token revoked through B, still taken by A after 15 s";
  EXPECT_EQ(a.stop(), 0) << a.log();
  EXPECT_EQ(b.stop(), 0) << b.log();
}

// Multi-level control across nodes: a master (emulated, with one sub-controller) talks to A, whose
// automatic registration authorizes the sub; a command for the sub queued through B is taken and
// reaches the sub through its master's polls to A.
TEST_F(ClusterTwoNodes, ASubControllerAuthorizedThroughOneNodeTakesCommandsThroughTheOther) {
  ClusterNode a(url_, 19105, data("a"));
  ASSERT_EQ(a.wait_serving(), 19105) << a.log();
  ClusterNode b(url_, 19106, data("b"));
  ASSERT_EQ(b.wait_serving(), 19106) << b.log();
  const int pa = 19105, pb = 19106;
  ZkpushProcess master({"simulate", "--server", "http://127.0.0.1:19105", "--devices", "1", "--sub-controllers", "1",
                        "--sn-prefix", "CLM", "--duration", "14", "--poll-interval", "0.2", "--threads", "1", "--json"});
  const std::string sub = "CLM000001-S1";
  // Authorized, as A's automatic registration has it, and as B's API shows it.
  std::string state;
  for (int i = 0; i < 200 && state != "authorized"; ++i) {
    auto r = cluster_api(pb, "GET", "/api/v1/devices/CLM000001/sub-controllers");
    if (r && r->status == 200) {
      auto subs = Json::parse(r->body, nullptr, false);
      if (subs.is_array() && !subs.empty()) state = subs[0].value("state", "");
    }
    if (state != "authorized") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(state, "authorized") << a.log();
  auto queued = cluster_api(pb, "POST", "/api/v1/devices/" + sub + "/commands", R"({"line":"CONTROL DEVICE 01010103"})");
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->status, 201) << "a command for a sub-controller authorized through A, queued through B: " << queued->body;
  if (queued->status == 201) {
    const auto id = Json::parse(queued->body).at("id").get<std::int64_t>();
    std::optional<Json> command;
    for (int i = 0; i < 200; ++i) {
      command = cluster_command(pa, id);
      if (command && (*command)["status"] == "done") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(command);
    EXPECT_EQ((*command)["status"], "done") << command->dump();
  }
  // And through A, for comparison.
  auto on_a = cluster_api(pa, "POST", "/api/v1/devices/" + sub + "/commands", R"({"line":"CONTROL DEVICE 01010103"})");
  ASSERT_TRUE(on_a);
  EXPECT_EQ(on_a->status, 201) << on_a->body;
  // De-authorized through A: both nodes refuse commands for it from then on.
  auto deauthorized = cluster_api(pa, "DELETE", "/api/v1/devices/CLM000001/sub-controllers/" + sub);
  ASSERT_TRUE(deauthorized && deauthorized->status == 200) << (deauthorized ? deauthorized->body : "no answer");
  for (int port : {pa, pb}) {
    int status = 0;
    std::string body;
    for (int i = 0; i < 100; ++i) {
      auto r = cluster_api(port, "POST", "/api/v1/devices/" + sub + "/commands", R"({"line":"CONTROL DEVICE 01010103"})");
      ASSERT_TRUE(r);
      status = r->status;
      body = r->body;
      if (status != 201) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(status, 201) << "a de-authorized sub-controller's command still taken by :" << port << " after 10 s: " << body;
  }
  master.signal(SIGTERM);
  master.wait_exit();
  EXPECT_EQ(a.stop(), 0) << a.log();
  EXPECT_EQ(b.stop(), 0) << b.log();
}

// ---- three nodes, emulated panels ---------------------------------------------------------------

// `zkpush simulate --json` against one node; the summary parsed when it ends.
class ClusterSimulate : public ZkpushProcess {
 public:
  ClusterSimulate(int port, const std::string& prefix, int devices, double duration)
      : ZkpushProcess({"simulate", "--server", "http://127.0.0.1:" + std::to_string(port), "--devices",
                       std::to_string(devices), "--sn-prefix", prefix, "--events-per-second", std::to_string(devices * 4),
                       "--poll-interval", "0.3", "--duration", std::to_string(duration), "--threads", "1", "--json"}) {}
  // The summary once it ended (SIGTERM asks it to end early and print it); null when unreadable.
  Json summary() {
    wait_exit();
    const auto& out = log();
    const auto begin = out.find("{\n");
    if (begin == std::string::npos) return nullptr;
    auto j = Json::parse(out.substr(begin, out.rfind('}') + 1 - begin), nullptr, false);
    return j.is_discarded() ? Json(nullptr) : j;
  }
};

std::string cluster_sn(const std::string& prefix, int i) {
  char sn[32];
  std::snprintf(sn, sizeof sn, "%s%06d", prefix.c_str(), i);
  return sn;
}

class ClusterThreeNodes : public ClusterTest {};

TEST_F(ClusterThreeNodes, SimulatedPanelsCarryOnWhenANodeIsKilled) {
  // Commands left unanswered by a killed node are sent again after 4 s.
  const std::vector<std::string> options{"--resend-after", "4"};
  const int pa = 19111, pb = 19112, pc = 19113;
  ClusterNode a(url_, pa, data("a"), options);
  ASSERT_EQ(a.wait_serving(), pa) << a.log();
  // A started first on an empty database: it leads.
  ASSERT_TRUE(a.wait_log("store: this node leads now")) << a.log();
  ClusterNode b(url_, pb, data("b"), options);
  ClusterNode c(url_, pc, data("c"), options);
  ASSERT_EQ(b.wait_serving(), pb) << b.log();
  ASSERT_EQ(c.wait_serving(), pc) << c.log();

  // A webhook subscribed through C (which does not lead): delivered by whichever node leads.
  zkpush::test::HttpReceiver receiver;
  auto hook = cluster_api(pc, "POST", "/api/v1/webhooks",
                          Json{{"url", receiver.url()}, {"secret", "cluster-hook-secret"}, {"events", {"*"}}}.dump());
  ASSERT_TRUE(hook && hook->status == 201) << (hook ? hook->body : "no answer");

  // A group of panels per node, as a load balancer spreads them.
  constexpr int kDevices = 3;
  const std::map<std::string, int> groups{{"CLA", pa}, {"CLB", pb}, {"CLC", pc}};
  auto sim_a = std::make_unique<ClusterSimulate>(pa, "CLA", kDevices, 0);  // until A dies
  ClusterSimulate sim_b(pb, "CLB", kDevices, 24);
  ClusterSimulate sim_c(pc, "CLC", kDevices, 24);
  auto wait_known = [&](const std::string& sn) {
    for (int i = 0; i < 200; ++i) {
      auto r = cluster_api(pb, "GET", "/api/v1/devices/" + sn);
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  for (const auto& [prefix, port] : groups)
    for (int i = 1; i <= kDevices; ++i) ASSERT_TRUE(wait_known(cluster_sn(prefix, i))) << cluster_sn(prefix, i);

  // Commands queued through every node for every panel, while the panels poll their own node.
  std::vector<std::pair<std::string, std::int64_t>> queued;  // sn, id
  const std::vector<int> nodes{pa, pb, pc};
  int turn = 0;
  auto queue_round = [&](const std::vector<int>& through, const char* line) {
    for (const auto& [prefix, port] : groups) {
      for (int i = 1; i <= kDevices; ++i) {
        const auto sn = cluster_sn(prefix, i);
        const int via = through[static_cast<std::size_t>(turn++) % through.size()];
        const auto id = cluster_queue(via, sn, {{"line", line}});
        if (id != 0) queued.emplace_back(sn, id);
      }
    }
  };
  queue_round(nodes, "CONTROL DEVICE 01010103");
  // The webhook subscribed through C is delivered by A, which leads: the first events arrive.
  EXPECT_FALSE(receiver.wait_for(1, std::chrono::seconds(15)).empty())
      << "a webhook subscribed through a node that does not lead got nothing from the one that does";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  queue_round(nodes, "CONTROL DEVICE 01020103");

  // A dies mid-run, just after a round of commands: some of its panels' commands may be sent and
  // unanswered, some not yet sent. Until then A alone leads.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(b.log().find("store: this node leads now"), std::string::npos) << b.log();
  EXPECT_EQ(c.log().find("store: this node leads now"), std::string::npos) << c.log();
  a.kill();
  const auto killed_at = std::chrono::steady_clock::now();
  // Its panels' simulator sees nothing but refused connections now: stopped, and started again
  // against B, as a load balancer re-points them (same serial numbers).
  sim_a->signal(SIGTERM);
  const Json first_a = sim_a->summary();
  ASSERT_FALSE(first_a.is_null()) << sim_a->log();
  auto sim_a2 = std::make_unique<ClusterSimulate>(pb, "CLA", kDevices, 16);

  // The lead moves to B or C.
  ClusterNode* leader = nullptr;
  for (int i = 0; i < 300 && leader == nullptr; ++i) {
    if (b.log().find("store: this node leads now") != std::string::npos) leader = &b;
    else if (c.log().find("store: this node leads now") != std::string::npos) leader = &c;
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(leader, nullptr) << "no survivor took the lead\nB:\n" << b.log() << "\nC:\n" << c.log();
  std::printf("the lead moved to %s %lld ms after the kill\n", leader == &b ? "B" : "C",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - killed_at).count()));

  // More commands through the survivors, for every panel (A's included).
  queue_round({pb, pc}, "CONTROL DEVICE 01030103");

  // Expiry still happens: a command with a 2 s deadline for a panel that never polls, swept by the
  // new leader.
  ClusterPanel idle("CLIDLE0001");
  ASSERT_TRUE(idle.handshake(pc));
  const std::size_t mark = leader->log().size();
  const std::int64_t expiring = cluster_queue(pc, idle.sn(), {{"line", "CONTROL DEVICE 01010103"}, {"expires_in", 2}});
  ASSERT_NE(expiring, 0);
  EXPECT_TRUE(leader->wait_log("command(s) expired", mark, std::chrono::seconds(15))) << leader->log();
  auto expired = cluster_command(pb, expiring);
  ASSERT_TRUE(expired);
  EXPECT_EQ((*expired)["status"], "expired") << expired->dump();

  const Json second_a = sim_a2->summary();
  const Json summary_b = sim_b.summary();
  const Json summary_c = sim_c.summary();
  for (const Json* s : {&second_a, &summary_b, &summary_c}) {
    ASSERT_FALSE(s->is_null());
    EXPECT_EQ((*s)["devices_registered"], kDevices) << s->dump();
  }
  EXPECT_GT(second_a["events_acked"].get<std::int64_t>(), 0) << "A's panels did not go on through B: " << second_a.dump();

  // Every command ends done, once. A's panels may have run a command A sent just before it died
  // and whose answer went nowhere: B sends it again after --resend-after (at most once more here).
  // Every other panel's command was sent once.
  int resent = 0;
  for (const auto& [sn, id] : queued) {
    std::optional<Json> command;
    for (int i = 0; i < 400; ++i) {  // the last round may still be on its way
      command = cluster_command(pc, id);
      if (command && (*command)["status"] != "queued" && (*command)["status"] != "sent") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(command);
    EXPECT_EQ((*command)["status"], "done") << command->dump();
    EXPECT_EQ((*command)["return"], 0) << command->dump();
    const int attempts = (*command)["attempts"].get<int>();
    if (sn.rfind("CLA", 0) == 0) {
      EXPECT_GE(attempts, 1) << command->dump();
      EXPECT_LE(attempts, 2) << command->dump();
      resent += attempts - 1;
    } else {
      EXPECT_EQ(attempts, 1) << command->dump();
    }
  }
  // A panel that answered a command twice would show here (a second answer is logged and ignored).
  for (ClusterNode* n : {&b, &c}) EXPECT_EQ(n->log().find("already answered"), std::string::npos) << n->log();
  EXPECT_GE(summary_b["commands_executed"].get<std::int64_t>(), 3 * kDevices) << summary_b.dump();
  EXPECT_GE(summary_c["commands_executed"].get<std::int64_t>(), 3 * kDevices) << summary_c.dump();
  EXPECT_GE(first_a["commands_executed"].get<std::int64_t>() + second_a["commands_executed"].get<std::int64_t>(),
            3 * kDevices);

  // Events: every one a panel was answered 200 for is listed by a survivor, and each once. A's
  // panels were started twice (a new simulator process, whose logs start again at index 1): an
  // event is (sn, index, time), the key the server recognises a re-sent record by; for B's and C's
  // panels (sn, index) alone is unique.
  std::set<std::int64_t> ids;
  std::map<std::string, std::int64_t> stored;  // per group
  for (const auto& [prefix, port] : groups) {
    for (int i = 1; i <= kDevices; ++i) {
      const auto sn = cluster_sn(prefix, i);
      const auto events = cluster_events(pc, sn);
      std::set<std::tuple<std::string, std::int64_t, std::string>> keys;
      std::set<std::int64_t> indexes;
      for (const auto& e : events) {
        EXPECT_TRUE(ids.insert(e.at("id").get<std::int64_t>()).second) << e.dump();
        EXPECT_TRUE(keys.emplace(e.at("sn"), e.at("index").get<std::int64_t>(), e.at("time")).second) << e.dump();
        indexes.insert(e.at("index").get<std::int64_t>());
      }
      if (prefix != "CLA") {
        EXPECT_EQ(indexes.size(), events.size()) << sn << ": an event listed twice";
      }
      stored[prefix] += static_cast<std::int64_t>(events.size());
    }
  }
  const std::int64_t acked_a = first_a["events_acked"].get<std::int64_t>() + second_a["events_acked"].get<std::int64_t>();
  const std::int64_t generated_a =
      first_a["events_generated"].get<std::int64_t>() + second_a["events_generated"].get<std::int64_t>();
  std::printf("events acknowledged / stored / generated: A's panels %lld / %lld / %lld (before the kill %lld acked), "
              "B's %lld / %lld / %lld, C's %lld / %lld / %lld; commands sent again after the kill: %d\n",
              static_cast<long long>(acked_a), static_cast<long long>(stored["CLA"]), static_cast<long long>(generated_a),
              static_cast<long long>(first_a["events_acked"].get<std::int64_t>()),
              static_cast<long long>(summary_b["events_acked"].get<std::int64_t>()), static_cast<long long>(stored["CLB"]),
              static_cast<long long>(summary_b["events_generated"].get<std::int64_t>()),
              static_cast<long long>(summary_c["events_acked"].get<std::int64_t>()), static_cast<long long>(stored["CLC"]),
              static_cast<long long>(summary_c["events_generated"].get<std::int64_t>()), resent);
  // Stored, not acknowledged: at most the batch (100 records) each panel had on its way when its
  // run ended or its node died, whose 200 it never read. (Door events of the commands count as
  // acknowledged events, not as generated swipes: generated is no bound.)
  constexpr std::int64_t kBatch = 100;
  EXPECT_GE(stored["CLA"], acked_a);
  EXPECT_LE(stored["CLA"], acked_a + 2 * kDevices * kBatch);
  for (const auto& [prefix, s] : {std::pair{"CLB", &summary_b}, std::pair{"CLC", &summary_c}}) {
    const auto acked = (*s)["events_acked"].get<std::int64_t>();
    EXPECT_GE(stored[prefix], acked) << prefix;
    EXPECT_LE(stored[prefix], acked + kDevices * kBatch) << prefix;
  }
  // Every stored event reached the webhook, from A while it led and from the survivor after,
  // at least once (a delivery A made without saving its cursor may come again from the new leader).
  std::set<std::int64_t> delivered;
  std::size_t deliveries = 0;
  for (int i = 0; i < 400 && delivered.size() < ids.size(); ++i) {
    delivered.clear();
    const auto received = receiver.received();
    deliveries = received.size();
    for (const auto& r : received) {
      auto body = Json::parse(r.body, nullptr, false);
      if (body.is_object() && body.contains("id") && r.header("X-Zkpush-Event") == "event")
        delivered.insert(body["id"].get<std::int64_t>());
    }
    if (delivered.size() < ids.size()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::size_t undelivered = 0;
  for (auto id : ids) undelivered += delivered.count(id) == 0 ? 1 : 0;
  std::printf("webhook: %zu deliveries for %zu stored events\n", deliveries, ids.size());
  EXPECT_EQ(undelivered, 0u) << "of " << ids.size() << " stored events, not delivered to the webhook";
  EXPECT_LE(delivered.size(), ids.size());

  // One survivor took the lead, and kept it.
  EXPECT_EQ(b.log().find("store: this node leads now") == std::string::npos,
            c.log().find("store: this node leads now") != std::string::npos)
      << "B:\n" << b.log() << "\nC:\n" << c.log();
  EXPECT_EQ(leader->log().find("store: another node leads now"), std::string::npos) << leader->log();
  EXPECT_EQ(b.stop(), 0) << b.log();
  EXPECT_EQ(c.stop(), 0) << c.log();
}

}  // namespace
