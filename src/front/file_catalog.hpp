// The files folder as the API manages it (POST/GET/DELETE /api/v1/files, campaigns): uploads
// written durably (a temporary file, fsync, rename, fsync of the folder), and each file's size and
// MD5, computed once per content (kept by size and modification time). Blocking file I/O: callers
// run it on the download pool, never on an I/O thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "front/file_store.hpp"

namespace zkpush::front {

struct FileFacts {
  std::string name;
  std::uint64_t size = 0;
  std::string md5;            // lower-case hex
  std::int64_t modified = 0;  // unix seconds
};

// Why `name` cannot be a file the API uploads or a campaign sends, or nullopt. A name is one
// path part of letters, digits, '.', '_', '-' and '+' (at most 128), not starting with '.': it
// goes verbatim into an UPGRADE line's URL, which may hold no comma or space (decision 21), and
// dot-names are the uploads in progress.
std::optional<std::string> bad_file_name(std::string_view name);

class FileCatalog {
 public:
  explicit FileCatalog(std::filesystem::path root) : root_(std::move(root)) {}

  // Writes `bytes` as `name` (replacing a file of that name); throws std::system_error.
  FileFacts save(const std::string& name, std::string_view bytes);
  // The file's facts, or nullopt with `error` set (not_found, bad_name...).
  std::optional<FileFacts> describe(const std::string& name, FileError* error = nullptr);
  // The folder's regular files (not in sub-folders, not dot-names), by name.
  std::vector<FileFacts> list();
  // Whether it existed; throws std::system_error when it cannot be removed.
  bool remove(const std::string& name);

 private:
  struct Cached {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string md5;
  };
  std::optional<FileFacts> facts_of(const std::string& name, FileError* error);

  std::filesystem::path root_;
  std::mutex mutex_;
  std::map<std::string, Cached> md5_;
};

}  // namespace zkpush::front
