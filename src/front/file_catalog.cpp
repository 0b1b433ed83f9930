#include "front/file_catalog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <system_error>

#include "protocol/codecs_session.hpp"

namespace zkpush::front {

namespace fs = std::filesystem;

namespace file_catalog {

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(what);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open " + folder.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail("fsync " + folder.string());
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace file_catalog

std::optional<std::string> bad_file_name(std::string_view name) {
  if (name.empty()) return "a file name is needed";
  if (name.size() > 128) return "a file name has at most 128 characters";
  if (name.front() == '.') return "a file name may not start with '.'";
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '+';
    if (!ok) return "a file name holds only letters, digits, '.', '_', '-' and '+' (no path separators)";
  }
  return std::nullopt;
}

FileFacts FileCatalog::save(const std::string& name, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw std::system_error(ec, "create " + root_.string());
  std::random_device random;
  const fs::path temp = root_ / ("." + name + ".upload-" + std::to_string(random()));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) file_catalog::fail("create " + temp.string());
  try {
    file_catalog::write_all(fd, bytes, "write " + temp.string());
    if (::fsync(fd) != 0) file_catalog::fail("fsync " + temp.string());
    if (::close(fd) != 0) {
      fs::remove(temp, ec);
      file_catalog::fail("close " + temp.string());
    }
  } catch (...) {
    ::close(fd);
    fs::remove(temp, ec);
    throw;
  }
  if (::rename(temp.c_str(), (root_ / name).c_str()) != 0) {
    const int err = errno;
    fs::remove(temp, ec);
    errno = err;
    file_catalog::fail("rename to " + (root_ / name).string());
  }
  file_catalog::sync_folder(root_);
  struct stat st {};
  if (::stat((root_ / name).c_str(), &st) != 0) file_catalog::fail("stat " + name);
  FileFacts facts{name, bytes.size(), protocol::md5_hex(bytes), static_cast<std::int64_t>(st.st_mtim.tv_sec)};
  std::lock_guard lock(mutex_);
  md5_[name] = Cached{facts.size, file_catalog::mtime_ns(st), facts.md5};
  return facts;
}

std::optional<FileFacts> FileCatalog::facts_of(const std::string& name, FileError* error) {
  auto file = FileStore(root_).open(name, error);
  if (!file) return std::nullopt;
  struct stat st {};
  if (::stat(file->path().c_str(), &st) != 0) {
    if (error) *error = FileError{FileError::Kind::unreadable, name + ": stat failed"};
    return std::nullopt;
  }
  FileFacts facts{name, file->size(), "", static_cast<std::int64_t>(st.st_mtim.tv_sec)};
  {
    std::lock_guard lock(mutex_);
    auto it = md5_.find(name);
    if (it != md5_.end() && it->second.size == facts.size && it->second.mtime_ns == file_catalog::mtime_ns(st)) {
      facts.md5 = it->second.md5;
      return facts;
    }
  }
  std::string read_error;
  auto bytes = file->read(0, static_cast<std::size_t>(facts.size), &read_error);
  if (!bytes) {
    if (error) *error = FileError{FileError::Kind::unreadable, name + ": " + read_error};
    return std::nullopt;
  }
  facts.md5 = protocol::md5_hex(*bytes);
  std::lock_guard lock(mutex_);
  md5_[name] = Cached{facts.size, file_catalog::mtime_ns(st), facts.md5};
  return facts;
}

std::optional<FileFacts> FileCatalog::describe(const std::string& name, FileError* error) {
  if (auto bad = bad_file_name(name)) {
    if (error) *error = FileError{FileError::Kind::bad_name, *bad};
    return std::nullopt;
  }
  return facts_of(name, error);
}

std::vector<FileFacts> FileCatalog::list() {
  std::vector<FileFacts> out;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (bad_file_name(name) || !it->is_regular_file(ec)) continue;
    if (auto facts = facts_of(name, nullptr)) out.push_back(std::move(*facts));
  }
  std::sort(out.begin(), out.end(), [](const FileFacts& a, const FileFacts& b) { return a.name < b.name; });
  return out;
}

bool FileCatalog::remove(const std::string& name) {
  std::error_code ec;
  const bool removed = fs::remove(root_ / name, ec);
  if (ec) throw std::system_error(ec, "remove " + name);
  if (removed) file_catalog::sync_folder(root_);
  std::lock_guard lock(mutex_);
  md5_.erase(name);
  return removed;
}

}  // namespace zkpush::front
