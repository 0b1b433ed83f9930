// The pieces of the web console's peer (src/front/console.*) without a server: request names,
// Content-Type, Accept-Encoding and If-None-Match parsing, what is read from the folder (dotfiles,
// symbolic links and gzip copies), and the folder's signature. The peer over real sockets:
// tests/server/console_serve_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "front/console.hpp"

namespace zkpush::front {
namespace {

namespace fs = std::filesystem;

void put_console_part(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

TEST(ConsoleParts, FileNamesFromTargets) {
  EXPECT_EQ(console_file_name("/"), "index.html");
  EXPECT_EQ(console_file_name("/?x=1"), "index.html");
  EXPECT_EQ(console_file_name("/#top"), "index.html");
  EXPECT_EQ(console_file_name("/assets/app-AbC123.js"), "assets/app-AbC123.js");
  EXPECT_EQ(console_file_name("/assets/app-AbC123.js?v=2"), "assets/app-AbC123.js");
  EXPECT_EQ(console_file_name("/a%20b.js"), "a b.js");
  EXPECT_EQ(console_file_name("/%2e%2e/x"), "../x");  // decoded, then not found among the files
  EXPECT_EQ(console_file_name("http://host:8088/assets/x.JS"), "assets/x.JS");
  EXPECT_EQ(console_file_name("HTTP://host"), "index.html");
  EXPECT_EQ(console_file_name("*"), std::nullopt);
  EXPECT_EQ(console_file_name(""), std::nullopt);
  EXPECT_EQ(console_file_name("assets/x.js"), std::nullopt);
}

TEST(ConsoleParts, ContentTypesByExtension) {
  EXPECT_EQ(console_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(console_content_type("assets/index-B2xQ.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(console_content_type("assets/index-B2xQ.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(console_content_type("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(console_content_type("assets/logo-1.png"), "image/png");
  EXPECT_EQ(console_content_type("favicon.ico"), "image/x-icon");
  EXPECT_EQ(console_content_type("manifest.json"), "application/json");
  EXPECT_EQ(console_content_type("assets/inter-1.woff2"), "font/woff2");
  EXPECT_EQ(console_content_type("assets/index-B2xQ.js.map"), "application/json");
  EXPECT_EQ(console_content_type("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(console_content_type("data.bin"), "application/octet-stream");
  EXPECT_EQ(console_content_type("LICENSE"), "application/octet-stream");
  EXPECT_EQ(console_content_type("v1.2/README"), "application/octet-stream");
}

TEST(ConsoleParts, AcceptEncodingAndItsQValues) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br, zstd"));
  EXPECT_TRUE(accepts_gzip(" br ; q=1.0 , GZip ; Q=0.5"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("gzip;q=0.001"));
  EXPECT_TRUE(accepts_gzip("*;q=0, gzip"));  // named wins over *
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=nope"));  // unreadable: not acceptable, identity is always fine
  EXPECT_FALSE(accepts_gzip("gzip, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipper"));
}

TEST(ConsoleParts, IfNoneMatch) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("W/\"abc\"", "\"abc\""));  // weak comparison, as for GET
  EXPECT_TRUE(etag_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches(" \"x\",W/\"abc\" ", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abc-gz\"", "\"abc\""));
}

TEST(ConsoleParts, TheMissingPageNamesTheFolderEscaped) {
  const auto page = console_missing_page("/opt/<zk>&co/console");
  EXPECT_NE(page.find("/opt/&lt;zk&gt;&amp;co/console"), std::string::npos);
  EXPECT_NE(page.find("make console"), std::string::npos);
  EXPECT_NE(page.find("Node.js and npm"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("style"), std::string::npos);  // the CSP forbids inline styles
}

class ConsoleFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-console-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ConsoleFolderTest, ReadsRegularFilesOnlyAndNothingHidden) {
  const auto root = dir_ / "console";
  put_console_part(root / "index.html", "<!doctype html>");
  put_console_part(root / "assets" / "app-AbC123.js", std::string(4000, 'a'));
  put_console_part(root / "assets" / "tiny.png", "\x89PNG");
  put_console_part(root / ".env", "SECRET=1");
  put_console_part(root / ".vite" / "manifest.json", "{}");
  put_console_part(root / "assets" / ".cache" / "x.js", "x");
  put_console_part(dir_ / "outside.txt", "outside");
  fs::create_symlink(dir_ / "outside.txt", root / "linked.txt");
  fs::create_directory_symlink(dir_, root / "up");

  const auto snapshot = read_console_folder(root);
  EXPECT_TRUE(snapshot.built());
  std::vector<std::string> names;
  for (const auto& [name, file] : snapshot.files) names.push_back(name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"assets/app-AbC123.js", "assets/tiny.png", "index.html"}));
  const auto& script = snapshot.files.at("assets/app-AbC123.js");
  EXPECT_TRUE(script.immutable);
  EXPECT_FALSE(script.gzip.empty());  // 4000 times the same byte packs well
  EXPECT_LT(script.gzip.size(), script.body.size());
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.etag.size(), 34u);  // 32 hex digits, quoted
  EXPECT_EQ(script.gzip_etag, script.etag.substr(0, 33) + "-gz\"");
  EXPECT_TRUE(snapshot.files.at("assets/tiny.png").gzip.empty());  // gzip would be larger
  EXPECT_FALSE(snapshot.files.at("index.html").immutable);
  EXPECT_EQ(snapshot.bytes, 15u + 4000u + 4u);
}

TEST_F(ConsoleFolderTest, SignatureFollowsNamesSizesAndTimes) {
  const auto root = dir_ / "console";
  EXPECT_EQ(console_folder_signature(root), "");  // no folder
  EXPECT_FALSE(read_console_folder(root).built());
  put_console_part(root / "index.html", "one");
  const auto first = console_folder_signature(root);
  EXPECT_NE(first, "");
  EXPECT_EQ(read_console_folder(root).signature, first);
  EXPECT_EQ(console_folder_signature(root), first);
  put_console_part(root / "assets" / "a.js", "a");
  const auto second = console_folder_signature(root);
  EXPECT_NE(second, first);
  put_console_part(root / "index.html", "two!");
  EXPECT_NE(console_folder_signature(root), second);
  put_console_part(root / ".hidden", "x");  // not served, not watched
  const auto third = console_folder_signature(root);
  put_console_part(root / ".hidden", "xy");
  EXPECT_EQ(console_folder_signature(root), third);
}

TEST_F(ConsoleFolderTest, ThePeerReadsTheFolderWhenBuilt) {
  const auto root = dir_ / "console";
  put_console_part(root / "index.html", "one");
  ConsoleEndpoints peer(root, std::chrono::milliseconds(0));
  const auto first = peer.snapshot();
  ASSERT_TRUE(first->built());
  EXPECT_EQ(first->files.at("index.html").body, "one");
  EXPECT_EQ(peer.folder(), root);
}

}  // namespace
}  // namespace zkpush::front
