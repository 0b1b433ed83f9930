// The web console's peer of the front, mounted as the tree "/": every path no other peer serves.
// The console is a folder of static files built by Vite (index.html, favicon.svg,
// assets/<name>-<hash>.js|css|...) installed beside the binary; nothing of it is compiled in.
//
// The folder is read into memory when the peer is built (a few hundred KB), each file with a gzip
// copy when that is smaller, its Content-Type and a strong ETag. Requests are answered from that
// immutable snapshot; only files found when it was read are served, so no request path reaches the
// file system. A request at most once a second asks a thread of the peer to look at the folder
// again (names, sizes, modification times); when it changed, the folder is read again and the new
// snapshot replaces the old one under a mutex. Without index.html, "/" is a 503 page saying how to
// build the console. See docs/console.md "How the server serves it".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "front/peer.hpp"

namespace zkpush::front {

// One file of the console, as served.
struct ConsoleFile {
  std::string body;
  std::string gzip;  // the gzip copy; empty when it would not be smaller
  std::string content_type;
  std::string etag;       // "\"<hash>\"" of the body
  std::string gzip_etag;  // "\"<hash>-gz\"": the gzip copy is another representation
  bool immutable = false;  // under assets/: hashed names, cached for a year
};

// What was read from the folder. Never changed once built; replaced whole on a reload.
struct ConsoleSnapshot {
  std::unordered_map<std::string, ConsoleFile> files;  // by path relative to the folder: "assets/app-AbC1.js"
  std::string signature;  // names, sizes and modification times seen before the files were read
  std::size_t bytes = 0;  // sum of the bodies
  bool built() const { return files.contains("index.html"); }
};

class ConsoleEndpoints : public Peer {
 public:
  // Files larger than this are left out (logged); the whole console stops at kMaxTotalBytes.
  static constexpr std::size_t kMaxFileBytes = 16u << 20;
  static constexpr std::size_t kMaxTotalBytes = 128u << 20;
  static constexpr std::size_t kMaxFiles = 10'000;

  // Reads `folder` now (logging what it serves, or that there is no console there) and starts the
  // thread that reloads it. `check_every`: how often a request may make it look at the folder.
  explicit ConsoleEndpoints(std::filesystem::path folder, std::chrono::milliseconds check_every = std::chrono::seconds(1));
  ~ConsoleEndpoints() override;
  ConsoleEndpoints(const ConsoleEndpoints&) = delete;
  ConsoleEndpoints& operator=(const ConsoleEndpoints&) = delete;

  std::optional<std::size_t> body_limit(const http::RequestHead& head, const std::string& path) override;
  void handle(http::Request& request, const std::string& path, const SharedResponder& respond) override;

  const std::filesystem::path& folder() const noexcept { return folder_; }
  std::shared_ptr<const ConsoleSnapshot> snapshot() const;

 private:
  void maybe_check();  // on an I/O thread: wakes the reload thread at most once per check_every_
  void reload_loop();
  void reload(bool at_start);

  const std::filesystem::path folder_;
  const std::chrono::nanoseconds check_every_;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const ConsoleSnapshot> snapshot_;
  std::atomic<std::int64_t> next_check_ns_{0};  // steady clock

  std::mutex reload_mutex_;
  std::condition_variable reload_cv_;
  bool check_wanted_ = false;
  bool stopping_ = false;
  std::thread reload_thread_;
};

// ---- the pieces, pure (tests/front/console_test.cpp) ------------------------------------------------

// The folder's files, read: regular files only (no symbolic links followed), nothing whose name or
// folder starts with '.', limits above; `signature` describes what was seen before reading.
ConsoleSnapshot read_console_folder(const std::filesystem::path& folder);
// Names, sizes and modification times of the files read_console_folder would read ("" when the
// folder cannot be read): the folder changed when this did.
std::string console_folder_signature(const std::filesystem::path& folder);

// The file a request target asks for ("index.html" for "/"), percent-decoded, without the query;
// nullopt when the target is not a path. The name is only ever looked up among the snapshot's files.
std::optional<std::string> console_file_name(std::string_view target);
// Content-Type by extension (text/javascript for .js), application/octet-stream when unknown.
std::string_view console_content_type(std::string_view name) noexcept;
// True when Accept-Encoding allows gzip: "gzip" or "x-gzip", else "*", with a q-value above 0.
bool accepts_gzip(std::string_view accept_encoding) noexcept;
// True when If-None-Match ("*" or a list of entity tags, weak comparison) matches `etag`.
bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept;
// The 503 page without a built console: self-contained HTML naming `folder`.
std::string console_missing_page(const std::filesystem::path& folder);

// The Content-Security-Policy of every answer of this peer.
inline constexpr std::string_view kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace zkpush::front
