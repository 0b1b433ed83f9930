// The folder of upgrade packages (ServerConfig::files_dir) and the byte ranges devices pull from
// it (9.4.1 UPGRADE; method 3 pulls 1 MiB at a time with an HTTP Range header).
//
// A requested name is a '/'-separated path relative to the folder. It is refused before the file
// system is touched when it is absolute, has a ".." part or a control byte (NUL, CR, LF), and
// after resolution when the real path (symbolic links followed) is not strictly inside the real
// folder or is not a regular file. Files are opened and read with pread, so a range costs its own size in memory,
// never the file's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace zkpush::front {

// ---- Range header ------------------------------------------------------------------------------

// [first, last], both inclusive, as in Content-Range.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const noexcept { return last - first + 1; }
};

struct RangeRequest {
  enum class Kind {
    none,           // no Range header: the whole file, 200
    ignored,        // unreadable, another unit, or several ranges: the whole file, 200 (RFC 7233 3.1)
    satisfiable,    // `range` is the part to send, 206
    unsatisfiable,  // starts at or past the end (or "-0"): 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::none;
  ByteRange range;
  std::string note;  // why a header was ignored or unsatisfiable, for the log
};

// Reads a Range header value against a file of `size` bytes. Accepts "bytes=a-b", "bytes=a-",
// "bytes=-n" (the last n bytes) and, because the manual writes "RANGE: xx-xx", the same without
// the "bytes=" unit; blanks around the parts are tolerated. `last` past the end is clipped.
RangeRequest parse_range(std::string_view header, std::uint64_t size);

// "bytes 0-1048575/3145728" / "bytes */3145728".
std::string content_range(const ByteRange& range, std::uint64_t size);
std::string content_range_unsatisfied(std::uint64_t size);

// ---- names in URLs -------------------------------------------------------------------------------

// What a download URL asks for: the file name relative to the folder and whether the device wants
// it base64-encoded (UPGRADE method 1).
struct FileTarget {
  std::string name;
  bool base64 = false;
};

// The path published for the files (http://<server>/files/<name>).
inline constexpr std::string_view kFilesPrefix = "/files/";
// /files/base64/<name> answers base64 of <folder>/<name> (UPGRADE method 1).
inline constexpr std::string_view kBase64Prefix = "base64/";

// Maps a URL (absolute "http://host:port/files/x", a relative "/files/x" or "files/x", or the
// manual's mangled "http*//host*8088\dir\x") to a file target: scheme and authority, query and
// fragment are dropped, '\' counts as '/', a leading /files/ (any case) is removed; paths outside
// /files/ are taken relative to the folder as they are. `decode`: percent-decode the path (a
// request target; the url= query parameter is decoded already).
FileTarget file_target_from_url(std::string_view url, bool decode);
// Whether a request target (origin or absolute form) lies under /files/ (any case).
bool is_files_target(std::string_view target);

// ---- the folder ------------------------------------------------------------------------------------

struct FileError {
  enum class Kind {
    bad_name,     // empty, absolute, "..", control bytes: 400
    outside,      // resolves (through a symbolic link) outside the folder: 403
    not_found,    // missing, or the folder itself is missing: 404
    not_regular,  // a directory, device, FIFO...: 404
    unreadable,   // open/read failed for another reason: 500
  };
  Kind kind = Kind::not_found;
  std::string message;
};

// An opened regular file; move-only, closes on destruction.
class OpenFile {
 public:
  OpenFile(int fd, std::uint64_t size, std::filesystem::path path) noexcept
      : fd_(fd), size_(size), path_(std::move(path)) {}
  OpenFile(OpenFile&& other) noexcept;
  OpenFile& operator=(OpenFile&& other) noexcept;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();

  std::uint64_t size() const noexcept { return size_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  // Exactly `length` bytes from `offset`; nullopt (with `error` set) when the file is shorter now
  // or the read fails.
  std::optional<std::string> read(std::uint64_t offset, std::size_t length, std::string* error = nullptr) const;

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::filesystem::path path_;
};

class FileStore {
 public:
  explicit FileStore(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const noexcept { return root_; }
  std::optional<OpenFile> open(std::string_view name, FileError* error = nullptr) const;

 private:
  std::filesystem::path root_;
};

}  // namespace zkpush::front
