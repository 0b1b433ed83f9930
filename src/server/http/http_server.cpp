#include "server/http/http_server.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "server/http/listener.hpp"
#include "server/http/server_state.hpp"
#include "server/http/session.hpp"

namespace zkpush::server::http {
namespace {

using namespace std::chrono_literals;

unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Polls a condition until it holds or the deadline passes. stop() is rare and short, so a sleep
// loop is simpler than threading a condition variable through every session's destructor.
template <class Predicate>
bool wait_until(Clock::time_point deadline, Predicate done) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace

HttpServer::HttpServer(ServerConfig config, Handler& handler)
    : config_(std::move(config)),
      threads_count_(resolve_threads(config_.threads)),
      state_(
          std::make_shared<ServerState>(config_.limits, handler, config_.log, config_.log_level)) {
  // Concurrency hint 1: one thread runs each context, which lets Asio keep the handlers a thread
  // posts to itself in that thread's private queue (other threads still post, with locking).
  for (unsigned i = 0; i < threads_count_; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
  if (config_.tls) {
    if (!config_.tls->context || !config_.tls->context->ssl) {
      throw std::invalid_argument("TLS listener without a certificate");
    }
    tls_slot_ = std::make_shared<TlsContextSlot>(config_.tls->context);
    state_->counters.tls_certificate_expiry.store(config_.tls->context->certificate.not_after);
  }
}

void HttpServer::set_tls_context(std::shared_ptr<const TlsContext> context) {
  if (!tls_slot_ || !context || !context->ssl) return;
  state_->counters.tls_certificate_expiry.store(context->certificate.not_after);
  tls_slot_->set(std::move(context));
}

std::shared_ptr<const TlsContext> HttpServer::tls_context() const {
  return tls_slot_ ? tls_slot_->get() : nullptr;
}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& e) {
    // A destructor must not throw. stop() throws only when the system refuses it (a thread that
    // cannot be joined, no memory): logged, the destruction goes on.
    state_->log(LogLevel::error, e.what());
  }
}

const Counters& HttpServer::counters() const noexcept { return state_->counters; }

void HttpServer::start() {
  std::lock_guard lock(lifecycle_);
  if (started_) return;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(config_.address, ec);
  if (ec) throw boost::system::system_error(ec, "listen address '" + config_.address + "'");

  std::vector<asio::io_context*> contexts;
  for (auto& context : contexts_) contexts.push_back(context.get());
  auto listener = std::make_shared<Listener>(*contexts_.front(), contexts, state_);
  listener->open(Endpoint{address, config_.port}, config_.listen_backlog);
  std::shared_ptr<Listener> tls_listener;
  if (config_.tls) {
    auto tls_address = asio::ip::make_address(config_.tls->address, ec);
    if (ec) {
      throw boost::system::system_error(ec, "TLS listen address '" + config_.tls->address + "'");
    }
    // Accepting on the second thread, when there is one: a burst of TLS connections (each a
    // handshake to start) and one of plain ones are then accepted in parallel.
    tls_listener = std::make_shared<Listener>(*contexts_[1 % contexts_.size()], contexts, state_,
                                              tls_slot_);
    tls_listener->open(Endpoint{tls_address, config_.tls->port}, config_.listen_backlog);
  }
  listener_ = std::move(listener);
  local_ = listener_->local_endpoint();
  if (tls_listener) {
    tls_listener_ = std::move(tls_listener);
    tls_local_ = tls_listener_->local_endpoint();
  }
  for (auto& context : contexts_) work_.push_back(asio::make_work_guard(*context));
  listener_->start();
  if (tls_listener_) tls_listener_->start();
  threads_.reserve(threads_count_);
  for (auto& context : contexts_) threads_.emplace_back([this, &ioc = *context] { run_thread(ioc); });
  started_ = true;
}

void HttpServer::run_thread(asio::io_context& ioc) noexcept {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      // Handlers of ours do not throw; this is an allocation failure or a bug. The thread keeps
      // serving the other connections.
      state_->log(LogLevel::error, std::string("I/O thread: ") + e.what());
    } catch (...) {
      state_->log(LogLevel::error, "I/O thread: unknown exception");
    }
  }
}

void HttpServer::stop() {
  std::lock_guard lock(lifecycle_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  const auto deadline = Clock::now() + config_.stop_timeout;

  listener_->stop();
  if (tls_listener_) tls_listener_->stop();
  for (auto& session : state_->sessions()) session->shutdown();
  const bool drained = wait_until(deadline, [&] {
    return state_->counters.connections_open.load(std::memory_order_relaxed) == 0;
  });
  if (!drained) {
    state_->log(LogLevel::warn,
                "stop: " + std::to_string(state_->counters.connections_open.load()) +
                    " connection(s) still busy after the stop timeout; closing them");
    for (auto& session : state_->sessions()) session->abort();
  }
  // Closed sessions go away as their cancelled operations complete, within milliseconds.
  wait_until(Clock::now() + 1s, [&] { return state_->session_count() == 0; });

  work_.clear();
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace zkpush::server::http
