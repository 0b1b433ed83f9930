#include "front/console.hpp"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <fstream>
#include <iterator>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "protocol/text.hpp"

namespace zkpush::front {

namespace fs = std::filesystem;
namespace text = protocol::text;
using boost::beast::http::field;

namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";
constexpr int kMaxDepth = 16;
// A POST to the console is refused (405) whatever it carries: no reason to read a large body first.
constexpr std::size_t kConsoleBodyLimit = 64 * 1024;

struct FolderEntry {
  std::string name;  // relative, '/'-separated
  fs::path path;
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;
};

bool hidden(const fs::path& name) {
  const std::string s = name.filename().string();
  return !s.empty() && s.front() == '.';
}

// The regular files under `folder` that would be served, sorted by name. Symbolic links are not
// followed (neither to files nor to folders), names starting with '.' are skipped with what is
// under them, and the walk stops at kMaxDepth levels and kMaxFiles files.
std::vector<FolderEntry> list_folder(const fs::path& folder) {
  std::vector<FolderEntry> entries;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) return entries;
  for (fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    std::error_code sec;
    const auto status = entry.symlink_status(sec);
    if (sec) continue;
    if (hidden(entry.path())) {
      if (fs::is_directory(status)) it.disable_recursion_pending();
      continue;
    }
    if (fs::is_directory(status)) {
      if (it.depth() + 1 >= kMaxDepth) it.disable_recursion_pending();
      continue;
    }
    if (!fs::is_regular_file(status)) continue;  // symbolic links, FIFOs, sockets, devices
    FolderEntry e;
    e.path = entry.path();
    e.name = entry.path().lexically_relative(folder).generic_string();
    e.size = entry.file_size(sec);
    if (sec) continue;
    const auto mtime = entry.last_write_time(sec);
    if (sec) continue;
    e.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
    entries.push_back(std::move(e));
    if (entries.size() >= ConsoleEndpoints::kMaxFiles) {
      spdlog::warn("console: {} holds more than {} files; the rest are left out", folder.string(),
                   ConsoleEndpoints::kMaxFiles);
      break;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

std::string signature_of(const std::vector<FolderEntry>& entries) {
  std::string s;
  for (const auto& e : entries) {
    s += e.name;
    s += '\0';
    s += std::to_string(e.size);
    s += '\0';
    s += std::to_string(e.mtime_ns);
    s += '\n';
  }
  return s;
}

std::optional<std::string> read_whole(const fs::path& path, std::uintmax_t expected) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string body;
  body.reserve(static_cast<std::size_t>(expected));
  body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return body;
}

// The gzip member of `body` at the best compression (done once per file, at load); "" on failure.
std::string gzip(const std::string& body) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&zs, static_cast<uLong>(body.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(written);
  return out;
}

// A strong validator: the first 128 bits of the body's SHA-256, in hex.
std::string content_hash(const std::string& body) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest.data());
  return text::to_hex(digest.data(), 16);
}

std::string kilobytes(std::size_t bytes) { return std::to_string((bytes + 1023) / 1024) + " KB"; }

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Boost 1.74's Beast takes its own string_view.
boost::beast::string_view beast_view(std::string_view s) { return {s.data(), s.size()}; }

// The headers every answer of the console carries.
http::Response console_response(http::Status status, std::string body, std::string_view content_type,
                                std::string_view cache_control) {
  auto res = http::make_response(status, std::move(body), content_type);
  res.set("Content-Security-Policy", beast_view(kConsoleCsp));
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
  res.set(field::cache_control, beast_view(cache_control));
  return res;
}

// A q-value (RFC 9110 12.4.2) above zero; an unreadable one counts as zero.
bool q_above_zero(std::string_view q) noexcept {
  q = text::trim(q);
  double value = 0;
  const auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), value);
  return ec == std::errc{} && end == q.data() + q.size() && value > 0;
}

}  // namespace

// ---- the pieces -----------------------------------------------------------------------------------------

std::string console_folder_signature(const fs::path& folder) { return signature_of(list_folder(folder)); }

