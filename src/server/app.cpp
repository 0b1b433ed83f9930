#include "server/app.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace zkpush::server {

App::App(ServerConfig config) : config_(std::move(config)) {
  std::string host;
  std::uint16_t port = 0;
  if (!parse_listen(config_.listen, host, port)) {
    throw std::invalid_argument("--listen: expected host:port, got '" + config_.listen + "'");
  }
  std::filesystem::create_directories(config_.data_dir);
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
