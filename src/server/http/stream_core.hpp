// The shared state of one streamed response (internal to the transport): the queue the handler's
// threads fill and the connection's I/O thread drains. The handler holds it through Stream; the
// session holds it while the stream waits for its turn and while it is written.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/http/net.hpp"
#include "server/http/stream.hpp"

namespace zkpush::server::http {

class Session;

class StreamCore : public std::enable_shared_from_this<StreamCore> {
 public:
  struct Chunk {
    std::string data;
    std::function<void(bool)> on_written;
  };
  // What is left to tell the handler when the stream is over.
  struct Ending {
    std::vector<std::function<void(bool)>> unwritten;  // each called with false
    std::function<void()> on_close;
  };

  StreamCore(std::weak_ptr<Session> session, std::size_t buffer_limit) noexcept
      : session_(std::move(session)), buffer_limit_(buffer_limit) {}

  // --- the handler's side: any thread -------------------------------------------------------
  StreamWrite write(std::string chunk, std::function<void(bool)> on_written);
  // Ends the body after what is queued (Stream::close, ~Stream, and the server stopping).
  void end();
  void set_on_close(std::function<void()> callback);
  bool closed() const noexcept;
  std::size_t buffered() const noexcept;

  // --- the session's side: its I/O thread only ---------------------------------------------------
  // The stream reached the front of the response order and the session writes it now; until
  // take() finds nothing to do, further writes need no wake-up.
  void activate();
  // Moves the queued chunks into `batch` and tells whether the end was asked for. With nothing
  // to write and no end, marks the stream idle: the next write() or end() wakes the session.
  bool take();
  // The batch was written: its bytes leave buffered() and its callbacks are returned (each to
  // be called with true); the chunk memory is released.
  std::vector<std::function<void(bool)>> complete_batch();
  // The stream is over (ended, cut, or never started): refuses further writes and returns what
  // is left to report. Only the first call returns anything. The batch's data stays until
  // release_batch(): a cancelled write may still refer to it.
  Ending finish();
  void release_batch() noexcept;

  // Written by the session on its I/O thread only.
  std::string head;          // the serialized head, until it has been written
  std::vector<Chunk> batch;  // the chunks being written
  std::string framing;       // chunk-size lines of the batch (reserved, so never reallocated)
  std::vector<asio::const_buffer> buffers;
  bool chunked = true;     // Transfer-Encoding: chunked; otherwise close-delimited
  bool head_only = false;  // HEAD, 204, 304: no body at all
  bool ending = false;     // the write in progress ends the stream

 private:
  void wake();

  const std::weak_ptr<Session> session_;
  const std::size_t buffer_limit_;
  mutable std::mutex mutex_;
  std::deque<Chunk> queue_;
  std::size_t buffered_ = 0;  // queued plus batch
  std::function<void()> on_close_;
  bool end_requested_ = false;
  bool done_ = false;
  bool active_ = false;  // the session is writing this stream
  bool awake_ = false;   // the session will look at the queue again without a wake-up
};

}  // namespace zkpush::server::http
