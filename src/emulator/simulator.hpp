// Many emulated devices in one process: sessions spread over one io_context per thread, started
// at a bounded rate (a real site's panels do not all boot in the same millisecond, and a burst of
// 10,000 SYNs would only measure the listen backlog), run for a duration, then stopped.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emulator/device_session.hpp"
#include "emulator/stats.hpp"

namespace zkpush::emulator {

struct SimulationOptions {
  ServerAddress server;
  int devices = 1;
  const Profile* profile = nullptr;
  std::string sn_prefix = "EMU";
  // Card swipes per second across all devices (each device gets its share).
  double events_per_second = 0;
  std::optional<SessionOptions::CardRange> swipe_cards;  // the cards swiped (SessionOptions)
  std::optional<std::chrono::milliseconds> duration;  // none: until stop()
  std::optional<std::chrono::milliseconds> poll_interval;
  int tz_minutes = 0;
  unsigned threads = 1;
  double connects_per_second = 500;  // ramp-up rate
  // Remote identification (SessionOptions::remote_auth and its fallback).
  bool remote_auth = false;
  bool remote_auth_fallback_local = false;
  std::chrono::milliseconds remote_auth_timeout{3000};
  bool encryption = false;  // SessionOptions::encryption
  // Each device a master controller with this many sub-controllers (SessionOptions::sub_controllers).
  int sub_controllers = 0;
  std::uint32_t seed = 1;
};

class Simulator {
 public:
  explicit Simulator(SimulationOptions options);
  ~Simulator();

  // Runs until the duration elapses or stop() is called. `tick` (optional) is called about once a
  // second from the calling thread with the live statistics.
  void run(const std::function<void(const Stats&, double elapsed_s)>& tick = {});
  void stop();  // thread-safe
  const Stats& stats() const noexcept { return stats_; }
  double elapsed_seconds() const noexcept { return elapsed_s_; }
  // Devices online when the run ended (before they were stopped).
  std::int64_t online_at_end() const noexcept { return online_at_end_; }

  // Serial number of device i (0-based): prefix + zero-padded number.
  static std::string serial_number(const std::string& prefix, int i);

 private:
  SimulationOptions options_;
  Stats stats_;
  std::atomic<bool> stop_{false};
  double elapsed_s_ = 0;
  std::int64_t online_at_end_ = 0;
};

// Raises the soft limit of open files to the hard limit (a device is a connection); returns the
// resulting soft limit.
std::uint64_t raise_open_file_limit();

}  // namespace zkpush::emulator
