// What the front hands a request to: a peer serves one part of the URL space (the device endpoints
// under /iclock, the JSON API under /api, firmware files under /files, metrics and health). Peers
// do not know each other; the front (front.hpp) chooses one by path, and every answer goes through
// a MeteredResponder so /metrics counts it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "front/metrics.hpp"
#include "server/config.hpp"
#include "server/http/request.hpp"
#include "server/http/responder.hpp"
#include "storage/result.hpp"

namespace zkpush::front {

namespace http = server::http;
using server::RegistrationPolicy;
using server::ServerConfig;
using server::TokenPolicy;

// Shared by the callbacks of one request: the first call answers, later ones are ignored.
using SharedResponder = std::shared_ptr<MeteredResponder>;

class Peer {
 public:
  virtual ~Peer() = default;
  // The largest body this peer accepts for the request (nullopt: the transport's default). `path`
  // is the normalized path (protocol::normalize_path). Runs on an I/O thread: must not block.
  virtual std::optional<std::size_t> body_limit(const http::RequestHead& head, const std::string& path) {
    static_cast<void>(head);
    static_cast<void>(path);
    return std::nullopt;
  }
  // Answers the request, now or later, through `respond`. Same thread rules as http::Handler.
  virtual void handle(http::Request& request, const std::string& path, const SharedResponder& respond) = 0;
};

// A plain-text answer.
void answer(const SharedResponder& respond, int status, std::string body);
// A store failure answered to a device: 503 (transient: retry later) or 400 (refused), logged with
// `what` (who asked for what).
void answer_store_error(const SharedResponder& respond, const storage::StoreError& error, const std::string& what);

}  // namespace zkpush::front