ConsoleSnapshot read_console_folder(const fs::path& folder) {
  ConsoleSnapshot snapshot;
  const auto entries = list_folder(folder);
  snapshot.signature = signature_of(entries);
  for (const auto& e : entries) {
    if (e.size > ConsoleEndpoints::kMaxFileBytes) {
      spdlog::warn("console: {} left out: {} bytes, more than {}", e.path.string(), e.size, ConsoleEndpoints::kMaxFileBytes);
      continue;
    }
    if (snapshot.bytes + e.size > ConsoleEndpoints::kMaxTotalBytes) {
      spdlog::warn("console: {} left out: the console would pass {} bytes", e.path.string(),
                   ConsoleEndpoints::kMaxTotalBytes);
      continue;
    }
    auto body = read_whole(e.path, e.size);
    if (!body) {
      // Gone or unreadable since the folder was listed (a build in progress): its size or time
      // changes when it is written, and the next check reads the folder again.
      spdlog::debug("console: cannot read {}", e.path.string());
      continue;
    }
    ConsoleFile file;
    file.content_type = std::string(console_content_type(e.name));
    file.immutable = e.name.starts_with("assets/");
    const std::string hash = content_hash(*body);
    file.etag = "\"" + hash + "\"";
    file.gzip_etag = "\"" + hash + "-gz\"";
    if (auto packed = gzip(*body); !packed.empty() && packed.size() < body->size()) file.gzip = std::move(packed);
    file.body = std::move(*body);
    snapshot.bytes += file.body.size();
    snapshot.files.emplace(e.name, std::move(file));
  }
  return snapshot;
}

std::optional<std::string> console_file_name(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  // Absolute form ("http://host:8088/assets/x.js"): the path only.
  if (text::istarts_with(target, "http://") || text::istarts_with(target, "https://")) {
    const auto authority = target.find("://") + 3;
    const auto slash = target.find('/', authority);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') return std::nullopt;
  std::string name = text::percent_decode(target.substr(1));
  if (name.empty()) return std::string("index.html");
  return name;
}

std::string_view console_content_type(std::string_view name) noexcept {
  const auto dot = name.rfind('.');
  const auto slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "application/octet-stream";
  const std::string_view ext = name.substr(dot + 1);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"json", "application/json"},
      {"woff2", "font/woff2"},
      {"map", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
  }};
  for (const auto& [e, type] : kTypes) {
    if (text::iequals(ext, e)) return type;
  }
  return "application/octet-stream";
}

bool accepts_gzip(std::string_view accept_encoding) noexcept {
  std::optional<bool> named, any;
  for (std::string_view element : text::split(accept_encoding, ',')) {
    const auto semicolon = element.find(';');
    const std::string_view coding = text::trim(element.substr(0, semicolon));
    bool acceptable = true;  // no q: 1
    if (semicolon != std::string_view::npos) {
      for (std::string_view param : text::split(element.substr(semicolon + 1), ';')) {
        const auto eq = param.find('=');
        if (eq != std::string_view::npos && text::iequals(text::trim(param.substr(0, eq)), "q")) {
          acceptable = q_above_zero(param.substr(eq + 1));
        }
      }
    }
    if (text::iequals(coding, "gzip") || text::iequals(coding, "x-gzip")) {
      named = named.value_or(true) && acceptable;  // "gzip, gzip;q=0": refused
    } else if (coding == "*") {
      any = any.value_or(true) && acceptable;
    }
  }
  return named ? *named : any.value_or(false);
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) noexcept {
  std::string_view s = text::trim(if_none_match);
  if (s == "*") return true;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    if (s.compare(i, 2, "W/") == 0) i += 2;  // weak comparison: W/ does not matter
    if (i >= s.size() || s[i] != '"') return false;
    const auto close = s.find('"', i + 1);
    if (close == std::string_view::npos) return false;
    if (s.substr(i, close + 1 - i) == etag) return true;
    i = close + 1;
  }
  return false;
}

std::string console_missing_page(const fs::path& folder) {
  const std::string where = html_escape(folder.string());
  return "<!doctype html>\n"
         "<html lang=\"en\">\n"
         "<head><meta charset=\"utf-8\"><title>zkpush: the console is not built</title></head>\n"
         "<body>\n"
         "<h1>The web console is not built</h1>\n"
         "<p>This server serves its web console from <code>" +
         where +
         "</code>, which holds no <code>index.html</code>.</p>\n"
         "<p>Build it in the source tree with <code>make console</code> (needs Node.js and npm), or build "
         "everything and start the server with <code>make run</code>. A console built elsewhere can be "
         "given with <code>zkpush serve --console DIR</code>. The server picks it up without a restart.</p>\n"
         "<p>The devices (<code>/iclock</code>) and the JSON API (<code>/api/v1</code>) work without it.</p>\n"
         "</body>\n"
         "</html>\n";
}

// ---- the peer -------------------------------------------------------------------------------------------

ConsoleEndpoints::ConsoleEndpoints(fs::path folder, std::chrono::milliseconds check_every)
    : folder_(std::move(folder)), check_every_(check_every) {
  reload(true);
  reload_thread_ = std::thread([this] { reload_loop(); });
}

