#include "emulator/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

#include "protocol/text.hpp"

namespace zkpush::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

std::optional<ServerAddress> parse_server_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  constexpr std::string_view secure = "https://";
  ServerAddress a;
  if (url.size() >= scheme.size() && protocol::text::iequals(url.substr(0, scheme.size()), scheme)) {
    url.remove_prefix(scheme.size());
  } else if (url.size() >= secure.size() && protocol::text::iequals(url.substr(0, secure.size()), secure)) {
    url.remove_prefix(secure.size());
    a.tls = true;
    a.port = 443;
  }
  url = url.substr(0, url.find('/'));
  if (url.empty()) return std::nullopt;
  auto colon = url.rfind(':');
  if (colon == std::string_view::npos || url.back() == ']') {
    a.host = std::string(url);
  } else {
    a.host = std::string(url.substr(0, colon));
    const auto digits = url.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    const unsigned long port = std::stoul(std::string(digits));
    if (port == 0 || port > 65535) return std::nullopt;
    a.port = static_cast<std::uint16_t>(port);
  }
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  if (a.host.empty()) return std::nullopt;
  return a;
}

std::optional<std::string_view> HttpAnswer::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (protocol::text::iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::shared_ptr<asio::ssl::context> make_client_tls_context(const std::string& ca_file, bool insecure) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  if (insecure) {
    context->set_verify_mode(asio::ssl::verify_none);
    return context;
  }
  beast::error_code ec;
  context->set_default_verify_paths(ec);  // no system CAs is not an error: --ca may be all there is
  if (!ca_file.empty()) {
    context->load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("CA file " + ca_file + ": " + ec.message());
  }
  context->set_verify_mode(asio::ssl::verify_peer);
  return context;
}

std::shared_ptr<asio::ssl::context> default_client_tls_context() {
  static const auto context = make_client_tls_context({}, false);
  return context;
}

void expect_tls_peer(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  beast::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (!not_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    SSL_set_tlsext_host_name(ssl, host.c_str());
  }
}

HttpClient::HttpClient(asio::any_io_executor executor, ServerAddress server)
    : server_(std::move(server)), stream_(std::move(executor)) {}

void HttpClient::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  // tls_ stays until the next connect replaces it: an operation of the session's coroutine may still
  // be pending on it, and completes (aborted) after this.
  buffer_.clear();
  open_ = false;
}

asio::awaitable<bool> HttpClient::connect(std::chrono::milliseconds timeout, std::string& error) {
  beast::error_code ec;
  if (!endpoint_) {
    tcp::resolver resolver(stream_.get_executor());
    auto results = co_await resolver.async_resolve(server_.host, std::to_string(server_.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || results.empty()) {
      error = "resolve " + server_.host + ": " + (ec ? ec.message() : "no address");
      co_return false;
    }
    endpoint_ = results.begin()->endpoint();
  }
  stream_.expires_after(timeout);
  co_await stream_.async_connect(*endpoint_, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = "connect: " + ec.message();
    stream_.close();
    co_return false;
  }
  stream_.socket().set_option(tcp::no_delay(true), ec);
  if (server_.tls) {
    if (!server_.tls_context) server_.tls_context = default_client_tls_context();
    tls_ = std::make_unique<asio::ssl::stream<beast::tcp_stream&>>(stream_, *server_.tls_context);
    expect_tls_peer(tls_->native_handle(), server_.host);
    stream_.expires_after(timeout);
    co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      error = "TLS handshake with " + server_.host_header() + ": " + ec.message();
      close();
      co_return false;
    }
  }
  buffer_.clear();
  open_ = true;
  ++connects_;
  co_return true;
}

asio::awaitable<HttpAnswer> HttpClient::send(const protocol::OutgoingRequest& request, const std::string& cookie,
                                             std::chrono::milliseconds timeout) {
  HttpAnswer answer;
  // An absolute URL (UPGRADE method 3) is sent in origin form to our one server. Only a target that
  // does not start with '/' is one: /iclock/file?url=http://... carries a URL in its query.
  std::string target = request.target;
  if (auto scheme = target.find("://"); scheme != std::string::npos && target.rfind('/', 0) != 0) {
    auto path = target.find('/', scheme + 3);
    target = path == std::string::npos ? "/" : target.substr(path);
  }
  http::request<http::string_body> req{request.method == "POST" ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, server_.host_header());
  req.set(http::field::user_agent, "iClock Proxy/1.09");
  req.set(http::field::accept, "application/push");
  req.set(http::field::accept_charset, "UTF-8");
  req.keep_alive(true);
  if (!cookie.empty()) req.set(http::field::cookie, cookie);
  for (const auto& h : request.headers) req.set(h.name, h.value);
  if (request.method == "POST") {
    req.body() = request.body;
    req.prepare_payload();
  }

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = open_;
    if (!open_ && !co_await connect(timeout, answer.error)) co_return answer;
    beast::error_code ec;
    stream_.expires_after(timeout);
    if (tls_) {
      co_await http::async_write(*tls_, req, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await http::async_write(stream_, req, asio::redirect_error(asio::use_awaitable, ec));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    if (!ec) {
      stream_.expires_after(timeout);
      if (tls_) {
        co_await http::async_read(*tls_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await http::async_read(stream_, buffer_, parser, asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (ec) {
      const bool closed_before_answer = (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                                         ec == asio::error::broken_pipe || ec == asio::error::eof ||
                                         ec == asio::ssl::error::stream_truncated) &&
                                        !parser.got_some();
      close();
      if (reused && closed_before_answer) continue;  // the server had dropped the idle connection
      answer.error = ec.message();
      co_return answer;
    }
    auto& res = parser.get();
    answer.status = static_cast<int>(res.result_int());
    answer.body = std::move(res.body());
    for (const auto& field : res) {
      answer.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    if (!res.keep_alive()) close();
    co_return answer;
  }
  co_return answer;
}

}  // namespace zkpush::emulator
