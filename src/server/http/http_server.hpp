// The HTTP/1.1 server of `zkpush serve`: owns the I/O threads (each with an io_context of its own,
// net.hpp), the listener and the sessions. Generic transport only; what the requests mean is the
// Handler's business.
//
//   MyHandler handler;
//   HttpServer server({.port = 8088}, handler);
//   server.start();            // throws boost::system::system_error if it cannot listen
//   ... wait for SIGTERM (signal handling is the caller's) ...
//   server.stop();             // graceful, bounded by stop_timeout
//
// With config.tls, a second listener speaks HTTPS to the same handler (Request::secure tells
// which); set_tls_context() swaps its certificate for new connections (SIGHUP).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/http/counters.hpp"
#include "server/http/handler.hpp"
#include "server/http/limits.hpp"
#include "server/http/log.hpp"
#include "server/http/net.hpp"
#include "server/http/tls.hpp"

namespace zkpush::server::http {

class Listener;
class ServerState;

// The TLS listener beside the plain one.
struct TlsListenConfig {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8443;  // 0: any free port (tests); HttpServer::tls_port() tells which
  std::shared_ptr<const TlsContext> context;  // load_tls_context(); required
};

struct ServerConfig {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal ("::" for both on most systems)
  std::uint16_t port = 8088;        // 0: any free port (tests); HttpServer::port() tells which
  unsigned threads = 0;             // I/O threads; 0: one per core
  int listen_backlog = asio::socket_base::max_listen_connections;
  Limits limits;
  std::optional<TlsListenConfig> tls;  // no TLS listener when empty
  // stop(): how long in-flight requests and owed responses get before connections are cut.
  std::chrono::milliseconds stop_timeout{10'000};
  LogFn log;                            // optional
  LogLevel log_level = LogLevel::info;  // messages below are not even formatted
};

class HttpServer {
 public:
  // The handler must outlive the server, and every Responder it holds must be called or
  // destroyed before the server is destroyed (calling one after stop() is harmless).
  HttpServer(ServerConfig config, Handler& handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Throws boost::system::system_error when the
  // address cannot be parsed or bound. Once only.
  void start();

  // Stops accepting, closes idle connections, lets requests being read and responses owed finish
  // (each with "Connection: close") until stop_timeout, then cuts the rest and joins the
  // threads. Open streams are ended (their queued chunks and the final chunk are written) and
  // their connections closed. Blocking and idempotent; must not be called from a handler (an
  // I/O thread).
  void stop();

  std::uint16_t port() const noexcept { return local_.port(); }
  Endpoint local_endpoint() const noexcept { return local_; }
  // The TLS listener's port and address; 0 / unspecified without one.
  std::uint16_t tls_port() const noexcept { return tls_local_.port(); }
  Endpoint tls_local_endpoint() const noexcept { return tls_local_; }
  // The context new TLS connections get from now on; open connections keep theirs. Any thread.
  // Ignored without a TLS listener.
  void set_tls_context(std::shared_ptr<const TlsContext> context);
  std::shared_ptr<const TlsContext> tls_context() const;
  unsigned threads() const noexcept { return threads_count_; }
  const Counters& counters() const noexcept;

 private:
  void run_thread(asio::io_context& ioc) noexcept;

  ServerConfig config_;
  unsigned threads_count_;
  std::shared_ptr<ServerState> state_;
  // One per I/O thread. Declared after state_ and before what uses them: destroyed after the
  // listener and threads, and their destruction releases the sessions their pending handlers
  // still hold.
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<TlsContextSlot> tls_slot_;
  std::shared_ptr<Listener> tls_listener_;
  std::vector<std::thread> threads_;
  Endpoint local_;
  Endpoint tls_local_;
  std::mutex lifecycle_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace zkpush::server::http
