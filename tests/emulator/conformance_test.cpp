// `zkpush conformance` against real servers over real sockets: our own (App, SQLite) passes every
// check or declines with the reason the manual allows; a server held for approval is recognised;
// and a deliberately wrong server written here fails the checks it breaks, with the exchange.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "emulator/conformance.hpp"
#include "server/http/test_server.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::emulator {
namespace {

using namespace std::chrono_literals;
using server::e2e::ServeFixture;

ConformanceOptions options_for(std::uint16_t port, const std::string& sn = {}) {
  ConformanceOptions o;
  o.server = ServerAddress{"127.0.0.1", port};
  o.sn = sn;
  o.timeout = 10s;
  return o;
}

std::string describe(const ConformanceReport& report) { return format_report(report, true); }

class Conformance : public ServeFixture {};

TEST_F(Conformance, OurServerPassesEveryCheckOrDeclinesWhatItDoesNotImplement) {
  start();
  std::filesystem::create_directories(dir_ / "files");
  std::string firmware;
  for (int i = 0; i < 3000; ++i) firmware.push_back(static_cast<char>(i * 7 % 251));
  std::ofstream(dir_ / "files" / "fw.bin", std::ios::binary) << firmware;

  // Registered beforehand so that commands wait for the run's getrequest.
  const std::string sn = "CONFOWN01";
  handshake(sn);
  const auto update = enqueue(sn, "DATA UPDATE user CardNo=123\tPin=77\tPassword=\tGroup=0\tStartTime=0\tEndTime=0\tName=Ann\tPrivilege=0");
  const auto query = enqueue(sn, "DATA QUERY tablename=user,fielddesc=*,filter=*");
  const auto open = enqueue(sn, "CONTROL DEVICE 01010105");

  auto o = options_for(app_->port(), sn);
  o.file = "/files/fw.bin";
  const ConformanceReport report = run_conformance(o);
  ASSERT_TRUE(report.reachable);
  EXPECT_EQ(report.results.size(), conformance_checks().size());
  // Declined by our server on purpose (501: encryption is off unless serve --encryption).
  const std::set<std::string_view> declined{"exchange"};
  for (const auto& r : report.results) {
    if (declined.count(r.check->id) != 0) {
      EXPECT_EQ(r.verdict, Verdict::not_supported) << r.check->id;
      EXPECT_NE(r.reason.find("HTTP 501"), std::string::npos) << r.check->id << ": " << r.reason;
    } else {
      EXPECT_EQ(r.verdict, Verdict::pass) << r.check->id << ": " << r.reason << "\n" << describe(report);
    }
  }
  EXPECT_EQ(report.exit_status(), 0);
  EXPECT_EQ(report.count(Verdict::fail), 0);

  // The commands really ran: the server closed them from the results the run posted.
  for (auto id : {update, query, open}) {
    auto row = stored_command(id);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->status, storage::CommandStatus::done) << id;
  }
  EXPECT_NE(report.find("commands")->reason.find("3 command(s)"), std::string::npos) << report.find("commands")->reason;
  // The uploads are stored: the door-open event of CONTROL DEVICE, then 1 + 5 rtlog records; the
  // re-sent 5 are recognised as duplicates (12 otherwise).
  // Remote identification: card 12345678 is nobody's, refused, and the decision is an event too.
  EXPECT_EQ(report.find("remote-auth")->reason, "AUTH=FAILED");
  EXPECT_EQ(stored_event_count(sn), 8);
}

TEST_F(Conformance, WithoutQueuedCommandsOrFileThoseChecksAreNotSupportedAndSaySo) {
  start();
  const ConformanceReport report = run_conformance(options_for(app_->port()));
  EXPECT_EQ(report.exit_status(), 0) << describe(report);
  EXPECT_EQ(report.find("commands")->verdict, Verdict::not_supported);
  EXPECT_NE(report.find("commands")->reason.find("sent no command"), std::string::npos);
  EXPECT_EQ(report.find("file")->verdict, Verdict::not_supported);
  EXPECT_NE(report.find("file")->reason.find("--file"), std::string::npos);
  EXPECT_EQ(report.find("file-range")->verdict, Verdict::not_supported);
  // A fresh serial number was made up and registered.
  EXPECT_EQ(report.sn.rfind("CFT", 0), 0u);
  EXPECT_TRUE(app_->devices().get(report.sn).has_value());
}

