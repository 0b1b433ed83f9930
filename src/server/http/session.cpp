#include "server/http/session.hpp"

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <exception>
#include <limits>
#include <string>
#include <utility>

#include "server/http/handler.hpp"
#include "server/http/http_date.hpp"
#include "server/http/server_state.hpp"
#include "server/http/stream_core.hpp"

namespace zkpush::server::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::system::error_code;

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// Beast reads at most max(512, free capacity) bytes per call; a large body gets this much room so
// a 2 MB upload takes tens of reads rather than thousands. Released once the connection is idle.
constexpr std::size_t kBodyReadChunk = 64 * 1024;
constexpr std::size_t kDrainReadChunk = 16 * 1024;
// A connection waits for its next request by reading this much (do_read): the buffer an idle
// connection holds.
constexpr std::size_t kFirstRead = 512;
// Bytes discarded after a closing response before giving up on a graceful close.
constexpr std::uint64_t kDrainLimit = 1024 * 1024;
// Chunked framing of a streamed body: "<hex size>\r\n<data>\r\n" ... "0\r\n\r\n".
constexpr char kCrlf[] = "\r\n";
constexpr char kLastChunk[] = "0\r\n\r\n";
constexpr std::size_t kChunkLineMax = 2 * sizeof(std::size_t) + 2;

bool is_http_parse_error(const error_code& ec) noexcept {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

std::string describe(const Endpoint& remote) {
  error_code ec;
  return remote.address().to_string(ec) + ":" + std::to_string(remote.port());
}

}  // namespace

Session::Session(Socket socket, std::shared_ptr<ServerState> state,
                 std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      tls_context_(std::move(tls)),
      state_(std::move(state)) {
  if (tls_context_) tls_ = std::make_unique<TlsStream>(std::move(socket_), *tls_context_);
}

Session::~Session() {
  if (!closed_) {
    state_->counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    finish_streams();  // not reached in practice: a session holding a stream holds itself
  }
  state_->remove(*this);
}

void Session::start() {
  state_->add(*this);
  error_code ec;
  remote_ = lowest().remote_endpoint(ec);
  idle_since_ = Clock::now();
  asio::dispatch(timer_.get_executor(), [self = shared_from_this(), ec] {
    if (ec) {
      self->close();  // reset before we looked at it
      if (self->tls_) self->state_->counters.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (self->tls_) {
      self->do_handshake();
    } else {
      self->do_read();
    }
  });
}

void Session::shutdown() {
  asio::post(timer_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->closed_ || self->lingering_) return;
    // Streams end after what is queued; the connection then closes like after any response.
    if (self->streaming_) self->streaming_->end();
    for (auto& slot : self->slots_) {
      if (slot.stream) slot.stream->end();
    }
    bool between_requests = self->read_ == Read::waiting || self->read_ == Read::none ||
                            self->read_ == Read::handshake;
    if (between_requests) self->read_closed_ = true;
    if (between_requests && self->flushed() && !self->continue_pending_) self->close();
    // Otherwise a request is being read or responses are owed: they complete, the last response
    // says "Connection: close" (see maybe_write), and after_flush/finish close.
  });
}

void Session::abort() {
  asio::post(timer_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void Session::deliver(std::uint64_t sequence, Response response) {
  asio::post(timer_.get_executor(),
             [self = shared_from_this(), sequence, response = std::move(response)]() mutable {
               self->on_response(sequence, std::move(response));
             });
}

void Session::deliver_stream(std::uint64_t sequence, std::shared_ptr<StreamCore> stream,
                             ResponseHead head) {
  asio::post(timer_.get_executor(),
             [self = shared_from_this(), sequence, stream = std::move(stream),
              head = std::move(head)]() mutable {
               self->on_stream(sequence, std::move(stream), std::move(head));
             });
}

void Session::wake_stream(std::shared_ptr<StreamCore> stream) {
  asio::post(timer_.get_executor(), [self = shared_from_this(), stream = std::move(stream)] {
    if (self->streaming_ == stream) self->pump_stream();
  });
}

std::size_t Session::stream_buffer_limit() const noexcept {
  return state_->limits.stream_buffer_limit;
}

// --- TLS -------------------------------------------------------------------------------------

void Session::do_handshake() {
  read_ = Read::handshake;
  refresh_deadline();
  tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
    self->on_handshake(ec);
  });
}

