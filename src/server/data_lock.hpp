// The data folder's lock: <data>/zkpush.lock, held (flock, exclusive) by `zkpush serve` for as long
// as it runs and by `zkpush restore` while it replaces the folder's content.
//
// Why: two servers on one folder would each believe their in-memory state (pending counts, device
// cache) is the truth, and a restore under a running server would swap its database away beneath
// it. SQLite alone does not refuse either (WAL lets many processes open the file). The kernel drops
// an flock when its holder exits, however it exits (kill -9 included), so a lock is never stale and
// nothing has to be cleaned up; the empty file stays.
#pragma once

#include <filesystem>
#include <string>

namespace zkpush::server {

inline constexpr const char* kDataLockFile = "zkpush.lock";

class DataLock {
 public:
  // Takes the lock of `data_dir` (which must exist) without waiting. Throws std::runtime_error
  // saying that another process holds it (a server running on the folder), or why the lock file
  // cannot be opened.
  explicit DataLock(const std::filesystem::path& data_dir);
  ~DataLock();
  DataLock(const DataLock&) = delete;
  DataLock& operator=(const DataLock&) = delete;

  // Whether some process holds the lock of `data_dir` now (false when there is no lock file).
  static bool held(const std::filesystem::path& data_dir);

 private:
  int fd_ = -1;
};

}  // namespace zkpush::server
