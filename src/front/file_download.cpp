#include "front/file_download.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <exception>
#include <utility>

#include "protocol/base64.hpp"

namespace zkpush::front {

namespace bhttp = boost::beast::http;

std::filesystem::path files_root(const ServerConfig& config) {
  if (!config.files_dir.empty()) return config.files_dir;
  return std::filesystem::path(config.data_dir) / "files";
}

namespace {

http::Response refusal(http::Status status, const std::string& message) {
  return http::make_response(status, message, "text/plain;charset=UTF-8");
}

http::Status status_of(FileError::Kind kind) {
  switch (kind) {
    case FileError::Kind::bad_name: return http::Status::bad_request;
    case FileError::Kind::outside: return http::Status::forbidden;
    case FileError::Kind::not_found:
    case FileError::Kind::not_regular: return http::Status::not_found;
    case FileError::Kind::unreadable: break;
  }
  return http::Status::internal_server_error;
}

std::string human(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

http::Response file_response(const FileStore& store, const FileTarget& target, std::string_view range_header,
                             const std::string& who) {
  FileError error;
  auto file = store.open(target.name, &error);
  if (!file) {
    const auto status = status_of(error.kind);
    if (status == http::Status::internal_server_error) {
      spdlog::error("{}: file download: {}", who, error.message);
    } else {
      spdlog::warn("{}: file download: {} {}", who, static_cast<int>(status), error.message);
    }
    // The reason names the requested file, never the real path of the folder.
    const char* reason = error.kind == FileError::Kind::bad_name   ? "bad file name"
                         : error.kind == FileError::Kind::outside  ? "outside the files folder"
                         : error.kind == FileError::Kind::unreadable ? "file unreadable"
                                                                     : "no such file";
    return refusal(status, std::string(reason) + ": " + target.name);
  }
  const std::uint64_t size = file->size();
  std::string read_error;

  if (target.base64) {
    // Method 1: the device decodes the answer into emfw.cfg; a part of a base64 text would not
    // decode on its own, so Range does not apply.
    if ((size + 2) / 3 * 4 > kMaxDownloadBody) {
      spdlog::error("{}: file download: {} has {}, too large to send base64-encoded", who, target.name, human(size));
      return refusal(http::Status::internal_server_error, "file too large to send base64-encoded: " + target.name);
    }
    auto bytes = file->read(0, static_cast<std::size_t>(size), &read_error);
    if (!bytes) {
      spdlog::error("{}: file download: {}: {}", who, target.name, read_error);
      return refusal(http::Status::internal_server_error, "file unreadable: " + target.name);
    }
    auto res = http::make_response(http::Status::ok, protocol::base64_encode(*bytes), "text/plain");
    res.set(bhttp::field::accept_ranges, "none");
    spdlog::info("{}: sent {} ({}) base64-encoded", who, target.name, human(size));
    return res;
  }

  const RangeRequest range = parse_range(range_header, size);
  if (range.kind == RangeRequest::Kind::unsatisfiable) {
    spdlog::warn("{}: file download: 416 {} (Range: {}): {}", who, target.name, range_header, range.note);
    auto res = refusal(http::Status::range_not_satisfiable, "range not satisfiable: " + range.note);
    res.set(bhttp::field::content_range, content_range_unsatisfied(size));
    res.set(bhttp::field::accept_ranges, "bytes");
    return res;
  }
  if (range.kind == RangeRequest::Kind::ignored) {
    spdlog::warn("{}: file download: Range '{}' ignored ({}), sending the whole file", who, range_header, range.note);
  }

  if (range.kind == RangeRequest::Kind::satisfiable) {
    ByteRange part = range.range;
    if (part.length() > kMaxDownloadBody) part.last = part.first + kMaxDownloadBody - 1;
    auto bytes = file->read(part.first, static_cast<std::size_t>(part.length()), &read_error);
    if (!bytes) {
      spdlog::error("{}: file download: {}: {}", who, target.name, read_error);
      return refusal(http::Status::internal_server_error, "file unreadable: " + target.name);
    }
    auto res = http::make_response(http::Status::partial_content, std::move(*bytes), "application/octet-stream");
    res.set(bhttp::field::content_range, content_range(part, size));
    res.set(bhttp::field::accept_ranges, "bytes");
    spdlog::debug("{}: sent {} {}", who, target.name, content_range(part, size));
    return res;
  }

  if (size > kMaxDownloadBody) {
    spdlog::error("{}: file download: {} has {}, more than a whole-file answer may hold; the device must use Range "
                  "(UPGRADE method 3)",
                  who, target.name, human(size));
    return refusal(http::Status::internal_server_error, "file too large to send whole, use Range: " + target.name);
  }
  auto bytes = file->read(0, static_cast<std::size_t>(size), &read_error);
  if (!bytes) {
    spdlog::error("{}: file download: {}: {}", who, target.name, read_error);
    return refusal(http::Status::internal_server_error, "file unreadable: " + target.name);
  }
  auto res = http::make_response(http::Status::ok, std::move(*bytes), "application/octet-stream");
  res.set(bhttp::field::accept_ranges, "bytes");
  spdlog::info("{}: sent {} ({})", who, target.name, human(size));
  return res;
}

// Two threads: a few devices read at a time; more would only compete for the disk.
FileDownloads::FileDownloads() : pool_(std::make_unique<boost::asio::thread_pool>(2)) {}

FileDownloads::~FileDownloads() {
  pool_->stop();
  pool_->join();
}

void FileDownloads::post(std::function<void()> job) {
  boost::asio::post(*pool_, [job = std::move(job)]() {
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("file job: {}", e.what());
    }
  });
}

void FileDownloads::serve(FileStore store, FileTarget target, std::string range_header, std::string who, Reply reply,
                          std::string sn) {
  boost::asio::post(*pool_, [this, store = std::move(store), target = std::move(target), range = std::move(range_header),
                             who = std::move(who), reply = std::move(reply), sn = std::move(sn)]() {
    http::Response response;
    try {
      response = file_response(store, target, range, who);
    } catch (const std::exception& e) {
      spdlog::error("{}: file download: {}", who, e.what());
      response = http::make_response(http::Status::internal_server_error, "internal error");
    }
    const auto status = response.result();
    if (!sn.empty() && observer_ && (status == http::Status::ok || status == http::Status::partial_content)) {
      std::uint64_t bytes = response.body().size();
      if (target.base64) {  // the file's bytes, not the text's: 3 per 4 characters, less the padding
        const std::string& body = response.body();
        const std::uint64_t pad = body.size() >= 2 && body[body.size() - 2] == '=' ? 2
                                  : !body.empty() && body.back() == '='            ? 1
                                                                                   : 0;
        bytes = body.size() / 4 * 3 - pad;
      }
      observer_(sn, target.name, bytes);
    }
    reply(std::move(response));
  });
}

}  // namespace zkpush::front