// A server holding the device for approval is not a server without those features: the checks it
// prevented are BLOCKED with the reason, the key exchange's 401 is not read as "no encryption", and
// the run exits 3 (docs/conformance.md).
TEST_F(Conformance, RegistrationHeldForApprovalBlocksTheRunWithTheReason) {
  server::ServerConfig config;
  config.registration = server::RegistrationPolicy::approve;
  start(config);
  const ConformanceReport report = run_conformance(options_for(app_->port(), "CONFAPPR1"));
  const CheckResult* registry = report.find("registry");
  ASSERT_NE(registry, nullptr);
  EXPECT_EQ(registry->verdict, Verdict::blocked) << describe(report);
  EXPECT_NE(registry->reason.find("registration refused: HTTP 406, not approved"), std::string::npos) << registry->reason;
  EXPECT_NE(registry->reason.find("approve CONFAPPR1 on the server"), std::string::npos) << registry->reason;
  EXPECT_EQ(registry->exchanges.back().status, 406);
  EXPECT_TRUE(report.blocked());
  EXPECT_NE(report.blocked_reason.find("device CONFAPPR1 could not register"), std::string::npos) << report.blocked_reason;
  // Our server answers the unapproved device's key exchange 401: that is the refusal, not a verdict
  // on encryption.
  const CheckResult* exchange = report.find("exchange");
  EXPECT_EQ(exchange->verdict, Verdict::blocked) << describe(report);
  EXPECT_NE(exchange->reason.find("keeps this device out"), std::string::npos) << exchange->reason;
  // Nothing after registration can run: blocked, not "not supported", and not a failure.
  EXPECT_EQ(report.find("rtlog-1")->verdict, Verdict::blocked);
  EXPECT_NE(report.find("rtlog-1")->reason.find("not approved"), std::string::npos) << report.find("rtlog-1")->reason;
  EXPECT_EQ(report.count(Verdict::not_supported), 0) << describe(report);
  EXPECT_EQ(report.count(Verdict::fail), 0) << describe(report);
  EXPECT_EQ(report.exit_status(), 3);
  const std::string text = format_report(report);
  EXPECT_NE(text.find("  BLOCKED  registry"), std::string::npos) << text;
  EXPECT_NE(text.find("  PASS     init "), std::string::npos) << text;
  EXPECT_NE(text.find("BLOCKED: device CONFAPPR1 could not register"), std::string::npos) << text;
  const auto json = report_json(report);
  EXPECT_EQ(json["exit_status"], 3);
  EXPECT_EQ(json["blocked"], report.count(Verdict::blocked));
  EXPECT_EQ(json["blocked_reason"], report.blocked_reason);
}

// With serve --encryption on, the public key exchange of the run is answered with ours.
TEST_F(Conformance, OurServerWithEncryptionAnswersTheKeyExchange) {
  server::ServerConfig config;
  config.encryption = server::EncryptionMode::optional;
  start(config);
  const ConformanceReport report = run_conformance(options_for(app_->port(), "CONFENC01"));
  ASSERT_TRUE(report.reachable);
  const CheckResult* exchange = report.find("exchange");
  ASSERT_NE(exchange, nullptr);
  EXPECT_EQ(exchange->verdict, Verdict::pass) << exchange->reason << "\n" << describe(report);
  EXPECT_EQ(report.count(Verdict::fail), 0) << describe(report);
}

// A serial number the allow-list refuses at init: blocked from the first exchange on.
TEST_F(Conformance, SerialNumberRefusedAtInitBlocksTheRun) {
  server::ServerConfig config;
  config.allow_sn = {"ONLYTHIS*"};
  start(config);
  const ConformanceReport report = run_conformance(options_for(app_->port(), "CONFDENY1"));
  EXPECT_EQ(report.find("init")->verdict, Verdict::blocked) << describe(report);
  EXPECT_EQ(report.find("init")->exchanges.back().status, 403);
  EXPECT_NE(report.blocked_reason.find("refuses serial number CONFDENY1 at init (HTTP 403)"), std::string::npos)
      << report.blocked_reason;
  EXPECT_EQ(report.find("registry")->verdict, Verdict::blocked);
  EXPECT_EQ(report.exit_status(), 3);
}

TEST_F(Conformance, RegistrationApprovedWhileWaitingPasses) {
  server::ServerConfig config;
  config.registration = server::RegistrationPolicy::approve;
  config.api_token = "conformance-test-token";
  start(config);
  auto o = options_for(app_->port(), "CONFAPPR2");
  o.wait_approval = 60s;
  o.approval_retry = 1s;
  auto running = std::async(std::launch::async, [o] { return run_conformance(o); });
  // The operator approves once a registration attempt has been answered 406 (its options are
  // stored), between two attempts: an approval that lands while the server is processing a
  // registration only gets that attempt a 406 (it read the row before), never undone; the next
  // attempt is accepted.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto asked = [this] {
    auto state = app_->devices().get("CONFAPPR2");
    return state.has_value() && !state->device->options.empty();  // the registration's parameters
  };
  while (!asked() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(asked());
  auto approved = send_raw(server::http::test::request("POST", "/api/v1/devices/CONFAPPR2/approve", {},
                                                        "Authorization: Bearer conformance-test-token\r\n"));
  EXPECT_EQ(approved.status, 200) << approved.body;
  const ConformanceReport report = running.get();
  EXPECT_EQ(report.find("registry")->verdict, Verdict::pass) << describe(report);
  EXPECT_EQ(report.find("rtlog-n")->verdict, Verdict::pass);
  EXPECT_EQ(report.exit_status(), 0) << describe(report);
}

