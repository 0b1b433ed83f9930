#include "outbound/webhooks.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <vector>

#include "emulator/http_client.hpp"
#include "front/api/webhook_url.hpp"
#include "protocol/text.hpp"

namespace zkpush::outbound {

namespace asio = boost::asio;
namespace p = protocol;
using Json = front::api::Json;

std::string webhook_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0x0f];
  }
  return out;
}

namespace {

asio::awaitable<emulator::HttpAnswer> post(std::shared_ptr<emulator::HttpClient> client, p::OutgoingRequest request,
                                           std::chrono::milliseconds timeout) {
  co_return co_await client->send(request, "", timeout);
}

// What one attempt got: delivered, or the status / error to record.
struct Attempt {
  bool ok = false;
  std::int64_t status = 0;
  std::string error;
};

}  // namespace

class Webhooks::Worker {
 public:
  Worker(storage::Store& store, front::api::DoorContext doors, WebhookOptions options, storage::Webhook hook)
      : store_(store), doors_(std::move(doors)), options_(options), hook_(std::move(hook)) {
    std::string why;
    url_ = front::api::parse_webhook_url(hook_.url, &why);
    if (!url_) spdlog::warn("webhook {}: its URL cannot be used ({}); not delivering", hook_.id, why);
    for (auto part : p::text::split(hook_.kinds, ',')) {
      // "*" is every access event; the other kinds are named (docs/serve.md, webhooks).
      const std::string kind = part == "*" ? "event" : std::string(part);
      if (!kind.empty() && std::find(kinds_.begin(), kinds_.end(), kind) == kinds_.end()) kinds_.push_back(kind);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Worker() { stop(); }

  void wake() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    cv_.notify_all();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      cv_.notify_all();
      if (io_) io_->stop();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  // Sleeps until woken, stopped or `d` passed; false when stopping.
  bool pause(std::chrono::milliseconds d, bool wake_early) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [&] { return stopping_ || (wake_early && woken_); });
    if (wake_early) woken_ = false;  // a ring during a retry's wait is kept for afterwards
    return !stopping_;
  }

