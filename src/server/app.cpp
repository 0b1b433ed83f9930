#include "server/app.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "server/access_list.hpp"
#include "server/api_token.hpp"

namespace zkpush::server {

App::App(ServerConfig config) : config_(std::move(config)) {
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(config_.listen, host, port)) {
    throw std::invalid_argument("--listen: expected host:port, got '" + config_.listen + "'");
  }
  // Bad allow-list entries stop the start before anything is created; the router keeps its own copy.
  const AccessList access(config_.allow_sn, config_.allow_net);
  if (!access.allows_all()) spdlog::info("device allow-list: {}", access.describe());
  std::filesystem::create_directories(config_.data_dir);
  // The API is always on: the router must see the final token, so resolve it before building it.
  const auto token = resolve_api_token(config_.api_token, config_.data_dir);
  config_.api_token = token.value;
  switch (token.source) {
    case ApiToken::Source::configured: spdlog::info("API token: as configured (--api-token / ZKPUSH_API_TOKEN)"); break;
    case ApiToken::Source::stored: spdlog::info("API token: {}  (stored in {})", token.value, token.path.string()); break;
    case ApiToken::Source::generated:
      spdlog::info("API token: {}  (generated, stored in {})", token.value, token.path.string());
      break;
  }
  storage::SqliteOptions options;
  options.path = (std::filesystem::path(config_.data_dir) / "zkpush.db").string();
  store_ = storage::open_sqlite_store(options);
  registry_.load(*store_);
  router_ = std::make_unique<DeviceRouter>(config_, *store_, registry_);

  http::ServerConfig http_config;
  http_config.address = host;
  http_config.port = port;
  http_config.threads = config_.threads;
  http_config.log = [](http::LogLevel level, std::string_view message) {
    switch (level) {
      case http::LogLevel::debug: spdlog::debug("http: {}", message); break;
      case http::LogLevel::info: spdlog::info("http: {}", message); break;
      case http::LogLevel::warn: spdlog::warn("http: {}", message); break;
      case http::LogLevel::error: spdlog::error("http: {}", message); break;
    }
  };
  http_ = std::make_unique<http::HttpServer>(http_config, *router_);
  router_->metrics().set_transport(&http_->counters());  // /metrics shows the connections
}

App::~App() {
  stop();
  // The store drains its queued writes on destruction and runs their callbacks, which use the
  // router and the registry: close it while they still exist.
  store_.reset();
}

void App::flush_presence() {
  auto presence = registry_.take_presence();
  if (presence.empty()) return;
  store_->touch_devices(std::move(presence), [](storage::StoreStatus s) {
    if (!s.ok()) spdlog::warn("presence not saved: {}", s.error().message);
  });
}

void App::start() {
  http_->start();
  presence_thread_ = std::thread([this] {
    std::unique_lock lock(presence_mutex_);
    while (!stopping_) {
      presence_cv_.wait_for(lock, std::chrono::seconds(std::max(1, config_.presence_interval)), [this] { return stopping_; });
      lock.unlock();
      flush_presence();
      lock.lock();
    }
  });
  spdlog::info("zkpush serving on {}:{} (data {}, {} device(s) known)", http_->local_endpoint().address().to_string(),
               http_->port(), config_.data_dir, registry_.all().size());
}

void App::stop() {
  if (http_) http_->stop();
  {
    std::lock_guard lock(presence_mutex_);
    stopping_ = true;
  }
  presence_cv_.notify_all();
  if (presence_thread_.joinable()) presence_thread_.join();
}

std::uint16_t App::port() const noexcept { return http_->port(); }

}  // namespace zkpush::server
