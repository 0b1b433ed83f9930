// HTTP answers for firmware downloads (9.4.1 UPGRADE): GET /iclock/file?SN=..&url=.. (methods 1
// and 2) and plain GET/HEAD /files/<name> with Range (method 3). See docs/serve.md "Firmware files".
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/config.hpp"
#include "front/file_store.hpp"
#include "server/http/response.hpp"

namespace zkpush::front {

namespace http = server::http;
using server::ServerConfig;

// The transport sends string bodies only, so an answer holds its bytes in memory: a whole file
// (or a base64 encoding, or a range) larger than this is refused with 500 or, for a range,
// clipped to this many bytes (206 says which part was sent). Devices pull 1 MiB per range.
inline constexpr std::uint64_t kMaxDownloadBody = std::uint64_t{64} << 20;

// files_dir, or <data_dir>/files when it is empty.
std::filesystem::path files_root(const ServerConfig& config);

// 200 whole file, 206 range, 416 unsatisfiable range, 400 bad name, 403 outside the folder, 404
// missing, 500 unreadable or too large; each refusal logged with `who` ("10.0.0.5 SN123").
// Base64 answers (method 1) are whole-file only: Range is ignored for them.
http::Response file_response(const FileStore& store, const FileTarget& target, std::string_view range_header,
                             const std::string& who);

// A small pool of download threads, so that reading tens of MB never holds an I/O thread. The
// router owns it: destroying it joins the threads (a download not started yet is dropped, and
// its responder answers 500) before anything a pending answer refers to is gone.
class FileDownloads {
 public:
  using Reply = std::function<void(http::Response)>;

  FileDownloads();
  ~FileDownloads();
  FileDownloads(const FileDownloads&) = delete;
  FileDownloads& operator=(const FileDownloads&) = delete;

  // file_response() on a pool thread; `reply` is called from there. `sn`: the panel asking (for
  // /files/ the URL's ?SN=), whose bytes of the file the observer is told of; "" for none.
  void serve(FileStore store, FileTarget target, std::string range_header, std::string who, Reply reply,
             std::string sn = {});
  // Told of the bytes of the file (decoded for base64) in each 200 or 206 answer to a known panel
  // (a campaign's progress). Set before the server starts.
  using Observer = std::function<void(const std::string& sn, const std::string& name, std::uint64_t bytes)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  // Blocking file work of the API (uploads, MD5 of the folder's files) on the same threads.
  void post(std::function<void()> job);

 private:
  Observer observer_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace zkpush::front
