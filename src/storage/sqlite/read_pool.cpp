#include "storage/sqlite/read_pool.hpp"

#include "storage/sqlite/migrations.hpp"

namespace zkpush::storage::sqlite {

ReadPool::Reader::Reader(const std::string& path)
    : db(std::make_unique<Database>(path, OpenMode::read_only)), connection(*db) {
  configure_connection(*db, false);
}

ReadPool::Handle ReadPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return Handle(*this, std::move(reader));
    }
  }
  return Handle(*this, std::make_unique<Reader>(path_));  // opened outside the lock
}

std::size_t ReadPool::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

void ReadPool::give_back(std::unique_ptr<Reader> reader) noexcept {
  if (!reader) return;
  std::unique_lock lock(mu_);
  if (idle_.size() < max_idle_) {
    idle_.push_back(std::move(reader));
    return;
  }
  lock.unlock();
  reader.reset();  // closed outside the lock
}

}  // namespace zkpush::storage::sqlite
