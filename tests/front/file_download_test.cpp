// Firmware downloads end to end (9.4.1 UPGRADE): a 3 MiB package in <data>/files pulled over real
// sockets in 1 MiB ranges from /files/<name> (method 3) and through /iclock/file?SN=&url=
// (methods 1 and 2), whole, base64, and the refusals (fixture in serve_fixture.hpp).
#include <filesystem>
#include <fstream>
#include <random>

#include "protocol/base64.hpp"
#include "server/serve_fixture.hpp"

namespace zkpush::server {
namespace {

using namespace e2e;  // NOLINT
namespace fs = std::filesystem;

constexpr std::size_t kMiB = std::size_t{1} << 20;

class FileDownloadTest : public ServeFixture {
 protected:
  // Starts the server with the default folder (<data>/files) holding a 3 MiB random emfw.cfg.
  void start_with_package() {
    start();
    files_ = dir_ / "files";
    fs::create_directories(files_ / "F20");
    std::mt19937_64 random(20261124);
    package_.resize(3 * kMiB);
    for (auto& c : package_) c = static_cast<char>(random() & 0xFF);
    write(files_ / "emfw.cfg", package_);
    write(files_ / "F20" / "emfw.cfg", "small");
  }
  static void write(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(app_->port()) + path;
  }
  static p::OutgoingRequest with_range(p::OutgoingRequest r, const std::string& range) {
    r.headers.push_back(p::HttpHeader{"Range", range});
    return r;
  }
  // Pulls the package in 1 MiB ranges, as a device with SubcontractingUpgradeFunOn does.
  template <class MakeRequest>
  std::string pull_in_ranges(MakeRequest make, const std::string& token) {
    std::string assembled;
    for (std::size_t from = 0; from < package_.size(); from += kMiB) {
      const std::size_t to = from + kMiB - 1;
      auto r = send(make(from, to), token);
      EXPECT_EQ(r.status, 206) << r.body.substr(0, 200);
      EXPECT_EQ(r.header("Content-Range").value_or(""),
                "bytes " + std::to_string(from) + "-" + std::to_string(to) + "/" + std::to_string(package_.size()));
      EXPECT_EQ(r.header("Accept-Ranges").value_or(""), "bytes");
      EXPECT_EQ(r.body.size(), kMiB);
      assembled += r.body;
    }
    return assembled;
  }

  fs::path files_;
  std::string package_;
};

TEST_F(FileDownloadTest, Method3PullsRangesOfFilesUrl) {
  start_with_package();
  const std::string token = handshake("DGD9190019050335134");
  const std::string assembled = pull_in_ranges(
      [](std::size_t from, std::size_t to) { return p::format_firmware_range_request("/files/emfw.cfg", from, to); },
      token);
  EXPECT_EQ(p::md5_hex(assembled), p::md5_hex(package_));
  EXPECT_TRUE(assembled == package_);

  // The manual's example sends the absolute URL as the request target (proxy form).
  auto absolute = send(p::format_firmware_range_request(url("/files/emfw.cfg"), 2 * kMiB, 2 * kMiB + 9), token);
  ASSERT_EQ(absolute.status, 206);
  EXPECT_EQ(absolute.body, package_.substr(2 * kMiB, 10));

  // The manual's own spelling, "RANGE: xx-xx" without the unit, and a suffix range.
  auto sloppy = send(with_range(p::format_firmware_range_request("/files/emfw.cfg", 1, 0), "5-9"));
  ASSERT_EQ(sloppy.status, 206);
  EXPECT_EQ(sloppy.body, package_.substr(5, 5));
  auto tail = send(with_range(p::format_firmware_range_request("/files/emfw.cfg", 1, 0), "bytes=-7"));
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, package_.substr(package_.size() - 7));
  EXPECT_EQ(tail.header("Content-Range").value_or(""), "bytes 3145721-3145727/3145728");
}

TEST_F(FileDownloadTest, WholeFileHeadAndSubfolders) {
  start_with_package();
  auto whole = send(p::format_firmware_range_request("/files/emfw.cfg", 1, 0));  // no Range header
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.header("Accept-Ranges").value_or(""), "bytes");
  EXPECT_EQ(whole.header("Content-Type").value_or(""), "application/octet-stream");
  EXPECT_TRUE(whole.body == package_);

  auto sub = send(p::format_firmware_range_request("/files/F20/emfw.cfg", 1, 0));
  ASSERT_EQ(sub.status, 200);
  EXPECT_EQ(sub.body, "small");

  TestClient client(app_->port());
  ASSERT_TRUE(client.send(http::test::request("HEAD", "/files/emfw.cfg", {}, "Range: bytes=0-1048575\r\n")));
  auto head = client.read_response(std::chrono::milliseconds(10000), true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 206);
  EXPECT_EQ(head->header("Content-Length").value_or(""), std::to_string(kMiB));
  EXPECT_EQ(head->header("Content-Range").value_or(""), "bytes 0-1048575/3145728");
  // Nothing but the head came: the next response on the connection starts right after it.
  ASSERT_TRUE(client.send(http::test::request("GET", "/files/F20/emfw.cfg")));
  auto next = client.read_response(std::chrono::milliseconds(10000));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "small");
}

