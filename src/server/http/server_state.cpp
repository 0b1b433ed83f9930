#include "server/http/server_state.hpp"

#include <utility>

#include "server/http/session.hpp"

namespace zkpush::server::http {

ServerState::ServerState(const Limits& limits_in, Handler& handler_in, LogFn log, LogLevel log_level)
    : limits(limits_in), handler(handler_in), log_(std::move(log)), log_level_(log_level) {}

void ServerState::log(LogLevel level, std::string_view message) const noexcept {
  if (!logs(level)) return;
  try {
    log_(level, message);
  } catch (...) {
    // A failing logger must not take a connection (or an I/O thread) down with it.
  }
}

void ServerState::add(Session& session) {
  std::lock_guard lock(mutex_);
  session.reg_prev_ = nullptr;
  session.reg_next_ = head_;
  if (head_) head_->reg_prev_ = &session;
  head_ = &session;
  ++count_;
}

void ServerState::remove(Session& session) noexcept {
  std::lock_guard lock(mutex_);
  if (session.reg_prev_ == nullptr && head_ != &session) return;  // never added
  if (session.reg_prev_) session.reg_prev_->reg_next_ = session.reg_next_;
  if (session.reg_next_) session.reg_next_->reg_prev_ = session.reg_prev_;
  if (head_ == &session) head_ = session.reg_next_;
  session.reg_prev_ = session.reg_next_ = nullptr;
  --count_;
}

std::vector<std::shared_ptr<Session>> ServerState::sessions() const {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(mutex_);
  out.reserve(count_);
  // A session whose last reference is gone but whose destructor is still waiting for this mutex
  // is skipped: lock() fails, and its weak reference stays valid until it has left the list.
  for (Session* s = head_; s != nullptr; s = s->reg_next_) {
    if (auto strong = s->weak_from_this().lock()) out.push_back(std::move(strong));
  }
  return out;
}

std::size_t ServerState::session_count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace zkpush::server::http
