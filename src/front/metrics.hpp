// GET /metrics of `zkpush serve`: Prometheus text exposition (version 0.0.4).
//
// Every device poll goes through these counters, so the hot path is a handful of relaxed atomic
// increments into fixed arrays indexed by the protocol::Endpoint enum and the status code: no map,
// no lock, no allocation. Everything else (device totals, store and process figures) is gathered
// only when /metrics is scraped. No label names a device: the page is as open as /healthz.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "protocol/endpoints.hpp"
#include "server/config.hpp"
#include "server/http/counters.hpp"
#include "server/http/responder.hpp"
#include <functional>

#include "storage/store.hpp"

namespace zkpush::front {

namespace http = server::http;
using server::TokenPolicy;

// Fixed buckets (seconds) shared by every latency histogram: from a cached idle poll (well under a
// millisecond) to a 96 MiB ACCOUNT upload waiting on a group commit.
inline constexpr std::array<double, 15> kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                         0.25,   0.5,   1,      2.5,   5,    10,   30};

class Histogram {
 public:
  struct Snapshot {
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> buckets{};  // per bucket, not cumulative; last = +Inf
    std::uint64_t count = 0;  // the sum of buckets, so _count always equals the +Inf bucket
    double sum_seconds = 0;
  };
  void observe(std::chrono::nanoseconds elapsed) noexcept;
  Snapshot snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> buckets_{};
  // Nanoseconds as an integer: exact, and a plain fetch_add (2^64 ns is 584 years of latency).
  std::atomic<std::uint64_t> sum_ns_{0};
};

// What a request is counted as: the protocol endpoints in enum order, then the server's own paths.
enum class MetricSlot : std::uint8_t {};
inline constexpr std::size_t kProtocolSlots = static_cast<std::size_t>(protocol::Endpoint::unknown) + 1;
inline constexpr auto kApiSlot = static_cast<MetricSlot>(kProtocolSlots);
inline constexpr auto kHealthzSlot = static_cast<MetricSlot>(kProtocolSlots + 1);
inline constexpr auto kMetricsSlot = static_cast<MetricSlot>(kProtocolSlots + 2);
inline constexpr auto kConsoleSlot = static_cast<MetricSlot>(kProtocolSlots + 3);  // the web console: any other path
inline constexpr std::size_t kMetricSlots = kProtocolSlots + 4;

constexpr MetricSlot metric_slot(protocol::Endpoint endpoint) noexcept {
  return static_cast<MetricSlot>(endpoint);
}
// The `endpoint` label: the catalogue id ("rtlog", "unknown"...), "api", "healthz", "metrics" or
// "console".
std::string_view slot_label(MetricSlot slot) noexcept;
// The request as the front will dispatch it, from the target (and the body, which only tells an rtlog
// from a cancel-alarm upload): /healthz, /metrics, /api and /api/*; /iclock/* and /files/* by
// protocol::classify; every other path is the web console's (mounted as the tree "/").
MetricSlot classify_for_metrics(std::string_view method, std::string_view target, std::string_view body);

// Latency is kept per group of endpoints, not per endpoint, to keep the series few.
enum class EndpointGroup : std::uint8_t { handshake, poll, upload, command, file, other, api, internal, console };
inline constexpr std::size_t kEndpointGroups = 9;
EndpointGroup endpoint_group(MetricSlot slot) noexcept;
std::string_view group_label(EndpointGroup group) noexcept;
// Uploads the device endpoints answer 200 only once the store has committed them.
bool is_ingest(MetricSlot slot) noexcept;

