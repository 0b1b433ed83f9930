// Accepts connections and starts a session for each, spreading them over the I/O threads' io_contexts
// in turn (net.hpp). A TLS listener starts each session with the context its slot holds at that
// moment (tls.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "server/http/net.hpp"
#include "server/http/request.hpp"

namespace zkpush::server::http {

class ServerState;
class TlsContextSlot;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Accepts on `accept_on`; the sessions go to `sessions_on` in turn (not empty; they outlive
  // the listener).
  Listener(asio::io_context& accept_on, std::vector<asio::io_context*> sessions_on,
           std::shared_ptr<ServerState> state, std::shared_ptr<TlsContextSlot> tls = nullptr);

  // Binds and listens; throws boost::system::system_error. Call before the I/O threads run.
  void open(const Endpoint& endpoint, int backlog);
  Endpoint local_endpoint() const;

  void start();
  // Closes the acceptor on its thread and returns once it is closed. Not from an I/O thread.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, Socket socket);
  void reject(Socket& socket);

  std::vector<asio::io_context*> sessions_on_;
  std::size_t next_ = 0;  // the context of the next session
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<TlsContextSlot> tls_;  // null: plain HTTP
  Acceptor acceptor_;
  Timer backoff_;
  Clock::time_point last_warning_{};
  std::uint64_t unreported_ = 0;  // rejections and accept errors not logged yet (rate limit)
  bool stopped_ = false;
  // An accept is pending. Its operation holds a socket of another I/O thread's io_context: stop()
  // waits until it has ended, so that no io_context is destroyed with such an operation queued
  // while the other one is already gone.
  std::atomic<bool> accepting_{false};
};

}  // namespace zkpush::server::http
