#include "server/http/responder.hpp"

#include <utility>

#include "server/http/session.hpp"

namespace zkpush::server::http {

Responder::Responder(Responder&& other) noexcept
    : session_(std::move(other.session_)),
      sequence_(other.sequence_),
      pending_(std::exchange(other.pending_, false)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    Responder dropped(std::move(*this));  // answers 500 if it still owed a response
    session_ = std::move(other.session_);
    sequence_ = other.sequence_;
    pending_ = std::exchange(other.pending_, false);
  }
  return *this;
}

Responder::~Responder() {
  if (!pending_) return;
  try {
    (*this)(make_response(Status::internal_server_error,
                          "internal error: the request was dropped without an answer\n"));
  } catch (...) {
    // Out of memory while answering: the connection times out instead.
  }
}

void Responder::operator()(Response response) {
  if (!pending_) return;
  pending_ = false;
  auto session = session_.lock();
  session_.reset();
  if (session) session->deliver(sequence_, std::move(response));
}

}  // namespace zkpush::server::http
