// Fuzzes the running server's request handling: each input is the raw bytes a client writes on one
// connection (one request, several pipelined, or garbage), sent over a real loopback socket to an
// in-process App (front, services, SQLite store in a temporary folder) started once. The input
// then half-closes and everything the server answers is read until it closes.
//
// A socket rather than feeding Beast's parser and the router directly: the transport decides what
// reaches the handler (header and body limits chosen per request by the front (Front::body_limit), 100
// Continue, pipelining, a message cut by EOF), and that interplay is what a device exercises; the
// parsers behind it have their own fuzzers. The cost is throughput (one connection per input).
//
// Beyond "no crash, no sanitizer report": the server answers within 10 s (else a hang: abort),
// every answer it completes is a valid HTTP/1.1 response with a status of 100-599, and none is a
// 500 (an exception escaped a handler: bad input must get a 4xx, see docs/error-handling.md).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>

#include "server/app.hpp"

namespace {

namespace bhttp = boost::beast::http;

zkpush::server::App* g_app = nullptr;  // deliberately never destroyed before exit: see cleanup()
std::filesystem::path g_dir;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "http_request_fuzz: %s\n%.*s\n", what, static_cast<int>(std::min<std::size_t>(detail.size(), 2000)),
               detail.data());
  std::abort();
}

// Writes `input`, half-closes, and returns all the server sent until it closed.
std::string exchange(std::string_view input) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(g_app->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("connect() to the server failed");
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t sent = 0;
  bool write_open = true;
  // Send and receive together: a large input could otherwise fill both directions' buffers while
  // the server waits for its answers to be read.
  for (;;) {
    if (write_open && sent == input.size()) {
      ::shutdown(fd, SHUT_WR);
      write_open = false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) fail("no end of answer within 10 s (hang)", input);
    pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    if (write_open && (p.revents & POLLOUT)) {
      const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) write_open = false;  // the server closed: fine
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        break;  // reset: the server gave up on the connection (after answering, if it did)
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  linger l{1, 0};  // no TIME_WAIT: millions of inputs would exhaust the ephemeral ports
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
  return out;
}

// Every complete response in `out` must be well-formed. A response to HEAD has no body despite
// its Content-Length, which a parser that does not know the request misreads: parsing stops
// (without failing) at the first response it cannot frame after the first one.
void check_answers(std::string_view out, std::string_view input) {
  if (out.empty()) return;  // closed without a word: allowed for bytes that never formed a request
  bool first = true;
  while (!out.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done()) {
      const std::size_t n = parser.put(boost::asio::buffer(out.data() + used, out.size() - used), ec);
      used += n;
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;  // the server closed mid-response: the transport's write was cut, not a bad answer
      }
      if (ec || n == 0) break;
    }
    if (ec) {
      if (first) fail("the server's first answer is not valid HTTP", out);
      return;
    }
    if (!parser.is_header_done()) return;
    const unsigned status = parser.get().result_int();
    if (status < 100 || status > 599) fail("status out of range", out);
    if (status == 500) fail("500 internal error: an exception escaped a handler; input follows", input);
    if (!parser.is_done()) return;
    out.remove_prefix(used);
    first = false;
  }
}

void cleanup() {
  delete g_app;  // stops the server and closes the store before the folder goes
  g_app = nullptr;
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

// Devices of the manual's examples (the seed corpus) are registered once, so their uploads reach
// the handlers instead of stopping at "unknown device" (401).
constexpr const char* kKnownDevices[] = {"3383154200002", "1809140005",          "1809140006",
                                         "5165181600015", "123456789",           "0316144680030",
                                         "AJI6181160001", "DDG7012017010600049", "DDG7050067042500078",
                                         "ODG7030067031100001"};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every refused input logs a line: formatting them would cost more than handling them.
  spdlog::set_level(spdlog::level::critical);
  g_dir = std::filesystem::temp_directory_path() / ("zkpush-http-fuzz-" + std::to_string(::getpid()));
  std::filesystem::remove_all(g_dir);
  zkpush::server::ServerConfig config;
  config.listen = "127.0.0.1:0";
  config.data_dir = g_dir.string();
  config.threads = 2;
  config.api_token = "fuzz";  // so inputs can reach the API with "Authorization: Bearer fuzz"
  // The manual's cookies do not match the codes this server draws: check them, but accept.
  config.token = zkpush::server::TokenPolicy::warn;
  // A small web console, so that inputs outside the other peers' paths reach its files.
  const auto console = g_dir / "console";
  std::filesystem::create_directories(console / "assets");
  std::ofstream(console / "index.html") << "<!doctype html><script type=\"module\" src=\"/assets/app-AbC123.js\"></script>\n";
  std::ofstream(console / "assets" / "app-AbC123.js") << std::string(2000, ';') << "\n";
  config.console_dir = console.string();
  // OpenSSL frees its per-thread state when a thread ends, and all of it in its own exit handler.
  // Initialised here, before cleanup() is registered, that handler runs after cleanup() has
  // joined the server's threads; initialised later by the first RegistryCode drawn, it would run
  // first and leave the I/O threads' state behind for LeakSanitizer.
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  g_app = new zkpush::server::App(config);
  g_app->start();
  std::atexit(cleanup);
  for (const char* sn : kKnownDevices) {
    const std::string registry = std::string("POST /iclock/registry?SN=") + sn +
                                 " HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 15\r\n\r\nDeviceType=acc\n";
    const std::string out = exchange(registry);
    if (out.rfind("HTTP/1.1 200", 0) != 0) fail("registering a device failed", out);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_answers(exchange(input), input);
  return 0;
}
