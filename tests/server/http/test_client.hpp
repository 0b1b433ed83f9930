// A tiny blocking HTTP client on raw POSIX sockets for the transport tests: it sends exactly the
// bytes a test writes (malformed, trickled, pipelined, cut off) and parses responses strictly, so
// a response without Content-Length fails the test rather than being read to EOF.
//
// start_tls() turns it into a TLS client (OpenSSL over the same socket) for the TLS listener's
// tests: the same bytes, encrypted.
#pragma once

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace zkpush::server::http::test {

struct RawResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (ASCII case-insensitive); nullopt when absent.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < k.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(k[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return v;
    }
    return std::nullopt;
  }
};

class TestClient {
 public:
  using ms = std::chrono::milliseconds;

  // `address`: an IPv4 address of this machine other than loopback, for the tests of what the
  // server allows from loopback only.
  explicit TestClient(std::uint16_t port, const char* address = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::to_string(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, address, &addr.sin_addr) != 1) {
      ::close(fd_);
      throw std::runtime_error(std::string("not an IPv4 address: ") + address);
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("connect: " + std::to_string(err));
    }
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  void close() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The TLS handshake (blocking; the server bounds it). False with OpenSSL's reason in `error`
  // when it fails. Afterwards every send and read is encrypted.
  bool start_tls(SSL_CTX* context, std::string* error = nullptr, const char* server_name = nullptr) {
    ssl_ = SSL_new(context);
    SSL_set_fd(ssl_, fd_);
    if (server_name != nullptr) SSL_set_tlsext_host_name(ssl_, server_name);
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      if (error != nullptr) {
        char buf[256] = "handshake failed";
        if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
        *error = buf;
      }
      SSL_free(ssl_);
      ssl_ = nullptr;
      return false;
    }
    // Non-blocking from here: a readable socket may carry only a TLS record of no data (a
    // session ticket), and a read must not block on it past the test's deadline.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    return true;
  }
  SSL* ssl() const { return ssl_; }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  int fd() const { return fd_; }

  // Closes with a reset instead of a FIN (SO_LINGER 0): a client vanishing mid-request.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

  bool send(std::string_view data) {
    if (ssl_ != nullptr) {
      while (!data.empty()) {
        const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (n <= 0) {
          if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_WRITE && SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ) return false;
          pollfd p{fd_, POLLOUT | POLLIN, 0};
          ::poll(&p, 1, 100);
          continue;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Sends one byte at a time with a pause between; stops (returning false) once the server has
  // closed the connection.
  bool trickle(std::string_view data, ms pause) {
    for (char c : data) {
      if (!send(std::string_view(&c, 1)) || peer_closed(ms(0))) return false;
      std::this_thread::sleep_for(pause);
    }
    return true;
  }

  // Reads one response. `head`: the response to a HEAD request (Content-Length, no body).
  // A chunked body (a streamed download) is read to its last chunk and decoded. nullopt on timeout,
  // on a closed connection before a complete response, or when a response that needs one has
  // neither Content-Length nor chunked framing.
  std::optional<RawResponse> read_response(ms timeout = ms(5000), bool head = false) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto r = read_head_until(deadline);
    if (!r) return std::nullopt;
    const bool bodiless = head || r->status < 200 || r->status == 204 || r->status == 304;
    if (!bodiless) {
      auto length = r->header("Content-Length");
      if (!length && r->header("Transfer-Encoding") == "chunked") {
        for (;;) {
          const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
          auto chunk = read_chunk(std::max(left, ms(0)));
          if (!chunk) return std::nullopt;
          if (chunk->empty()) return r;
          r->body += *chunk;
        }
      }
      if (!length) return std::nullopt;
      std::size_t n = std::stoul(*length);
      if (!need(n, deadline)) return std::nullopt;
      r->body = buffer_.substr(0, n);
      buffer_.erase(0, n);
    }
    return r;
  }

  // Reads only the status line and header fields of a response (a streamed one, say); the body
  // is left for read_chunk() or read_to_eof().
  std::optional<RawResponse> read_head(ms timeout = ms(5000)) {
    return read_head_until(std::chrono::steady_clock::now() + timeout);
  }

  // Reads one chunk of a chunked body: its data, "" for the last chunk (trailers consumed), or
  // nullopt on timeout, a closed connection or bad framing.
  std::optional<std::string> read_chunk(ms timeout = ms(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t eol;
    while ((eol = buffer_.find("\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    std::string size_line = buffer_.substr(0, eol);
    if (auto semi = size_line.find(';'); semi != std::string::npos) size_line.resize(semi);
    if (size_line.empty() ||
        size_line.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return std::nullopt;
    }
    const std::size_t n = std::stoul(size_line, nullptr, 16);
    buffer_.erase(0, eol + 2);
    if (n == 0) {  // trailer fields, then an empty line
      for (;;) {
        while ((eol = buffer_.find("\r\n")) == std::string::npos) {
          if (!fill(deadline)) return std::nullopt;
        }
        buffer_.erase(0, eol + 2);
        if (eol == 0) return std::string();
      }
    }
    if (!need(n + 2, deadline)) return std::nullopt;
    if (buffer_.compare(n, 2, "\r\n") != 0) return std::nullopt;
    std::string data = buffer_.substr(0, n);
    buffer_.erase(0, n + 2);
    return data;
  }

  // Reads until the server closes: the rest of a close-delimited body. nullopt on timeout.
  std::optional<std::string> read_to_eof(ms timeout = ms(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int wait = static_cast<int>(
          std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count());
      if (wait < 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      int rc = poll_in(p, wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return std::nullopt;
      char tmp[16384];
      ssize_t n = receive(tmp, sizeof tmp, deadline);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::exchange(buffer_, std::string());
      buffer_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  // True when the server closes (EOF or reset) within the timeout; received data is discarded.
  bool peer_closed(ms timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int wait = static_cast<int>(
          std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count());
      pollfd p{fd_, POLLIN, 0};
      int rc = poll_in(p, wait < 0 ? 0 : wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char tmp[4096];
      ssize_t n = receive(tmp, sizeof tmp, deadline);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EINTR;
      buffer_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  const std::string& pending() const { return buffer_; }

 private:
  std::optional<RawResponse> read_head_until(std::chrono::steady_clock::time_point deadline) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    std::string_view head_text(buffer_.data(), end);
    std::size_t line_end = head_text.find("\r\n");
    std::string_view status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
    r.version = std::string(status_line.substr(0, 8));
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    r.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : "");
    std::size_t pos = line_end == std::string_view::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      std::size_t next = head_text.find("\r\n", pos);
      if (next == std::string_view::npos) next = head_text.size();
      std::string_view line = head_text.substr(pos, next - pos);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      pos = next + 2;
    }
    buffer_.erase(0, end + 4);
    return r;
  }

  bool need(std::size_t n, std::chrono::steady_clock::time_point deadline) {
    while (buffer_.size() < n) {
      if (!fill(deadline)) return false;
    }
    return true;
  }

  bool fill(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      int wait = static_cast<int>(
          std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count());
      if (wait < 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = poll_in(p, wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char tmp[16384];
      ssize_t n = receive(tmp, sizeof tmp, deadline);
      if (n <= 0) return false;
      buffer_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
  }

  // poll() for input, except that bytes OpenSSL already decrypted count as input.
  int poll_in(pollfd& p, int wait) {
    if (ssl_ != nullptr && SSL_pending(ssl_) > 0) return 1;
    return ::poll(&p, 1, wait);
  }

  // recv(), or SSL_read() until it has data, EOF or an error, or the deadline passes (then -1 with
  // errno EAGAIN): after poll() said readable, a TLS record may still hold no data.
  ssize_t receive(char* data, std::size_t size, std::chrono::steady_clock::time_point deadline) {
    if (ssl_ == nullptr) return ::recv(fd_, data, size, 0);
    for (;;) {
      const int n = SSL_read(ssl_, data, static_cast<int>(size));
      if (n > 0) return n;
      const int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_ZERO_RETURN) return 0;
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        // The server closed without close_notify, or reset: the end of the connection.
        ERR_clear_error();
        return 0;
      }
      const int wait = static_cast<int>(
          std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now()).count());
      if (wait < 0) {
        errno = EAGAIN;
        return -1;
      }
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, wait);
    }
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// "GET /x HTTP/1.1\r\nHost: t\r\n<extra>\r\n<body>" with Content-Length when a body is given.
inline std::string request(std::string_view method, std::string_view target,
                           std::string_view body = {}, std::string_view extra_headers = {}) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
  r.append(extra_headers);
  if (!body.empty() || method == "POST") {
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  r.append("\r\n").append(body);
  return r;
}

}  // namespace zkpush::server::http::test
