// Runs one real DeviceSession on its own io_context thread for a test, against any server (ours,
// or a stand-in written in the test). The session's state belongs to its executor, so the test
// thread reaches it only through on_device(), which posts and waits.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "emulator/device_session.hpp"

namespace zkpush::emulator::e2e {

// Runs f on `io`'s thread and waits for its result (the emulator's state belongs to its executor).
template <typename F>
auto run_on(boost::asio::io_context& io, F f) {
  std::promise<decltype(f())> done;
  boost::asio::post(io, [&] {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      done.set_value();
    } else {
      done.set_value(f());
    }
  });
  return done.get_future().get();
}

class SessionHarness {
 public:
  SessionHarness() = default;
  SessionHarness(const SessionHarness&) = delete;
  SessionHarness& operator=(const SessionHarness&) = delete;
  virtual ~SessionHarness() { stop_device(); }

 protected:
  // Runs f on the device's executor and waits for it.
  template <typename F>
  auto on_device(F f) {
    return run_on(io_, std::move(f));
  }

  // `tweak` adjusts the options (poll interval, zone, ...) before the session is built.
  void start_session(ServerAddress server, const std::string& sn, const Profile* profile,
                     const std::function<void(SessionOptions&)>& tweak = {}) {
    SessionOptions o;
    o.server = std::move(server);
    o.profile = profile;
    o.sn = sn;
    o.poll_interval = std::chrono::milliseconds(100);
    if (tweak) tweak(o);
    session_ = std::make_shared<DeviceSession>(io_.get_executor(), o, stats_);
    work_.emplace(boost::asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
    on_device([this] { session_->start(); });
  }

  void stop_device() {
    if (!thread_.joinable()) return;
    on_device([this] { session_->stop(); });
    work_.reset();
    thread_.join();
  }

  bool device_online() {
    return on_device([this] { return session_->online(); });
  }
  std::string device_error() {
    return on_device([this] { return session_->last_error(); });
  }

  // Polls `condition` (on the test thread) until it holds; bounded so a broken flow fails
  // instead of hanging. Not a timing assertion: the bound is far above what the flows need.
  template <typename F>
  static bool eventually(F condition, std::chrono::milliseconds bound = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  Stats stats_;
  std::shared_ptr<DeviceSession> session_;
};

}  // namespace zkpush::emulator::e2e
