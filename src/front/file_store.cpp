#include "front/file_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol/text.hpp"

namespace zkpush::front {

namespace text = protocol::text;

// ---- Range header ------------------------------------------------------------------------------

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// Digits only; a value beyond 64 bits saturates (a position that large is past any file anyway).
bool parse_position(std::string_view s, std::uint64_t& value) {
  if (s.empty()) return false;
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return true;
}

RangeRequest ignored(std::string note) {
  RangeRequest r;
  r.kind = RangeRequest::Kind::ignored;
  r.note = std::move(note);
  return r;
}

RangeRequest unsatisfiable(std::string note) {
  RangeRequest r;
  r.kind = RangeRequest::Kind::unsatisfiable;
  r.note = std::move(note);
  return r;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  std::string_view spec = text::trim(header);
  if (spec.empty()) return {};
  if (text::istarts_with(spec, "bytes")) {
    spec = text::trim(spec.substr(5));
    if (!spec.empty() && (spec.front() == '=' || spec.front() == ':')) spec = text::trim(spec.substr(1));
  } else if (spec.find('=') != std::string_view::npos) {
    // RFC 7233 2.1: a unit we do not know means the header is ignored.
    return ignored("range unit other than bytes");
  }
  // Several ranges would need a multipart/byteranges answer; no device asks for one, and RFC 7233
  // 3.1 lets a server ignore Range, so the whole file is sent. An empty piece ("0-9,") is not a
  // second range.
  std::string_view one;
  std::size_t pieces = 0;
  for (std::string_view piece : text::split(spec, ',')) {
    piece = text::trim(piece);
    if (piece.empty()) continue;
    ++pieces;
    one = piece;
  }
  if (pieces == 0) return ignored("empty range");
  if (pieces > 1) return ignored("several ranges");
  const std::size_t dash = one.find('-');
  if (dash == std::string_view::npos) return ignored("range without '-'");
  const std::string_view a = text::trim(one.substr(0, dash));
  const std::string_view b = text::trim(one.substr(dash + 1));

  RangeRequest r;
  r.kind = RangeRequest::Kind::satisfiable;
  if (a.empty()) {
    std::uint64_t n = 0;
    if (!parse_position(b, n)) return ignored("suffix range is not a number");
    if (n == 0) return unsatisfiable("suffix range of 0 bytes");
    if (size == 0) return unsatisfiable("the file is empty");
    r.range.first = size - std::min(n, size);
    r.range.last = size - 1;
    return r;
  }
  std::uint64_t first = 0;
  if (!parse_position(a, first)) return ignored("range start is not a number");
  std::uint64_t last = kMax;
  if (!b.empty()) {
    if (!parse_position(b, last)) return ignored("range end is not a number");
    if (last < first) return ignored("range end before its start");
  }
  if (first >= size) {
    return unsatisfiable("range starts at " + std::to_string(first) + ", the file has " + std::to_string(size) +
                         " bytes");
  }
  r.range.first = first;
  r.range.last = std::min(last, size - 1);
  return r;
}

std::string content_range(const ByteRange& range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size);
}

std::string content_range_unsatisfied(std::uint64_t size) { return "bytes */" + std::to_string(size); }

// ---- names in URLs -------------------------------------------------------------------------------

namespace {

// The path of a URL or request target: without query and fragment, '\' as '/', and without
// "scheme://authority". The scheme test also takes the manual's "http*//host*8088" (':' printed
// as '*'), but not a relative "files//x".
std::string url_path(std::string_view url) {
  url = text::trim(url);
  url = url.substr(0, url.find_first_of("?#"));
  std::string s(url);
  std::replace(s.begin(), s.end(), '\\', '/');
  const std::size_t authority = s.find("//");
  if (authority != std::string::npos) {
    const std::string_view scheme = std::string_view(s).substr(0, authority);
    const bool network_path =
        scheme.empty() ||
        ((scheme.back() == ':' || scheme.back() == '*') && scheme.size() > 1 &&
         std::all_of(scheme.begin(), scheme.end() - 1, [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }));
    if (network_path) {
      const std::size_t slash = s.find('/', authority + 2);
      s = slash == std::string::npos ? std::string() : s.substr(slash);
    }
  }
  return s;
}

std::string_view drop_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  return s;
}

}  // namespace