void Session::on_handshake(error_code ec) {
  read_ = Read::none;
  if (ec) {
    // A scanner, a plain-HTTP client on the TLS port, an old TLS version, a client that does not
    // trust the certificate, or the handshake timeout: counted, and logged at debug only, so that
    // a scan cannot flood the log.
    // Not when closed already: the timeout counted itself (on_timer), and a stop is no failure.
    if (!closed_) {
      state_->counters.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
      log_event(LogLevel::debug, "TLS handshake failed: " + ec.message());
    }
    close();
    return;
  }
  if (closed_) return;
  if (read_closed_) {  // stop() arrived during the handshake
    close();
    return;
  }
  idle_since_ = Clock::now();
  do_read();
}

// --- read side -------------------------------------------------------------------------------

void Session::do_read() {
  if (closed_ || read_closed_ || lingering_ || read_ != Read::none) return;
  // Paused while the pipeline is full; on_write resumes.
  if (slots_.size() >= std::max<std::size_t>(1, state_->limits.pipeline_limit)) return;
  if (buffer_.size() > 0) {  // the next pipelined request is already here
    begin_request();
    return;
  }
  if (flushed()) release_idle_memory();
  // The buffer is empty: what a large body made it grow to goes (shrink_to_fit frees it whole).
  if (buffer_.capacity() > kFirstRead) buffer_.shrink_to_fit();
  // The next request's first bytes are read into a small buffer, and the parser starts from them:
  //  - an async_wait(wait_read) would cost an epoll_ctl per request (Asio re-arms the descriptor for
  //    a wait, not for a read, which the reactor performs on the readiness it already watches), a
  //    third of the syscalls of a heartbeat;
  //  - over TLS, readability says nothing: the next request's bytes may already sit decrypted in
  //    OpenSSL or undecrypted in the stream's input buffer (a pipelined request), and a readable
  //    socket may carry only TLS records of no data (a key update).
  // The parser is only made once a byte has arrived: an idle connection holds this buffer alone.
  read_ = Read::waiting;
  with_stream([this](auto& stream) {
    stream.async_read_some(buffer_.prepare(kFirstRead),
                           [self = shared_from_this()](error_code ec, std::size_t n) {
                             self->buffer_.commit(n);
                             self->on_readable(n > 0 ? error_code{} : ec);
                           });
  });
  refresh_deadline();
}

void Session::on_readable(error_code ec) {
  read_ = Read::none;
  if (closed_) return;
  if (ec && !lingering_ && (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
    // The client closed its side between requests (a TLS client perhaps without close_notify):
    // what it is still owed is written before the connection closes.
    on_read_error(bhttp::error::end_of_stream);
    return;
  }
  if (ec) {
    if (ec != asio::error::operation_aborted && ec != asio::error::eof &&
        ec != asio::ssl::error::stream_truncated) {
      log_event(LogLevel::debug, ec.message());
    }
    close();
    return;
  }
  if (lingering_) {
    do_drain();
    return;
  }
  if (read_closed_) {  // stop() arrived while waiting; after_flush closes
    if (flushed()) close();
    return;
  }
  begin_request();
}

void Session::begin_request() {
  read_ = Read::header;
  first_request_ = false;
  request_start_ = Clock::now();
  parser_ = std::make_unique<Parser>();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      state_->limits.header_limit, std::numeric_limits<std::uint32_t>::max())));
  // Beast's default (1 MB) would refuse a large Content-Length while parsing the head; the real
  // limit is chosen by the handler once the head is known. Not boost::none: Beast 1.74 compares
  // the length with the optional limit, and any length is greater than none.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  refresh_deadline();
  with_stream([this](auto& stream) {
    bhttp::async_read_header(
        stream, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_header(ec, n); });
  });
}

