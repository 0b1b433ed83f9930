// `zkpush serve` assembled: the store (<data>/zkpush.db), the device registry loaded from it, the
// /iclock router and the HTTP server. Used by the CLI and by the tests (port 0).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "server/config.hpp"
#include "server/device_registry.hpp"
#include "server/device_router.hpp"
#include "server/http/http_server.hpp"
#include "storage/store.hpp"

namespace zkpush::server {

class App {
 public:
  // Checks the allow-list, creates the data folder if needed, settles the API token (the given one,
  // else <data>/api-token, generated at the first start; config().api_token is never empty
  // afterwards), opens the store and loads the devices. Throws std::runtime_error /
  // std::invalid_argument with the reason.
  explicit App(ServerConfig config);
  ~App();  // stop()
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  void start();  // binds and serves; throws boost::system::system_error when it cannot listen
  void stop();   // graceful; idempotent
  std::uint16_t port() const noexcept;

  const ServerConfig& config() const noexcept { return config_; }
  storage::Store& store() noexcept { return *store_; }
  DeviceRegistry& registry() noexcept { return registry_; }
  DeviceRouter& router() noexcept { return *router_; }

 private:
  ServerConfig config_;
  std::unique_ptr<storage::Store> store_;
  DeviceRegistry registry_;
  std::unique_ptr<DeviceRouter> router_;
  std::unique_ptr<http::HttpServer> http_;

  // Writes last_seen to the store every presence_interval (and once at stop).
  void flush_presence();
  std::thread presence_thread_;
  std::mutex presence_mutex_;
  std::condition_variable presence_cv_;
  bool stopping_ = false;
};

}  // namespace zkpush::server
