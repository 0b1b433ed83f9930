#include "emulator/simulator.hpp"

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <thread>

namespace zkpush::emulator {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

std::string Simulator::serial_number(const std::string& prefix, int i) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%06d", i + 1);
  return prefix + digits;
}

Simulator::Simulator(SimulationOptions options) : options_(std::move(options)) {}
Simulator::~Simulator() = default;

void Simulator::stop() { stop_ = true; }

void Simulator::run(const std::function<void(const Stats&, double)>& tick) {
  const unsigned threads = std::max(1u, options_.threads);
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (unsigned t = 0; t < threads; ++t) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(*contexts.back()));
  }
  std::vector<std::thread> workers;
  workers.reserve(contexts.size());
  for (auto& c : contexts) workers.emplace_back([&c] { c->run(); });

  std::vector<std::shared_ptr<DeviceSession>> sessions;
  std::atomic<int> running{0};
  const double per_device = options_.devices > 0 ? options_.events_per_second / options_.devices : 0;
  const auto begin = clock::now();
  auto last_tick = begin;
  int started = 0;
  while (!stop_) {
    const auto now = clock::now();
    const double elapsed = std::chrono::duration<double>(now - begin).count();
    // Start the devices due by now at the ramp rate.
    const int due = options_.connects_per_second > 0
                        ? std::min(options_.devices, static_cast<int>(elapsed * options_.connects_per_second) + 1)
                        : options_.devices;
    for (; started < due; ++started) {
      SessionOptions s;
      s.server = options_.server;
      s.profile = options_.profile;
      s.sn = serial_number(options_.sn_prefix, started);
      s.ip = "10." + std::to_string((started >> 16) & 255) + "." + std::to_string((started >> 8) & 255) + "." +
             std::to_string(started & 255);
      s.tz_minutes = options_.tz_minutes;
      s.events_per_second = per_device;
      s.swipe_cards = options_.swipe_cards;
      s.poll_interval = options_.poll_interval;
      s.remote_auth = options_.remote_auth;
      s.remote_auth_fallback_local = options_.remote_auth_fallback_local;
      s.remote_auth_timeout = options_.remote_auth_timeout;
      s.encryption = options_.encryption;
      s.sub_controllers = options_.sub_controllers;
      s.seed = options_.seed + static_cast<std::uint32_t>(started);
      auto& context = *contexts[static_cast<std::size_t>(started) % contexts.size()];
      auto session = std::make_shared<DeviceSession>(context.get_executor(), std::move(s), stats_);
      ++running;
      asio::post(context, [session, &running] { session->start([&running] { --running; }); });
      sessions.push_back(std::move(session));
    }
    if (tick && now - last_tick >= std::chrono::seconds(1)) {
      last_tick = now;
      tick(stats_, elapsed);
    }
    if (options_.duration && now - begin >= *options_.duration) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  elapsed_s_ = std::chrono::duration<double>(clock::now() - begin).count();
  online_at_end_ = stats_.devices_online.load();
  // Each session is stopped on its own executor; wait (bounded) for their coroutines to finish.
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    auto session = sessions[i];
    asio::post(*contexts[i % contexts.size()], [session] { session->stop(); });
  }
  const auto deadline = clock::now() + std::chrono::seconds(30);
  while (running > 0 && clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& g : guards) g.reset();
  for (auto& c : contexts) c->stop();
  for (auto& w : workers) w.join();
  sessions.clear();
}

}  // namespace zkpush::emulator