void Session::on_header(error_code ec, std::size_t bytes) {
  read_ = Read::none;
  state_->counters.bytes_received.fetch_add(bytes, std::memory_order_relaxed);
  if (closed_) return;
  if (ec) {
    on_read_error(ec);
    return;
  }
  if (parser_->is_done()) {  // no body: no limit to choose (a heartbeat's path)
    on_request_complete();
    return;
  }
  const auto& req = parser_->get();
  std::optional<std::uint64_t> content_length;
  if (auto n = parser_->content_length()) content_length = *n;

  std::size_t limit = state_->limits.body_limit;
  try {
    if (auto chosen = state_->handler.body_limit(RequestHead{req, remote_, content_length, tls_ != nullptr})) {
      limit = *chosen;
    }
  } catch (const std::exception& e) {
    log_event(LogLevel::error, std::string("handler body_limit() threw: ") + e.what());
    reject(Status::internal_server_error, "internal error", req.version());
    return;
  }
  if (content_length && *content_length > limit) {
    reject(Status::payload_too_large,
           "request body of " + std::to_string(*content_length) + " bytes exceeds the limit of " +
               std::to_string(limit),
           req.version());
    return;
  }
  parser_->body_limit(std::uint64_t{limit});
  // HTTP/1.0 clients cannot send Expect meaningfully (RFC 7231 5.1.1); other expectations are
  // ignored, which the RFC allows.
  if (req.version() >= 11 && boost::beast::iequals(req[bhttp::field::expect], "100-continue")) {
    // The interim response must not overtake the final responses to earlier pipelined requests.
    if (flushed()) {
      send_continue();
    } else {
      read_ = Read::continue_;
      continue_pending_ = true;
      refresh_deadline();
    }
    return;
  }
  read_body();
}

void Session::send_continue() {
  continue_pending_ = false;
  read_ = Read::continue_;
  write_in_progress_ = true;
  write_start_ = Clock::now();
  refresh_deadline();
  with_stream([this](auto& stream) {
    asio::async_write(stream, asio::buffer(kContinue, sizeof kContinue - 1),
                      [self = shared_from_this()](error_code ec, std::size_t n) {
                        self->on_continue_written(ec, n);
                      });
  });
}

void Session::on_continue_written(error_code ec, std::size_t bytes) {
  write_in_progress_ = false;
  read_ = Read::none;
  state_->counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
  if (closed_) return;
  if (ec) {
    log_event(LogLevel::debug, "writing 100 Continue: " + ec.message());
    close();
    return;
  }
  // The body's clock starts when the client is told to send it.
  request_start_ = Clock::now();
  read_body();
}

void Session::read_body() {
  read_ = Read::body;
  std::size_t want = kBodyReadChunk;
  if (auto n = parser_->content_length())
    want = static_cast<std::size_t>(std::min<std::uint64_t>(*n, want));
  if (want > 512 && buffer_.capacity() - buffer_.size() < want)
    buffer_.reserve(buffer_.size() + want);
  refresh_deadline();
  with_stream([this](auto& stream) {
    bhttp::async_read(
        stream, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_body(ec, n); });
  });
}

void Session::on_body(error_code ec, std::size_t bytes) {
  read_ = Read::none;
  state_->counters.bytes_received.fetch_add(bytes, std::memory_order_relaxed);
  if (closed_) return;
  if (ec) {
    on_read_error(ec);
    return;
  }
  on_request_complete();
}

void Session::on_request_complete() {
  auto message = parser_->release();
  parser_.reset();
  state_->counters.requests.fetch_add(1, std::memory_order_relaxed);

  Slot slot;
  slot.version = message.version();
  slot.head = message.method() == Verb::head;
  slot.close = !message.keep_alive() || stopping_;
  if (slot.close) read_closed_ = true;
  const std::uint64_t sequence = front_sequence_ + slots_.size();
  slots_.push_back(std::move(slot));
  ++handlers_owed_;
  if (!self_) self_ = shared_from_this();

  try {
    state_->handler.handle(Request{std::move(message), remote_, tls_ != nullptr},
                           Responder{weak_from_this(), sequence});
  } catch (const std::exception& e) {
    // The responder died with the call (unless the handler kept it) and answered 500.
    log_event(LogLevel::error, std::string("handler threw: ") + e.what());
  } catch (...) {
    log_event(LogLevel::error, "handler threw a non-standard exception");
  }
  do_read();  // read ahead: the next pipelined request, or wait for one
}

