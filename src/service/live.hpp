// What happened, told to whoever listens now (the API's stream, the webhooks, MQTT): a doorbell, not
// a queue. Whoever commits something that adds to the message log (storage/areas/messages.hpp:
// events, door-state changes, closed commands, presence changes) rings `messages`; a listener then
// reads what it has not seen from the store (messages carry their ids), so nothing is lost between
// rings and a listener that reconnects resumes from the store. The housekeeping thread rings `beat`
// every few seconds (SSE heartbeats).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace zkpush::service {

class Live {
 public:
  enum class Ring : std::uint8_t { messages, beat };
  using Listener = std::function<void(Ring)>;

  std::int64_t subscribe(Listener listener);
  void unsubscribe(std::int64_t id);
  // Calls every listener, outside the lock, from the calling thread: listeners must not block.
  void ring(Ring what);
  std::size_t listeners() const;

 private:
  mutable std::mutex mutex_;
  std::int64_t next_ = 1;
  std::map<std::int64_t, Listener> listeners_;
};

}  // namespace zkpush::service