// ---- a server that gets things wrong ------------------------------------------------------------------

namespace http = server::http;

// Registers and configures correctly, then: init never says registered, getrequest sends
// garbage, rtlog is a server error, user uploads get a bare OK, and stray results drop the
// connection without an answer.
void wrong_server(http::test::Harness& h) {
  h.handler.on_handle = [](http::Request request, http::Responder respond) {
    const std::string target(request.target());
    auto reply = [&](http::Status s, std::string body) { respond(http::make_response(s, std::move(body))); };
    if (target.rfind("/iclock/registry", 0) == 0) return reply(http::Status::ok, "RegistryCode=abc123");
    if (target.rfind("/iclock/push", 0) == 0) {
      return reply(http::Status::ok, "ServerVersion=1\nServerName=wrong\nRequestDelay=30\nSessionID=S1\n");
    }
    if (target.rfind("/iclock/getrequest", 0) == 0) return reply(http::Status::ok, "hello there");
    if (target.find("table=rtlog") != std::string::npos) return reply(http::Status::internal_server_error, "boom");
    if (target.find("tablename=user") != std::string::npos) return reply(http::Status::ok, "OK");
    if (target.rfind("/iclock/devicecmd", 0) == 0) return reply(http::Status::service_unavailable, "busy");
    if (target.rfind("/iclock/exchange", 0) == 0) return reply(http::Status::not_implemented, "no");
    reply(http::Status::ok, "OK");
  };
}

TEST(ConformanceAgainstAWrongServer, TheBrokenChecksFailWithTheirExchange) {
  http::test::Harness h({}, wrong_server);
  const ConformanceReport report = run_conformance(options_for(h.port(), "WRONG0001"));
  ASSERT_TRUE(report.reachable);
  EXPECT_EQ(report.exit_status(), 1);

  const CheckResult* init = report.find("init-registered");
  EXPECT_EQ(init->verdict, Verdict::fail);
  EXPECT_NE(init->reason.find("must return the registry and RegistryCode"), std::string::npos) << init->reason;

  const CheckResult* rtlog = report.find("rtlog-1");
  EXPECT_EQ(rtlog->verdict, Verdict::fail);
  ASSERT_FALSE(rtlog->exchanges.empty());
  EXPECT_EQ(rtlog->exchanges.back().request.rfind("POST /iclock/cdata?SN=WRONG0001&table=rtlog", 0), 0u)
      << rtlog->exchanges.back().request;
  EXPECT_EQ(rtlog->exchanges.back().status, 500);
  EXPECT_EQ(rtlog->exchanges.back().excerpt, "boom");
  EXPECT_NE(rtlog->reason.find("HTTP 500"), std::string::npos);

  const CheckResult* user = report.find("user");
  EXPECT_EQ(user->verdict, Verdict::fail);
  EXPECT_NE(user->reason.find("user=1"), std::string::npos) << user->reason;

  const CheckResult* poll = report.find("getrequest");
  EXPECT_EQ(poll->verdict, Verdict::fail);
  EXPECT_EQ(poll->exchanges.back().excerpt, "hello there");

  EXPECT_EQ(report.find("devicecmd-unknown")->verdict, Verdict::fail);
  EXPECT_EQ(report.find("exchange")->verdict, Verdict::not_supported);
  // What the server got right still passes.
  EXPECT_EQ(report.find("registry")->verdict, Verdict::pass);
  EXPECT_EQ(report.find("push")->verdict, Verdict::pass);
  EXPECT_EQ(report.find("ping")->verdict, Verdict::pass);
  // The text report shows the failed exchange under the check.
  const std::string text = format_report(report);
  EXPECT_NE(text.find("FAIL  rtlog-1"), std::string::npos) << text;
  EXPECT_NE(text.find("> POST /iclock/cdata?SN=WRONG0001&table=rtlog"), std::string::npos) << text;
  EXPECT_NE(text.find("< HTTP 500  \"boom\""), std::string::npos) << text;
  const auto json = report_json(report);
  EXPECT_EQ(json["exit_status"], 1);
  EXPECT_GE(json["failed"].get<int>(), 5);
}