void Session::on_read_error(error_code ec) {
  if (ec == asio::error::operation_aborted) return;
  // A TLS client that closed the TCP connection without close_notify: as a plain client that
  // closed, in the middle of a request (a TLS session reads the first bytes before parsing).
  if (ec == asio::ssl::error::stream_truncated) ec = bhttp::error::partial_message;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    // The client closed its side: at a request boundary (end_of_stream) or in the middle of one,
    // whose bytes are dropped without reaching the handler. Earlier responses are still written.
    if (ec == bhttp::error::partial_message) {
      log_event(LogLevel::debug, "client closed in the middle of a request");
    }
    parser_.reset();
    peer_eof_ = true;
    read_closed_ = true;
    if (streaming_) {
      // A stream has no end the client could be waiting for: it left.
      log_event(LogLevel::debug, "client closed during a streamed response");
      close();
      return;
    }
    if (flushed()) close();
    return;
  }
  if (ec == bhttp::error::header_limit) {
    reject(Status::request_header_fields_too_large, "request header fields too large", 11);
    return;
  }
  if (ec == bhttp::error::body_limit) {
    reject(Status::payload_too_large, "request body too large",
           parser_ ? parser_->get().version() : 11);
    return;
  }
  if (is_http_parse_error(ec)) {
    reject(Status::bad_request, "malformed request: " + ec.message(), 11);
    return;
  }
  log_event(LogLevel::debug, "read: " + ec.message());
  close();
}

void Session::reject(Status status, std::string_view reason, unsigned version) {
  read_ = Read::none;
  read_closed_ = true;
  continue_pending_ = false;
  parser_.reset();
  if (state_->logs(LogLevel::info)) {
    log_event(LogLevel::info,
              std::to_string(static_cast<unsigned>(status)) + " " + std::string(reason));
  }
  Slot slot;
  slot.version = version == 10 ? 10 : 11;
  slot.close = true;
  slot.response = make_response(status, std::string(reason) + "\n");
  slots_.push_back(std::move(slot));
  maybe_write();
}

// --- write side ------------------------------------------------------------------------------

void Session::on_response(std::uint64_t sequence, Response response) {
  if (closed_) return;
  if (sequence < front_sequence_ || sequence - front_sequence_ >= slots_.size()) return;
  Slot& slot = slots_[static_cast<std::size_t>(sequence - front_sequence_)];
  if (slot.response) return;
  slot.response = std::move(response);
  if (handlers_owed_ > 0 && --handlers_owed_ == 0) self_.reset();  // the caller holds us
  maybe_write();
}

