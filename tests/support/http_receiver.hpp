// A real HTTP receiver for tests of what the server sends out (webhooks): the project's own
// transport on 127.0.0.1 (port 0), recording every request and answering with the status the test
// sets (200 by default). Header-only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/http/handler.hpp"
#include "server/http/http_server.hpp"
#include "server/http/response.hpp"

namespace zkpush::test {

struct Received {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    }
    return {};
  }
};

class HttpReceiver : public server::http::Handler {
 public:
  HttpReceiver() {
    server::http::ServerConfig config;
    config.address = "127.0.0.1";
    config.port = 0;
    config.threads = 1;
    server_ = std::make_unique<server::http::HttpServer>(config, *this);
    server_->start();
  }
  ~HttpReceiver() override { server_->stop(); }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  void answer_with(int status) {
    std::lock_guard lock(mutex_);
    status_ = status;
  }
  // Waits until at least `n` requests came (at most `timeout`); all of them so far.
  std::vector<Received> wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
    return received_;
  }
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

  void handle(server::http::Request request, server::http::Responder respond) override {
    Received r;
    r.method = std::string(request.method_string());
    r.target = std::string(request.target());
    r.body = request.body();
    for (const auto& f : request.fields()) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    int status;
    {
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(r));
      status = status_;
    }
    cv_.notify_all();
    respond(server::http::make_response(static_cast<server::http::Status>(status), "ok", "text/plain"));
  }

 private:
  std::unique_ptr<server::http::HttpServer> server_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  int status_ = 200;
};

}  // namespace zkpush::test
