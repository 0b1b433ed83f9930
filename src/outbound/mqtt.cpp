#include "outbound/mqtt.hpp"

#include <mosquitto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "protocol/text.hpp"

namespace zkpush::outbound {

namespace p = protocol;
using Json = front::api::Json;

std::optional<MqttUrl> parse_mqtt_url(std::string_view url, std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<MqttUrl> {
    if (why) *why = reason;
    return std::nullopt;
  };
  constexpr std::string_view scheme = "mqtt://";
  if (url.size() <= scheme.size() || !p::text::iequals(url.substr(0, scheme.size()), scheme))
    return fail("an mqtt://[user[:password]@]host[:port] URL (mqtts comes with TLS)");
  url.remove_prefix(scheme.size());
  url = url.substr(0, url.find('/'));
  MqttUrl u;
  if (auto at = url.rfind('@'); at != std::string_view::npos) {
    auto credentials = url.substr(0, at);
    url.remove_prefix(at + 1);
    auto colon = credentials.find(':');
    u.username = std::string(credentials.substr(0, colon));
    if (colon != std::string_view::npos) u.password = std::string(credentials.substr(colon + 1));
  }
  if (auto colon = url.rfind(':'); colon != std::string_view::npos && url.back() != ']') {
    auto n = p::text::parse_int(url.substr(colon + 1));
    if (!n || *n < 1 || *n > 65535) return fail("a port from 1 to 65535");
    u.port = static_cast<int>(*n);
    url = url.substr(0, colon);
  }
  if (url.size() >= 2 && url.front() == '[' && url.back() == ']') url = url.substr(1, url.size() - 2);
  if (url.empty()) return fail("a broker host: mqtt://host[:port]");
  u.host = std::string(url);
  return u;
}

namespace {

// A serial number as one topic level: MQTT gives '/', '+' and '#' meanings.
std::string topic_level(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

std::vector<MqttPublication> mqtt_publications(const std::string& prefix, const front::api::MessagePage& page,
                                               std::size_t index, const front::api::DoorContext& doors) {
  const auto& m = page.messages.at(index);
  const auto json = front::api::message_json(page, index, doors);
  if (json.is_null()) return {};
  const std::string base = prefix + "/" + topic_level(m.sn);
  std::vector<MqttPublication> out;
  if (m.kind == "event") {
    out.push_back({base + "/events", dump(json), false});
  } else if (m.kind == "door_state") {
    out.push_back({base + "/state", dump(json), true});
    if (json.contains("doors")) {
      for (const auto& d : json["doors"]) {
        Json one = d;
        one["sn"] = m.sn;
        one["time"] = json.value("time", Json(nullptr));
        out.push_back({base + "/doors/" + std::to_string(d.value("door", 0)) + "/state", dump(one), true});
      }
    }
  } else if (m.kind == "device") {
    out.push_back({base + "/status", dump(json), true});
  } else if (m.kind == "command") {
    out.push_back({base + "/commands", dump(json), false});
  } else if (m.kind == "sync") {
    out.push_back({base + "/sync", dump(json), true});
  } else if (m.kind == "security") {  // a lockout (service/lockouts.hpp): not retained, it is an event
    out.push_back({base + "/security", dump(json), false});
  }
  return out;
}

Mqtt::Mqtt(storage::Store& store, service::Live& live, front::api::DoorContext doors, MqttOptions options)
    : store_(store), live_(live), doors_(std::move(doors)), options_(std::move(options)) {
  std::string why;
  auto url = parse_mqtt_url(options_.url, &why);
  if (!url) throw std::invalid_argument("--mqtt: " + why);
  url_ = *url;
  if (!options_.password.empty()) url_.password = options_.password;
  if (options_.client_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    options_.client_id = std::string("zkpush-") + host;
  }
  static const int init = mosquitto_lib_init();  // once per process
  static_cast<void>(init);
  mosq_ = mosquitto_new(options_.client_id.c_str(), true, this);
  if (!mosq_) throw std::runtime_error("mqtt: cannot create a client");
  mosquitto_connect_callback_set(mosq_, &Mqtt::on_connect);
  mosquitto_disconnect_callback_set(mosq_, &Mqtt::on_disconnect);
  mosquitto_publish_callback_set(mosq_, &Mqtt::on_publish);
  mosquitto_reconnect_delay_set(mosq_, 1, 30, true);
  // A batch goes out whole (libmosquitto's default of 20 in flight would pace it by round trips).
  mosquitto_max_inflight_messages_set(mosq_, 0);
  if (!url_.username.empty())
    mosquitto_username_pw_set(mosq_, url_.username.c_str(), url_.password.empty() ? nullptr : url_.password.c_str());
  const std::string will_topic = options_.prefix + "/server/status";
  mosquitto_will_set(mosq_, will_topic.c_str(), 7, "offline", 1, true);
}

Mqtt::~Mqtt() {
  stop();
  if (mosq_) mosquitto_destroy(mosq_);
}

void Mqtt::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
  }
  subscription_ = live_.subscribe([this](service::Live::Ring ring) {
    if (ring == service::Live::Ring::beat) return;
    std::lock_guard lock(mutex_);
    rung_ = true;
    cv_.notify_all();
  });
  // Asynchronous: a broker that is down at start is connected to when it comes (the loop retries).
  const int rc = mosquitto_connect_async(mosq_, url_.host.c_str(), url_.port, 30);
  if (rc != MOSQ_ERR_SUCCESS)
    spdlog::warn("mqtt: connecting to {}:{}: {} (retrying)", url_.host, url_.port, mosquitto_strerror(rc));
  mosquitto_loop_start(mosq_);
  thread_ = std::thread([this] { run(); });
  spdlog::info("mqtt: publishing to {}:{} under {}/", url_.host, url_.port, options_.prefix);
}

void Mqtt::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  live_.unsubscribe(subscription_);
  if (thread_.joinable()) thread_.join();
  if (connected()) {
    const std::string topic = options_.prefix + "/server/status";
    int mid = 0;
    if (mosquitto_publish(mosq_, &mid, topic.c_str(), 7, "offline", 1, true) == MOSQ_ERR_SUCCESS) {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(2), [&] { return acked_.count(mid) > 0 || !connected_; });
    }
  }
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
}