void Session::maybe_write() {
  if (closed_ || write_in_progress_ || lingering_ || streaming_) return;
  if (slots_.empty() || !slots_.front().response) return;

  Slot slot = std::move(slots_.front());
  slots_.erase(slots_.begin());
  ++front_sequence_;
  if (slot.stream) {
    start_stream(std::move(slot));
    return;
  }
  if (!writing_) writing_ = std::make_unique<Response>();
  Response& res = *writing_;
  res = std::move(*slot.response);

  int code = static_cast<int>(res.result_int());
  if (code < 200) {
    // 1xx is not a final answer; the client would wait for another response forever.
    log_event(LogLevel::error, "handler answered with status " + std::to_string(code));
    res = make_response(Status::internal_server_error, "internal error\n");
    code = 500;
  }
  const bool last =
      slots_.empty() && !continue_pending_ && (read_ == Read::waiting || read_ == Read::none);
  const bool close = slot.close || (stopping_ && last) ||
                     bhttp::token_list{res[bhttp::field::connection]}.exists("close");

  res.version(slot.version);
  const std::string_view date = http_date_now();
  res.set(bhttp::field::date, boost::beast::string_view{date.data(), date.size()});
  if (res.find(bhttp::field::server) == res.end()) res.set(bhttp::field::server, "zkpush");
  res.erase(bhttp::field::transfer_encoding);
  if (code == 204 || code == 304) {
    res.body().clear();
    res.erase(bhttp::field::content_length);
  } else {
    res.content_length(res.body().size());
  }
  res.keep_alive(!close);
  // HEAD: Content-Length says what GET would send; the body itself is not sent.
  if (slot.head) std::string().swap(res.body());

  close_after_write_ = close;
  if (close) read_closed_ = true;
  auto& counters = state_->counters;
  counters.responses.fetch_add(1, std::memory_order_relaxed);
  if (code >= 500) {
    counters.responses_5xx.fetch_add(1, std::memory_order_relaxed);
  } else if (code >= 400) {
    counters.responses_4xx.fetch_add(1, std::memory_order_relaxed);
  }

  write_in_progress_ = true;
  write_start_ = Clock::now();
  refresh_deadline();
  with_stream([this, &res](auto& stream) {
    bhttp::async_write(stream, res, [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_write(ec, n);
    });
  });
}

void Session::on_write(error_code ec, std::size_t bytes) {
  write_in_progress_ = false;
  state_->counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
  if (closed_) return;
  if (ec) {
    log_event(LogLevel::debug, "write: " + ec.message());
    close();
    return;
  }
  if (close_after_write_) {
    finish();
    return;
  }
  maybe_write();
  if (flushed()) {
    after_flush();
    return;
  }
  do_read();  // resumes reading if the pipeline was full
  refresh_deadline();
}

bool Session::flushed() const noexcept {
  return slots_.empty() && !write_in_progress_ && !streaming_;
}

void Session::after_flush() {
  if (continue_pending_) {
    send_continue();
    return;
  }
  if (peer_eof_ || (read_closed_ && (read_ == Read::waiting || read_ == Read::none))) {
    close();
    return;
  }
  idle_since_ = Clock::now();
  if (read_ == Read::waiting) release_idle_memory();  // not while a pipelined request is parsed
  do_read();
  refresh_deadline();
}

// --- streamed responses ----------------------------------------------------------------------

void Session::on_stream(std::uint64_t sequence, std::shared_ptr<StreamCore> stream,
                        ResponseHead head) {
  if (closed_ || sequence < front_sequence_ || sequence - front_sequence_ >= slots_.size()) {
    finish_stream(*stream);  // the connection is gone: the handler learns it through on_close
    return;
  }
  Slot& slot = slots_[static_cast<std::size_t>(sequence - front_sequence_)];
  if (slot.response) {
    finish_stream(*stream);
    return;
  }
  slot.response.emplace(std::move(head));
  slot.stream = std::move(stream);
  if (stopping_) slot.stream->end();
  // handlers_owed_ stays: the session holds itself until the stream has ended (end_stream).
  maybe_write();
}

