// A streamed response body: the handler sends the head now and the body as it comes, piece by
// piece, until it closes the stream (Server-Sent Events, chunked downloads).
//
//   auto stream = respond.stream(make_stream_head(Status::ok, "text/event-stream"));
//   stream->on_close([this, id] { unsubscribe(id); });
//   if (stream->write("data: hello\n\n") != StreamWrite::queued) stream->close();
//   ...
//   stream->close();  // the final chunk; the connection goes on (keep-alive) or closes
//
// Framing is the transport's: HTTP/1.1 gets "Transfer-Encoding: chunked"; an HTTP/1.0 client gets
// a body delimited by the end of the connection ("Connection: close"); HEAD, 204 and 304 get the
// head only. Until the stream is closed, the responses to later pipelined requests wait behind it
// (HTTP/1.1 answers in request order), and the connection has no idle timeout: a heartbeat, if
// one is needed, is the handler's business. Each write to the socket is bounded by
// Limits::write_timeout, so a client that stops reading is dropped. A client closing its side
// while a stream is written has left (a stream has no end it could be waiting for): the stream
// is over at once. When the server is not reading from the connection (HTTP/1.0 or
// "Connection: close", or a full pipeline), a vanished client is noticed by the next write that
// fails instead. On server stop, open streams end after what is queued and their connections
// close.
//
// Every member is thread-safe and may be called from any thread, before or after the connection
// is gone. The callbacks run on an I/O thread (the connection's) and must not block; they
// may call the stream's members. A callback that holds the stream's shared_ptr keeps it (and its
// connection) open until that callback has run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace zkpush::server::http {

class StreamCore;
class Responder;

enum class StreamWrite : std::uint8_t {
  queued,  // accepted: on_written will be called once, in order
  full,    // refused, nothing queued: buffered() would exceed Limits::stream_buffer_limit
  closed,  // refused, nothing queued: the stream was closed or its connection is gone
};

class Stream {
 public:
  // The last reference going away closes the stream, so a forgotten stream cannot hold a
  // connection (and the requests pipelined behind it) forever.
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Queues a piece of the body. `on_written(true)` once it has been handed to the kernel,
  // `on_written(false)` if the connection went away first. An empty chunk sends nothing (its
  // on_written still reports in order). Back-pressure: the chunk is refused with `full` when the
  // bytes queued and not yet written would exceed Limits::stream_buffer_limit (a chunk is always
  // accepted when nothing is buffered, so one larger than the limit can still be sent alone).
  // The handler then drops the client (close()) or waits for an earlier on_written.
  [[nodiscard]] StreamWrite write(std::string chunk, std::function<void(bool ok)> on_written = {});

  // Ends the body once what is queued is written; later writes are refused. Idempotent.
  void close();

  // Called once when the stream is over, whatever the reason: its end was written after close(),
  // the client disconnected, a write failed or timed out, or the server stopped. Registered after
  // that, it runs at once on the calling thread. Replaces an earlier registration.
  void on_close(std::function<void()> callback);

  // True once writes are refused: close() was called, the server is stopping, or the stream is
  // over.
  bool closed() const noexcept;
  // Bytes accepted by write() and not yet handed to the kernel (including the write in progress).
  std::size_t buffered() const noexcept;

 private:
  friend class Responder;
  explicit Stream(std::shared_ptr<StreamCore> core) noexcept;

  std::shared_ptr<StreamCore> core_;
};

}  // namespace zkpush::server::http
