// The /iclock/* side of `zkpush serve`: an http::Handler that classifies each device request
// (protocol::parse_device_request), checks the device and its token, and answers it — uploads
// only once the store says they are durable (a 200 means on disk; a failed write gives 503).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "protocol/device_requests.hpp"
#include "server/access_list.hpp"
#include "server/config.hpp"
#include "server/device_registry.hpp"
#include "server/file_download.hpp"
#include "server/http/handler.hpp"
#include "server/metrics.hpp"
#include "storage/store.hpp"

namespace zkpush::server {

// Counts each answer for /metrics (metrics.hpp) on its way to the transport.
using SharedResponder = std::shared_ptr<MeteredResponder>;

class DeviceRouter : public http::Handler {
 public:
  DeviceRouter(const ServerConfig& config, storage::Store& store, DeviceRegistry& registry);

  // ACCOUNT carriers (querydata tablename=transaction, /iclock/file) may be large: 96 MiB; the API
  // 1 MiB; everything else the transport's default.
  std::optional<std::size_t> body_limit(const http::RequestHead& head) override;
  void handle(http::Request request, http::Responder respond) override;

  // Queues a command line ("CONTROL DEVICE 01010105", without "C:<id>:") for a device. expires_in:
  // seconds; nullopt = the default (CONTROL DEVICE: config.control_device_expiry, else never).
  void enqueue_command(const std::string& sn, const std::string& line, std::optional<std::int64_t> expires_in,
                       storage::Store::Reply<storage::CommandRow> done);

  Metrics& metrics() noexcept { return metrics_; }

 private:
  void route(http::Request& request, const SharedResponder& respond);
  void on_api(http::Request& request, const std::string& path, const SharedResponder& respond);  // api_handlers.cpp
  // Whether the Cookie token of a device with a session is acceptable (logs a diagnosis if not).
  bool token_ok(const http::Request& request, const DeviceState& state);
  void on_metrics(const SharedResponder& respond);  // metrics.cpp

  void on_init(const protocol::DeviceRequest& req, const std::optional<DeviceState>& state,
               const std::string& ip, const SharedResponder& respond);
  void on_registry(const protocol::DeviceRequest& req, const std::optional<DeviceState>& state,
                   const std::string& ip, const SharedResponder& respond);
  void on_push(const protocol::DeviceRequest& req, const DeviceState& state, const SharedResponder& respond);
  void on_options(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_rtlog(const protocol::DeviceRequest& req, const DeviceState& state, const SharedResponder& respond);
  void on_rtstate(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_tabledata(const protocol::DeviceRequest& req, const SharedResponder& respond);
  void on_device_log(const protocol::DeviceRequest& req, const std::string& kind, const SharedResponder& respond);
  void on_getrequest(const protocol::DeviceRequest& req, const DeviceState& state, const SharedResponder& respond);
  void on_devicecmd(const protocol::DeviceRequest& req, const SharedResponder& respond);
  // Data a device uploads for one of our commands (cmdid=): DATA QUERY/COUNT, GET OPTIONS, ACCOUNT.
  void on_querydata(const protocol::DeviceRequest& req, const std::string& kind, const SharedResponder& respond);
  void on_rtdata_time(const DeviceState& state, const SharedResponder& respond);
  // Firmware downloads (file_handlers.cpp): GET/HEAD /files/<name> and GET /iclock/file?url=.
  void on_files(const http::Request& request, const std::string& ip, const SharedResponder& respond);
  void on_firmware_file(const protocol::DeviceRequest& req, const http::Request& request, const std::string& ip,
                        const SharedResponder& respond);

  // The configuration lines of init / push answers: the server's, with the device's overrides.
  protocol::Record config_lines(const storage::Device& device, bool push) const;
  int tz_minutes(const DeviceState& state) const;

  const ServerConfig& config_;
  storage::Store& store_;
  DeviceRegistry& registry_;
  Metrics metrics_;
  OncePerKey token_warned_;  // devices whose accepted (warn) token mismatch was logged
  DeviceAccess access_{config_.allow_sn, config_.allow_net};  // the device allow-list (access_list.hpp)
  // Last: destroyed first, so a download in progress finishes while metrics_ still exists.
  FileDownloads downloads_;
};

// Helpers shared by the handlers.
void answer(const SharedResponder& respond, int status, std::string body);
// 200 with the body, or 503 (transient) / 400 (refused) from a store error, logged.
void answer_store_error(const SharedResponder& respond, const storage::StoreError& error, const std::string& what);
std::int64_t unix_now();

}  // namespace zkpush::server