void Session::start_stream(Slot slot) {
  streaming_ = std::move(slot.stream);
  StreamCore& stream = *streaming_;
  Response& res = *slot.response;  // the head; its body is empty

  int code = static_cast<int>(res.result_int());
  bool bodiless = slot.head || code == 204 || code == 304;
  if (code < 200) {
    log_event(LogLevel::error, "handler streamed with status " + std::to_string(code));
    res.result(Status::internal_server_error);
    code = 500;
    bodiless = true;
  }
  const bool last =
      slots_.empty() && !continue_pending_ && (read_ == Read::waiting || read_ == Read::none);
  // HTTP/1.0 has no chunked encoding: the end of the connection ends the body.
  const bool close = slot.close || slot.version < 11 || (stopping_ && last) ||
                     bhttp::token_list{res[bhttp::field::connection]}.exists("close");

  res.version(slot.version);
  const std::string_view date = http_date_now();
  res.set(bhttp::field::date, boost::beast::string_view{date.data(), date.size()});
  if (res.find(bhttp::field::server) == res.end()) res.set(bhttp::field::server, "zkpush");
  res.erase(bhttp::field::content_length);
  res.erase(bhttp::field::transfer_encoding);
  stream.chunked = slot.version >= 11;
  stream.head_only = bodiless;
  if (code == 500 && bodiless && !slot.head) {
    res.content_length(0);  // the 1xx replaced above
  } else if (code != 204 && code != 304 && stream.chunked) {
    // HEAD included: the head says what GET would send.
    res.set(bhttp::field::transfer_encoding, "chunked");
  }
  res.keep_alive(!close);
  if (close) res.set(bhttp::field::connection, "close");

  // Serialized here rather than by Beast: the body that follows is framed by the session.
  std::string& out = stream.head;
  out.reserve(128 + res.reason().size());
  out.append(slot.version < 11 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(code)).append(" ");
  out.append(res.reason().data(), res.reason().size()).append(kCrlf);
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    out.append(name.data(), name.size()).append(": ");
    out.append(value.data(), value.size()).append(kCrlf);
  }
  out.append(kCrlf);

  close_after_write_ = close;
  if (close) read_closed_ = true;
  auto& counters = state_->counters;
  counters.responses.fetch_add(1, std::memory_order_relaxed);
  if (code >= 500) {
    counters.responses_5xx.fetch_add(1, std::memory_order_relaxed);
  } else if (code >= 400) {
    counters.responses_4xx.fetch_add(1, std::memory_order_relaxed);
  }
  counters.streams_open.fetch_add(1, std::memory_order_relaxed);

  stream.activate();
  pump_stream();
}

// Writes what the stream has queued: the head first, then every chunk at hand in one write.
// With nothing queued the stream goes idle until StreamCore wakes the session (wake_stream).
void Session::pump_stream() {
  while (!closed_ && !write_in_progress_ && streaming_) {
    std::shared_ptr<StreamCore> stream = streaming_;
    const bool end = stream->head_only || stream->take();
    auto& buffers = stream->buffers;
    buffers.clear();
    if (!stream->head.empty()) buffers.push_back(asio::buffer(stream->head));
    if (!stream->head_only) {
      auto& framing = stream->framing;
      framing.clear();
      framing.reserve(stream->batch.size() * kChunkLineMax);  // no reallocation below
      for (const auto& chunk : stream->batch) {
        if (chunk.data.empty()) continue;  // a zero-size chunk would end the body
        if (stream->chunked) {
          std::array<char, kChunkLineMax> line{};
          char* end_of_size =
              std::to_chars(line.data(), line.data() + line.size(), chunk.data.size(), 16).ptr;
          *end_of_size++ = '\r';
          *end_of_size++ = '\n';
          const std::size_t at = framing.size();
          framing.append(line.data(), end_of_size);
          buffers.push_back(asio::buffer(framing.data() + at, framing.size() - at));
          buffers.push_back(asio::buffer(chunk.data));
          buffers.push_back(asio::buffer(kCrlf, 2));
        } else {
          buffers.push_back(asio::buffer(chunk.data));
        }
      }
      if (end && stream->chunked) buffers.push_back(asio::buffer(kLastChunk, 5));
    }
    if (!buffers.empty()) {
      stream->ending = end;
      write_in_progress_ = true;
      write_start_ = Clock::now();  // the write timeout applies to each write of the stream
      refresh_deadline();
      with_stream([this, &buffers, &stream](auto& out) {
        asio::async_write(out, buffers,
                          [self = shared_from_this(), stream](error_code ec, std::size_t n) {
                            self->on_stream_write(stream, ec, n);
                          });
      });
      return;
    }
    if (stream->batch.empty()) {
      if (end) end_stream();  // close-delimited, nothing left to write
      return;
    }
    // Only empty chunks: report them written and look again.
    for (auto& callback : stream->complete_batch()) notify(callback, true);
  }
}

