// Sizes and timeouts of the HTTP transport.
//
// The defaults are chosen for ZKTeco panels: they upload at most their MaxPackageSize per request
// (2 MB in the manual's example), poll every RequestDelay seconds (often 30) on a keep-alive
// connection, and a 2-core server must hold tens of thousands of them.
#pragma once

#include <chrono>
#include <cstddef>

namespace zkpush::server::http {

struct Limits {
  // Request line plus header fields. Larger heads get 431 and the connection is closed.
  std::size_t header_limit = 16 * 1024;
  // Body size when Handler::body_limit() has no opinion. Larger bodies get 413; a declared
  // Content-Length over the limit is refused before a byte of the body is read.
  std::size_t body_limit = 4 * 1024 * 1024;
  // Requests read ahead of their responses on one connection (HTTP pipelining). Reading stops
  // while this many responses are owed, so a client cannot queue unbounded work.
  std::size_t pipeline_limit = 8;
  // Bytes a streamed response may hold queued and not yet written (Stream::buffered()): past it,
  // Stream::write refuses, so a slow reader cannot make the server buffer without bound.
  std::size_t stream_buffer_limit = 1024 * 1024;
  // Connections held at once; further accepted sockets are closed at once (0: no limit).
  std::size_t max_connections = 50'000;

  // From the first byte of a request to its last (headers and body): bounds slowloris clients.
  // A new connection must also start its first request within this time.
  std::chrono::milliseconds request_timeout{30'000};
  // A keep-alive connection with no request in progress and no response owed is closed after
  // this long. Above the devices' RequestDelay, or every poll pays a new connection.
  std::chrono::milliseconds idle_timeout{120'000};
  // Writing one response (or the interim 100 Continue), or one write of a streamed response's
  // chunks: bounds clients that stop reading.
  std::chrono::milliseconds write_timeout{30'000};
  // A TLS connection must complete its handshake within this long after it was accepted (it counts
  // in max_connections meanwhile): a client that connects and sends nothing is closed.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // After a response with "Connection: close" the server half-closes and discards what the
  // client still sends for up to this long, so an early 413 is read rather than lost to a reset.
  std::chrono::milliseconds linger_timeout{2'000};
  // Pause before accepting again after the process ran out of descriptors (EMFILE and friends):
  // the pending connection stays in the backlog, so retrying at once would spin.
  std::chrono::milliseconds accept_backoff{100};
};

}  // namespace zkpush::server::http