  Attempt attempt(const std::string& body, std::int64_t message_id, const std::string& kind) {
    Attempt a;
    p::OutgoingRequest request{"POST",
                               url_->target,
                               {{"Host", url_->host_header()},
                                {"User-Agent", "zkpush-webhook/" ZKPUSH_VERSION},
                                {"Accept", "*/*"},
                                {"Content-Type", "application/json"},
                                {"X-Zkpush-Signature", webhook_signature(hook_.secret, body)},
                                {"X-Zkpush-Delivery", std::to_string(message_id)},
                                {"X-Zkpush-Event", kind},
                                {"X-Zkpush-Webhook", std::to_string(hook_.id)}},
                               body};
    {
      // A stop() after this point stops run(); one before it is seen here.
      std::lock_guard lock(mutex_);
      if (stopping_) {
        a.error = "stopped";
        return a;
      }
      io_->restart();
    }
    auto future = asio::co_spawn(*io_, post(client_, std::move(request), options_.timeout), asio::use_future);
    io_->run();
    if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      a.error = "stopped";
      return a;
    }
    auto answer = future.get();
    a.status = answer.status;
    a.ok = answer.status >= 200 && answer.status < 300;
    if (answer.status == 0) {
      a.error = answer.error;
      client_->close();
    } else if (!a.ok) {
      a.error = "HTTP " + std::to_string(answer.status);
    }
    return a;
  }

  // Tries one message up to `attempts` times; its last attempt.
  Attempt deliver(const Json& json, std::int64_t message_id, const std::string& kind, std::int64_t attempts,
                  std::int64_t& tried) {
    const std::string body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
    Attempt last;
    auto wait = options_.first_retry;
    for (tried = 1;; ++tried) {
      last = attempt(body, message_id, kind);
      if (last.ok || tried >= attempts || stopping()) return last;
      spdlog::info("webhook {}: message {} attempt {} of {} failed ({}), again in {} ms", hook_.id, message_id, tried,
                   attempts, last.error, wait.count());
      if (!pause(wait, false)) return last;
      wait = std::min(wait * 2, options_.max_retry);
    }
  }

  void record(storage::WebhookProgress& progress, const Attempt& a, std::int64_t now) {
    progress.last_status = a.status;
    progress.last_error = a.error;
    progress.last_attempt_at = now;
    if (a.ok) progress.last_success_at = now;
  }

  static std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void save(const storage::WebhookProgress& progress) {
    auto r = store_.write_now([progress](storage::Transaction& tx) { tx.webhooks().progress(progress); });
    if (!r.ok()) spdlog::warn("webhook {}: saving its progress failed: {}", hook_.id, r.error().message);
  }

  // Dead letters asked for again; whether there were any.
  bool redeliveries() {
    const auto id = hook_.id;
    // Oldest first (the storage lists those asked again in id order).
    auto letters = store_.read_now([id](storage::Reads& r) { return r.webhooks().dead_letters(id, 0, 50, true); });
    if (!letters.ok() || letters->empty()) return false;
    std::vector<std::int64_t> ids;
    for (const auto& d : *letters) ids.push_back(d.message_id);
    auto page = store_.read_now([ids](storage::Reads& r) { return front::api::read_messages(r, ids); });
    if (!page.ok()) return false;
    storage::WebhookProgress progress;
    progress.id = id;
    progress.cursor = cursor_;
    for (auto it = letters->begin(); it != letters->end() && !stopping(); ++it) {
      const auto& d = *it;
      std::optional<std::size_t> at;
      for (std::size_t i = 0; i < page->messages.size(); ++i) {
        if (page->messages[i].id == d.message_id) at = i;
      }
      Attempt a;
      std::int64_t tried = 0;
      const auto json = at ? front::api::message_json(*page, *at, doors_) : Json(nullptr);
      if (json.is_null()) {
        // Its message (or the row it names) is gone: nothing left to deliver.
        spdlog::warn("webhook {}: dead letter {} (message {}) is no longer stored: dropped", hook_.id, d.id,
                     d.message_id);
        progress.redelivered.push_back(d.id);
        continue;
      }
      a = deliver(json, d.message_id, page->messages[*at].kind, hook_.max_attempts, tried);
      if (!a.ok && stopping()) break;  // cut short by a stop: still asked for, tried again after it
      record(progress, a, unix_now());
      if (a.ok) {
        progress.redelivered.push_back(d.id);
        ++progress.delivered;
      } else {
        storage::DeadLetter again = d;
        again.attempts = tried;
        again.last_status = a.status;
        again.last_error = a.error;
        again.failed_at = unix_now();
        progress.failed_again.push_back(again);
      }
    }
    save(progress);
    return true;
  }

  void run() {
    {
      std::lock_guard lock(mutex_);
      io_ = std::make_unique<asio::io_context>();
    }
    cursor_ = hook_.cursor;
    if (url_) {
      client_ = std::make_shared<emulator::HttpClient>(io_->get_executor(),
                                                       emulator::ServerAddress{url_->host, url_->port});
    }
    bool leading = true;  // this node delivered last time round (the cursor in memory is current)
    while (!stopping()) {
      if (!url_) {
        pause(std::chrono::hours(1), false);
        continue;
      }
      // Nodes sharing a store deliver once: the node that leads does (Store::leads). One that takes
      // the lead over resumes from the cursor the previous one saved (at least once, as promised).
      if (!store_.leads()) {
        leading = false;
        pause(std::chrono::seconds(1), false);
        continue;
      }
      if (!leading) {
        const auto id = hook_.id;
        auto stored = store_.read_now([id](storage::Reads& r) { return r.webhooks().get(id); });
        if (!stored.ok()) {
          pause(std::chrono::seconds(1), false);
          continue;
        }
        if (!stored.value()) return;  // removed meanwhile: reload() ends this worker
        cursor_ = std::max(cursor_, stored.value()->cursor);
        leading = true;
      }
      if (redeliveries()) continue;
      storage::MessageFilter filter;
      filter.after_id = cursor_;
      filter.limit = options_.batch;
      filter.sn = hook_.sn;
      filter.kinds = kinds_;
      auto page = store_.read_now([filter](storage::Reads& r) { return front::api::read_message_page(r, filter); });
      if (!page.ok()) {
        spdlog::warn("webhook {}: reading messages failed: {}", hook_.id, page.error().message);
        pause(std::chrono::seconds(1), false);
        continue;
      }
      if (page->messages.empty()) {
        pause(std::chrono::seconds(5), true);
        continue;
      }
      storage::WebhookProgress progress;
      progress.id = hook_.id;
      for (std::size_t i = 0; i < page->messages.size() && !stopping(); ++i) {
        const auto& m = page->messages[i];
        auto json = front::api::message_json(*page, i, doors_);
        std::int64_t tried = 0;
        Attempt a;
        if (json.is_null()) {
          a.ok = true;  // the row it told of is gone: nothing to deliver
        } else {
          a = deliver(json, m.id, m.kind, hook_.max_attempts, tried);
          if (!a.ok && stopping()) break;  // cut short by a stop, not given up on: the next start resumes
          record(progress, a, unix_now());
          if (a.ok) {
            ++progress.delivered;
          } else {
            spdlog::warn("webhook {}: message {} not delivered after {} attempts ({}): dead letter", hook_.id, m.id,
                         tried, a.error);
            progress.dead.push_back(
                storage::DeadLetter{0, hook_.id, m.id, tried, a.status, a.error, unix_now(), false});
          }
        }
        cursor_ = m.id;
        progress.cursor = cursor_;
      }
      if (progress.cursor > 0) save(progress);
    }
  }

  storage::Store& store_;
  front::api::DoorContext doors_;
  const WebhookOptions options_;
  const storage::Webhook hook_;
  std::optional<front::api::WebhookUrl> url_;
  std::vector<std::string> kinds_;
  std::int64_t cursor_ = 0;
  std::unique_ptr<asio::io_context> io_;
  std::shared_ptr<emulator::HttpClient> client_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false, stopping_ = false;
  std::thread thread_;
};

