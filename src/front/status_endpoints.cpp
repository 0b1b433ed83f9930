#include "front/status_endpoints.hpp"

#include <algorithm>
#include <memory>

#include "protocol/responses.hpp"

namespace zkpush::front {

void StatusEndpoints::handle(http::Request&, const std::string& path, const SharedResponder& respond) {
  if (path == "/healthz") return answer(respond, 200, std::string(protocol::kOkBody));
  // /metrics: counters from the hot path, device and queue totals from the services, store figures
  // read off the I/O threads (at most every 30 s).
  auto in = std::make_shared<ScrapeInputs>();
  const auto window = std::max<std::int64_t>(3 * static_cast<std::int64_t>(config_.request_delay), 90);
  const auto totals = devices_.totals(devices_.clock().now() - window);
  in->devices_known = totals.known;
  in->devices_online = totals.online;
  in->devices_pending_approval = totals.pending_approval;
  in->command_queue_depth = queue_.pending_total();
  in->trace_bytes = static_cast<std::int64_t>(trace_.bytes());
  if (remote_auth_) in->remote_auth_timeouts = remote_auth_->timeouts();
  in->store_leads = store_.leads();
  in->transport = metrics_.transport();
  metrics_.store_stats(store_, [this, in, respond](std::optional<storage::StoreStats> stats) {
    in->store = stats;
    (*respond)(http::make_response(http::Status::ok, metrics_.render(*in), "text/plain; version=0.0.4; charset=utf-8"));
  });
}

}  // namespace zkpush::front
