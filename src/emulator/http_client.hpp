// The device side of HTTP: one keep-alive connection per emulated device, as panels hold one, with
// reconnection when the server closes it. Asio C++20 coroutines so each device reads as the
// sequence of exchanges the manual describes; thousands of them share one io_context.
#pragma once

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/device_requests.hpp"

namespace zkpush::emulator {

// "http://host:port" (port 80 by default; a path after it is ignored), or "https://host:port" (443
// by default): HTTPS, as a panel given an https:// server address. nullopt when unreadable.
struct ServerAddress {
  ServerAddress() = default;
  ServerAddress(std::string host_, std::uint16_t port_, bool tls_ = false,
                std::shared_ptr<boost::asio::ssl::context> tls_context_ = nullptr)
      : host(std::move(host_)), port(port_), tls(tls_), tls_context(std::move(tls_context_)) {}

  std::string host;
  std::uint16_t port = 80;
  bool tls = false;
  // The client context of an https:// server: which CAs are trusted. Null: the system's CAs
  // (default_client_tls_context()).
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::string host_header() const { return host + ":" + std::to_string(port); }
};
std::optional<ServerAddress> parse_server_url(std::string_view url);

// A client context that verifies the server's certificate against the system's CAs and, when
// `ca_file` is given, the CAs in that PEM file (a private CA, docs/tls.md); `insecure`: no
// verification at all (tests, a first try against a panel's self-signed setup). Throws
// std::runtime_error naming an unreadable CA file.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& ca_file, bool insecure);
std::shared_ptr<boost::asio::ssl::context> default_client_tls_context();
// Before a client handshake: the certificate must name `host` as given — an IP address (what panels
// are usually given) against its IP entries, a name against its DNS entries (and sent as SNI).
void expect_tls_peer(SSL* ssl, const std::string& host);

struct HttpAnswer {
  int status = 0;  // 0 = no answer (connection failed, timed out, or closed mid-answer)
  std::string body;
  std::string error;  // why there is no answer
  std::vector<protocol::HttpHeader> headers;
  std::optional<std::string_view> header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor executor, ServerAddress server);

  // One exchange. `cookie`: the token cookie value ("token=..."), empty for none. Reuses the
  // connection; reconnects once if a kept-alive connection turns out closed before any byte of the
  // answer (a request that may have been processed is never silently re-sent).
  boost::asio::awaitable<HttpAnswer> send(const protocol::OutgoingRequest& request, const std::string& cookie,
                                          std::chrono::milliseconds timeout);
  void close();
  const ServerAddress& server() const noexcept { return server_; }
  std::size_t connects() const noexcept { return connects_; }

 private:
  boost::asio::awaitable<bool> connect(std::chrono::milliseconds timeout, std::string& error);

  ServerAddress server_;
  boost::beast::tcp_stream stream_;
  // https://: TLS over stream_ (whose timeouts still bound every read and write), one per
  // connection.
  std::unique_ptr<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::asio::ip::tcp::endpoint> endpoint_;  // resolved once
  bool open_ = false;
  std::size_t connects_ = 0;
};

}  // namespace zkpush::emulator