// Figures gathered at scrape time, outside the hot path.
struct ScrapeInputs {
  std::int64_t devices_known = 0;
  std::int64_t devices_online = 0;
  std::int64_t devices_pending_approval = 0;
  std::int64_t command_queue_depth = 0;
  std::int64_t trace_bytes = 0;                 // the wire trace (wire_trace.hpp)
  std::uint64_t remote_auth_timeouts = 0;       // remote identifications answered AUTH=TIMEOUT
  bool store_leads = true;                      // storage::Store::leads()
  const http::Counters* transport = nullptr;    // absent before the HTTP server exists
  std::optional<storage::StoreStats> store;     // absent when the store could not be read
  bool process = true;                          // process_* from /proc/self (Linux)
};

class Metrics {
 public:
  // Called once per answered request (by MeteredResponder).
  void record_response(MetricSlot slot, unsigned status, std::chrono::nanoseconds elapsed) noexcept;
  void add_events(std::int64_t inserted, std::int64_t duplicates) noexcept;
  void token_mismatch(TokenPolicy policy) noexcept;
  void token_missing() noexcept;
  // The JSON API: a wrong bearer token; an address locked out for too many (api/bad_tokens.hpp).
  void api_bad_token() noexcept { api_bad_tokens_.fetch_add(1, std::memory_order_relaxed); }
  void api_lockout() noexcept { api_lockouts_.fetch_add(1, std::memory_order_relaxed); }
  // A device body or request the encryption layer refused (device_encryption.hpp), by reason: one of
  // kEncryptionFailureReasons (anything else counts as "malformed").
  void encryption_failure(std::string_view reason) noexcept;
  std::uint64_t encryption_failures(std::string_view reason) const noexcept;
  static constexpr std::array<std::string_view, 7> kEncryptionFailureReasons = {
      "malformed", "truncated", "authentication", "replayed", "no_session", "plain_body", "not_encrypted"};

  // The device guard (docs/security-devices.md), by scope: the serial number's or the peer address's.
  enum class GuardScope : std::uint8_t { device = 0, address = 1 };
  void device_rate_limited(GuardScope scope) noexcept;  // answered 503 by a rate limit
  void device_lockout(GuardScope scope) noexcept;       // a lockout started
  void device_locked_out(GuardScope scope) noexcept;    // a request refused during a lockout
  std::uint64_t device_rate_limits(GuardScope scope) const noexcept;
  std::uint64_t device_lockouts(GuardScope scope) const noexcept;
  std::uint64_t device_locked_out_requests(GuardScope scope) const noexcept;

  std::uint64_t requests(MetricSlot slot, unsigned status) const noexcept;
  std::uint64_t events_ingested() const noexcept { return events_ingested_.load(std::memory_order_relaxed); }
  std::uint64_t token_mismatches(TokenPolicy policy) const noexcept;

  // The transport's counters (App sets them once the HTTP server exists; they must outlive this).
  void set_transport(const http::Counters* counters) noexcept { transport_.store(counters); }
  const http::Counters* transport() const noexcept { return transport_.load(); }

  // Store::stats() counts rows (a scan of the events table), so it is read at most every
  // `max_age`, off the I/O threads, and the previous figures are served in between. `done` gets the
  // figures (nullopt when the store fails), on the calling thread when they are fresh enough, else
  // on a storage reader thread.
  void store_stats(storage::Store& store, std::function<void(std::optional<storage::StoreStats>)> done,
                   std::chrono::seconds max_age = std::chrono::seconds(30));

  // The whole exposition, every family with its # HELP and # TYPE.
  std::string render(const ScrapeInputs& inputs) const;

 private:
  // Status codes 100..599 each have a slot; anything else lands in the last one (status="other").
  static constexpr std::size_t kStatusSlots = 501;
  static std::size_t status_index(unsigned status) noexcept;

