#include "server/api_token.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "service/random.hpp"
#include "service/tokens.hpp"

namespace zkpush::server {

namespace {

std::runtime_error io_error(const std::filesystem::path& path, const std::string& what) {
  return std::runtime_error(path.string() + ": " + what + ": " + std::generic_category().message(errno));
}

// Write to a temporary file, fsync, rename: a crash leaves the old token or the new one, never a
// truncated file that would lock every API client out.
void write_atomically(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw io_error(tmp, "cannot create");
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto error = io_error(tmp, "cannot write");
      ::close(fd);
      ::unlink(tmp.c_str());
      throw error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto error = io_error(tmp, "cannot sync");
    ::close(fd);
    ::unlink(tmp.c_str());
    throw error;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto error = io_error(path, "cannot rename " + tmp.filename().string() + " to it");
    ::unlink(tmp.c_str());
    throw error;
  }
  // The rename is durable only once the folder is synced; a failure here is not worth refusing
  // to start for.
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

bool is_token_text(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace

ApiToken resolve_api_token(const std::string& configured, const std::filesystem::path& data_dir) {
  if (!configured.empty()) return ApiToken{configured, ApiToken::Source::configured, {}};
  const auto path = data_dir / kApiTokenFile;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) throw std::runtime_error(path.string() + ": not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(path, "cannot read");
    std::ostringstream content;
    content << in.rdbuf();
    std::string token = content.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (!token.empty()) {
      if (!is_token_text(token)) {
        throw std::runtime_error(path.string() +
                                 ": does not hold a token (printable characters without blanks); delete it to "
                                 "generate a new one");
      }
      if ((st.st_mode & 077) != 0) {
        spdlog::warn("{}: readable by other users, the API token should be private (chmod 600)", path.string());
      }
      return ApiToken{token, ApiToken::Source::stored, path};
    }
    spdlog::warn("{}: empty, generating a new API token", path.string());
  } else if (errno != ENOENT) {
    throw io_error(path, "cannot read");
  }
  ApiToken generated{service::random_hex(32), ApiToken::Source::generated, path};
  write_atomically(path, generated.value + "\n");
  return generated;
}

std::string token_fingerprint(std::string_view token) { return "sha256:" + service::token_hash(token).substr(0, 8); }

std::string token_weakness(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return "shorter than " + std::to_string(kMinTokenLength) + " characters (" + std::to_string(token.size()) + ")";
  }
  const std::set<char> distinct(token.begin(), token.end());
  if (distinct.size() < kMinTokenVariety) {
    return "only " + std::to_string(distinct.size()) + " distinct characters (at least " +
           std::to_string(kMinTokenVariety) + " wanted)";
  }
  return {};
}

}  // namespace zkpush::server
