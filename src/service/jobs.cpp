#include "service/jobs.hpp"

namespace zkpush::service {

std::int64_t Jobs::start(const std::string& kind, std::int64_t total, std::int64_t now) {
  std::lock_guard lock(mutex_);
  const auto id = next_++;
  JobStatus job;
  job.id = id;
  job.kind = kind;
  job.total = total;
  job.started_at = now;
  jobs_[id] = std::move(job);
  // Forget the oldest finished jobs beyond the ones kept.
  std::size_t finished = 0;
  for (const auto& [i, j] : jobs_) finished += j.state != "running" ? 1 : 0;
  for (auto it = jobs_.begin(); it != jobs_.end() && finished > kKept;) {
    if (it->second.state != "running") {
      it = jobs_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
  return id;
}

void Jobs::update(std::int64_t id, const std::function<void(JobStatus&)>& change) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) change(it->second);
}

std::optional<JobStatus> Jobs::get(std::int64_t id) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

}  // namespace zkpush::service
