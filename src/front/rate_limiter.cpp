#include "front/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "protocol/text.hpp"

namespace zkpush::front {

namespace {

// Burst when none is given: ten seconds' worth of the rate, at least one request.
double rate_default_burst(double per_second) { return std::max(1.0, std::ceil(per_second * 10)); }

double rate_number(std::string_view text, std::string_view what) {
  const std::string s(protocol::text::trim(text));
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos || s.front() == '.')
    throw std::invalid_argument(std::string(what) + " '" + s + "' is not a number");
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(what) + " '" + s + "' is not a number");
  }
  if (used != s.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument(std::string(what) + " '" + s + "' is not a number");
  return v;
}

}  // namespace

RateLimit parse_rate_limit(std::string_view text) {
  std::string_view rate = protocol::text::trim(text);
  std::optional<std::string_view> burst;
  if (auto colon = rate.find(':'); colon != std::string_view::npos) {
    burst = rate.substr(colon + 1);
    rate = rate.substr(0, colon);
  }
  double per = 1;  // the unit after '/', in seconds
  if (auto slash = rate.find('/'); slash != std::string_view::npos) {
    const auto unit = protocol::text::trim(rate.substr(slash + 1));
    if (unit == "s" || unit == "sec") {
      per = 1;
    } else if (unit == "m" || unit == "min") {
      per = 60;
    } else {
      throw std::invalid_argument("rate unit '" + std::string(unit) + "': use /s or /min");
    }
    rate = rate.substr(0, slash);
  }
  RateLimit limit;
  limit.per_second = rate_number(rate, "rate") / per;
  if (limit.per_second == 0) return RateLimit{};
  limit.burst = burst ? rate_number(*burst, "burst") : rate_default_burst(limit.per_second);
  if (limit.burst < 1) throw std::invalid_argument("burst below 1: no request could ever pass");
  return limit;
}

std::string describe_rate_limit(const RateLimit& limit) {
  if (!limit.on()) return "off";
  const auto number = [](double v) {
    auto s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  return number(limit.per_second) + "/s burst " + number(limit.burst);
}

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_keys)
    : limit_(limit), max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {
  if (!limit_.on()) return;
  if (limit_.burst < 1) limit_.burst = 1;
  interval_ = std::chrono::nanoseconds(std::max<std::int64_t>(1, std::llround(1e9 / limit_.per_second)));
  tolerance_ = interval_ * static_cast<std::int64_t>(std::floor(limit_.burst) - 1);
}

std::optional<std::chrono::milliseconds> RateLimiter::take(std::string_view key, Time now) {
  if (!limit_.on()) return std::nullopt;
  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) {
      // A bucket full again is the same as a forgotten one.
      std::erase_if(shard.buckets, [now](const auto& entry) { return entry.second.full_at <= now; });
      if (shard.buckets.size() >= max_per_shard_) shard.buckets.clear();
    }
    it = shard.buckets.emplace(std::string(key), Bucket{now}).first;
  }
  Bucket& b = it->second;
  // Each request moves full_at one interval later; refused when that would put it more than the
  // burst's worth ahead of now.
  const Time from = std::max(b.full_at, now);
  const auto ahead = from - now;
  if (ahead > tolerance_) {
    const auto wait = ahead - tolerance_;
    return std::chrono::ceil<std::chrono::milliseconds>(wait);
  }
  b.full_at = from + interval_;
  return std::nullopt;
}

std::size_t RateLimiter::keys() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace zkpush::front
