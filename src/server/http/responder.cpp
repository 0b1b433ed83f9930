#include "server/http/responder.hpp"

#include <utility>

#include "server/http/session.hpp"
#include "server/http/stream_core.hpp"

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

std::shared_ptr<Stream> Responder::stream(ResponseHead head) {
  std::shared_ptr<Session> session;
  if (pending_) {
    pending_ = false;
    session = session_.lock();
    session_.reset();
  }
  auto core = std::make_shared<StreamCore>(
      session, session ? session->stream_buffer_limit() : std::size_t{0});
  if (session) {
    session->deliver_stream(sequence_, core, std::move(head));
  } else {
    static_cast<void>(core->finish());  // nothing registered yet: nothing to report
  }
  return std::shared_ptr<Stream>(new Stream(std::move(core)));
}

}  // namespace zkpush::server::http
