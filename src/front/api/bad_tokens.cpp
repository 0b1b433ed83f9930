#include "front/api/bad_tokens.hpp"

namespace zkpush::front::api {

std::int64_t BadTokenGuard::locked_for(const std::string& address, std::int64_t now) {
  if (limit_ <= 0) return 0;
  std::lock_guard lock(mutex_);
  auto it = tallies_.find(address);
  if (it == tallies_.end() || it->second.locked_until <= now) return 0;
  return it->second.locked_until - now;
}

bool BadTokenGuard::failed(const std::string& address, std::int64_t now) {
  if (limit_ <= 0) return false;
  std::lock_guard lock(mutex_);
  if (tallies_.size() >= kMaxAddresses && tallies_.find(address) == tallies_.end()) tallies_.clear();
  auto& tally = tallies_[address];
  if (now - tally.window_start >= kWindowSeconds) {
    tally.window_start = now;
    tally.failures = 0;
  }
  if (++tally.failures < limit_) return false;
  tally.failures = 0;
  tally.window_start = now;
  tally.locked_until = now + kLockoutSeconds;
  return true;
}

}  // namespace zkpush::front::api
