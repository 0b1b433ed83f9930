// One HTTP/1.1 connection: reads requests, hands them to the handler, writes the responses in
// request order, and enforces the limits and timeouts. Everything after construction runs on the
// connection's I/O thread; the public members post onto it and may be called from any thread.
//
// The same class serves plain and TLS connections: a TLS session owns an ssl::stream over its
// socket and the context it was accepted with, and every read and write goes through whichever
// stream the session has (one branch per operation, not per byte; the plain path is unchanged).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "server/http/log.hpp"
#include "server/http/net.hpp"
#include "server/http/request.hpp"
#include "server/http/response.hpp"

namespace zkpush::server::http {

class ServerState;
class StreamCore;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The socket counts in counters.connections_open already (the listener checked the limit).
  // With `tls`, the connection starts with a TLS handshake (bounded by limits.tls_handshake_timeout)
  // and holds the context until it closes.
  Session(Socket socket, std::shared_ptr<ServerState> state,
          std::shared_ptr<asio::ssl::context> tls = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Server stop: close if idle; otherwise finish the request being read and the responses owed,
  // the last one with "Connection: close", then close.
  void shutdown();
  // Close now, whatever is in flight.
  void abort();
  // From Responder: the response to request number `sequence` of this connection.
  void deliver(std::uint64_t sequence, Response response);
  // From Responder::stream: a streamed response to request number `sequence`.
  void deliver_stream(std::uint64_t sequence, std::shared_ptr<StreamCore> stream,
                      ResponseHead head);
  // From StreamCore: chunks or the end were queued on a stream that was idle.
  void wake_stream(std::shared_ptr<StreamCore> stream);
  std::size_t stream_buffer_limit() const noexcept;

 private:
  friend class ServerState;  // the registry links sessions through reg_prev_ / reg_next_

  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  // What the read side is doing; at most one read operation is outstanding.
  enum class Read : std::uint8_t {
    handshake,  // TLS connections: the handshake, before any request
    none,       // nothing outstanding: paused (pipeline full), done, or between steps
    waiting,    // a read of the next request's first bytes into a small buffer; no parser yet
                // (see do_read)
    header,     // reading the request line and fields
    continue_,  // head read, owes "100 Continue" once earlier responses are out
    body,       // reading the body
    draining,   // after a closing response: discarding input until the client closes
  };

  // A response owed, in request order. NOLINT below: clang-tidy follows Slot's implicit move
  // assignment into Beast code that can throw, which a move of a message with std::allocator does not
  // reach (basic_fields' move assignment is noexcept then).
  struct Slot {  // NOLINT(bugprone-exception-escape)
    std::optional<Response> response;    // empty until the handler answers; a stream's head
    std::shared_ptr<StreamCore> stream;  // set when the answer is a streamed response
    unsigned version = 11;
    bool head = false;   // HEAD: the body is measured, not sent
    bool close = false;  // close the connection after this response
  };

  using TlsStream = asio::ssl::stream<Socket>;

  // The socket under either stream (close, shutdown, addresses).
  Socket& lowest() noexcept { return tls_ ? tls_->next_layer() : socket_; }
  // Runs `op` with the stream requests are read from and responses written to.
  template <class Op>
  void with_stream(Op&& op) {
    if (tls_) {
      op(*tls_);
    } else {
      op(socket_);
    }
  }

  // TLS.
  void do_handshake();
  void on_handshake(boost::system::error_code ec);

  // Read side.
  void do_read();
  void on_readable(boost::system::error_code ec);
  void begin_request();
  void on_header(boost::system::error_code ec, std::size_t bytes);
  void send_continue();
  void on_continue_written(boost::system::error_code ec, std::size_t bytes);
  void read_body();
  void on_body(boost::system::error_code ec, std::size_t bytes);
  void on_request_complete();
  void on_read_error(boost::system::error_code ec);
  void reject(Status status, std::string_view reason, unsigned version);

  // Write side.
  void on_response(std::uint64_t sequence, Response response);
  void maybe_write();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void after_flush();
  bool flushed() const noexcept;

  // Streamed responses: the front slot's stream is written chunk by chunk until it ends.
  void on_stream(std::uint64_t sequence, std::shared_ptr<StreamCore> stream, ResponseHead head);
  void start_stream(Slot slot);
  void pump_stream();
  void on_stream_write(const std::shared_ptr<StreamCore>& stream, boost::system::error_code ec,
                       std::size_t bytes);
  void end_stream();
  void finish_stream(StreamCore& stream) noexcept;
  void finish_streams() noexcept;
  void notify(const std::function<void(bool)>& callback, bool ok) noexcept;
  void log_event_noexcept(std::string_view what, std::string_view detail) const noexcept;

  // Closing.
  void finish();
  void do_drain();
  void on_drain(boost::system::error_code ec, std::size_t bytes);
  void close();
  void release_idle_memory() noexcept;

  // Timeouts: one timer per connection; the deadline follows from the state (see deadline()).
  Clock::time_point deadline() const noexcept;
  void refresh_deadline();
  void on_timer(std::uint32_t generation, boost::system::error_code ec);

  void log_event(LogLevel level, std::string_view what) const;

  Socket socket_;  // moved into tls_ for a TLS connection
  Timer timer_;   // its executor is the connection's I/O thread
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<TlsStream> tls_;
  std::shared_ptr<ServerState> state_;
  Endpoint remote_;
  // Empty (no allocation) while idle: tens of thousands of idle devices must cost little.
  boost::beast::flat_buffer buffer_;
  std::unique_ptr<Parser> parser_;
  std::vector<Slot> slots_;
  // The response being written, kept apart from slots_ so that a push_back cannot move it under
  // the write; its allocation is reused for the next response and released when idle.
  std::unique_ptr<Response> writing_;
  // The stream being written: it holds the front of the response order until it ends.
  std::shared_ptr<StreamCore> streaming_;
  // Holds this session alive while the handler owes responses: the responders hold it weakly.
  std::shared_ptr<Session> self_;

  Session* reg_prev_ = nullptr;
  Session* reg_next_ = nullptr;

  Clock::time_point request_start_{};
  Clock::time_point write_start_{};
  Clock::time_point idle_since_{};
  Clock::time_point linger_until_{};

  std::uint64_t front_sequence_ = 0;  // sequence number of slots_.front()
  std::uint64_t drained_ = 0;         // bytes discarded while draining
  std::uint32_t timer_generation_ = 0;
  std::uint32_t handlers_owed_ = 0;
  Read read_ = Read::none;
  bool timer_waiting_ = false;
  bool write_in_progress_ = false;  // a response or the interim 100 is being written
  bool continue_pending_ = false;   // the request being read waits for "100 Continue"
  bool read_closed_ = false;        // no further request will be read
  bool peer_eof_ = false;           // the client closed its side
  bool close_after_write_ = false;  // the response being written says "Connection: close"
  bool lingering_ = false;          // half-closed; waiting for the client to close
  bool stopping_ = false;           // the server is stopping
  bool closed_ = false;
  bool first_request_ = true;
};

}  // namespace zkpush::server::http
