// What a simulation measured: devices online, requests and errors, events acknowledged, and a
// latency histogram per kind of exchange. Shared by every device of a run (atomics: the devices
// run on several I/O threads).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace zkpush::emulator {

enum class Exchange : std::uint8_t {
  init, registry, push, options, getrequest, devicecmd, rtlog, rtstate, querydata, ping, tabledata, file, auth,
  exchange,  // 4.2 / 4.3 key exchange (simulate --encryption)
  other,
  count_  // number of kinds
};
std::string_view exchange_name(Exchange e) noexcept;

// Latencies in microseconds, log-linear buckets (4 per power of two) from 1 µs to ~70 s: a
// percentile is exact to within 19 %, which is what p50/p99 tables need, with no allocation.
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 26 * 4;
  void record(std::chrono::microseconds latency) noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  // Upper bound of the bucket holding the q-quantile (0 < q <= 1), in microseconds; 0 when empty.
  std::uint64_t quantile_us(double q) const noexcept;
  std::uint64_t max_us() const noexcept { return max_.load(std::memory_order_relaxed); }

 private:
  static int bucket_of(std::uint64_t us) noexcept;
  static std::uint64_t bucket_upper(int bucket) noexcept;
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_{0};
};

// Why an exchange failed, in words that group: "406 not approved", "403 refused (allow-list)",
// "401 bad token", "HTTP 500", "connection refused", "timeout". Not the body itself, which names the
// device or its address and would make one reason per device. `status` 0 = no answer, `error` says why.
std::string error_reason(int status, std::string_view body, std::string_view error);

struct Stats {
  std::atomic<std::int64_t> devices_online{0};     // registered and polling now
  std::atomic<std::int64_t> devices_registered{0}; // completed a handshake at least once
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};            // no answer or a non-2xx status
  std::atomic<std::uint64_t> refused{0};           // 401/403/406: the server refused the device
  std::atomic<std::uint64_t> events_generated{0};
  std::atomic<std::uint64_t> events_acked{0};      // rtlog records answered 200
  std::atomic<std::uint64_t> commands_executed{0};
  // simulate --encryption: key exchanges completed; answers that should have been encrypted and were
  // not, or did not open (a mismatch of the two sides); exchanges the server refused (plain text then).
  std::atomic<std::uint64_t> encrypted_sessions{0};
  std::atomic<std::uint64_t> encryption_mismatches{0};
  std::atomic<std::uint64_t> encryption_refused{0};
  std::array<LatencyHistogram, static_cast<std::size_t>(Exchange::count_)> latency{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Exchange::count_)> failures{};

  void record(Exchange e, std::chrono::microseconds latency, bool ok) noexcept;
  // Why a failed exchange (counted by record) failed: the summary groups the errors by it.
  void record_reason(Exchange e, std::string_view reason);
  // An error found in an answer that was counted ok (a 200 whose body cannot be read).
  void record_error(Exchange e, std::string_view reason);
  // The reasons of the errors of `e`, most frequent first.
  std::vector<std::pair<std::string, std::uint64_t>> error_reasons(Exchange e) const;
  LatencyHistogram& of(Exchange e) noexcept { return latency[static_cast<std::size_t>(e)]; }
  const LatencyHistogram& of(Exchange e) const noexcept { return latency[static_cast<std::size_t>(e)]; }

  // {"devices_online", "requests", ..., "endpoints": {"getrequest": {"count","errors","p50_ms","p99_ms","max_ms"}}},
  // and under an endpoint with errors "error_reasons": {"406 not approved": 5, ...}
  nlohmann::ordered_json to_json(double elapsed_seconds) const;

 private:
  // Errors are the rare path: a map under a lock, not more atomics on every exchange.
  mutable std::mutex reasons_mutex_;
  std::map<std::pair<Exchange, std::string>, std::uint64_t> reasons_;
};

}  // namespace zkpush::emulator
