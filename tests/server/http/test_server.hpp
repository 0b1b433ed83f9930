// A real HttpServer on 127.0.0.1 with an ephemeral port, a scriptable handler, a collected log,
// and a thread that answers responders later (as the storage layer will).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/http/http_server.hpp"
#include "server/http/test_client.hpp"

namespace zkpush::server::http::test {

using namespace std::chrono_literals;

class TestHandler : public Handler {
 public:
  // Set before the server starts. Without on_handle: 200 with "<METHOD> <target> <body>".
  std::function<void(Request, Responder)> on_handle;
  std::function<std::optional<std::size_t>(const RequestHead&)> on_body_limit;

  std::atomic<int> calls{0};
  std::atomic<int> limit_calls{0};

  std::optional<std::size_t> body_limit(const RequestHead& head) override {
    ++limit_calls;
    return on_body_limit ? on_body_limit(head) : std::nullopt;
  }

  void handle(Request request, Responder respond) override {
    ++calls;
    {
      std::lock_guard lock(mutex_);
      last_remote_ = request.remote;
    }
    if (on_handle) {
      on_handle(std::move(request), std::move(respond));
      return;
    }
    std::string body(request.method_string());
    body.append(" ").append(request.target()).append(" ").append(request.body());
    respond(make_response(Status::ok, std::move(body)));
  }

  Endpoint last_remote() {
    std::lock_guard lock(mutex_);
    return last_remote_;
  }

 private:
  std::mutex mutex_;
  Endpoint last_remote_;
};

// Calls responders from its own thread after a delay. Destroyed before the server (declared
// after it), dropping what it still holds.
class Delayer {
 public:
  Delayer() : thread_([this] { run(); }) {}
  ~Delayer() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void after(std::chrono::milliseconds delay, Responder respond, Response response) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace(std::chrono::steady_clock::now() + delay,
                     Item{std::move(respond), std::move(response)});
    }
    cv_.notify_all();
  }

 private:
  struct Item {
    Responder respond;
    Response response;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = queue_.begin()->first;
      if (std::chrono::steady_clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      Item item = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      lock.unlock();
      item.respond(std::move(item.response));
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, Item> queue_;
  bool done_ = false;
  std::thread thread_;
};

class LogSink {
 public:
  LogFn fn() {
    return [this](LogLevel, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(message);
    };
  }
  bool contains(std::string_view needle) {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string all() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out.append(l).append("\n");
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

inline ServerConfig test_config() {
  ServerConfig config;
  config.address = "127.0.0.1";
  config.port = 0;
  config.threads = 2;
  config.stop_timeout = 3s;
  config.log_level = LogLevel::debug;
  return config;
}

// Declaration order is destruction order reversed: the delayer (holding responders) goes first,
// then the server, then the handler and log it uses.
struct Harness {
  // `script` sets up the handler before the server starts (the I/O threads read it unlocked).
  explicit Harness(const std::function<void(ServerConfig&)>& tweak = {},
                   const std::function<void(Harness&)>& script = {}) {
    ServerConfig config = test_config();
    config.log = logs.fn();
    if (tweak) tweak(config);
    if (script) script(*this);
    server = std::make_unique<HttpServer>(std::move(config), handler);
    server->start();
  }

  std::uint16_t port() const { return server->port(); }
  const Counters& counters() const { return server->counters(); }

  // Waits (bounded) for a counter-like condition that the server reaches asynchronously. The bound
  // is a deadline for a failure, not a duration: every caller waits for something to become true,
  // and 3 s proved too short for the sanitizer build on a loaded machine (a 400 ms write timeout
  // counted after more than 3 s).
  template <class Predicate>
  static bool eventually(Predicate p, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!p()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  LogSink logs;
  TestHandler handler;
  std::unique_ptr<HttpServer> server;
  Delayer delayer;
};

}  // namespace zkpush::server::http::test
