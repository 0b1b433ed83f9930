// The web console served by `zkpush serve` at / (src/front/console.*), over real sockets: files from
// a folder, gzip when accepted, ETags and 304, cache headers, the CSP on every answer, 405, no path
// leaving the folder, the 503 page without a built console, the other peers untouched, and a folder
// rebuilt while the server runs picked up.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "serve_fixture.hpp"

namespace zkpush::server::e2e {
namespace {

constexpr const char* kConsoleCspExpected =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The bytes of a gzip member, inflated; "<bad gzip>" when they are not one.
std::string console_gunzip(const std::string& packed) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return "<bad gzip>";
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  zs.avail_in = static_cast<uInt>(packed.size());
  int rc = Z_OK;
  char buffer[16384];
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "<bad gzip>";
}

void write_console_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// A script long and repetitive enough for its gzip copy to be smaller.
std::string console_script(const std::string& word) {
  std::string js;
  for (int i = 0; i < 200; ++i) js += "console.log('" + word + " " + std::to_string(i) + "');\n";
  return js;
}

class ConsoleServeTest : public ServeFixture {
 protected:
  std::filesystem::path console() const { return dir_ / "console"; }

  void build_console(const std::string& version) {
    write_console_file(console() / "index.html",
                       "<!doctype html><html><head><script type=\"module\" src=\"/assets/app-AbC123.js\"></script>"
                       "</head><body>console " + version + "</body></html>\n");
    write_console_file(console() / "assets" / "app-AbC123.js", console_script(version));
    write_console_file(console() / "favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
  }
  void start_console() {
    ServerConfig config;
    config.console_dir = console().string();
    start(config);
  }

  RawResponse ask(std::string_view method, const std::string& target, const std::string& headers = {}) {
    TestClient client(app_->port());
    EXPECT_TRUE(client.send(http::test::request(method, target, {}, headers)));
    auto r = client.read_response(std::chrono::milliseconds(10000), method == "HEAD");
    EXPECT_TRUE(r.has_value()) << method << " " << target;
    return r.value_or(RawResponse{});
  }
  RawResponse get(const std::string& target, const std::string& headers = {}) { return ask("GET", target, headers); }

  // Every answer of the console carries these.
  static void expect_console_headers(const RawResponse& r) {
    EXPECT_EQ(r.header("Content-Security-Policy").value_or(""), kConsoleCspExpected);
    EXPECT_EQ(r.header("X-Content-Type-Options").value_or(""), "nosniff");
    EXPECT_EQ(r.header("Referrer-Policy").value_or(""), "no-referrer");
    EXPECT_EQ(r.header("X-Frame-Options").value_or(""), "DENY");
  }
};

TEST_F(ConsoleServeTest, RootIsIndexHtmlRevalidatedWithTheCsp) {
  build_console("v1");
  start_console();
  for (const char* target : {"/", "/index.html", "/?from=bookmark"}) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type").value_or(""), "text/html; charset=utf-8");
    EXPECT_EQ(r.header("Cache-Control").value_or(""), "no-cache");
    EXPECT_NE(r.body.find("console v1"), std::string::npos);
    EXPECT_FALSE(r.header("Content-Encoding").has_value());
    expect_console_headers(r);
    EXPECT_TRUE(r.header("ETag").has_value());
  }
  auto icon = get("/favicon.svg");
  EXPECT_EQ(icon.status, 200);
  EXPECT_EQ(icon.header("Content-Type").value_or(""), "image/svg+xml");
  EXPECT_EQ(icon.header("Cache-Control").value_or(""), "no-cache");
}

TEST_F(ConsoleServeTest, AssetsAreImmutableUnderTheirMixedCaseNames) {
  build_console("v1");
  start_console();
  auto r = get("/assets/app-AbC123.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, console_script("v1"));
  EXPECT_EQ(r.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control").value_or(""), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.header("Vary").value_or(""), "Accept-Encoding");  // it has a gzip copy
  expect_console_headers(r);
  // The name is exact: protocol::normalize_path's lower case is not used here.
  EXPECT_EQ(get("/assets/app-abc123.js").status, 404);
  EXPECT_EQ(get("/ASSETS/app-AbC123.js").status, 404);
  // Percent-encoded names are decoded.
  EXPECT_EQ(get("/assets/app-%41bC123.js").status, 200);
}

TEST_F(ConsoleServeTest, GzipOnlyWhenAccepted) {
  build_console("v1");
  start_console();
  const std::string script = console_script("v1");
  for (const char* accept : {"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*", "GZIP;Q=0.5"}) {
    SCOPED_TRACE(accept);
    auto r = get("/assets/app-AbC123.js", std::string("Accept-Encoding: ") + accept + "\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Encoding").value_or(""), "gzip");
    EXPECT_LT(r.body.size(), script.size());
    EXPECT_EQ(console_gunzip(r.body), script);
    EXPECT_EQ(r.header("Vary").value_or(""), "Accept-Encoding");
  }
  for (const char* accept : {"", "gzip;q=0", "gzip; q=0.000", "deflate, br", "*;q=0", "*, gzip;q=0", "identity"}) {
    SCOPED_TRACE(accept);
    auto r = get("/assets/app-AbC123.js", *accept ? std::string("Accept-Encoding: ") + accept + "\r\n" : std::string());
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.header("Content-Encoding").has_value());
    EXPECT_EQ(r.body, script);
  }
}

TEST_F(ConsoleServeTest, ETagGives304PerRepresentation) {
  build_console("v1");
  start_console();
  auto plain = get("/assets/app-AbC123.js");
  auto packed = get("/assets/app-AbC123.js", "Accept-Encoding: gzip\r\n");
  const auto etag = plain.header("ETag").value_or("");
  const auto gzip_etag = packed.header("ETag").value_or("");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');  // strong
  EXPECT_NE(etag, gzip_etag);

  auto again = get("/assets/app-AbC123.js", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("ETag").value_or(""), etag);
  EXPECT_EQ(again.header("Cache-Control").value_or(""), "public, max-age=31536000, immutable");
  expect_console_headers(again);
  EXPECT_EQ(get("/assets/app-AbC123.js", "Accept-Encoding: gzip\r\nIf-None-Match: W/\"x\", " + gzip_etag + "\r\n").status,
            304);
  EXPECT_EQ(get("/assets/app-AbC123.js", "If-None-Match: *\r\n").status, 304);
  // Another representation's tag, or an old one, is not a match.
  EXPECT_EQ(get("/assets/app-AbC123.js", "If-None-Match: " + gzip_etag + "\r\n").status, 200);
  EXPECT_EQ(get("/assets/app-AbC123.js", "If-None-Match: \"0123\"\r\n").status, 200);
  // index.html too (no-cache: the browser asks every time and gets a 304 while it is the same).
  const auto index_etag = get("/").header("ETag").value_or("");
  auto index = get("/", "If-None-Match: " + index_etag + "\r\n");
  EXPECT_EQ(index.status, 304);
  EXPECT_EQ(index.header("Cache-Control").value_or(""), "no-cache");
}

TEST_F(ConsoleServeTest, HeadAndOtherMethods) {
  build_console("v1");
  start_console();
  auto head = ask("HEAD", "/assets/app-AbC123.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length").value_or(""), std::to_string(console_script("v1").size()));
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("Cache-Control").value_or(""), "public, max-age=31536000, immutable");
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    auto r = ask(method, "/");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("Allow").value_or(""), "GET, HEAD");
    expect_console_headers(r);
  }
}

