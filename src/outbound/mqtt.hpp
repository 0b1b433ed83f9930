// MQTT: the message log (storage/areas/messages.hpp) published to a broker through libmosquitto,
// QoS 1, from a cursor kept in the store ("mqtt"): after a restart or a broker outage publishing
// resumes where it stopped (at least once: a batch not acknowledged is published again).
//
// Topics (<p> the prefix, "zkpush" by default; <sn> the serial number with '/', '+', '#' replaced):
//   <p>/<sn>/events               each access event's JSON (as GET /api/v1/events shows it)
//   <p>/<sn>/doors/<n>/state      each door's state {"sn","door","sensor","relay","alarms","time"}, retained
//   <p>/<sn>/state                the whole door state of the device, retained
//   <p>/<sn>/status               {"sn","state":"online"|"offline",...}, retained
//   <p>/<sn>/commands             each command that closed (its JSON)
//   <p>/<sn>/sync                 the panel's sync progress {"state","pending","applied","failed",...}, retained
//   <p>/server/status             "online" once connected, retained; "offline" when the server
//                                 stops, and as its last will when it dies or loses the broker
// A device's status topic is as fresh as the server: read it with <p>/server/status.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "front/api/views.hpp"
#include "service/live.hpp"
#include "storage/store.hpp"

struct mosquitto;

namespace zkpush::outbound {

// "mqtt://[user[:password]@]host[:port]" (1883 by default).
struct MqttUrl {
  std::string host;
  int port = 1883;
  std::string username, password;
};
std::optional<MqttUrl> parse_mqtt_url(std::string_view url, std::string* why = nullptr);

struct MqttOptions {
  std::string url;
  std::string prefix = "zkpush";
  std::string client_id;  // "" = zkpush-<host name>
  std::string password;   // overrides the URL's (ZKPUSH_MQTT_PASSWORD: kept out of the process list)
  std::int64_t batch = 1000;  // messages read, published and acknowledged together
};

// One publication of a message.
struct MqttPublication {
  std::string topic;
  std::string payload;
  bool retain = false;
};
// What a message publishes, by the table above.
std::vector<MqttPublication> mqtt_publications(const std::string& prefix, const front::api::MessagePage& page,
                                               std::size_t index, const front::api::DoorContext& doors);

class Mqtt {
 public:
  // Throws std::invalid_argument for an unusable URL.
  Mqtt(storage::Store& store, service::Live& live, front::api::DoorContext doors, MqttOptions options);
  ~Mqtt();
  Mqtt(const Mqtt&) = delete;
  Mqtt& operator=(const Mqtt&) = delete;

  void start();  // connects in the background (and again whenever the connection is lost)
  void stop();   // "offline" on <p>/server/status, then disconnects; idempotent
  bool connected() const;

 private:
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);
  void run();
  bool publish_all(const std::vector<MqttPublication>& batch);
  bool wait(std::chrono::milliseconds d, bool wake_on_ring);

  storage::Store& store_;
  service::Live& live_;
  front::api::DoorContext doors_;
  MqttOptions options_;
  MqttUrl url_;
  struct mosquitto* mosq_ = nullptr;
  std::int64_t subscription_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool connected_ = false, stopping_ = false, rung_ = false, started_ = false;
  std::set<int> acked_;
  std::thread thread_;
};

}  // namespace zkpush::outbound
