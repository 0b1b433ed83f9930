// Webhooks: each subscription is delivered the message log (storage/areas/messages.hpp) from its own
// cursor, in order, at least once, by a worker thread of its own — a slow or failing receiver holds
// back only its own subscription.
//
// A delivery is a POST of the message's JSON (as the API shows the thing it tells of) with
//   Content-Type: application/json
//   X-Zkpush-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by the subscription's secret>
//   X-Zkpush-Delivery: <message id>   (the same on every retry: receivers deduplicate with it)
//   X-Zkpush-Event: <message kind>    X-Zkpush-Webhook: <subscription id>
// A 2xx answer delivers it. Anything else (no answer, a timeout, another status) is tried again
// after 1 s, 2 s, 4 s… (at most 5 min) until the subscription's max_attempts; then the message
// becomes a dead letter and delivery goes on with the next one. A dead letter asked for again
// (the API's redeliver) is delivered before the log continues.
//
// The cursor is written after each batch of deliveries (not after each): a crash can deliver a
// few messages twice, never skip one. Only http:// receivers for now (TLS comes with issue 15).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "front/api/views.hpp"
#include "service/live.hpp"
#include "storage/store.hpp"

namespace zkpush::outbound {

// "sha256=" + hex HMAC-SHA256(secret, body).
std::string webhook_signature(std::string_view secret, std::string_view body);

struct WebhookOptions {
  std::chrono::milliseconds timeout{10000};  // per delivery attempt
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{300000};
  std::int64_t batch = 100;  // messages read (and cursor written) at a time
};

class Webhooks {
 public:
  Webhooks(storage::Store& store, service::Live& live, front::api::DoorContext doors, WebhookOptions options = {});
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  // Reads the subscriptions and starts a worker for each; call again after the API changed them
  // (workers of removed subscriptions stop, new ones start; others are woken).
  void reload();
  void stop();
  std::size_t workers() const;

 private:
  class Worker;
  void wake_all();

  storage::Store& store_;
  service::Live& live_;
  front::api::DoorContext doors_;
  WebhookOptions options_;
  std::int64_t subscription_ = 0;
  mutable std::mutex mutex_;
  std::map<std::int64_t, std::unique_ptr<Worker>> workers_;
  bool stopped_ = false;
};

}  // namespace zkpush::outbound