  std::array<std::array<std::atomic<std::uint64_t>, kStatusSlots>, kMetricSlots> requests_{};
  std::array<Histogram, kEndpointGroups> durations_{};
  Histogram ingest_;
  std::atomic<std::uint64_t> events_ingested_{0};
  std::atomic<std::uint64_t> events_duplicate_{0};
  std::array<std::atomic<std::uint64_t>, 2> token_mismatch_{};  // by TokenPolicy
  std::atomic<std::uint64_t> token_missing_{0};
  std::atomic<std::uint64_t> api_bad_tokens_{0};
  std::atomic<std::uint64_t> api_lockouts_{0};
  std::array<std::atomic<std::uint64_t>, kEncryptionFailureReasons.size()> encryption_failures_{};
  std::array<std::atomic<std::uint64_t>, 2> device_rate_limited_{};  // by GuardScope
  std::array<std::atomic<std::uint64_t>, 2> device_lockouts_{};
  std::array<std::atomic<std::uint64_t>, 2> device_locked_out_{};
  std::atomic<const http::Counters*> transport_{nullptr};

  std::mutex store_mutex_;
  std::optional<storage::StoreStats> store_stats_;
  std::chrono::steady_clock::time_point store_read_at_{};
};

// The responder the handlers hold: answers through the transport's responder and counts the
// answer (endpoint, status, latency since the request was handed over). Same interface as
// http::Responder as far as the handlers are concerned: (*respond)(response), bool(*respond).
class MeteredResponder {
 public:
  MeteredResponder(http::Responder inner, Metrics& metrics, MetricSlot slot) noexcept;
  // A responder dropped unanswered makes the transport answer 500: counted as such.
  ~MeteredResponder();
  MeteredResponder(const MeteredResponder&) = delete;
  MeteredResponder& operator=(const MeteredResponder&) = delete;

  void operator()(http::Response response);
  // A streamed answer (Server-Sent Events): counted when its head leaves, with its status.
  std::shared_ptr<http::Stream> stream(http::ResponseHead head);
  explicit operator bool() const noexcept { return static_cast<bool>(inner_); }
  // Told the status once the answer goes (the API's audit log). Set before answering.
  void on_answer(std::function<void(int status)> observer) { observer_ = std::move(observer); }

  // The answer as it goes, for an observer that keeps a copy of the exchange (the wire trace,
  // wire_trace.hpp). Runs on the answering thread, before the response is handed to the transport.
  struct Answered {
    int status = 0;
    const http::Response* response = nullptr;  // null: a streamed answer, or none (dropped: the transport answers 500)
    std::chrono::nanoseconds elapsed{};        // since the request was handed to the front
  };
  void on_answered(std::function<void(const Answered&)> observer) { tap_ = std::move(observer); }
  // Rewrites the answer after it is counted and tapped, just before it goes (the encryption of an
  // answer to a device that exchanged keys: the wire trace keeps the plain text). Not for streams.
  void before_sending(std::function<void(http::Response&)> transform) { transform_ = std::move(transform); }
  MetricSlot slot() const noexcept { return slot_; }
  // A header field every answer gets, streamed ones included (HSTS on the API over TLS).
  void add_header(std::string name, std::string value) {
    extra_headers_.emplace_back(std::move(name), std::move(value));
  }

 private:
  void answered(int status, const http::Response* response);

  http::Responder inner_;
  Metrics& metrics_;
  MetricSlot slot_;
  std::chrono::steady_clock::time_point start_;
  std::function<void(int)> observer_;
  std::function<void(const Answered&)> tap_;
  std::function<void(http::Response&)> transform_;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
};

// True the first time a key is seen: a device whose token keeps mismatching under `warn` is
// logged once, not on every poll. Bounded: past `capacity` keys it forgets them all and starts
// again (a device is logged once more), so a flood of invented serial numbers cannot grow it.
class OncePerKey {
 public:
  explicit OncePerKey(std::size_t capacity = 100'000) : capacity_(capacity) {}
  bool first(const std::string& key);

 private:
  std::mutex mutex_;
  std::unordered_set<std::string> seen_;
  std::size_t capacity_;
};

// process_* metrics read from /proc/self; "" where /proc is missing.
std::string render_process_metrics();

}  // namespace zkpush::front
