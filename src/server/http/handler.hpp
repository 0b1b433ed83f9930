// The interface the application implements: the transport's only view of the application.
#pragma once

#include <cstddef>
#include <optional>

#include "server/http/request.hpp"
#include "server/http/responder.hpp"
#include "server/http/response.hpp"

namespace zkpush::server::http {

class Handler {
 public:
  virtual ~Handler() = default;

  // Chooses the largest acceptable body once the head is read and before any of the body is; not
  // asked for a request without a body. nullopt means Limits::body_limit. A declared
  // Content-Length above the answer is refused with 413 without reading the body (and without
  // sending 100 Continue); a chunked body is cut off with 413 when it grows past it. Runs on an
  // I/O thread: must not block.
  virtual std::optional<std::size_t> body_limit(const RequestHead& head) {
    static_cast<void>(head);
    return std::nullopt;
  }

  // Receives each complete request in the order of the connection; responses are written in
  // that order whatever order the responders are called in. Runs on an I/O thread (the
  // connection's thread) and must not block: hand slow work elsewhere and call `respond` later,
  // or answer with a streamed body through `respond.stream()` (see stream.hpp).
  // An exception thrown from here is logged and answered with 500.
  virtual void handle(Request request, Responder respond) = 0;
};

}  // namespace zkpush::server::http
