#include "server/http/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include "server/http/server_state.hpp"
#include "server/http/session.hpp"
#include "server/http/tls.hpp"

namespace zkpush::server::http {
namespace {

using boost::system::error_code;

// Out of descriptors or kernel memory: retrying before something is released would spin on the
// connection still waiting in the backlog.
bool is_resource_exhaustion(const error_code& ec) noexcept {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

Listener::Listener(asio::io_context& accept_on, std::vector<asio::io_context*> sessions_on,
                   std::shared_ptr<ServerState> state, std::shared_ptr<TlsContextSlot> tls)
    : sessions_on_(std::move(sessions_on)),
      state_(std::move(state)),
      tls_(std::move(tls)),
      acceptor_(accept_on.get_executor()),
      backoff_(acceptor_.get_executor()) {}

void Listener::open(const Endpoint& endpoint, int backlog) {
  auto fail = [&](const error_code& ec, const char* what) {
    error_code ignored;
    acceptor_.close(ignored);
    throw boost::system::system_error(ec, std::string(what) + " " +
                                              endpoint.address().to_string(ignored) + ":" +
                                              std::to_string(endpoint.port()));
  };
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) fail(ec, "open");
  // Restarting the server must not wait for the previous process's TIME_WAIT sockets.
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail(ec, "set_option");
  acceptor_.bind(endpoint, ec);
  if (ec) fail(ec, "bind");
  acceptor_.listen(backlog, ec);
  if (ec) fail(ec, "listen");
}

Endpoint Listener::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::start() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
  std::promise<void> closed;
  auto done = closed.get_future();
  asio::post(acceptor_.get_executor(), [self = shared_from_this(), &closed] {
    self->stopped_ = true;
    error_code ec;
    self->acceptor_.close(ec);
    self->backoff_.cancel();
    closed.set_value();
  });
  done.wait();
  // The cancelled accept completes on the acceptor's thread, which still runs.
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (accepting_.load() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Listener::do_accept() {
  if (stopped_) return;
  // Each connection stays on one I/O thread, so its handlers never run concurrently; the
  // connections are dealt to the threads in turn, which keeps them about even for devices that
  // hold their connection (a thread that closes many short ones may end up with fewer).
  asio::io_context& on = *sessions_on_[next_];
  next_ = (next_ + 1) % sessions_on_.size();
  accepting_.store(true);
  acceptor_.async_accept(on,
                         [self = shared_from_this()](error_code ec, Socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void Listener::on_accept(error_code ec, Socket socket) {
  accepting_.store(false);
  if (stopped_ || ec == asio::error::operation_aborted) return;
  auto& counters = state_->counters;
  if (ec) {
    counters.accept_errors.fetch_add(1, std::memory_order_relaxed);
    if (is_resource_exhaustion(ec)) {
      const auto now = Clock::now();
      ++unreported_;
      if (now - last_warning_ >= std::chrono::seconds(1)) {
        state_->log(LogLevel::error, "accept: " + ec.message() + " (" +
                                         std::to_string(unreported_) +
                                         " times since last report); pausing accepts");
        last_warning_ = now;
        unreported_ = 0;
      }
      backoff_.expires_after(state_->limits.accept_backoff);
      backoff_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    // ECONNABORTED and the like concern one connection, not the listener.
    state_->log(LogLevel::debug, "accept: " + ec.message());
    do_accept();
    return;
  }

  counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  const std::size_t max = state_->limits.max_connections;
  // Only the listeners increment connections_open: the check can be raced past the limit by the
  // TLS listener's one connection at most.
  if (max != 0 && counters.connections_open.load(std::memory_order_relaxed) >= max) {
    reject(socket);
  } else {
    counters.connections_open.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    std::shared_ptr<Session> session;
    try {
      std::shared_ptr<asio::ssl::context> context;
      if (tls_) context = tls_->get()->ssl;  // the handshake counts in the connection limit
      session = std::make_shared<Session>(std::move(socket), state_, std::move(context));
      session->start();
    } catch (const std::exception& e) {
      // Out of memory. A constructed session settles connections_open in its destructor.
      if (!session) counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
      state_->log(LogLevel::error, std::string("starting a session: ") + e.what());
    }
  }
  do_accept();
}

void Listener::reject(Socket& socket) {
  // Closed without a response: a 503 would need a read, a write and a timer for a client refused
  // precisely because there is no room, and devices retry after RequestDelay anyway.
  state_->counters.connections_rejected.fetch_add(1, std::memory_order_relaxed);
  error_code ignored;
  socket.close(ignored);
  const auto now = Clock::now();
  ++unreported_;
  if (now - last_warning_ >= std::chrono::seconds(1)) {
    state_->log(LogLevel::warn, "connection limit of " +
                                    std::to_string(state_->limits.max_connections) +
                                    " reached; closed " + std::to_string(unreported_) +
                                    " new connection(s) since last report");
    last_warning_ = now;
    unreported_ = 0;
  }
}

}  // namespace zkpush::server::http
