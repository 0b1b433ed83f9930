// `zkpush backup` and `zkpush restore` on the real binary: a backup taken while a server runs and a
// device uploads, restored into a new folder where a second server lists every event the first had
// acknowledged before the backup began, with the same API token and files; the refusals (a
// non-empty folder without --force, a running server, a damaged archive, an entry leading out of
// the folder or that is a link, a database newer than the binary, an existing backup file). Also
// `zkpush healthcheck` and SIGHUP, which `systemctl reload` sends, leaving the server running.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/run_zkpush.hpp"
#include "protocol/codecs_session.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "server/http/test_client.hpp"
#include "storage/open_store.hpp"

namespace {

namespace fs = std::filesystem;
namespace p = zkpush::protocol;
using zkpush::cli_test::run_zkpush;
using zkpush::server::http::test::RawResponse;
using zkpush::server::http::test::TestClient;

// `zkpush serve --listen 127.0.0.1:0 --data <data>`, read until it serves (port() 0 when it ended
// first); the environment without ZKPUSH_* variables (cli/run_zkpush.hpp).
class BackupServer : public zkpush::cli_test::ZkpushProcess {
 public:
  explicit BackupServer(const fs::path& data)
      : ZkpushProcess({"serve", "--listen", "127.0.0.1:0", "--data", data.string(), "--threads", "2"}) {
    wait_serving();
  }
  std::uint16_t port() const { return static_cast<std::uint16_t>(ZkpushProcess::port()); }
};

std::optional<RawResponse> backup_roundtrip(std::uint16_t port, const std::string& bytes) {
  try {
    TestClient client(port);
    if (!client.send(bytes)) return std::nullopt;
    return client.read_response(std::chrono::milliseconds(10000));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string backup_device_request(const p::OutgoingRequest& r, const std::string& token) {
  std::string headers = "User-Agent: iClock Proxy/1.09\r\n";
  for (const auto& h : r.headers) headers += h.name + ": " + h.value + "\r\n";
  if (!token.empty()) headers += "Cookie: token=" + token + "\r\n";
  return zkpush::server::http::test::request(r.method, r.target, r.body, headers);
}

std::optional<RawResponse> backup_api_get(std::uint16_t port, const std::string& target, const std::string& token) {
  return backup_roundtrip(port, zkpush::server::http::test::request("GET", target, {}, "Authorization: Bearer " + token + "\r\n"));
}

std::string backup_read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string backup_first_line(const fs::path& path) {
  std::string line;
  std::ifstream in(path);
  std::getline(in, line);
  return line;
}

// A tar.gz with the given entries (name, content; a content starting with "->" makes a symbolic link
// to the rest), as an attacker would write one.
void backup_write_tar(const fs::path& file, const std::vector<std::pair<std::string, std::string>>& entries) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, file.c_str()), ARCHIVE_OK);
  for (const auto& [name, content] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    if (content.rfind("->", 0) == 0) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, content.substr(2).c_str());
      archive_entry_set_perm(e, 0777);
      archive_write_header(a, e);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
      archive_write_header(a, e);
      archive_write_data(a, content.data(), content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class BackupRestore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-backup-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // A data folder as `zkpush serve` leaves it, made without a server: the store, an API token, a file.
  fs::path make_data(const std::string& name) const {
    const fs::path data = dir_ / name;
    fs::create_directories(data / "files");
    zkpush::storage::open_store("sqlite:" + (data / "zkpush.db").string());
    std::ofstream(data / "api-token") << "token-of-" << name << "\n";
    fs::permissions(data / "api-token", fs::perms::owner_read | fs::perms::owner_write);
    std::ofstream(data / "files" / "fw.bin") << "firmware bytes";
    return data;
  }
  std::string backup_of(const fs::path& data, const std::string& name) const {
    const auto file = (dir_ / name).string();
    auto [status, out] = run_zkpush("backup --data " + data.string() + " " + file, true);
    EXPECT_EQ(status, 0) << out;
    return file;
  }
  fs::path dir_;
};

TEST_F(BackupRestore, ARoundTripWhileADeviceUploadsKeepsEveryAcknowledgedEvent) {
  const fs::path data = dir_ / "data";
  fs::create_directories(data / "files");
  const std::string firmware(100000, 'F');
  std::ofstream(data / "files" / "firmware.bin", std::ios::binary) << firmware;
  BackupServer server(data);
  ASSERT_NE(server.port(), 0) << server.log();
  const std::uint16_t port = server.port();
  const std::string api_token = backup_first_line(data / "api-token");
  ASSERT_FALSE(api_token.empty());

  // A device registers, then uploads batches of rtlog records until told to stop.
  const std::string sn = "BACKUP0001";
  ASSERT_TRUE(backup_roundtrip(port, backup_device_request(p::format_init_request(sn), "")));
  auto reg = backup_roundtrip(port, backup_device_request(p::format_registry_request(sn, p::Record{{"DeviceType", "acc"}}), ""));
  ASSERT_TRUE(reg.has_value());
  const auto accepted = p::parse_registry_answer(reg->status, reg->body);
  ASSERT_TRUE(accepted.accepted) << reg->body;
  auto push = backup_roundtrip(port, backup_device_request(p::format_push_config_request(sn), ""));
  ASSERT_TRUE(push && push->status == 200);
  const std::string token =
      p::compute_token(accepted.registry_code, sn, std::string(p::parse_config_answer(push->body).get_or("SessionID", "")));

  std::mutex mutex;
  std::set<std::int64_t> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0};
  std::thread uploader([&] {
    constexpr int kBatch = 20;
    for (std::int64_t batch = 0; !stop; ++batch) {
      std::vector<p::Record> records;
      for (int i = 0; i < kBatch; ++i) {
        const auto index = batch * kBatch + i + 1;
        records.push_back(p::Record{{"time", "2024-05-06 07:08:09"}, {"pin", "7"}, {"cardno", "0"}, {"eventaddr", "1"},
                                    {"event", "0"}, {"inoutstatus", "0"}, {"verifytype", "1"}, {"index", std::to_string(index)}});
      }
      auto r = backup_roundtrip(port, backup_device_request(p::format_rtlog_upload(sn, records), token));
      if (r && r->status == 200) {
        std::lock_guard lock(mutex);
        for (int i = 0; i < kBatch; ++i) acknowledged.insert(batch * kBatch + i + 1);
        ++batches;
      }
    }
  });
  for (int i = 0; i < 3000 && batches < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(batches.load(), 5) << server.log();
  std::set<std::int64_t> before;
  {
    std::lock_guard lock(mutex);
    before = acknowledged;
  }
  const std::string file = (dir_ / "backup.tar.gz").string();
  auto [status, out] = run_zkpush("backup --data " + data.string() + " " + file, true);
  const int during_or_after = batches;
  for (int i = 0; i < 3000 && batches < during_or_after + 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  uploader.join();
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("backup of " + data.string() + " written to " + file), std::string::npos) << out;
  EXPECT_EQ(::access(file.c_str(), R_OK), 0);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the backup holds the API token";

  // Restored into a new folder while the first server still runs; a second server on it.
  const fs::path data2 = dir_ / "data2";
  auto [restored, said] = run_zkpush("restore " + file + " --data " + data2.string(), true);
  ASSERT_EQ(restored, 0) << said;
  EXPECT_NE(said.find("restored " + file), std::string::npos) << said;
  ASSERT_EQ(::stat((data2 / "api-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  BackupServer second(data2);
  ASSERT_NE(second.port(), 0) << second.log();
  std::set<std::int64_t> listed;
  for (std::int64_t after = 0;;) {
    auto page = backup_api_get(second.port(), "/api/v1/events?sn=" + sn + "&limit=1000&after_id=" + std::to_string(after), api_token);
    ASSERT_TRUE(page && page->status == 200) << (page ? page->body : "no answer");
    const auto events = nlohmann::json::parse(page->body);
    if (events.empty()) break;
    for (const auto& e : events) {
      listed.insert(e.at("index").get<std::int64_t>());
      after = e.at("id").get<std::int64_t>();
    }
  }
  std::size_t missing = 0;
  for (auto index : before) missing += listed.count(index) == 0 ? 1 : 0;
  std::printf("acknowledged before the backup: %zu events; batches acknowledged by its end: %d (before: %zu); "
              "listed after the restore: %zu\n",
              before.size(), during_or_after, before.size() / 20, listed.size());
  EXPECT_EQ(missing, 0u) << "of " << before.size() << " events acknowledged before the backup began";
  {
    std::lock_guard lock(mutex);
    EXPECT_LE(listed.size(), acknowledged.size());  // nothing the first server did not store
  }
  auto refused = backup_api_get(second.port(), "/api/v1/events?limit=1", "not-the-token");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  auto fw = backup_roundtrip(second.port(), zkpush::server::http::test::request("GET", "/files/firmware.bin"));
  ASSERT_TRUE(fw.has_value());
  EXPECT_EQ(fw->status, 200);
  EXPECT_TRUE(fw->body == firmware) << fw->body.size() << " bytes";

  // A restore under the running second server is refused, even with --force, and changes nothing.
  auto [under, why] = run_zkpush("restore " + file + " --data " + data2.string() + " --force", true);
  EXPECT_EQ(under, 1) << why;
  EXPECT_NE(why.find("a zkpush server is running on"), std::string::npos) << why;
  // And so is a second server on the same folder.
  BackupServer third(data2);
  EXPECT_EQ(third.port(), 0);
  EXPECT_NE(third.log().find("in use by another zkpush process"), std::string::npos) << third.log();
  EXPECT_EQ(second.stop(), 0) << second.log();
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST_F(BackupRestore, ANonEmptyFolderIsReplacedOnlyWithForce) {
  const auto file = backup_of(make_data("data"), "b.tar.gz");
  const fs::path target = dir_ / "target";
  fs::create_directories(target / "old-files");
  std::ofstream(target / "stray.txt") << "left from before";
  auto [status, out] = run_zkpush("restore " + file + " --data " + target.string(), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("is not empty"), std::string::npos) << out;
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(target / "stray.txt"));
  EXPECT_FALSE(fs::exists(target / "zkpush.db"));

  auto [forced, said] = run_zkpush("restore " + file + " --data " + target.string() + " --force", true);
  ASSERT_EQ(forced, 0) << said;
  EXPECT_NE(said.find("previous content was replaced"), std::string::npos) << said;
  EXPECT_FALSE(fs::exists(target / "stray.txt"));
  EXPECT_FALSE(fs::exists(target / "old-files"));
  EXPECT_EQ(backup_first_line(target / "api-token"), "token-of-data");
  EXPECT_EQ(backup_read_file(target / "files" / "fw.bin"), "firmware bytes");
  auto store = zkpush::storage::open_store("sqlite:" + (target / "zkpush.db").string());
  EXPECT_EQ(store->integrity_check(), "ok");
  // Nothing of the staging is left behind.
  for (const auto& entry : fs::directory_iterator(target)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".zkpush-")) << entry.path();
  }
}

TEST_F(BackupRestore, ADamagedArchiveIsRefused) {
  const auto file = backup_of(make_data("data"), "b.tar.gz");
  std::string bytes = backup_read_file(file);
  ASSERT_GT(bytes.size(), 200u);
  // A byte changed in the middle of the compressed stream, and the archive cut short.
  std::string flipped = bytes;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
  std::ofstream(dir_ / "flipped.tar.gz", std::ios::binary) << flipped;
  std::ofstream(dir_ / "short.tar.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir_ / "text.tar.gz") << "not an archive at all";
  for (const char* name : {"flipped.tar.gz", "short.tar.gz", "text.tar.gz"}) {
    const fs::path target = dir_ / (std::string("into-") + name);
    auto [status, out] = run_zkpush("restore " + (dir_ / name).string() + " --data " + target.string(), true);
    EXPECT_EQ(status, 1) << name << ": " << out;
    EXPECT_NE(out.find("zkpush restore: "), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(target / "zkpush.db")) << name;
  }
}

TEST_F(BackupRestore, ADatabaseChangedAfterTheBackupWasWrittenFailsItsChecksum) {
  // A well-formed archive whose database is not the one its manifest describes.
  const auto file = backup_of(make_data("data"), "b.tar.gz");
  const fs::path unpacked = dir_ / "unpacked";
  fs::create_directories(unpacked);
  ASSERT_EQ(std::system(("tar -xzf " + file + " -C " + unpacked.string()).c_str()), 0);
  std::ofstream(unpacked / "data" / "api-token", std::ios::trunc) << "another token\n";
  const std::string repacked = (dir_ / "repacked.tar.gz").string();
  ASSERT_EQ(std::system(("tar -czf " + repacked + " -C " + unpacked.string() + " data manifest.json").c_str()), 0);
  auto [status, out] = run_zkpush("restore " + repacked + " --data " + (dir_ / "target").string(), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("data/api-token does not match its checksum"), std::string::npos) << out;
}

TEST_F(BackupRestore, EntriesLeadingOutOfTheFolderOrLinksAreRefused) {
  const fs::path outside = dir_ / "evil";
  const std::string manifest = R"({"format":"zkpush-backup","format_version":1,"schema_version":1,"files":[]})";
  const std::vector<std::vector<std::pair<std::string, std::string>>> archives{
      {{"data/../../evil", "x"}, {"manifest.json", manifest}},
      {{"/tmp/evil-absolute", "x"}, {"manifest.json", manifest}},
      {{"data/link", "->/etc/passwd"}, {"manifest.json", manifest}},
      {{"elsewhere/file", "x"}, {"manifest.json", manifest}},
  };
  int n = 0;
  for (const auto& entries : archives) {
    const fs::path file = dir_ / ("attack-" + std::to_string(++n) + ".tar.gz");
    backup_write_tar(file, entries);
    const fs::path target = dir_ / "target" / "data";
    auto [status, out] = run_zkpush("restore " + file.string() + " --data " + target.string(), true);
    EXPECT_EQ(status, 1) << entries.front().first << ": " << out;
    EXPECT_NE(out.find("refused"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(outside));
    EXPECT_FALSE(fs::exists(target / "link"));
  }
}

TEST_F(BackupRestore, ADatabaseNewerThanTheBinaryIsRefused) {
  const fs::path data = make_data("data");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data / "zkpush.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 9999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const auto file = backup_of(data, "newer.tar.gz");
  auto [status, out] = run_zkpush("restore " + file + " --data " + (dir_ / "target").string(), true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("schema version 9999, newer than this zkpush knows"), std::string::npos) << out;
  // And the server says the same of such a folder.
  BackupServer server(data);
  EXPECT_EQ(server.port(), 0);
  EXPECT_NE(server.log().find("is newer than this zkpush"), std::string::npos) << server.log();
}

TEST_F(BackupRestore, BackupRefusesAnExistingFileAndAFolderThatIsNotZkpushs) {
  const fs::path data = make_data("data");
  const auto file = backup_of(data, "b.tar.gz");
  const std::string first = backup_read_file(file);
  auto [status, out] = run_zkpush("backup --data " + data.string() + " " + file, true);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("already exists (--force replaces it)"), std::string::npos) << out;
  EXPECT_EQ(backup_read_file(file), first);
  auto [forced, said] = run_zkpush("backup --force --data " + data.string() + " " + file, true);
  EXPECT_EQ(forced, 0) << said;
  fs::create_directories(dir_ / "empty");
  auto [none, why] = run_zkpush("backup --data " + (dir_ / "empty").string() + " " + (dir_ / "x.tar.gz").string(), true);
  EXPECT_EQ(none, 1) << why;
  EXPECT_NE(why.find("not the data folder of zkpush serve"), std::string::npos) << why;
  EXPECT_FALSE(fs::exists(dir_ / "x.tar.gz"));
  // No temporary file is left beside the backups.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".zkpush-")) << entry.path();
  }
}

TEST_F(BackupRestore, HealthcheckAndSighup) {
  BackupServer server(dir_ / "data");
  ASSERT_NE(server.port(), 0) << server.log();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/healthz";
  auto [status, out] = run_zkpush("healthcheck " + url, true);
  EXPECT_EQ(status, 0) << out;
  // SIGHUP (systemctl reload) is logged; the server goes on serving.
  server.signal(SIGHUP);
  EXPECT_TRUE(server.wait_log("SIGHUP")) << server.log();
  auto [again, said] = run_zkpush("healthcheck " + url, true);
  EXPECT_EQ(again, 0) << said;
  EXPECT_EQ(server.stop(), 0) << server.log();
  auto [down, why] = run_zkpush("healthcheck " + url, true);
  EXPECT_EQ(down, 1) << why;
  EXPECT_NE(why.find("zkpush healthcheck: " + url), std::string::npos) << why;
  auto [bad, usage] = run_zkpush("healthcheck ftp://x", true);
  EXPECT_EQ(bad, 2) << usage;
}

}  // namespace
