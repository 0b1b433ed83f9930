#include "server/data_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace zkpush::server {

DataLock::DataLock(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kDataLockFile;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  // On a read-only filesystem the lock is taken on the file as it is (flock needs no write access);
  // when there is none yet, the store's own open says what is wrong (a read-only database) rather
  // than the lock file.
  if (fd_ < 0 && errno == EROFS) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0 && errno == ENOENT) return;
  }
  if (fd_ < 0) {
    throw std::runtime_error("cannot open the lock file " + path.string() + ": " +
                             std::generic_category().message(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw std::runtime_error("the data folder " + data_dir.string() +
                               " is in use by another zkpush process (a server running on it, or a restore); " +
                               path.string() + " is locked");
    }
    throw std::runtime_error("cannot lock " + path.string() + ": " + std::generic_category().message(error));
  }
}

DataLock::~DataLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool DataLock::held(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kDataLockFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  // A shared lock is refused only while someone holds the exclusive one; taken, it is dropped at once.
  const bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return busy;
}

}  // namespace zkpush::server