void Session::on_stream_write(const std::shared_ptr<StreamCore>& stream, error_code ec,
                              std::size_t bytes) {
  write_in_progress_ = false;
  state_->counters.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
  if (closed_ || stream != streaming_) {
    stream->release_batch();  // close() reported the batch unwritten
    return;
  }
  if (ec) {
    log_event(LogLevel::debug, "write: " + ec.message());
    close();
    stream->release_batch();
    return;
  }
  std::string().swap(stream->head);
  for (auto& callback : stream->complete_batch()) notify(callback, true);
  if (stream->ending) {
    end_stream();
    return;
  }
  pump_stream();
  do_read();  // resumes reading if the pipeline was full
  refresh_deadline();
}

// The stream's last byte is written: its slot in the response order is free.
void Session::end_stream() {
  const std::shared_ptr<StreamCore> stream = std::move(streaming_);
  state_->counters.streams_open.fetch_sub(1, std::memory_order_relaxed);
  if (handlers_owed_ > 0 && --handlers_owed_ == 0) self_.reset();  // the caller holds us
  finish_stream(*stream);
  stream->release_batch();
  if (close_after_write_) {
    finish();
    return;
  }
  maybe_write();
  if (flushed()) {
    after_flush();
    return;
  }
  do_read();
  refresh_deadline();
}

// Tells the handler the stream is over (unwritten chunks, then on_close), once.
void Session::finish_stream(StreamCore& stream) noexcept {
  StreamCore::Ending ending;
  try {
    ending = stream.finish();
  } catch (...) {
    return;  // out of memory collecting the callbacks: they are dropped unreported
  }
  for (auto& callback : ending.unwritten) notify(callback, false);
  if (!ending.on_close) return;
  try {
    ending.on_close();
  } catch (const std::exception& e) {
    log_event_noexcept(std::string_view("stream on_close threw: "), e.what());
  } catch (...) {
    log_event_noexcept("stream on_close threw a non-standard exception", "");
  }
}

// Runs a handler's on_written callback; an exception is logged, not propagated.
void Session::notify(const std::function<void(bool)>& callback, bool ok) noexcept {
  try {
    callback(ok);
  } catch (const std::exception& e) {
    log_event_noexcept("stream on_written threw: ", e.what());
  } catch (...) {
    log_event_noexcept("stream on_written threw a non-standard exception", "");
  }
}

void Session::log_event_noexcept(std::string_view what, std::string_view detail) const noexcept {
  try {
    log_event(LogLevel::error, std::string(what).append(detail));
  } catch (...) {
    // Out of memory: the message is lost.
  }
}

// The connection is closing: every stream it holds, started or waiting, is over.
void Session::finish_streams() noexcept {
  std::shared_ptr<StreamCore> current = std::move(streaming_);
  if (current) {
    state_->counters.streams_open.fetch_sub(1, std::memory_order_relaxed);
    finish_stream(*current);
  }
  for (auto& slot : slots_) {
    if (slot.stream) finish_stream(*std::exchange(slot.stream, nullptr));
  }
}

// --- closing ---------------------------------------------------------------------------------

void Session::finish() {
  // Half-close, then read until the client closes: closing with unread input makes the kernel
  // send a reset, which can destroy the response (a 413 for a body still arriving) before the
  // client reads it.
  error_code ec;
  // TLS: close_notify instead (do_drain), then the client's close; no TCP half-close under it.
  if (!tls_) socket_.shutdown(Socket::shutdown_send, ec);
  if (ec || state_->limits.linger_timeout.count() <= 0) {
    close();
    return;
  }
  lingering_ = true;
  linger_until_ = Clock::now() + state_->limits.linger_timeout;
  switch (read_) {
    case Read::waiting:  // on_readable drains
      break;
    case Read::none:
    case Read::continue_:
      do_drain();
      break;
    default:  // a pipelined request is being read after a closing response: abandon it
      close();
      return;
  }
  refresh_deadline();
}