TEST(ConformanceAgainstAWrongServer, ABareOkToRegistrationFailsAndStopsTheRun) {
  http::test::Harness h({}, [](http::test::Harness& harness) {
    harness.handler.on_handle = [](http::Request, http::Responder respond) {
      respond(http::make_response(http::Status::ok, "OK"));
    };
  });
  const ConformanceReport report = run_conformance(options_for(h.port(), "WRONG0002"));
  const CheckResult* registry = report.find("registry");
  EXPECT_EQ(registry->verdict, Verdict::fail);
  EXPECT_NE(registry->reason.find("without RegistryCode"), std::string::npos) << registry->reason;
  EXPECT_EQ(report.find("rtlog-1")->verdict, Verdict::not_supported);
  EXPECT_NE(report.find("rtlog-1")->reason.find("registration failed"), std::string::npos);
  EXPECT_EQ(report.exit_status(), 1);
}

// A different server that is right in its own way: CR LF, keys in other case, "table: N"
// acknowledgements, extra configuration keys, and a closed connection after every answer.
void other_conforming_server(http::test::Harness& h, std::atomic<bool>& registered) {
  h.handler.on_handle = [&registered](http::Request request, http::Responder respond) {
    const std::string target(request.target());
    auto param = [&](const std::string& key) {
      auto at = target.find("&" + key + "=");
      if (at == std::string::npos) return std::string();
      at += key.size() + 2;
      return target.substr(at, target.find('&', at) - at);
    };
    auto reply = [&](http::Status s, std::string body) {
      auto response = http::make_response(s, std::move(body));
      response.keep_alive(false);
      respond(std::move(response));
    };
    if (target.find("options=all") != std::string::npos) {
      return reply(http::Status::ok, registered ? "REGISTRY=OK\r\nREGISTRYCODE=Code1\r\nSessionID=X\r\n" : "ok\r\n");
    }
    if (target.rfind("/iclock/registry", 0) == 0) {
      registered = true;
      return reply(http::Status::ok, "registrycode = Code1\r\n");
    }
    if (target.rfind("/iclock/push", 0) == 0) {
      return reply(http::Status::ok, "ServerVersion=9\r\nServerName=other\r\nSessionID=Sess\r\nRealtime=1\r\nVendorKey=x\r\n");
    }
    if (!param("tablename").empty() && target.find("/iclock/querydata") == std::string::npos &&
        target.find("DeviceAuthorize") == std::string::npos) {
      return reply(http::Status::ok, param("tablename") + ": " + param("count") + "\r\n");
    }
    if (target.rfind("/iclock/querydata", 0) == 0) return reply(http::Status::ok, "user=1");
    if (target.rfind("/iclock/exchange", 0) == 0 || target.find("AuthType=device") != std::string::npos ||
        target.rfind("/iclock/rtdata", 0) == 0) {
      return reply(http::Status::not_found, "no such thing");
    }
    reply(http::Status::ok, "ok\r\n");
  };
}

TEST(ConformanceAgainstAnotherServer, LegitimateVariationsPass) {
  std::atomic<bool> registered{false};
  http::test::Harness h({}, [&registered](http::test::Harness& harness) { other_conforming_server(harness, registered); });
  const ConformanceReport report = run_conformance(options_for(h.port(), "OTHER0001"));
  EXPECT_EQ(report.count(Verdict::fail), 0) << describe(report);
  EXPECT_EQ(report.exit_status(), 0);
  EXPECT_EQ(report.find("user")->verdict, Verdict::pass);
  EXPECT_EQ(report.find("init-registered")->verdict, Verdict::pass);
  EXPECT_EQ(report.find("rtdata-time")->verdict, Verdict::not_supported);
  EXPECT_EQ(report.find("registry")->verdict, Verdict::pass);
  // One connection per exchange: every answer closed it and the run reconnected.
  EXPECT_EQ(h.counters().connections_accepted.load(), h.counters().requests.load());
  EXPECT_GT(h.counters().requests.load(), 20u);
  // The push answer lacked keys the device has defaults for: said, not failed.
  EXPECT_NE(report.find("push")->reason.find("ErrorDelay"), std::string::npos) << report.find("push")->reason;
}

TEST(ConformanceAgainstAWrongServer, NoServerAtAllIsUnreachable) {
  // A port that was just free: bound and closed again.
  std::uint16_t port = 0;
  {
    http::test::Harness h;
    port = h.port();
  }
  const ConformanceReport report = run_conformance(options_for(port));
  EXPECT_FALSE(report.reachable);
  EXPECT_FALSE(report.unreachable_reason.empty());
  EXPECT_EQ(report.exit_status(), 2);
}

}  // namespace
}  // namespace zkpush::emulator