TEST_F(ConsoleServeTest, NothingOutsideTheFilesLoaded) {
  build_console("v1");
  write_console_file(console() / ".env", "SECRET=1");
  write_console_file(console() / ".git" / "config", "[core]");
  write_console_file(dir_ / "outside.txt", "outside");
  std::filesystem::create_symlink(dir_ / "outside.txt", console() / "linked.txt");
  start_console();
  for (const char* target : {"/../etc/passwd", "/%2e%2e/x", "/%2E%2E/outside.txt", "/../outside.txt",
                             "/assets/../index.html", "/assets/%2e%2e/index.html", "/.env", "/.git/config",
                             "/linked.txt", "/assets", "/assets/", "/missing.js", "//index.html", "/index.html%00",
                             "/zkpush.db", "/%2fetc%2fpasswd"}) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "not found\n");
    expect_console_headers(r);
  }
}

TEST_F(ConsoleServeTest, NoConsoleIsA503PageSayingHowToBuildIt) {
  start_console();  // the folder does not exist
  auto r = get("/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Content-Type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("make console"), std::string::npos);
  EXPECT_NE(r.body.find("make run"), std::string::npos);
  EXPECT_NE(r.body.find(console().string()), std::string::npos);
  EXPECT_EQ(r.body.find("http"), std::string::npos);  // nothing off the server, no link at all
  expect_console_headers(r);
  EXPECT_EQ(get("/assets/app-AbC123.js").status, 404);
  EXPECT_EQ(get("/favicon.svg").status, 404);
  // The devices and the API do not need it.
  EXPECT_EQ(send(p::format_init_request("CONSOLE0001")).status, 200);
  EXPECT_EQ(get("/api/v1/devices", "Authorization: Bearer " + app_->config().api_token + "\r\n").status, 200);
}

TEST_F(ConsoleServeTest, AFolderWithoutIndexHtmlIsNotAConsole) {
  write_console_file(console() / "favicon.svg", "<svg/>");
  start_console();
  EXPECT_EQ(get("/").status, 503);
  EXPECT_EQ(get("/favicon.svg").status, 404);
}

TEST_F(ConsoleServeTest, OtherPeersKeepTheirPaths) {
  build_console("v1");
  write_console_file(console() / "healthz", "console's");
  write_console_file(console() / "metrics", "console's");
  start_console();
  auto device = send(p::format_init_request("CONSOLE0002"));
  EXPECT_EQ(device.status, 200);
  EXPECT_EQ(device.body, "OK");
  EXPECT_FALSE(device.header("Content-Security-Policy").has_value());
  auto unknown_device_path = get("/iclock/nonsense?SN=CONSOLE0002");
  EXPECT_EQ(unknown_device_path.status, 400);
  auto api = get("/api/v1/devices");
  EXPECT_EQ(api.status, 401);
  EXPECT_FALSE(api.header("Content-Security-Policy").has_value());
  EXPECT_EQ(get("/api/v1/devices", "Authorization: Bearer " + app_->config().api_token + "\r\n").status, 200);
  auto health = get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "OK");
  auto file = get("/files/emfw.cfg");
  EXPECT_EQ(file.status, 404);
  EXPECT_FALSE(file.header("Content-Security-Policy").has_value());
  // The console's answers are counted as such, not as unknown device requests.
  EXPECT_EQ(get("/").status, 200);
  EXPECT_EQ(get("/missing.js").status, 404);
  auto metrics = get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_FALSE(metrics.header("Content-Security-Policy").has_value());
  EXPECT_NE(metrics.body.find("zkpush_requests_total{endpoint=\"console\",status=\"200\"} 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("zkpush_requests_total{endpoint=\"console\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("zkpush_request_duration_seconds_count{group=\"console\"} 2\n"), std::string::npos);
  EXPECT_EQ(metrics.body.find("zkpush_requests_total{endpoint=\"unknown\",status=\"404\"}"), std::string::npos);
}

TEST_F(ConsoleServeTest, AFolderRebuiltWhileServingIsPickedUp) {
  build_console("v1");
  start_console();
  EXPECT_NE(get("/").body.find("console v1"), std::string::npos);
  const auto old_etag = get("/").header("ETag").value_or("");
  // Asks until `done` holds (the folder is looked at again at most once a second, on a request).
  const auto until = [](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return done();
  };

  // A rebuild: a new asset name, the old one gone, index.html rewritten.
  std::filesystem::remove_all(console());
  write_console_file(console() / "index.html",
                     "<!doctype html><html><head><script type=\"module\" src=\"/assets/app-XyZ789.js\"></script>"
                     "</head><body>console v2, rebuilt</body></html>\n");
  write_console_file(console() / "assets" / "app-XyZ789.js", console_script("v2"));
  EXPECT_TRUE(until([&] { return get("/assets/app-XyZ789.js").status == 200; }));
  auto r = get("/");
  EXPECT_NE(r.body.find("console v2, rebuilt"), std::string::npos);
  EXPECT_NE(r.header("ETag").value_or(""), old_etag);
  EXPECT_EQ(get("/", "If-None-Match: " + old_etag + "\r\n").status, 200);
  EXPECT_EQ(get("/assets/app-XyZ789.js").body, console_script("v2"));
  EXPECT_EQ(get("/assets/app-AbC123.js").status, 404);

  // Removed: back to the 503 page; built again: served again.
  std::filesystem::remove_all(console());
  EXPECT_TRUE(until([&] { return get("/").status == 503; }));
  build_console("v3");
  EXPECT_TRUE(until([&] { return get("/assets/app-AbC123.js").body == console_script("v3"); }));
  EXPECT_NE(get("/").body.find("console v3"), std::string::npos);
}

}  // namespace
}  // namespace zkpush::server::e2e
