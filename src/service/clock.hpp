// The time the services act on, injected so that tests can move it (expiry, re-sends, presence).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace zkpush::service {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix seconds (UTC).
  virtual std::int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told (tests). Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start = 1'700'000'000) : now_(start) {}
  std::int64_t now() const override { return now_.load(); }
  void set(std::int64_t t) { now_.store(t); }
  void advance(std::int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace zkpush::service
