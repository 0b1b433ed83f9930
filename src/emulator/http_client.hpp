// The device side of HTTP: one keep-alive connection per emulated device, as panels hold one, with
// reconnection when the server closes it. Asio C++20 coroutines so each device reads as the
// sequence of exchanges the manual describes; thousands of them share one io_context.
#pragma once

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "protocol/device_requests.hpp"

namespace zkpush::emulator {

// "http://host:port" (port 80 by default; a path after it is ignored). nullopt when unreadable.
struct ServerAddress {
  std::string host;
  std::uint16_t port = 80;
  std::string host_header() const { return host + ":" + std::to_string(port); }
};
std::optional<ServerAddress> parse_server_url(std::string_view url);

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
  boost::beast::flat_buffer buffer_;
  std::optional<boost::asio::ip::tcp::endpoint> endpoint_;  // resolved once
  bool open_ = false;
  std::size_t connects_ = 0;
};

}  // namespace zkpush::emulator