ConsoleEndpoints::~ConsoleEndpoints() {
  {
    std::lock_guard lock(reload_mutex_);
    stopping_ = true;
  }
  reload_cv_.notify_all();
  if (reload_thread_.joinable()) reload_thread_.join();
}

std::shared_ptr<const ConsoleSnapshot> ConsoleEndpoints::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void ConsoleEndpoints::maybe_check() {
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::int64_t next = next_check_ns_.load(std::memory_order_relaxed);
  if (now < next) return;
  if (!next_check_ns_.compare_exchange_strong(next, now + check_every_.count(), std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(reload_mutex_);
    check_wanted_ = true;
  }
  reload_cv_.notify_one();
}

void ConsoleEndpoints::reload_loop() {
  std::unique_lock lock(reload_mutex_);
  while (true) {
    reload_cv_.wait(lock, [this] { return stopping_ || check_wanted_; });
    if (stopping_) return;
    check_wanted_ = false;
    lock.unlock();
    try {
      reload(false);
    } catch (const std::exception& e) {
      spdlog::error("console: reading {}: {}", folder_.string(), e.what());
    }
    lock.lock();
  }
}

void ConsoleEndpoints::reload(bool at_start) {
  const auto current = snapshot();
  if (current && console_folder_signature(folder_) == current->signature) return;
  auto next = std::make_shared<const ConsoleSnapshot>(read_console_folder(folder_));
  std::size_t packed = 0;
  for (const auto& [name, file] : next->files) packed += file.gzip.empty() ? file.body.size() : file.gzip.size();
  if (next->built()) {
    spdlog::info("console: {} {} ({} files, {}, {} gzip)", at_start ? "serving" : "reloaded", folder_.string(),
                 next->files.size(), kilobytes(next->bytes), kilobytes(packed));
  } else if (at_start || (current && current->built())) {
    spdlog::warn("console: no index.html in {}: GET / answers 503 until the console is built there (make console)",
                 folder_.string());
  } else {
    spdlog::debug("console: {} changed, still no index.html", folder_.string());
  }
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(next);
}

std::optional<std::size_t> ConsoleEndpoints::body_limit(const http::RequestHead&, const std::string&) {
  return kConsoleBodyLimit;
}

void ConsoleEndpoints::handle(http::Request& request, const std::string&, const SharedResponder& respond) {
  maybe_check();
  const auto method = request.method();
  if (method != http::Verb::get && method != http::Verb::head) {
    spdlog::debug("{} {} {}: 405 only GET and HEAD", request.remote.address().to_string(), request.method_string(),
                  text::printable(request.target()));
    auto res = console_response(http::Status::method_not_allowed, "only GET and HEAD\n", "text/plain; charset=utf-8",
                                kRevalidate);
    res.set(field::allow, "GET, HEAD");
    return (*respond)(std::move(res));
  }
  const auto snap = snapshot();
  const auto name = console_file_name(request.target());
  const auto not_found = [&] {
    spdlog::debug("{} {} {}: 404 not in the console", request.remote.address().to_string(), request.method_string(),
                  text::printable(request.target()));
    (*respond)(console_response(http::Status::not_found, "not found\n", "text/plain; charset=utf-8", kRevalidate));
  };
  if (!name) return not_found();
  if (!snap->built()) {
    if (*name != "index.html") return not_found();
    return (*respond)(console_response(http::Status::service_unavailable, console_missing_page(folder_),
                                       "text/html; charset=utf-8", kRevalidate));
  }
  const auto found = snap->files.find(*name);
  if (found == snap->files.end()) return not_found();
  const ConsoleFile& file = found->second;
  const bool gzipped = !file.gzip.empty() && accepts_gzip(request.header("Accept-Encoding"));
  const std::string& etag = gzipped ? file.gzip_etag : file.etag;
  const std::string_view cache = file.immutable ? kImmutable : kRevalidate;
  const std::string_view if_none_match = request.header("If-None-Match");
  const bool fresh = !if_none_match.empty() && etag_matches(if_none_match, etag);
  // A 304 carries what the cache needs to refresh its copy (ETag, Cache-Control, Vary), not the
  // body's own fields.
  auto res = fresh ? console_response(http::Status::not_modified, {}, file.content_type, cache)
                   : console_response(http::Status::ok, gzipped ? file.gzip : file.body, file.content_type, cache);
  if (fresh) res.erase(field::content_type);
  if (gzipped && !fresh) res.set(field::content_encoding, "gzip");
  res.set(field::etag, etag);
  if (!file.gzip.empty()) res.set(field::vary, "Accept-Encoding");
  (*respond)(std::move(res));
}

}  // namespace zkpush::front
