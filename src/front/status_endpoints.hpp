// /healthz and /metrics, the front's status peer. Open like /healthz: no label names a device.
#pragma once

#include "front/metrics.hpp"
#include "front/peer.hpp"
#include "front/wire_trace.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "service/remote_auth.hpp"
#include "storage/store.hpp"

namespace zkpush::front {

class StatusEndpoints : public Peer {
 public:
  StatusEndpoints(const ServerConfig& config, storage::Store& store, service::Devices& devices,
                  const service::CommandQueue& queue, Metrics& metrics, const WireTrace& trace)
      : config_(config), store_(store), devices_(devices), queue_(queue), metrics_(metrics), trace_(trace) {}
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override;
  void set_remote_auth(const service::RemoteAuth* remote_auth) noexcept { remote_auth_ = remote_auth; }

 private:
  const ServerConfig& config_;
  storage::Store& store_;
  service::Devices& devices_;
  const service::CommandQueue& queue_;
  Metrics& metrics_;
  const WireTrace& trace_;
  const service::RemoteAuth* remote_auth_ = nullptr;
};

}  // namespace zkpush::front
