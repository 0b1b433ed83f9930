#include "front/front.hpp"

#include <spdlog/spdlog.h>

#include <exception>

#include "protocol/endpoints.hpp"
#include "protocol/text.hpp"

namespace zkpush::front {

namespace p = protocol;

void answer(const SharedResponder& respond, int status, std::string body) {
  (*respond)(http::make_response(static_cast<http::Status>(status), std::move(body), "text/plain;charset=UTF-8"));
}

void answer_store_error(const SharedResponder& respond, const storage::StoreError& error, const std::string& what) {
  if (error.transient || error.reason == storage::StoreError::Reason::none) {
    spdlog::error("{}: store failed: {}", what, error.message);
    answer(respond, 503, "store unavailable, retry later");
  } else {
    spdlog::warn("{}: refused: {}", what, error.message);
    answer(respond, 400, error.message);
  }
}

Peer* Front::peer_for(const std::string& path) const {
  const Mount* best = nullptr;
  for (const auto& m : mounts_) {
    const bool match = path == m.path || (m.tree && path.size() > m.path.size() && path.compare(0, m.path.size(), m.path) == 0 &&
                                          (m.path.back() == '/' || path[m.path.size()] == '/'));
    if (match && (!best || m.path.size() > best->path.size())) best = &m;
  }
  return best ? best->peer : nullptr;
}

std::optional<std::size_t> Front::body_limit(const http::RequestHead& head) {
  const std::string path = p::normalize_path(head.target());
  Peer* peer = peer_for(path);
  return peer ? peer->body_limit(head, path) : std::nullopt;
}

void Front::handle(http::Request request, http::Responder respond) {
  auto shared = std::make_shared<MeteredResponder>(
      std::move(respond), metrics_, classify_for_metrics(request.method_string(), request.target(), request.body()));
  try {
    const std::string path = p::normalize_path(request.target());
    Peer* peer = peer_for(path);
    if (!peer) {
      spdlog::warn("{} {} {}: 404 no such path", request.remote.address().to_string(), request.method_string(),
                   p::text::printable(request.target()));
      return answer(shared, 404, "not found");
    }
    peer->handle(request, path, shared);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", request.method_string(), p::text::printable(request.target()), e.what());
    if (*shared) answer(shared, 500, "internal error");
  }
}

}  // namespace zkpush::front
