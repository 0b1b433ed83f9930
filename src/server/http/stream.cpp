#include "server/http/stream.hpp"

#include <algorithm>
#include <utility>

#include "server/http/session.hpp"
#include "server/http/stream_core.hpp"

namespace zkpush::server::http {

// --- Stream: the handler's handle ------------------------------------------------------------

Stream::Stream(std::shared_ptr<StreamCore> core) noexcept : core_(std::move(core)) {}

Stream::~Stream() { core_->end(); }

StreamWrite Stream::write(std::string chunk, std::function<void(bool ok)> on_written) {
  return core_->write(std::move(chunk), std::move(on_written));
}

void Stream::close() { core_->end(); }

void Stream::on_close(std::function<void()> callback) { core_->set_on_close(std::move(callback)); }

bool Stream::closed() const noexcept { return core_->closed(); }

std::size_t Stream::buffered() const noexcept { return core_->buffered(); }

// --- StreamCore: handler side ----------------------------------------------------------------

StreamWrite StreamCore::write(std::string chunk, std::function<void(bool)> on_written) {
  bool wake_session = false;
  {
    std::lock_guard lock(mutex_);
    if (done_ || end_requested_) return StreamWrite::closed;
    if (buffered_ > 0 && chunk.size() > buffer_limit_ - std::min(buffered_, buffer_limit_)) {
      return StreamWrite::full;
    }
    buffered_ += chunk.size();
    queue_.push_back(Chunk{std::move(chunk), std::move(on_written)});
    if (active_ && !awake_) wake_session = awake_ = true;
  }
  if (wake_session) wake();
  return StreamWrite::queued;
}

void StreamCore::end() {
  bool wake_session = false;
  {
    std::lock_guard lock(mutex_);
    if (done_ || end_requested_) return;
    end_requested_ = true;
    if (active_ && !awake_) wake_session = awake_ = true;
  }
  if (wake_session) wake();
}

void StreamCore::wake() {
  // Without a session the stream is finished already (Session::close and ~Session finish the
  // streams they hold), so there is nothing to wake.
  if (auto session = session_.lock()) session->wake_stream(shared_from_this());
}

void StreamCore::set_on_close(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!done_) {
      on_close_ = std::move(callback);
      return;
    }
  }
  if (callback) callback();
}

bool StreamCore::closed() const noexcept {
  std::lock_guard lock(mutex_);
  return done_ || end_requested_;
}

std::size_t StreamCore::buffered() const noexcept {
  std::lock_guard lock(mutex_);
  return buffered_;
}

// --- StreamCore: session side ----------------------------------------------------------------

void StreamCore::activate() {
  std::lock_guard lock(mutex_);
  active_ = true;
  awake_ = true;
}

bool StreamCore::take() {
  std::lock_guard lock(mutex_);
  while (!queue_.empty()) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (batch.empty() && !end_requested_) awake_ = false;
  return end_requested_;
}

std::vector<std::function<void(bool)>> StreamCore::complete_batch() {
  std::vector<std::function<void(bool)>> callbacks;
  std::size_t bytes = 0;
  for (auto& chunk : batch) {
    bytes += chunk.data.size();
    if (chunk.on_written) callbacks.push_back(std::move(chunk.on_written));
  }
  batch.clear();
  std::lock_guard lock(mutex_);
  buffered_ -= std::min(bytes, buffered_);
  return callbacks;
}

StreamCore::Ending StreamCore::finish() {
  Ending ending;
  std::deque<Chunk> queued;
  {
    std::lock_guard lock(mutex_);
    if (done_) return ending;
    done_ = true;
    active_ = false;
    buffered_ = 0;
    queued.swap(queue_);
    ending.on_close = std::move(on_close_);
    on_close_ = nullptr;
  }
  for (auto& chunk : batch) {
    if (chunk.on_written) ending.unwritten.push_back(std::move(chunk.on_written));
  }
  for (auto& chunk : queued) {
    if (chunk.on_written) ending.unwritten.push_back(std::move(chunk.on_written));
  }
  return ending;
}

void StreamCore::release_batch() noexcept {
  batch.clear();
  batch.shrink_to_fit();
  buffers.clear();
  buffers.shrink_to_fit();
  std::string().swap(framing);
  std::string().swap(head);
}

}  // namespace zkpush::server::http
