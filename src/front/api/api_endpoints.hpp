// The /api peer of the front: the JSON API (docs/serve.md "JSON API"). Every request is matched
// against the route table (routes.hpp): no route for the path is 404, a route for the path but not
// the method is 405 with Allow, a route whose role is not public needs the bearer token (401
// otherwise). Errors are {"error": "..."} with a log line. GET /api/v1/openapi.json describes it all.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>

#include "front/api/bad_tokens.hpp"
#include "front/api/routes.hpp"
#include "front/api/views.hpp"
#include "front/metrics.hpp"
#include "front/peer.hpp"
#include "front/wire_trace.hpp"
#include "service/access.hpp"
#include "service/campaigns.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "service/lockouts.hpp"
#include "service/sub_controllers.hpp"
#include "service/sync.hpp"
#include "service/live.hpp"
#include "service/tokens.hpp"
#include "storage/store.hpp"

namespace zkpush::front {
class FileDownloads;
class FileCatalog;
}  // namespace zkpush::front

namespace zkpush::front::api {

// What the API's handlers use; objects that outlive every request.
struct ApiServices {
  const ServerConfig& config;
  storage::Store& store;
  service::Devices& devices;
  service::CommandQueue& queue;
  service::Access& access;
  service::Sync& sync;
  service::Tokens& tokens;
  service::Live& live;
  // A device's door count and time zone, for door-state messages.
  DoorContext doors = [](const std::string&) { return std::pair(0, 0); };
  // Called after the webhook subscriptions changed (the deliverers re-read them).
  std::function<void()> webhooks_changed = [] {};
  // Each device's last exchanges (GET /api/v1/devices/{sn}/trace); null: tracing off.
  WireTrace* trace = nullptr;
  // Firmware campaigns, the files folder and the threads its file work runs on (campaign_handlers.cpp).
  service::Campaigns* campaigns = nullptr;
  FileCatalog* files = nullptr;
  FileDownloads* downloads = nullptr;
  // Multi-level control (POST/DELETE …/sub-controllers/{sub}); null: those routes answer 503.
  service::SubControllers* sub_controllers = nullptr;
  // Lockouts after refused device tokens (GET /api/v1/lockouts, DELETE …/{scope}/{key}); null: 503.
  service::Lockouts* lockouts = nullptr;
  // Counts wrong bearer tokens and lockouts (/metrics); null: not counted.
  Metrics* metrics = nullptr;
};

// The routes of /api/v1 (handlers.cpp), the event listings (event_handlers.cpp), and those of the
// access domain and its sync (access_handlers.cpp).
void add_v1_routes(RouteTable& table, const ApiServices& services);
void add_event_routes(RouteTable& table, const ApiServices& services);
void add_access_routes(RouteTable& table, const ApiServices& services);
void add_token_routes(RouteTable& table, const ApiServices& services);
void add_stream_routes(RouteTable& table, const ApiServices& services);
void add_webhook_routes(RouteTable& table, const ApiServices& services);
// What devices uploaded about themselves: records, their photos, logs, door-state history, options
// (device_data_handlers.cpp).
void add_device_data_routes(RouteTable& table, const ApiServices& services);
// A master's sub-controllers and their authorization (sub_controller_handlers.cpp).
void add_sub_controller_routes(RouteTable& table, const ApiServices& services);
// The wire trace of one device: its last exchanges, decoded (trace_handlers.cpp).
void add_trace_routes(RouteTable& table, const ApiServices& services);
// Files of the files folder and firmware campaigns (campaign_handlers.cpp).
void add_campaign_routes(RouteTable& table, const ApiServices& services);
// Device lockouts after refused tokens: the list and lifting one (lockout_handlers.cpp).
void add_lockout_routes(RouteTable& table, const ApiServices& services);
// All of them, in the table's order (the API's, and the tests' copy of it). openapi.json is the
// ApiEndpoints' own.
void add_all_routes(RouteTable& table, const ApiServices& services);

// --api-plain: whether an API call that came over plain HTTP from `remote` is served. Over TLS
// always; on the plain listener always under ApiPlain::any, else only from a loopback address
// (127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6).
bool api_allowed(server::ApiPlain policy, bool secure, const boost::asio::ip::address& remote) noexcept;
// HSTS on API answers over TLS (RFC 6797: never sent over plain HTTP).
inline constexpr const char* kHstsValue = "max-age=31536000";

class ApiEndpoints : public Peer {
 public:
  explicit ApiEndpoints(ApiServices services);

  // A JSON body is small: 1 MiB (an import: 32 MiB; a file upload: --max-file-mb).
  std::optional<std::size_t> body_limit(const http::RequestHead& head, const std::string& path) override;
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override;

  const RouteTable& routes() const noexcept { return table_; }
  // No more audit writes (the App closes the store next).
  void close_audit() { audit_open_->store(false); }

 private:
  // Whether a refused, unauthenticated call from `remote` is written to the audit log: once a
  // minute per address, so that a flood of them cannot fill the disk.
  bool audit_refusal(const std::string& remote, std::int64_t now);
  std::shared_ptr<std::atomic<bool>> audit_open_ = std::make_shared<std::atomic<bool>>(true);
  std::mutex refusals_mutex_;
  std::unordered_map<std::string, std::int64_t> refusals_;  // address -> when last audited
  ApiServices services_;
  std::string token_digest_;  // SHA-256 of the serve token (hex), compared in constant time
  BadTokenGuard bad_tokens_;
  RouteTable table_;
  std::string openapi_;  // built once, from the table
};

}  // namespace zkpush::front::api