bool Mqtt::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

void Mqtt::on_connect(struct mosquitto* mosq, void* self, int rc) {
  auto* m = static_cast<Mqtt*>(self);
  if (rc != 0) {
    spdlog::warn("mqtt: the broker refused the connection: {}", mosquitto_connack_string(rc));
    return;
  }
  const std::string topic = m->options_.prefix + "/server/status";
  mosquitto_publish(mosq, nullptr, topic.c_str(), 6, "online", 1, true);
  spdlog::info("mqtt: connected to {}:{}", m->url_.host, m->url_.port);
  std::lock_guard lock(m->mutex_);
  m->connected_ = true;
  m->cv_.notify_all();
}

void Mqtt::on_disconnect(struct mosquitto*, void* self, int rc) {
  auto* m = static_cast<Mqtt*>(self);
  if (rc != 0) spdlog::warn("mqtt: connection lost ({}); reconnecting", mosquitto_strerror(rc));
  std::lock_guard lock(m->mutex_);
  m->connected_ = false;
  m->cv_.notify_all();
}

void Mqtt::on_publish(struct mosquitto*, void* self, int mid) {
  auto* m = static_cast<Mqtt*>(self);
  std::lock_guard lock(m->mutex_);
  m->acked_.insert(mid);
  m->cv_.notify_all();
}

bool Mqtt::wait(std::chrono::milliseconds d, bool wake_on_ring) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, d, [&] { return stopping_ || (wake_on_ring && rung_); });
  rung_ = false;
  return !stopping_;
}

