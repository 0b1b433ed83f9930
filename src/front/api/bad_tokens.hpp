// Brute force of the API's bearer tokens: an address that presents `limit` wrong tokens within a
// minute is refused (429 with Retry-After) for the next minute, whatever it presents then — a right
// token included, or the refusal would itself tell a guesser when it has won.
//
// Counted per address (IPv4, or IPv6 as printed): a guesser with many addresses is slowed per address
// only, and the table forgets everyone when it holds more than kMaxAddresses (it stays bounded under
// a flood of addresses, at the cost of some counts). Missing tokens are not guesses and not counted.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace zkpush::front::api {

class BadTokenGuard {
 public:
  static constexpr std::int64_t kWindowSeconds = 60;
  static constexpr std::int64_t kLockoutSeconds = 60;
  static constexpr std::size_t kMaxAddresses = 100000;

  explicit BadTokenGuard(int limit) : limit_(limit) {}

  // Seconds `address` is still refused at `now` (Unix seconds); 0 when it is not.
  std::int64_t locked_for(const std::string& address, std::int64_t now);
  // A wrong token from `address` at `now`: true when it is the one that starts a lockout.
  bool failed(const std::string& address, std::int64_t now);

  int limit() const noexcept { return limit_; }

 private:
  struct Tally {
    std::int64_t window_start = 0;
    int failures = 0;
    std::int64_t locked_until = 0;
  };
  const int limit_;  // 0: never locked out
  std::mutex mutex_;
  std::unordered_map<std::string, Tally> tallies_;
};

}  // namespace zkpush::front::api
