// Counters the application can read at any time from any thread (for metrics or a status page).
#pragma once

#include <atomic>
#include <cstdint>

namespace zkpush::server::http {

// Updated with relaxed atomics: each value is exact, but they are not a consistent snapshot of one
// instant.
struct Counters {
  std::atomic<std::uint64_t> connections_open{0};      // sockets currently held
  std::atomic<std::uint64_t> connections_accepted{0};  // every accepted socket, rejected included
  std::atomic<std::uint64_t> connections_rejected{0};  // closed at once: max_connections reached
  std::atomic<std::uint64_t> accept_errors{0};         // accept() failures (EMFILE, ...)
  std::atomic<std::uint64_t> requests{0};              // complete requests handed to the handler
  std::atomic<std::uint64_t> responses{0};             // responses written, interim 100 excluded
  std::atomic<std::uint64_t> responses_4xx{0};         // includes the transport's own 400/413/431
  std::atomic<std::uint64_t> responses_5xx{0};
  std::atomic<std::uint64_t> timeouts{0};        // connections closed by a timeout
  std::atomic<std::uint64_t> bytes_received{0};  // request bytes parsed (head and body)
  std::atomic<std::uint64_t> bytes_sent{0};      // response bytes written, streams included
  std::atomic<std::uint64_t> streams_open{0};    // streamed responses being written (a stream
                                                 // counts in responses once its head is sent)
  // TLS listener: handshakes that failed (bad or old client, plain HTTP on the TLS port, the
  // handshake timeout), and the Unix time the certificate in use expires (0: no TLS).
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::int64_t> tls_certificate_expiry{0};
};

}  // namespace zkpush::server::http
