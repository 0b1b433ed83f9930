// Area: webhook subscriptions, where each stands in the message log, and the messages each gave up
// on (dead letters) until someone asks for them again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::storage {

struct Webhook {
  std::int64_t id = 0;
  std::string url;
  std::string secret;  // the HMAC key: kept as given (it must sign), never shown again
  std::string kinds;   // message kinds delivered, comma-separated; "*" = all
  std::string sn;      // "" = every device
  std::int64_t max_attempts = 8;
  std::int64_t cursor = 0;  // the last message delivered or given up on
  std::int64_t created_at = 0;
  std::int64_t delivered = 0;  // deliveries that succeeded
  std::int64_t last_status = 0;  // the receiver's last HTTP status (0: no answer)
  std::string last_error;
  std::int64_t last_attempt_at = 0, last_success_at = 0;
  std::int64_t dead_letters = 0;  // read with the row: dead letters waiting
  bool operator==(const Webhook&) const = default;
};

struct DeadLetter {
  std::int64_t id = 0;
  std::int64_t webhook_id = 0;
  std::int64_t message_id = 0;
  std::int64_t attempts = 0;
  std::int64_t last_status = 0;
  std::string last_error;
  std::int64_t failed_at = 0;
  bool redeliver = false;  // asked to be delivered again
  bool operator==(const DeadLetter&) const = default;
};

// What one round of deliveries did, written in one unit of work.
struct WebhookProgress {
  std::int64_t id = 0;
  std::int64_t cursor = 0;     // new cursor (not moved back)
  std::int64_t delivered = 0;  // deliveries that succeeded in the round
  std::int64_t last_status = 0;
  std::string last_error;
  std::int64_t last_attempt_at = 0, last_success_at = 0;
  std::vector<DeadLetter> dead;                 // messages given up on
  std::vector<std::int64_t> redelivered;        // dead letters delivered at last (removed)
  std::vector<DeadLetter> failed_again;         // dead letters that failed again (redeliver cleared)
};

class WebhookReads {
 public:
  virtual ~WebhookReads() = default;
  virtual std::vector<Webhook> all() = 0;
  virtual std::optional<Webhook> get(std::int64_t id) = 0;
  // Newest first, before `before_id` (0: from the newest); `only_redeliver`: those asked again,
  // oldest first (the order they are delivered in).
  virtual std::vector<DeadLetter> dead_letters(std::int64_t webhook_id, std::int64_t before_id, std::int64_t limit,
                                               bool only_redeliver) = 0;
};

class WebhookWrites : public WebhookReads {
 public:
  virtual std::int64_t insert(const Webhook& webhook) = 0;
  // Whether it existed; its dead letters go with it.
  virtual bool remove(std::int64_t id) = 0;
  virtual void progress(const WebhookProgress& progress) = 0;
  // Marks dead letters to be delivered again (`ids` empty: all of the webhook's); how many.
  virtual std::int64_t redeliver(std::int64_t webhook_id, const std::vector<std::int64_t>& ids) = 0;
};

}  // namespace zkpush::storage
