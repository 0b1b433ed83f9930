// The token buckets of the device rate limits (front/rate_limiter.hpp), with the time given by the
// test: the burst, the sustained rate, the wait a refusal reports, keys kept apart, the bound on
// memory, and the option's syntax.
#include "front/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace zkpush::front {
namespace {

using std::chrono::milliseconds;
using Time = RateLimiter::Time;

const Time kStart = Time(std::chrono::hours(1000));

TEST(RateLimiter, BurstThenTheSustainedRate) {
  RateLimiter limiter(RateLimit{2, 5});  // 2/s, 5 at once
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("A", kStart).has_value()) << i;
  auto wait = limiter.take("A", kStart);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, milliseconds(500));  // one token every half second
  // Half a second later one more passes, then none.
  EXPECT_FALSE(limiter.take("A", kStart + milliseconds(500)).has_value());
  EXPECT_TRUE(limiter.take("A", kStart + milliseconds(500)).has_value());
  // A quiet spell refills to the burst, never beyond.
  const auto later = kStart + std::chrono::minutes(10);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("A", later).has_value()) << i;
  EXPECT_TRUE(limiter.take("A", later).has_value());
}

TEST(RateLimiter, KeysHaveTheirOwnBuckets) {
  RateLimiter limiter(RateLimit{1, 1});
  EXPECT_FALSE(limiter.take("A", kStart).has_value());
  EXPECT_TRUE(limiter.take("A", kStart).has_value());
  EXPECT_FALSE(limiter.take("B", kStart).has_value());
}

TEST(RateLimiter, RefusalsDoNotCostATokenButWaitingDoes) {
  RateLimiter limiter(RateLimit{1, 1});
  EXPECT_FALSE(limiter.take("A", kStart).has_value());
  // Refused many times within the second: the next token still comes one second after the first.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.take("A", kStart + milliseconds(100 * i)).has_value());
  EXPECT_FALSE(limiter.take("A", kStart + milliseconds(1000)).has_value());
}

TEST(RateLimiter, OffAllowsEverything) {
  RateLimiter limiter(RateLimit{});
  for (int i = 0; i < 10'000; ++i) ASSERT_FALSE(limiter.take("A", kStart).has_value());
  EXPECT_EQ(limiter.keys(), 0u);
}

TEST(RateLimiter, MemoryIsBoundedUnderAFloodOfKeys) {
  RateLimiter limiter(RateLimit{1, 1}, 160);  // 10 keys per shard
  for (int i = 0; i < 100'000; ++i) limiter.take("K" + std::to_string(i), kStart);
  EXPECT_LE(limiter.keys(), 160u);
  // Idle keys (refilled buckets) are the ones forgotten first; the limit still holds for a busy key.
  RateLimiter busy(RateLimit{1, 1}, 16);  // one key per shard
  EXPECT_FALSE(busy.take("BUSY", kStart).has_value());
  EXPECT_TRUE(busy.take("BUSY", kStart).has_value());
  EXPECT_LE(busy.keys(), 16u);
}

TEST(RateLimiter, ParseOption) {
  auto l = parse_rate_limit("50/s:500");
  EXPECT_DOUBLE_EQ(l.per_second, 50);
  EXPECT_DOUBLE_EQ(l.burst, 500);
  l = parse_rate_limit("20");
  EXPECT_DOUBLE_EQ(l.per_second, 20);
  EXPECT_DOUBLE_EQ(l.burst, 200);  // ten seconds' worth
  l = parse_rate_limit("120/min");
  EXPECT_DOUBLE_EQ(l.per_second, 2);
  EXPECT_DOUBLE_EQ(l.burst, 20);
  l = parse_rate_limit("0.5/s");
  EXPECT_DOUBLE_EQ(l.burst, 5);
  EXPECT_FALSE(parse_rate_limit("0").on());
  EXPECT_FALSE(parse_rate_limit("0/s:100").on());
  EXPECT_EQ(describe_rate_limit(parse_rate_limit("50/s:500")), "50/s burst 500");
  EXPECT_EQ(describe_rate_limit(parse_rate_limit("0")), "off");
  for (const char* bad : {"", "fast", "-1", "10/h", "10/s:0", "10/s:x", "1e3", "10:"})
    EXPECT_THROW(parse_rate_limit(bad), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace zkpush::front
