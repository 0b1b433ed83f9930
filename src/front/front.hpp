// The front: the one http::Handler of `zkpush serve`. It classifies a request by path, hands it to
// the peer mounted there (peer.hpp) and answers 404 itself for paths nobody serves, so that a peer
// only ever sees its own requests. It also meters every answer (metrics.hpp) and turns an exception
// escaping a peer into a logged 500.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "front/metrics.hpp"
#include "front/peer.hpp"
#include "server/http/handler.hpp"

namespace zkpush::front {

class Front : public http::Handler {
 public:
  explicit Front(Metrics& metrics) : metrics_(metrics) {}

  // `path` (lower case, as protocol::normalize_path gives it) and everything under it ("/iclock"
  // serves "/iclock" and "/iclock/cdata"; "/" serves every path: the web console), or that path
  // only. The longest mount wins. Mount before the server starts; `peer` must outlive the front.
  void mount_tree(std::string path, Peer& peer) { mounts_.push_back(Mount{std::move(path), true, &peer}); }
  void mount_path(std::string path, Peer& peer) { mounts_.push_back(Mount{std::move(path), false, &peer}); }

  std::optional<std::size_t> body_limit(const http::RequestHead& head) override;
  void handle(http::Request request, http::Responder respond) override;

  // The peer serving a normalized path, or null.
  Peer* peer_for(const std::string& path) const;

 private:
  struct Mount {
    std::string path;
    bool tree = false;
    Peer* peer = nullptr;
  };
  Metrics& metrics_;
  std::vector<Mount> mounts_;
};

}  // namespace zkpush::front
