// Token buckets by key (a serial number, a peer address) for the rate limits of /iclock/*
// (--device-rate, --address-rate; docs/security-devices.md). Checked on every device request before
// its body is parsed, so it is a lookup in one of a few small locked maps: no store, no allocation
// for a key already seen.
//
// Memory is bounded: past `max_keys` a shard forgets its idle keys (a bucket that has refilled is
// the same as a forgotten one), and under a flood of distinct keys the whole shard. A forgotten key
// starts with a full bucket again: the cost of a flood is a looser limit for a moment, never
// unbounded memory. Time is passed in (tests drive it; the front gives steady_clock::now()).
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace zkpush::front {

struct RateLimit {
  double per_second = 0;  // sustained rate; 0 = no limit
  double burst = 0;       // bucket size: requests allowed at once after a quiet spell (at least 1)
  bool on() const noexcept { return per_second > 0; }
};

// "20", "20/s", "1200/min", "20/s:200" (rate and burst). The burst defaults to 10 s worth of the
// rate (at least 1). "0" is off. Throws std::invalid_argument with the reason.
RateLimit parse_rate_limit(std::string_view text);
// As parse_rate_limit reads it back ("20/s burst 200", "off").
std::string describe_rate_limit(const RateLimit& limit);

class RateLimiter {
 public:
  using Time = std::chrono::steady_clock::time_point;

  explicit RateLimiter(RateLimit limit, std::size_t max_keys = 100'000);

  // Takes one request's token for `key`: nullopt when allowed, else how long until a token is
  // there (what Retry-After says, rounded up by the caller). Always allowed when the limit is off.
  std::optional<std::chrono::milliseconds> take(std::string_view key, Time now);

  const RateLimit& limit() const noexcept { return limit_; }
  std::size_t keys() const;  // remembered now (tests, the bound)

 private:
  // The bucket as the generic cell rate algorithm keeps it: the time at which it would be full
  // again (`full_at`). Integer time, so a bucket that refills in small steps is exact.
  struct Bucket {
    Time full_at{};
  };
  // Heterogeneous lookup: a key already seen is found without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets;
  };
  static constexpr std::size_t kShards = 16;
  RateLimit limit_;
  std::chrono::nanoseconds interval_{};   // one request's worth of time: 1 / rate
  std::chrono::nanoseconds tolerance_{};  // burst - 1 requests' worth
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace zkpush::front
