// The device endpoints: the /iclock/* peer of the front. Classifies each device request
// (protocol::parse_device_request), checks the device (allow-list, known, approved, token) and calls
// a service (service/devices, command_queue, ingest); uploads are answered only once the service's
// unit of work is durable (a 200 means on disk; a failed write gives 503).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "front/access_list.hpp"
#include "front/device_encryption.hpp"
#include "front/file_download.hpp"
#include "front/metrics.hpp"
#include "front/peer.hpp"
#include "front/rate_limiter.hpp"
#include "front/wire_trace.hpp"
#include "protocol/device_requests.hpp"
#include "service/command_queue.hpp"
#include "service/devices.hpp"
#include "service/ingest.hpp"
#include "service/lockouts.hpp"
#include "service/remote_auth.hpp"
#include "service/sub_controllers.hpp"

namespace zkpush::front {

class DeviceEndpoints : public Peer {
 public:
  DeviceEndpoints(const ServerConfig& config, service::Devices& devices, service::CommandQueue& queue,
                  service::Ingest& ingest, service::RemoteAuth& remote_auth, Metrics& metrics, FileDownloads& downloads,
                  WireTrace& trace);

  // ACCOUNT carriers (querydata tablename=transaction, /iclock/file) may be large: 96 MiB; everything
  // else the transport's default. A device with an encrypted session: 4/3 of that (base64).
  std::optional<std::size_t> body_limit(const http::RequestHead& head, const std::string& path) override;
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override;
  // Multi-level control: a sub-controller talks through its master only; a request naming one is
  // refused (its commands would otherwise go to whoever polls with its serial number).
  void set_sub_controllers(const service::SubControllers* subs) noexcept { subs_ = subs; }
  // Lockouts after refused tokens (service/lockouts.hpp); none: no lockouts.
  void set_lockouts(service::Lockouts* lockouts) noexcept { lockouts_ = lockouts; }

 private:
  // The encryption layer before anything reads the body (docs/encryption.md): a device with an
  // established session has its body opened in place and `sealed` set (its answer is encrypted);
  // false when the request was refused and answered here (plain text, logged, counted).
  bool open_body(http::Request& request, const std::string& path, const std::string& ip,
                 const SharedResponder& respond, std::shared_ptr<DeviceEncryption::Session>& sealed);
  // The device guard, before the body is opened or parsed (docs/security-devices.md): the rate
  // limits of the address and of the serial number the query names (503 with Retry-After), then
  // the lockouts (403 with Retry-After). False when the request was answered here.
  bool guard(const http::Request& request, const std::string& ip, const SharedResponder& respond);
  // With --encryption required: why `req` is refused (a device that cannot or did not exchange keys).
  std::optional<std::string> encryption_required(const protocol::DeviceRequest& req) const;
  // 4.2 / 4.3 (device_handlers.cpp).
  void on_exchange(const protocol::DeviceRequest& req, const service::DeviceState& state, const std::string& ip,
                   const SharedResponder& respond);
  // Whether the Cookie token of a device with a session is acceptable (logs a diagnosis if not).
  bool token_ok(const http::Request& request, const service::DeviceState& state);
  // Keeps the request of device `sn` for the wire trace (a copy cut at its limits, secrets left out)
  // and records the exchange when `respond` answers. `download`: the answer is a file, whose size only
  // is kept.
  void trace(const http::Request& request, std::string_view sn, std::string_view endpoint, bool download,
             const SharedResponder& respond);

  // device_handlers.cpp
  void on_init(const protocol::DeviceRequest& req, const std::optional<service::DeviceState>& state,
               const std::string& ip, const SharedResponder& respond);
  void on_registry(const protocol::DeviceRequest& req, const std::string& ip, const SharedResponder& respond);
  void on_push(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_options(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_rtlog(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_rtstate(const protocol::DeviceRequest& req, const SharedResponder& respond);
  // POST /iclock/cdata?SN=..&AuthType=device (10): the server decides; always a 200 with AUTH=.
  void on_remote_auth(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_tabledata(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_device_log(const protocol::DeviceRequest& req, const std::string& kind, const SharedResponder& respond);
  void on_getrequest(const protocol::DeviceRequest& req, const service::DeviceState& state, const SharedResponder& respond);
  void on_devicecmd(const protocol::DeviceRequest& req, const SharedResponder& respond);
  // Data a device uploads for one of our commands (cmdid=): DATA QUERY/COUNT, GET OPTIONS, ACCOUNT.
  void on_querydata(const protocol::DeviceRequest& req, const std::string& kind, const SharedResponder& respond);
  void on_rtdata_time(const service::DeviceState& state, const SharedResponder& respond);
  // GET /iclock/file?url= (firmware download methods 1 and 2).
  void on_firmware_file(const protocol::DeviceRequest& req, const http::Request& request, const std::string& ip,
                        const SharedResponder& respond);

  const ServerConfig& config_;
  service::Devices& devices_;
  service::CommandQueue& queue_;
  service::Ingest& ingest_;
  service::RemoteAuth& remote_auth_;
  Metrics& metrics_;
  FileDownloads& downloads_;
  WireTrace& trace_;
  const service::SubControllers* subs_ = nullptr;
  DeviceEncryption encryption_{config_.encryption};
  OncePerKey token_warned_;  // devices whose accepted (warn) token mismatch was logged
  DeviceAccess access_{config_.allow_sn, config_.allow_net};  // the device allow-list (access_list.hpp)
  RateLimiter device_rate_;   // --device-rate, by serial number
  RateLimiter address_rate_;  // --address-rate, by peer address
  OncePerKey rate_logged_;    // rate-limited keys logged, once each until it forgets them
  service::Lockouts* lockouts_ = nullptr;
};

}  // namespace zkpush::front
