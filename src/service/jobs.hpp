// Long operations the API starts and then reports on (GET /api/v1/jobs/{id}): a person import of
// ten thousand rows, later firmware campaigns. Held in memory: a job's report lasts until the
// server restarts (what it wrote is in the store either way).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace zkpush::service {

struct JobRowError {
  std::int64_t row = 0;  // 1-based row of the input (CSV: line number after the header)
  std::string key;       // the pin, when the row had one
  std::string error;
};

struct JobStatus {
  std::int64_t id = 0;
  std::string kind;              // "person_import"
  std::string state = "running"; // running, done, failed
  std::int64_t total = 0;
  std::int64_t processed = 0;
  std::int64_t created = 0;
  std::int64_t updated = 0;
  std::int64_t failed = 0;
  std::vector<JobRowError> errors;  // the first kMaxErrors
  std::string error;                // why the job stopped (state failed)
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
};

class Jobs {
 public:
  static constexpr std::size_t kMaxErrors = 1000;
  static constexpr std::size_t kKept = 100;  // finished jobs kept for GET

  std::int64_t start(const std::string& kind, std::int64_t total, std::int64_t now);
  void update(std::int64_t id, const std::function<void(JobStatus&)>& change);
  std::optional<JobStatus> get(std::int64_t id) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::int64_t, JobStatus> jobs_;
  std::int64_t next_ = 1;
};

}  // namespace zkpush::service
