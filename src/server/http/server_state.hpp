// What the listener, every session and the server share. Held by shared_ptr so that a session
// finishing after the server object started to go away still finds its configuration, counters
// and registry.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "server/http/counters.hpp"
#include "server/http/limits.hpp"
#include "server/http/log.hpp"

namespace zkpush::server::http {

class Handler;
class Session;

class ServerState {
 public:
  ServerState(const Limits& limits, Handler& handler, LogFn log, LogLevel log_level);

  const Limits limits;
  Handler& handler;
  Counters counters;

  bool logs(LogLevel level) const noexcept { return log_ && level >= log_level_; }
  void log(LogLevel level, std::string_view message) const noexcept;

  // The registry of live sessions, for stop(): an intrusive list (two pointers in each session,
  // no allocation per connection) guarded by a mutex taken only on connect, disconnect and stop.
  void add(Session& session);
  void remove(Session& session) noexcept;
  std::vector<std::shared_ptr<Session>> sessions() const;
  std::size_t session_count() const;

 private:
  LogFn log_;
  LogLevel log_level_;
  mutable std::mutex mutex_;
  Session* head_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace zkpush::server::http
