#include "storage/sqlite/writer.hpp"

#include <future>

namespace zkpush::storage::sqlite {

Writer::Writer(std::unique_ptr<Database> db, Options options)
    : db_(std::move(db)), options_(options), thread_([this] { loop(); }) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Writer::submit(Job job, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Pending{std::move(job), std::move(done)});
  }
  cv_.notify_one();
}

WriteOutcome Writer::run(Job job) {
  std::promise<WriteOutcome> promise;
  auto future = promise.get_future();
  submit(std::move(job), [&promise](const WriteOutcome& outcome) { promise.set_value(outcome); });
  return future.get();
}

Writer::Stats Writer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t Writer::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Writer::loop() {
  std::deque<Pending> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Everything that arrived while the previous group was being committed forms this group.
      while (!queue_.empty() && group.size() < options_.max_group) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_group(group);
    group.clear();
  }
}

void Writer::commit_group(std::deque<Pending>& group) {
  std::vector<WriteOutcome> outcomes(group.size());
  bool began = false;
  WriteOutcome group_failure;
  try {
    db_->exec("BEGIN IMMEDIATE");
    began = true;
    for (std::size_t i = 0; i < group.size(); ++i) {
      db_->exec("SAVEPOINT job");
      try {
        group[i].job(*db_);
        db_->exec("RELEASE job");
      } catch (const SqliteError& e) {
        db_->exec("ROLLBACK TO job; RELEASE job");
        outcomes[i] = WriteOutcome{false, e.is_transient(), e.what()};
      } catch (const std::exception& e) {
        db_->exec("ROLLBACK TO job; RELEASE job");
        outcomes[i] = WriteOutcome{false, false, e.what()};
      }
    }
    db_->exec("COMMIT");
  } catch (const std::exception& e) {
    // BEGIN, a savepoint or COMMIT itself failed: nothing of this group is durable.
    if (began) {
      try {
        db_->exec("ROLLBACK");
      } catch (const std::exception&) {
        // The transaction may already be gone (SQLite rolls back on some I/O errors).
      }
    }
    group_failure = WriteOutcome{false, true, e.what()};
    for (auto& o : outcomes) o = group_failure;
  }

  std::uint64_t failed = 0;
  for (const auto& o : outcomes) failed += o.ok ? 0 : 1;
  {
    std::lock_guard lock(mu_);
    stats_.groups += 1;
    stats_.jobs += group.size();
    stats_.failed_jobs += failed;
    if (!group_failure.ok) stats_.failed_commits += 1;
  }
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i].done) group[i].done(outcomes[i]);
}

}  // namespace zkpush::storage::sqlite
