// What the handler receives: the head of a request (to choose its body limit) and the complete
// request. Both are thin views over Beast's message, so no header is copied.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zkpush::server::http {

using Verb = boost::beast::http::verb;
using Fields = boost::beast::http::fields;
using Endpoint = boost::asio::ip::tcp::endpoint;

// The request line and header fields, before any of the body has been read.
class RequestHead {
 public:
  RequestHead(const boost::beast::http::request_header<>& header, const Endpoint& remote,
              std::optional<std::uint64_t> content_length, bool secure = false) noexcept
      : header_(header), remote_(remote), content_length_(content_length), secure_(secure) {}

  Verb method() const noexcept { return header_.method(); }
  std::string_view method_string() const noexcept;
  std::string_view target() const noexcept;
  unsigned version() const noexcept { return header_.version(); }  // 11 for HTTP/1.1
  // The value of the first field with this name (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const noexcept;
  const Fields& fields() const noexcept { return header_; }
  // The declared Content-Length; nullopt for chunked bodies and bodiless requests.
  std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  const Endpoint& remote() const noexcept { return remote_; }
  // Came over the TLS listener.
  bool secure() const noexcept { return secure_; }

 private:
  const boost::beast::http::request_header<>& header_;
  const Endpoint& remote_;
  std::optional<std::uint64_t> content_length_;
  bool secure_ = false;
};

// A complete request. The handler owns it and may move the body out.
struct Request {
  boost::beast::http::request<boost::beast::http::string_body> message;
  Endpoint remote;
  // Came over the TLS listener (the front adds HSTS to API answers, and may refuse the API on the
  // plain listener).
  bool secure = false;

  Verb method() const noexcept { return message.method(); }
  std::string_view method_string() const noexcept;
  std::string_view target() const noexcept;
  unsigned version() const noexcept { return message.version(); }
  std::string_view header(std::string_view name) const noexcept;
  const Fields& fields() const noexcept { return message; }
  // The body as received, chunked encoding removed; bytes, not text (devices send GBK and UTF-8).
  const std::string& body() const noexcept { return message.body(); }
  std::string& body() noexcept { return message.body(); }
};

}  // namespace zkpush::server::http
