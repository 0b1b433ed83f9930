// MQTT against a real Mosquitto broker that the test starts on loopback, and a real libmosquitto
// subscriber: access events, door states (retained, one topic per door), device status (retained)
// and the server's own status (retained, "offline" when it stops); what was stored while the broker
// was down is published once it is back (QoS 1 from a stored cursor).
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "outbound/mqtt.hpp"
#include "server/serve_fixture.hpp"

extern char** environ;

namespace zkpush::server::e2e {
namespace {

using nlohmann::json;

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// mosquitto on 127.0.0.1:<port>, anonymous, no persistence.
class Broker {
 public:
  Broker(int port, const std::filesystem::path& dir) : port_(port), conf_(dir / "mosquitto.conf") {
    std::filesystem::create_directories(dir);
    std::ofstream(conf_) << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence false\n";
    start();
  }
  ~Broker() { stop(); }
  void start() {
    std::string conf = conf_.string();
    char* argv[] = {const_cast<char*>(ZKPUSH_MOSQUITTO), const_cast<char*>("-c"), conf.data(), nullptr};
    ASSERT_EQ(posix_spawn(&pid_, ZKPUSH_MOSQUITTO, nullptr, nullptr, argv, environ), 0);
    for (int i = 0; i < 100 && !accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(accepts(port_)) << "mosquitto did not start";
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  int port() const { return port_; }

 private:
  int port_;
  std::filesystem::path conf_;
  pid_t pid_ = 0;
};

struct Publication {
  std::string topic, payload;
  bool retained = false;
};

// A subscriber to <prefix>/#, reconnecting by itself.
class Subscriber {
 public:
  explicit Subscriber(int port) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void*, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "zkpush/#", 1);
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lock(s->mutex_);
      s->got_.push_back({msg->topic, std::string(static_cast<const char*>(msg->payload), msg->payloadlen), msg->retain});
      s->cv_.notify_all();
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lock(s->mutex_);
      s->subscribed_ = true;
      s->cv_.notify_all();
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect_async(mosq_, "127.0.0.1", port, 10);
    mosquitto_loop_start(mosq_);
    // Subscribed before the test goes on: what is published next reaches it.
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [this] { return subscribed_; }));
  }
  ~Subscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  // The first publication on `topic` matching `pred`, waiting up to `timeout`.
  std::optional<Publication> wait_for(const std::string& topic, std::function<bool(const Publication&)> pred = {},
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    std::optional<Publication> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& p : got_) {
        if (p.topic == topic && (!pred || pred(p))) {
          found = p;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  mosquitto* mosq_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Publication> got_;
  bool subscribed_ = false;
};

class MqttTest : public ServeFixture {
 protected:
  void SetUp() override {
    ServeFixture::SetUp();
    broker_ = std::make_unique<Broker>(free_tcp_port(), dir_ / "broker");
  }
  void start_server() {
    ServerConfig config;
    config.api_token = "mqtt-test-admin-token";
    config.mqtt_url = "mqtt://127.0.0.1:" + std::to_string(broker_->port());
    config.mqtt_client_id = "zkpush-test-" + std::to_string(::getpid());
    start(config);
  }
  std::unique_ptr<Broker> broker_;
};

TEST_F(MqttTest, EventsDoorStatesAndStatusArePublished) {
  Subscriber sub(broker_->port());
  start_server();
  auto online = sub.wait_for("zkpush/server/status", [](const Publication& p) { return p.payload == "online"; });
  ASSERT_TRUE(online);

  const std::string sn = "MQTT0001";
  const std::string token = handshake(sn);
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 10:00:00")}), token).status, 200);
  auto event = sub.wait_for("zkpush/" + sn + "/events");
  ASSERT_TRUE(event);
  auto listed = json::parse(send_raw(http::test::request("GET", "/api/v1/events?sn=" + sn, "",
                                                         "Authorization: Bearer mqtt-test-admin-token\r\n")).body);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(json::parse(event->payload), listed[0]);

  // Door 1 open (sensor bits 10), door 2 closed (01): one retained topic per door.
  ASSERT_EQ(send(p::format_rtstate_upload(sn, {p::Record{{"time", "2026-12-06 10:00:01"}, {"sensor", "0201"},
                                                         {"relay", "00"}, {"alarm", "0000"}, {"door", "2"}}}),
                 token).status,
            200);
  auto door1 = sub.wait_for("zkpush/" + sn + "/doors/1/state");
  auto door2 = sub.wait_for("zkpush/" + sn + "/doors/2/state");
  ASSERT_TRUE(door1 && door2);
  EXPECT_EQ(json::parse(door1->payload)["door"], 1);
  EXPECT_EQ(json::parse(door1->payload)["sn"], sn);
  EXPECT_TRUE(json::parse(door1->payload).contains("sensor"));
  auto status = sub.wait_for("zkpush/" + sn + "/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(json::parse(status->payload)["state"], "online");

  // A client that subscribes later gets what is retained.
  Subscriber late(broker_->port());
  auto kept = late.wait_for("zkpush/" + sn + "/doors/1/state");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->retained);
  EXPECT_EQ(kept->payload, door1->payload);
  auto kept_status = late.wait_for("zkpush/" + sn + "/status");
  ASSERT_TRUE(kept_status);
  EXPECT_TRUE(kept_status->retained);
  EXPECT_FALSE(late.wait_for("zkpush/" + sn + "/events", [](const Publication& p) { return p.retained; },
                             std::chrono::milliseconds(300)));

  // The server stopping says so.
  app_->stop();
  EXPECT_TRUE(sub.wait_for("zkpush/server/status", [](const Publication& p) { return p.payload == "offline"; }));
}

// A lockout after wrong device tokens (docs/security-devices.md) is published on <prefix>/<sn>/security,
// not retained: it is an event, not a state.
TEST_F(MqttTest, LockoutIsPublishedOnTheSecurityTopic) {
  Subscriber sub(broker_->port());
  start_server();
  ASSERT_TRUE(sub.wait_for("zkpush/server/status", [](const Publication& p) { return p.payload == "online"; }));
  const std::string sn = "MQTTLOCK01";
  handshake(sn);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(send(p::format_ping(sn), std::string(32, 'x')).status, 401) << i;  // the default: 10
  auto lockout = sub.wait_for("zkpush/" + sn + "/security");
  ASSERT_TRUE(lockout);
  EXPECT_FALSE(lockout->retained);
  const auto body = json::parse(lockout->payload);
  EXPECT_EQ(body["type"], "lockout");
  EXPECT_EQ(body["scope"], "device");
  EXPECT_EQ(body["sn"], sn);
  EXPECT_EQ(body["failures"], 10);
}

TEST_F(MqttTest, WhatWasStoredWhileTheBrokerWasDownIsPublishedWhenItIsBack) {
  start_server();
  const std::string sn = "MQTT0002";
  const std::string token = handshake(sn);
  {
    Subscriber sub(broker_->port());
    ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(1, "2026-12-06 11:00:00")}), token).status, 200);
    ASSERT_TRUE(sub.wait_for("zkpush/" + sn + "/events"));
  }
  broker_->stop();
  ASSERT_EQ(send(p::format_rtlog_upload(sn, {rtlog_record(2, "2026-12-06 11:00:01"), rtlog_record(3, "2026-12-06 11:00:02")}),
                 token).status,
            200);
  broker_->start();
  Subscriber sub(broker_->port());
  for (int index : {2, 3}) {
    auto got = sub.wait_for("zkpush/" + sn + "/events",
                            [index](const Publication& p) { return json::parse(p.payload)["index"] == index; });
    EXPECT_TRUE(got) << "event " << index;
  }
}

TEST(MqttUrl, ReadsCredentialsHostAndPort) {
  auto u = outbound::parse_mqtt_url("mqtt://ops:pw@broker.local:1884");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->username, "ops");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->host, "broker.local");
  EXPECT_EQ(u->port, 1884);
  EXPECT_EQ(outbound::parse_mqtt_url("mqtt://h")->port, 1883);
  std::string why;
  EXPECT_FALSE(outbound::parse_mqtt_url("http://h", &why));
  EXPECT_FALSE(why.empty());
  EXPECT_FALSE(outbound::parse_mqtt_url("mqtt://h:0"));
  EXPECT_FALSE(outbound::parse_mqtt_url("mqtt://"));
}

}  // namespace
}  // namespace zkpush::server::e2e
