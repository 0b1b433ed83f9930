// The completion half of a request: the handler calls it once with the response, now or later,
// from any thread (the storage layer answers after a grouped fsync on its own thread), or starts
// a streamed response with stream().
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "server/http/response.hpp"
#include "server/http/stream.hpp"

namespace zkpush::server::http {

class Session;

class Responder {
 public:
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  // A responder dropped without an answer answers 500, so a forgotten path in the application
  // cannot leave a device waiting on a connection that never moves again.
  ~Responder();

  // Sends the response; later calls do nothing. Thread-safe with respect to the connection: the
  // work is posted onto the connection's I/O thread. Does nothing if the connection is gone (the
  // client disconnected, a timeout fired, or the server was stopped).
  void operator()(Response response);

  // Answers with a streamed body instead (see stream.hpp): the head now, the body through the
  // returned stream. Counts as the answer: later calls of either kind do nothing (stream()
  // then returns a closed stream). Thread-safe like operator(). If the connection is gone the
  // stream is returned closed: writes are refused and on_close runs at registration.
  std::shared_ptr<Stream> stream(ResponseHead head);

  // True until called (or moved from).
  explicit operator bool() const noexcept { return pending_; }

 private:
  friend class Session;
  Responder(std::weak_ptr<Session> session, std::uint64_t sequence) noexcept
      : session_(std::move(session)), sequence_(sequence), pending_(true) {}

  // Weak, so that a responder the application keeps does not keep a closed connection (and its
  // socket) alive; the session holds itself while it owes responses.
  std::weak_ptr<Session> session_;
  std::uint64_t sequence_ = 0;
  bool pending_ = false;
};

}  // namespace zkpush::server::http
