#include "cli/data_backup.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "server/data_lock.hpp"
#include "storage/open_store.hpp"

namespace zkpush::cli {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kBackupFormat = "zkpush-backup";
constexpr int kBackupFormatVersion = 1;
constexpr const char* kBackupManifest = "manifest.json";
constexpr const char* kBackupDataPrefix = "data/";
constexpr const char* kBackupDatabase = "zkpush.db";
constexpr std::size_t kBackupManifestMax = 16 << 20;

[[noreturn]] void backup_fail(const std::string& message) { throw std::runtime_error(message); }

std::string backup_errno(const std::string& what) { return what + ": " + std::generic_category().message(errno); }

// SHA-256 over pieces, as lower-case hex.
class BackupSha256 {
 public:
  BackupSha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) backup_fail("SHA-256: cannot start");
  }
  ~BackupSha256() { EVP_MD_CTX_free(ctx_); }
  BackupSha256(const BackupSha256&) = delete;
  BackupSha256& operator=(const BackupSha256&) = delete;
  void add(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, digest, &len);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += kDigits[digest[i] >> 4];
      out += kDigits[digest[i] & 15];
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// A folder removed with everything in it when it goes out of scope, unless released.
struct BackupTempDir {
  fs::path path;
  ~BackupTempDir() {
    if (path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct BackupFd {
  int fd = -1;
  ~BackupFd() {
    if (fd >= 0) ::close(fd);
  }
};

void backup_fsync_dir(const fs::path& dir) {
  BackupFd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0 || ::fsync(d.fd) != 0) backup_fail(backup_errno("fsync " + dir.string()));
}

std::string backup_mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string backup_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Whether a path of the data folder (relative, generic form) is left out of a backup, and why.
std::string backup_left_out(const fs::path& relative) {
  const std::string top = relative.begin()->string();
  if (relative.has_parent_path() == false) {
    if (top == kBackupDatabase) return "the database, copied through SQLite";
    if (top == "zkpush.db-wal" || top == "zkpush.db-shm" || top == "zkpush.db-journal") return "the live database's own";
    if (top == server::kDataLockFile) return "the server's lock";
  }
  for (const auto& part : relative) {
    if (part.string().starts_with(".")) return "a dot-name (an upload in progress or a temporary file)";
  }
  return {};
}

struct BackupArchiveWriteDeleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct BackupArchiveReadDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct BackupEntryDeleter {
  void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

class BackupWriter {
 public:
  explicit BackupWriter(int fd) : a_(archive_write_new()) {
    if (!a_ || archive_write_add_filter_gzip(a_.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK || archive_write_open_fd(a_.get(), fd) != ARCHIVE_OK) {
      fail("cannot start the archive");
    }
  }
  void folder(const std::string& name, mode_t mode, std::time_t mtime) {
    std::unique_ptr<archive_entry, BackupEntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    archive_entry_set_perm(e.get(), mode & 07777);
    archive_entry_set_mtime(e.get(), mtime, 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail(name);
  }
  // Adds the file at `path` as `name`; its entry in the manifest.
  Json file(const std::string& name, const fs::path& path) {
    BackupFd in{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
    if (in.fd < 0) backup_fail(backup_errno("cannot read " + path.string()));
    struct stat st {};
    if (::fstat(in.fd, &st) != 0) backup_fail(backup_errno("cannot read " + path.string()));
    std::unique_ptr<archive_entry, BackupEntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_size(e.get(), st.st_size);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail(name);
    BackupSha256 sha;
    std::vector<char> buffer(1 << 16);
    auto left = static_cast<std::uint64_t>(st.st_size);
    while (left > 0) {
      const ssize_t n = ::read(in.fd, buffer.data(), std::min<std::uint64_t>(buffer.size(), left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) backup_fail(backup_errno("cannot read " + path.string()));
      // The files of the folder are replaced by rename, never rewritten in place: a file that
      // shrinks while read was not written by zkpush.
      if (n == 0) backup_fail(path.string() + " shrank while it was read; try again");
      sha.add(buffer.data(), static_cast<std::size_t>(n));
      if (archive_write_data(a_.get(), buffer.data(), static_cast<std::size_t>(n)) != n) fail(name);
      left -= static_cast<std::uint64_t>(n);
    }
    return Json{{"path", name},
                {"size", static_cast<std::uint64_t>(st.st_size)},
                {"mode", backup_mode_text(st.st_mode)},
                {"sha256", sha.hex()}};
  }
  void text(const std::string& name, const std::string& content) {
    std::unique_ptr<archive_entry, BackupEntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0600);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(e.get(), std::time(nullptr), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK ||
        archive_write_data(a_.get(), content.data(), content.size()) != static_cast<la_ssize_t>(content.size())) {
      fail(name);
    }
  }
  void close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("closing the archive");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    const char* why = a_ ? archive_error_string(a_.get()) : nullptr;
    backup_fail("writing the backup: " + what + ": " + (why != nullptr ? why : "libarchive error"));
  }
  std::unique_ptr<archive, BackupArchiveWriteDeleter> a_;
};

// A temporary folder beside `near` ("<dir>/.zkpush-<what>-XXXXXX").
fs::path backup_make_temp(const fs::path& dir, const std::string& what) {
  std::string pattern = (dir / (".zkpush-" + what + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) backup_fail(backup_errno("cannot create a temporary folder in " + dir.string()));
  return pattern;
}

// ---- restore --------------------------------------------------------------------------------------------

// The path below data/ an entry's name gives, or a refusal: only relative paths of plain parts.
fs::path restore_entry_path(const std::string& name) {
  if (name.empty() || name.front() == '/') backup_fail("the archive holds an absolute path (refused): " + name);
  std::string rest = name;
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  fs::path relative;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= rest.size(); ++i) {
    if (i < rest.size() && rest[i] != '/') continue;
    const std::string part = rest.substr(start, i - start);
    start = i + 1;
    if (part == "..") backup_fail("the archive holds a path leading out of its folder (refused): " + name);
    if (part.empty() || part == ".") backup_fail("the archive holds an unusual path (refused): " + name);
    relative /= part;
  }
  return relative;
}

struct RestoredFile {
  std::uint64_t size = 0;
  std::string sha256;
};

}  // namespace

BackupSummary create_backup(const BackupOptions& options) {
  const fs::path data = options.data_dir;
  std::error_code ec;
  if (!fs::is_directory(data, ec)) backup_fail(data.string() + ": no such folder");
  if (!fs::is_regular_file(data / kBackupDatabase, ec)) {
    backup_fail(data.string() + " holds no " + std::string(kBackupDatabase) + ": not the data folder of zkpush serve");
  }
  const fs::path file = fs::absolute(options.file);
  if (fs::is_directory(file, ec)) backup_fail(file.string() + " is a folder; give the backup file's name");
  if (fs::exists(file, ec) && !options.force) backup_fail(file.string() + " already exists (--force replaces it)");
  const fs::path out_dir = file.parent_path();
  if (!fs::is_directory(out_dir, ec)) backup_fail(out_dir.string() + ": no such folder");

  BackupTempDir temp{backup_make_temp(out_dir, "backup")};
  BackupSummary summary;
  const fs::path db_copy = temp.path / kBackupDatabase;
  try {
    const auto copy = storage::copy_store_file("sqlite:" + (data / kBackupDatabase).string(), db_copy.string());
    summary.schema_version = copy.schema_version;
    summary.database_bytes = copy.bytes;
    // The copy keeps the live database's mode (0600 under the service's UMask), not the umask's.
    struct stat st {};
    if (::stat((data / kBackupDatabase).c_str(), &st) == 0) ::chmod(db_copy.c_str(), st.st_mode & 0777);
  } catch (const std::exception& e) {
    backup_fail(std::string("copying the database: ") + e.what());
  }

  const fs::path archive_path = temp.path / "backup.tar.gz";
  BackupFd out{::open(archive_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (out.fd < 0) backup_fail(backup_errno("cannot create " + archive_path.string()));
  BackupWriter writer(out.fd);
  Json files = Json::array();
  files.push_back(writer.file(kBackupDataPrefix + std::string(kBackupDatabase), db_copy));
  // The rest of the folder, in a stable order; what the backup is written to is never part of it.
  const fs::path file_canonical = fs::weakly_canonical(file);
  std::set<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(data, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path relative = it->path().lexically_relative(data);
    if (fs::weakly_canonical(it->path()) == fs::weakly_canonical(temp.path)) {  // a backup written into the folder
      it.disable_recursion_pending();
      continue;
    }
    if (const auto why = backup_left_out(relative); !why.empty()) {
      if (why.starts_with("a dot-name")) summary.skipped += relative.string() + ": left out, " + why + "\n";
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (fs::weakly_canonical(it->path()) == file_canonical) continue;
    entries.insert(it->path());
  }
  if (ec) backup_fail("reading " + data.string() + ": " + ec.message());
  for (const auto& path : entries) {
    const fs::path relative = path.lexically_relative(data);
    const auto status = fs::symlink_status(path, ec);
    const std::string name = kBackupDataPrefix + relative.generic_string();
    if (fs::is_directory(status)) {
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) backup_fail(backup_errno("cannot read " + path.string()));
      writer.folder(name, st.st_mode, st.st_mtim.tv_sec);
    } else if (fs::is_regular_file(status)) {
      auto entry = writer.file(name, path);
      summary.other_bytes += entry["size"].get<std::uint64_t>();
      ++summary.other_files;
      files.push_back(std::move(entry));
    } else {
      summary.skipped += relative.string() + ": left out, not a regular file or folder (a link?)\n";
    }
  }
  const auto now = std::time(nullptr);
  Json manifest{{"format", kBackupFormat},
                {"format_version", kBackupFormatVersion},
                {"zkpush_version", ZKPUSH_VERSION},
                {"schema_version", summary.schema_version},
                {"created", backup_utc(now)},
                {"created_unix", static_cast<std::int64_t>(now)},
                {"data_dir", fs::absolute(data).lexically_normal().string()},
                {"files", std::move(files)}};
  writer.text(kBackupManifest, manifest.dump(2) + "\n");
  writer.close();
  if (::fsync(out.fd) != 0) backup_fail(backup_errno("fsync " + archive_path.string()));
  summary.archive_bytes = fs::file_size(archive_path);
  if (::rename(archive_path.c_str(), file.c_str()) != 0) backup_fail(backup_errno("cannot write " + file.string()));
  backup_fsync_dir(out_dir);
  return summary;
}

RestoreSummary restore_backup(const RestoreOptions& options) {
  const fs::path data = fs::absolute(options.data_dir).lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(options.file, ec)) backup_fail(options.file.string() + ": no such file");
  if (fs::exists(data, ec) && !fs::is_directory(data, ec)) backup_fail(data.string() + " exists and is not a folder");
  // A running server holds the folder's lock: checked before anything is created in it.
  if (server::DataLock::held(data)) {
    backup_fail("a zkpush server is running on " + data.string() + " (its lock " +
                (data / server::kDataLockFile).string() + " is held): stop it first");
  }
  std::vector<fs::path> existing;
  for (auto it = fs::directory_iterator(data, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != server::kDataLockFile) existing.push_back(it->path());
  }
  if (!existing.empty() && !options.force) {
    backup_fail(data.string() + " is not empty (" + std::to_string(existing.size()) + " entries, e.g. " +
                existing.front().filename().string() + "); --force replaces its content");
  }
  fs::create_directories(data, ec);
  if (ec) backup_fail("cannot create " + data.string() + ": " + ec.message());
  // Held until the end: no server starts on the folder while its content is being replaced.
  server::DataLock lock(data);

  BackupTempDir staging{backup_make_temp(data, "restore")};
  std::unique_ptr<archive, BackupArchiveReadDeleter> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  const std::string where = options.file.string();
  auto damaged = [&a, &where](const std::string& what) {
    const char* why = archive_error_string(a.get());
    backup_fail(where + ": not a readable zkpush backup (" + what + (why != nullptr ? std::string(": ") + why : "") + ")");
  };
  if (archive_read_open_filename(a.get(), options.file.c_str(), 1 << 16) != ARCHIVE_OK) damaged("cannot open");

  std::map<std::string, RestoredFile> restored;  // by archive name
  std::set<std::string> names;
  std::string manifest_text;
  bool have_manifest = false;
  std::vector<char> buffer(1 << 16);
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) damaged("reading an entry's header");
    const std::string name = archive_entry_pathname(entry) != nullptr ? archive_entry_pathname(entry) : "";
    const fs::path relative = restore_entry_path(name);
    const std::string key = relative.generic_string();
    if (!names.insert(key).second) backup_fail(fmt::format("{}: the archive holds {} twice", where, name));
    const auto type = archive_entry_filetype(entry);
    if (archive_entry_hardlink(entry) != nullptr || (type != AE_IFREG && type != AE_IFDIR)) {
      backup_fail(fmt::format("{}: the archive's entry {} is not a regular file or folder (refused)", where, name));
    }
    if (key == kBackupManifest && type == AE_IFREG) {
      if (archive_entry_size(entry) > static_cast<la_int64_t>(kBackupManifestMax)) backup_fail(where + ": the manifest is too large");
      while (true) {
        const la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
        if (n < 0) damaged("reading " + name);
        if (n == 0) break;
        manifest_text.append(buffer.data(), static_cast<std::size_t>(n));
        if (manifest_text.size() > kBackupManifestMax) backup_fail(where + ": the manifest is too large");
      }
      have_manifest = true;
      continue;
    }
    if (*relative.begin() != "data" || relative == "data") {
      if (relative == "data" && type == AE_IFDIR) continue;
      backup_fail(fmt::format("{}: the archive holds {}, outside data/ (refused)", where, name));
    }
    const fs::path inside = relative.lexically_relative("data");
    if (inside == server::kDataLockFile) continue;
    const fs::path target = staging.path / inside;
    fs::create_directories(target.parent_path(), ec);
    if (ec) backup_fail("cannot create " + target.parent_path().string() + ": " + ec.message());
    const mode_t mode = archive_entry_perm(entry) & 0777;
    if (type == AE_IFDIR) {
      if (::mkdir(target.c_str(), mode | 0700) != 0 && errno != EEXIST) backup_fail(backup_errno("cannot create " + target.string()));
      continue;
    }
    BackupFd out{::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
    if (out.fd < 0) backup_fail(backup_errno("cannot create " + target.string()));
    BackupSha256 sha;
    RestoredFile file;
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buffer.data(), buffer.size());
      if (n < 0) damaged("reading " + name);
      if (n == 0) break;
      sha.add(buffer.data(), static_cast<std::size_t>(n));
      file.size += static_cast<std::uint64_t>(n);
      for (la_ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(out.fd, buffer.data() + done, static_cast<std::size_t>(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) backup_fail(backup_errno("cannot write " + target.string()));
        done += w;
      }
    }
    if (::fchmod(out.fd, mode) != 0 || ::fsync(out.fd) != 0) backup_fail(backup_errno("cannot write " + target.string()));
    file.sha256 = sha.hex();
    restored.emplace(key, std::move(file));
  }

  // The manifest: what the archive must hold, byte for byte.
  if (!have_manifest) backup_fail(where + ": no " + std::string(kBackupManifest) + " in the archive: not a zkpush backup");
  Json manifest = Json::parse(manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || manifest.value("format", "") != kBackupFormat) {
    backup_fail(where + ": its manifest is not a zkpush backup's");
  }
  if (manifest.value("format_version", 0) != kBackupFormatVersion) {
    backup_fail(where + ": backup format version " + manifest.value("format_version", Json(0)).dump() +
                ", this zkpush reads version " + std::to_string(kBackupFormatVersion));
  }
  RestoreSummary summary;
  summary.created = manifest.value("created", "");
  summary.zkpush_version = manifest.value("zkpush_version", "");
  summary.schema_version = manifest.value("schema_version", 0);
  summary.latest_schema_version = storage::latest_store_schema_version();
  if (summary.schema_version > summary.latest_schema_version) {
    backup_fail(where + ": its database has schema version " + std::to_string(summary.schema_version) +
                ", newer than this zkpush knows (" + std::to_string(summary.latest_schema_version) +
                "); restore it with zkpush " + summary.zkpush_version + " or later");
  }
  const Json files = manifest.value("files", Json::array());
  if (!files.is_array()) backup_fail(where + ": its manifest lists no files");
  std::set<std::string> listed;
  for (const auto& f : files) {
    if (!f.is_object()) backup_fail(where + ": its manifest lists a file without its facts");
    const std::string path = f.value("path", "");
    listed.insert(restore_entry_path(path).generic_string());
    auto it = restored.find(restore_entry_path(path).generic_string());
    if (it == restored.end()) backup_fail(fmt::format("{}: {} is missing from the archive (damaged or cut short)", where, path));
    if (it->second.size != f.value("size", std::uint64_t{0}) || it->second.sha256 != f.value("sha256", "")) {
      backup_fail(fmt::format("{}: {} does not match its checksum in the manifest (the backup is damaged)", where, path));
    }
    summary.bytes += it->second.size;
    ++summary.files;
  }
  for (const auto& [name, file] : restored) {
    if (!listed.contains(name)) backup_fail(fmt::format("{}: {} is not in the manifest (the backup was altered)", where, name));
  }
  const fs::path db = staging.path / kBackupDatabase;
  if (!fs::is_regular_file(db, ec)) backup_fail(where + ": holds no database (data/zkpush.db)");
  try {
    const auto facts = storage::inspect_store_file("sqlite:" + db.string());
    if (facts.check != "ok") backup_fail(where + ": its database fails SQLite's check: " + facts.check);
    if (facts.schema_version != summary.schema_version) {
      backup_fail(where + ": its database has schema version " + std::to_string(facts.schema_version) +
                  ", its manifest says " + std::to_string(summary.schema_version));
    }
  } catch (const std::runtime_error& e) {
    if (std::string_view(e.what()).starts_with(where)) throw;
    backup_fail(where + ": its database cannot be read: " + e.what());
  }

  // Everything checked: the folder's old content goes aside, the new one takes its place, then the
  // old one goes. A failure while moving puts the old content back.
  std::vector<fs::path> staged;
  for (auto it = fs::directory_iterator(staging.path, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    staged.push_back(it->path().filename());
  }
  BackupTempDir replaced;
  if (!existing.empty()) {
    replaced.path = backup_make_temp(data, "replaced");
    for (const auto& old : existing) {
      fs::rename(old, replaced.path / old.filename(), ec);
      if (ec) {
        for (auto it = fs::directory_iterator(replaced.path); it != fs::directory_iterator(); ++it) {
          std::error_code back;
          fs::rename(it->path(), data / it->path().filename(), back);
        }
        backup_fail("cannot move " + old.string() + " aside: " + ec.message() + " (nothing was changed)");
      }
    }
    summary.replaced = true;
  }
  for (const auto& name : staged) {
    fs::rename(staging.path / name, data / name, ec);
    if (ec) {
      const std::string why = ec.message();
      for (const auto& done : staged) {
        std::error_code ignore;
        if (fs::exists(data / done, ignore) && !fs::exists(staging.path / done, ignore)) fs::remove_all(data / done, ignore);
      }
      if (!replaced.path.empty()) {
        for (auto it = fs::directory_iterator(replaced.path); it != fs::directory_iterator(); ++it) {
          std::error_code back;
          fs::rename(it->path(), data / it->path().filename(), back);
        }
      }
      backup_fail("cannot move the restored " + name.string() + " into " + data.string() + ": " + why +
                  " (the previous content was put back)");
    }
  }
  backup_fsync_dir(data);
  return summary;
}

}  // namespace zkpush::cli