void Session::do_drain() {
  read_ = Read::draining;
  parser_.reset();
  buffer_.clear();
  if (tls_) {
    // close_notify, then OpenSSL reads until the client's close_notify or the end of the
    // connection, discarding what comes before; bounded by the linger deadline like the drain.
    tls_->async_shutdown([self = shared_from_this()](error_code) { self->close(); });
    return;
  }
  socket_.async_read_some(
      buffer_.prepare(kDrainReadChunk),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_drain(ec, n); });
}

void Session::on_drain(error_code ec, std::size_t bytes) {
  read_ = Read::none;
  if (closed_) return;
  drained_ += bytes;
  if (ec || drained_ > kDrainLimit) {
    close();
    return;
  }
  do_drain();
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  lowest().close(ec);
  timer_.cancel();
  state_->counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
  finish_streams();
  slots_.clear();
  continue_pending_ = false;
  handlers_owed_ = 0;
  // Responses still owed are dropped; the responders find the session gone or closed. Buffer and
  // parser stay until destruction: an aborted operation may still refer to them.
  self_.reset();
}

// Between requests a connection keeps no parser and no response. Its buffer is left alone: a read
// of the next request may be using it (do_read trims it before the next read).
void Session::release_idle_memory() noexcept {
  parser_.reset();
  writing_.reset();
  if (slots_.capacity() > 1) slots_.shrink_to_fit();
}

// --- timeouts --------------------------------------------------------------------------------

Clock::time_point Session::deadline() const noexcept {
  const Limits& limits = state_->limits;
  auto d = Clock::time_point::max();
  switch (read_) {
    case Read::handshake:
      d = idle_since_ + limits.tls_handshake_timeout;
      break;
    case Read::waiting:
      // Idle only if nothing is owed: while the handler works, the client is waiting for us.
      if (!lingering_ && flushed() && !continue_pending_) {
        d = idle_since_ + (first_request_ ? std::min(limits.idle_timeout, limits.request_timeout)
                                          : limits.idle_timeout);
      }
      break;
    case Read::header:
    case Read::body:
      d = request_start_ + limits.request_timeout;
      break;
    default:
      break;
  }
  if (write_in_progress_) d = std::min(d, write_start_ + limits.write_timeout);
  if (lingering_) d = std::min(d, linger_until_);
  return d;
}

void Session::refresh_deadline() {
  if (closed_) return;
  const auto d = deadline();
  if (d == Clock::time_point::max()) return;  // a pending wait finds nothing due and stops
  // Moving a deadline later costs nothing: the pending wait fires early, sees the new deadline
  // and waits again. Only an earlier deadline cancels and re-arms.
  if (timer_waiting_ && timer_.expiry() <= d) return;
  timer_waiting_ = true;
  const std::uint32_t generation = ++timer_generation_;
  timer_.expires_at(d);
  timer_.async_wait(
      [self = shared_from_this(), generation](error_code ec) { self->on_timer(generation, ec); });
}

void Session::on_timer(std::uint32_t generation, error_code ec) {
  static_cast<void>(ec);  // the generation tells a cancelled wait from the current one
  if (generation != timer_generation_ || closed_) return;
  timer_waiting_ = false;
  if (deadline() <= Clock::now()) {
    state_->counters.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (read_ == Read::handshake) {
      state_->counters.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (state_->logs(LogLevel::debug)) {
      const char* what = read_ == Read::handshake ? "timeout in the TLS handshake"
                         : read_ == Read::header  ? "timeout reading request head"
                         : read_ == Read::body ? "timeout reading request body"
                         : write_in_progress_  ? "timeout writing response"
                         : lingering_          ? "timeout waiting for the client to close"
                                               : "idle timeout";
      log_event(LogLevel::debug, what);
    }
    close();
    return;
  }
  refresh_deadline();
}

void Session::log_event(LogLevel level, std::string_view what) const {
  if (!state_->logs(level)) return;
  std::string line = describe(remote_);
  line += ": ";
  line += what;
  state_->log(level, line);
}

}  // namespace zkpush::server::http