FileTarget file_target_from_url(std::string_view url, bool decode) {
  std::string path = url_path(url);
  if (decode) path = text::percent_decode(path);
  std::string_view rest = drop_slashes(path);
  const std::string_view files = kFilesPrefix.substr(1);  // "files/"
  if (text::istarts_with(rest, files)) rest = drop_slashes(rest.substr(files.size()));
  FileTarget target;
  if (text::istarts_with(rest, kBase64Prefix)) {
    target.base64 = true;
    rest = drop_slashes(rest.substr(kBase64Prefix.size()));
  }
  target.name = std::string(rest);
  return target;
}

bool is_files_target(std::string_view target) {
  return text::istarts_with(url_path(target), kFilesPrefix);
}

// ---- the folder ------------------------------------------------------------------------------------

OpenFile::OpenFile(OpenFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

OpenFile& OpenFile::operator=(OpenFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<std::string> OpenFile::read(std::uint64_t offset, std::size_t length, std::string* error) const {
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (error != nullptr) {
        *error = n == 0 ? "the file ended at " + std::to_string(offset + done) + " bytes (changed while served?)"
                        : std::string("read failed: ") + std::generic_category().message(errno);
      }
      return std::nullopt;
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

namespace {

std::nullopt_t fail(FileError* error, FileError::Kind kind, std::string message) {
  if (error != nullptr) *error = FileError{kind, std::move(message)};
  return std::nullopt;
}

}  // namespace

std::optional<OpenFile> FileStore::open(std::string_view name, FileError* error) const {
  namespace fs = std::filesystem;
  using Kind = FileError::Kind;
  const std::string shown(name);
  // The name is checked as text first: ".." must not even be resolved, since "a/.." of a symbolic
  // link "a" would go wherever the link points.
  if (name.empty()) return fail(error, Kind::bad_name, "empty file name");
  // NUL would cut the name short in open(2); CR/LF would forge lines in the log that quotes it.
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return fail(error, Kind::bad_name, "control character in file name");
  if (name.front() == '/') return fail(error, Kind::bad_name, "absolute file name: " + shown);
  fs::path relative;
  for (std::string_view part : text::split(name, '/')) {
    if (part == "..") return fail(error, Kind::bad_name, "'..' in file name: " + shown);
    if (part.empty() || part == ".") continue;
    relative /= std::string(part);
  }
  if (relative.empty()) return fail(error, Kind::bad_name, "no file name: " + shown);

  std::error_code ec;
  const fs::path root = fs::canonical(root_, ec);
  if (ec) {
    return fail(error, Kind::not_found, "files folder " + root_.string() + ": " + ec.message());
  }
  const fs::path real = fs::canonical(root / relative, ec);
  if (ec) {
    const bool missing = ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory;
    return fail(error, missing ? Kind::not_found : Kind::unreadable, shown + ": " + ec.message());
  }
  // Component-wise, so that a sibling "/srv/files-old" is not taken for inside "/srv/files".
  const auto [r, p] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  if (r != root.end() || p == real.end()) {
    return fail(error, Kind::outside, shown + " resolves to " + real.string() + ", outside the files folder");
  }
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. O_NOFOLLOW: `real`
  // has no links, so one appearing now is a swap between the check and the open.
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    return fail(error, err == ENOENT ? Kind::not_found : Kind::unreadable, shown + ": " + std::generic_category().message(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(error, Kind::not_regular, shown + " is not a regular file");
  }
  return OpenFile(fd, static_cast<std::uint64_t>(st.st_size), real);
}

}  // namespace zkpush::front