Webhooks::Webhooks(storage::Store& store, service::Live& live, front::api::DoorContext doors, WebhookOptions options)
    : store_(store), live_(live), doors_(std::move(doors)), options_(options) {
  subscription_ = live_.subscribe([this](service::Live::Ring ring) {
    if (ring != service::Live::Ring::beat) wake_all();
  });
}

Webhooks::~Webhooks() { stop(); }

void Webhooks::reload() {
  auto hooks = store_.read_now([](storage::Reads& r) { return r.webhooks().all(); });
  if (!hooks.ok()) {
    spdlog::warn("webhooks: reading the subscriptions failed: {}", hooks.error().message);
    return;
  }
  std::vector<std::unique_ptr<Worker>> gone;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    std::map<std::int64_t, std::unique_ptr<Worker>> next;
    for (const auto& h : *hooks) {
      auto it = workers_.find(h.id);
      if (it != workers_.end()) {
        it->second->wake();
        next.emplace(h.id, std::move(it->second));
        workers_.erase(it);
      } else {
        next.emplace(h.id, std::make_unique<Worker>(store_, doors_, options_, h));
      }
    }
    for (auto& [id, w] : workers_) gone.push_back(std::move(w));
    workers_ = std::move(next);
  }
  gone.clear();  // joins their threads, outside the lock
}

void Webhooks::stop() {
  std::map<std::int64_t, std::unique_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    workers.swap(workers_);
  }
  live_.unsubscribe(subscription_);
  workers.clear();
}

std::size_t Webhooks::workers() const {
  std::lock_guard lock(mutex_);
  return workers_.size();
}

void Webhooks::wake_all() {
  std::lock_guard lock(mutex_);
  for (auto& [id, w] : workers_) w->wake();
}

}  // namespace zkpush::outbound