TEST_F(FileDownloadTest, IclockFileServesRangesWholeAndBase64) {
  start_with_package();
  const std::string sn = "3383154200002";
  const std::string token = handshake(sn);
  const std::string command_url = url("/files/emfw.cfg");
  const std::string assembled = pull_in_ranges(
      [&](std::size_t from, std::size_t to) {
        return with_range(p::format_firmware_file_request(sn, command_url),
                          "bytes=" + std::to_string(from) + "-" + std::to_string(to));
      },
      token);
  EXPECT_EQ(p::md5_hex(assembled), p::md5_hex(package_));

  // Method 2: the raw file in one answer.
  auto whole = send(p::format_firmware_file_request(sn, command_url), token);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(p::md5_hex(whole.body), p::md5_hex(package_));

  // Method 1: base64 of the file; the device decodes it into the binary emfw.cfg.
  auto b64 = send(p::format_firmware_file_request(sn, url("/files/base64/emfw.cfg")), token);
  ASSERT_EQ(b64.status, 200);
  auto decoded = p::base64_decode(b64.body);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(p::md5_hex(*decoded), p::md5_hex(package_));

  // A relative url and a path outside /files/ both name files under the folder.
  auto relative = send(p::format_firmware_file_request(sn, "F20/emfw.cfg"), token);
  ASSERT_EQ(relative.status, 200);
  EXPECT_EQ(relative.body, "small");
}

TEST_F(FileDownloadTest, UnsatisfiableRangeIs416WithTheSize) {
  start_with_package();
  const std::string sn = "3383154200002";
  const std::string token = handshake(sn);
  auto past = send(p::format_firmware_range_request("/files/emfw.cfg", 3 * kMiB, 4 * kMiB), token);
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.header("Content-Range").value_or(""), "bytes */3145728");
  auto zero = send(with_range(p::format_firmware_file_request(sn, url("/files/emfw.cfg")), "bytes=-0"), token);
  EXPECT_EQ(zero.status, 416);
  EXPECT_EQ(zero.header("Content-Range").value_or(""), "bytes */3145728");

  // An unreadable Range header is ignored (RFC 7233): the whole file.
  auto garbage = send(with_range(p::format_firmware_range_request("/files/F20/emfw.cfg", 1, 0), "bytes=9-3"));
  EXPECT_EQ(garbage.status, 200);
  EXPECT_EQ(garbage.body, "small");
}

TEST_F(FileDownloadTest, MissingFilesAre404) {
  start_with_package();
  const std::string sn = "3383154200002";
  const std::string token = handshake(sn);
  auto missing = send(p::format_firmware_range_request("/files/nope.bin", 0, 1023));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("nope.bin"), std::string::npos) << missing.body;
  auto via_iclock = send(p::format_firmware_file_request(sn, url("/files/nope.bin")), token);
  EXPECT_EQ(via_iclock.status, 404);
  auto folder = send(p::format_firmware_range_request("/files/F20", 1, 0));
  EXPECT_EQ(folder.status, 404);
  // A GET of a path nobody publishes.
  auto elsewhere = send(p::format_firmware_range_request("/data/emfw.cfg", 1, 0));
  EXPECT_EQ(elsewhere.status, 404);

  auto no_url = send(p::OutgoingRequest{"GET", "/iclock/file?SN=" + sn, {}, {}}, token);
  EXPECT_EQ(no_url.status, 400);
}

TEST_F(FileDownloadTest, TraversalIsRefused) {
  start_with_package();
  const std::string sn = "3383154200002";
  const std::string token = handshake(sn);
  ASSERT_TRUE(fs::exists(dir_ / "zkpush.db"));
  fs::create_symlink(dir_ / "zkpush.db", files_ / "db-link");
  const auto refused = [](const RawResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.body.find("SQLite format"), std::string::npos);
  };
  refused(send_raw(http::test::request("GET", "/files/../zkpush.db")), 400);
  refused(send_raw(http::test::request("GET", "/files/%2e%2e/zkpush.db")), 400);
  refused(send_raw(http::test::request("GET", "/files/F20/../../zkpush.db")), 400);
  refused(send_raw(http::test::request("GET", "/files/%2fetc%2fpasswd")), 404);  // leading '/' dropped: inside
  refused(send_raw(http::test::request("GET", "/files/db-link")), 403);
  refused(send(p::format_firmware_file_request(sn, url("/files/../zkpush.db")), token), 400);
  refused(send(p::format_firmware_file_request(sn, "/../zkpush.db"), token), 400);
  refused(send(p::format_firmware_file_request(sn, url("/files/db-link")), token), 403);
}

TEST_F(FileDownloadTest, IclockFileNeedsAKnownDeviceAndItsToken) {
  start_with_package();
  auto unknown = send(p::format_firmware_file_request("UNKNOWN0001", url("/files/emfw.cfg")));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_TRUE(unknown.body.find("unknown device") != std::string::npos) << unknown.body;

  const std::string sn = "3383154200002";
  handshake(sn);
  auto bad_token = send(p::format_firmware_file_request(sn, url("/files/emfw.cfg")), std::string(32, 'a'));
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_EQ(bad_token.body, "bad token");
}

TEST_F(FileDownloadTest, OnlyGetAndHeadOnFiles) {
  start_with_package();
  auto post = send_raw(http::test::request("POST", "/files/emfw.cfg", "x"));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("Allow").value_or(""), "GET, HEAD");
}

TEST_F(FileDownloadTest, ConfiguredFolderWins) {
  const fs::path elsewhere = fs::temp_directory_path() / ("zkpush-pkgs-" + std::to_string(::getpid()));
  fs::create_directories(elsewhere);
  write(elsewhere / "fw.bin", "configured");
  ServerConfig config;
  config.files_dir = elsewhere.string();
  start(config);
  auto r = send(p::format_firmware_range_request("/files/fw.bin", 1, 0));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "configured");
  fs::remove_all(elsewhere);
}

}  // namespace
}  // namespace zkpush::server