// Publishes a batch at QoS 1 and waits for every PUBACK while they keep coming (30 s without one
// gives up): whether all were acknowledged. Acknowledgements older than the batch are dropped
// first, so a message id used again after 65,535 publications cannot pass for this batch's.
bool Mqtt::publish_all(const std::vector<MqttPublication>& batch) {
  {
    std::lock_guard lock(mutex_);
    acked_.clear();
  }
  std::vector<int> mids;
  mids.reserve(batch.size());
  for (const auto& pub : batch) {
    int mid = 0;
    const int rc = mosquitto_publish(mosq_, &mid, pub.topic.c_str(), static_cast<int>(pub.payload.size()),
                                     pub.payload.data(), 1, pub.retain);
    if (rc != MOSQ_ERR_SUCCESS) {
      spdlog::warn("mqtt: publishing to {}: {}", pub.topic, mosquitto_strerror(rc));
      return false;
    }
    mids.push_back(mid);
  }
  std::unique_lock lock(mutex_);
  auto missing = [&] {
    std::size_t n = 0;
    for (int mid : mids) n += acked_.count(mid) ? 0 : 1;
    return n;
  };
  for (std::size_t left = missing(); left > 0 && !stopping_ && connected_;) {
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return stopping_ || !connected_ || missing() < left; });
    const auto now_left = missing();
    if (now_left == left) break;  // no progress for 30 s: published again
    left = now_left;
  }
  const bool acked = missing() == 0;
  acked_.clear();
  return acked;
}

void Mqtt::run() {
  std::int64_t cursor = 0;
  for (;;) {
    // Where it stopped last time; the first time, from now on.
    // Written at once the first time: a restart while the broker is down resumes from here.
    auto r = store_.write_now([](storage::Transaction& tx) {
      auto c = tx.messages().cursor("mqtt");
      if (c) return *c;
      const auto from = tx.messages().last_id();
      tx.messages().set_cursor("mqtt", from);
      return from;
    });
    if (r.ok()) {
      cursor = r.value();
      break;
    }
    spdlog::warn("mqtt: reading its cursor: {}", r.error().message);
    if (!wait(std::chrono::seconds(1), false)) return;
  }
  bool leading = true;  // this node published last time round (the cursor in memory is current)
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    // Nodes sharing a store publish once: the node that leads does (Store::leads); one that takes the
    // lead over resumes from the cursor saved by the previous one.
    if (!store_.leads()) {
      leading = false;
      wait(std::chrono::seconds(1), false);
      continue;
    }
    if (!leading) {
      auto saved = store_.read_now([](storage::Reads& r) { return r.messages().cursor("mqtt"); });
      if (!saved.ok()) {
        wait(std::chrono::seconds(1), false);
        continue;
      }
      if (saved.value()) cursor = std::max(cursor, *saved.value());
      leading = true;
    }
    if (!connected()) {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || connected_; });
      continue;
    }
    storage::MessageFilter filter;
    filter.after_id = cursor;
    filter.limit = options_.batch;
    auto page = store_.read_now([filter](storage::Reads& reads) { return front::api::read_message_page(reads, filter); });
    if (!page.ok()) {
      spdlog::warn("mqtt: reading messages: {}", page.error().message);
      wait(std::chrono::seconds(1), false);
      continue;
    }
    if (page->messages.empty()) {
      wait(std::chrono::seconds(5), true);
      continue;
    }
    std::vector<MqttPublication> batch;
    for (std::size_t i = 0; i < page->messages.size(); ++i) {
      for (auto& pub : mqtt_publications(options_.prefix, *page, i, doors_)) batch.push_back(std::move(pub));
    }
    if (!publish_all(batch)) {
      wait(std::chrono::seconds(1), false);  // published again once the broker is back
      continue;
    }
    cursor = page->messages.back().id;
    // Saved without waiting for the commit: the next batch goes out meanwhile (a crash before the
    // commit publishes this batch again, at least once as promised).
    store_.write([cursor](storage::Transaction& tx) { tx.messages().set_cursor("mqtt", cursor); },
                 [](storage::StoreResult<storage::Unit> r) {
                   if (!r.ok()) spdlog::warn("mqtt: saving its cursor: {}", r.error().message);
                 });
  }
}

}  // namespace zkpush::outbound
