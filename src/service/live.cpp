#include "service/live.hpp"

#include <vector>

namespace zkpush::service {

std::int64_t Live::subscribe(Listener listener) {
  std::lock_guard lock(mutex_);
  const auto id = next_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Live::unsubscribe(std::int64_t id) {
  std::lock_guard lock(mutex_);
  listeners_.erase(id);
}

void Live::ring(Ring what) {
  std::vector<Listener> now;
  {
    std::lock_guard lock(mutex_);
    now.reserve(listeners_.size());
    for (const auto& [id, l] : listeners_) now.push_back(l);
  }
  for (const auto& l : now) l(what);
}

std::size_t Live::listeners() const {
  std::lock_guard lock(mutex_);
  return listeners_.size();
}

}  // namespace zkpush::service
