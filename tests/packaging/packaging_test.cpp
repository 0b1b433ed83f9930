// What packaging/ ships, checked against the real binary of this build:
// - the Debian package (packaging/deb/build-deb.sh, `make deb`): its metadata and files, the extracted
//   binary runs, the systemd unit passes `systemd-analyze verify` (and says nothing), lintian finds no error (where
//   installed), and, as root on a machine without zkpush installed, `dpkg -i` creates the service user
//   and a server runs as that user with the installed config; then the package is purged. systemd
//   is not PID 1 here, so `systemctl start` is not tried;
// - the Containerfile, without a container engine: its runtime packages cover every library the
//   binary loads (ldd, dpkg -S), the console goes where the server looks for it, the user is not
//   root, the health check is a zkpush subcommand that exists;
// - the config file /etc/zkpush/zkpush.conf: every setting it shows, uncommented, is one serve takes;
// - the Prometheus rules: valid (promtool where installed, else their shape), and every zkpush_
//   metric they use is one /metrics of a running server exports (but the TLS helper's).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/run_zkpush.hpp"
#include "server/config.hpp"
#include "server/http/test_client.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kSource = ZKPUSH_SOURCE_DIR;

// `sh -c cmd`: exit status (-1 when killed) and stdout with stderr.
std::pair<int, std::string> pkg_sh(const std::string& cmd) {
  FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, {}};
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, p)) out.append(buffer, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool pkg_have(const std::string& tool) { return pkg_sh("command -v " + tool + " >/dev/null").first == 0; }

std::string pkg_read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A process started with `argv` (the environment without ZKPUSH_* variables) whose output is read
// until it says "serving on <host>:<port>"; stopped with SIGTERM when destroyed, which runuser
// passes on to the server under it (cli/run_zkpush.hpp).
class PkgServer : public zkpush::cli_test::ZkpushProcess {
 public:
  explicit PkgServer(std::vector<std::string> argv) : ZkpushProcess(Argv{std::move(argv)}, {}) {
    end_with(SIGTERM);
    wait_serving();
  }
  std::uint16_t port() const { return static_cast<std::uint16_t>(ZkpushProcess::port()); }
};

class Packaging : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-packaging-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(Packaging, TheDebianPackageHoldsTheServiceAndInstalls) {
  const fs::path build = fs::path(ZKPUSH_BINARY).parent_path();
  const bool console = fs::exists(build / "console" / "index.html");
  auto [built, deb] = pkg_sh(std::string(console ? "" : "ZKPUSH_DEB_NO_CONSOLE=1 ") + (kSource / "packaging/deb/build-deb.sh").string() +
                             " " + build.string() + " " + dir_.string());
  ASSERT_EQ(built, 0) << deb;
  deb = deb.substr(0, deb.find_last_not_of("\n") + 1);
  deb = deb.substr(deb.find_last_of('\n') + 1);
  ASSERT_TRUE(fs::exists(deb)) << deb;

  auto [info_status, info] = pkg_sh("dpkg-deb --info " + deb);
  ASSERT_EQ(info_status, 0) << info;
  EXPECT_NE(info.find("Package: zkpush"), std::string::npos) << info;
  for (const char* dependency : {"libsqlite3-0", "libarchive13", "libssl3", "libmosquitto1", "adduser"}) {
    EXPECT_NE(info.find(dependency), std::string::npos) << dependency << " not in Depends:\n" << info;
  }
  auto [contents_status, contents] = pkg_sh("dpkg-deb --contents " + deb);
  ASSERT_EQ(contents_status, 0) << contents;
  for (const char* file : {"./usr/bin/zkpush", "./etc/zkpush/zkpush.conf", "./lib/systemd/system/zkpush.service",
                           "./usr/share/doc/zkpush/copyright", "./usr/share/doc/zkpush/operations.md"}) {
    EXPECT_NE(contents.find(file), std::string::npos) << file << "\n" << contents;
  }
  if (console) {
    EXPECT_NE(contents.find(std::string(".") + zkpush::server::kSystemConsoleDir + "/index.html"), std::string::npos);
  }
  auto [conffiles_status, conffiles] = pkg_sh("dpkg-deb --info " + deb + " conffiles");
  EXPECT_EQ(conffiles_status, 0);
  EXPECT_EQ(conffiles, "/etc/zkpush/zkpush.conf\n");

  // Extracted: the binary runs, and the unit verifies against that tree.
  const fs::path root = dir_ / "root";
  ASSERT_EQ(pkg_sh("dpkg-deb -x " + deb + " " + root.string()).first, 0);
  auto [version_status, version] = pkg_sh((root / "usr/bin/zkpush").string() + " --version");
  EXPECT_EQ(version_status, 0) << version;
  EXPECT_EQ(version, pkg_sh(std::string(ZKPUSH_BINARY) + " --version").second);
  // systemd-analyze wants ExecStart's binary where the unit says: a copy of the unit names the
  // extracted one (its --root needs a whole system's units beneath the root).
  const std::string unit = pkg_read(root / "lib/systemd/system/zkpush.service");
  const std::string extracted = std::regex_replace(unit, std::regex("/usr/bin/zkpush"), (root / "usr/bin/zkpush").string());
  std::ofstream(dir_ / "zkpush.service") << extracted;
  auto [verified, said] = pkg_sh("systemd-analyze verify " + (dir_ / "zkpush.service").string());
  EXPECT_EQ(verified, 0) << said;
  EXPECT_EQ(said.find("zkpush.service"), std::string::npos) << said;  // no warning about the unit
  for (const char* line : {"User=zkpush", "StateDirectory=zkpush", "ProtectSystem=strict", "NoNewPrivileges=yes",
                           "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "CapabilityBoundingSet=\n",
                           "ExecReload=/bin/kill -HUP $MAINPID", "--data /var/lib/zkpush"}) {
    EXPECT_NE(unit.find(line), std::string::npos) << line;
  }
  // A sanitizer build (make test's clang build) is never what gets packaged: not linted.
  const bool sanitized = pkg_sh("readelf -Ws " + std::string(ZKPUSH_BINARY) + " | grep -q -e __asan_init -e __tsan_init").first == 0;
  if (sanitized) {
    std::printf("a sanitizer build: the package was not linted\n");
  } else if (pkg_have("lintian")) {
    auto [lint, findings] = pkg_sh("lintian --fail-on error " + deb);
    EXPECT_EQ(lint, 0) << findings;
  } else {
    std::printf("lintian is not installed: the package was not linted\n");
  }

  // Installed for real only as root, and only where no zkpush package or binary is there to disturb.
  if (::geteuid() != 0 || pkg_sh("dpkg -s zkpush").first == 0 || fs::exists("/usr/bin/zkpush")) {
    std::printf("not root, or zkpush already installed: dpkg -i not tried\n");
    return;
  }
  const bool user_before = pkg_sh("getent passwd zkpush").first == 0;
  auto [installed, log] = pkg_sh("DEBIAN_FRONTEND=noninteractive dpkg -i " + deb);
  EXPECT_EQ(installed, 0) << log;
  if (installed == 0) {
    EXPECT_EQ(pkg_sh("getent passwd zkpush").first, 0);
    EXPECT_EQ(pkg_sh("stat -c '%U:%G %a' /etc/zkpush/zkpush.conf").second, "root:zkpush 640\n");
    // The service's command as the service's user, on a folder of its own (no systemd to run it).
    const fs::path data = dir_ / "var-lib-zkpush";
    fs::create_directories(data);
    ASSERT_EQ(pkg_sh("chown zkpush:zkpush " + data.string() + " && chmod 0755 " + dir_.string()).first, 0);
    {
      PkgServer server({"/usr/sbin/runuser", "-u", "zkpush", "--", "/usr/bin/zkpush", "serve", "--config",
                        "/etc/zkpush/zkpush.conf", "--data", data.string(), "--listen", "127.0.0.1:0"});
      EXPECT_NE(server.port(), 0) << server.log();
      EXPECT_NE(server.log().find("configuration read from /etc/zkpush/zkpush.conf"), std::string::npos) << server.log();
    }
    EXPECT_EQ(pkg_sh("stat -c %U " + (data / "zkpush.db").string()).second, "zkpush\n");
  }
  auto [purged, purge_log] = pkg_sh("DEBIAN_FRONTEND=noninteractive dpkg --purge zkpush");
  EXPECT_EQ(purged, 0) << purge_log;
  EXPECT_FALSE(fs::exists("/usr/bin/zkpush"));
  EXPECT_FALSE(fs::exists("/etc/zkpush/zkpush.conf"));
  if (!user_before) pkg_sh("deluser --system zkpush >/dev/null 2>&1; delgroup --system zkpush >/dev/null 2>&1");
}

TEST_F(Packaging, TheContainerfileInstallsEveryLibraryTheBinaryLoads) {
  const std::string file = pkg_read(kSource / "packaging/container/Containerfile");
  ASSERT_FALSE(file.empty());
  // The image's stage: from the last FROM (debian:12-slim) on.
  const auto last_from = file.rfind("\nFROM ");
  ASSERT_NE(last_from, std::string::npos);
  const std::string image = file.substr(last_from);
  EXPECT_EQ(image.rfind("\nFROM docker.io/library/debian:12-slim", 0), 0u) << image.substr(0, 80);
  const auto install = image.find("--no-install-recommends");
  ASSERT_NE(install, std::string::npos);
  std::set<std::string> listed;
  {
    std::istringstream words(image.substr(install, image.find("&&", install) - install));
    for (std::string word; words >> word;) listed.insert(word);
  }
  // The libraries the binary names (its NEEDED entries; theirs come with their packages'
  // dependencies), found where ldd finds them, by Debian package.
  auto [readelf_status, dynamic] = pkg_sh("readelf -d " + std::string(ZKPUSH_BINARY));
  ASSERT_EQ(readelf_status, 0) << dynamic;
  std::set<std::string> needed;
  const std::regex needed_entry("\\(NEEDED\\)[^\\[]*\\[([^\\]]+)\\]");
  for (std::sregex_iterator it(dynamic.begin(), dynamic.end(), needed_entry), end; it != end; ++it) needed.insert((*it)[1]);
  EXPECT_GE(needed.size(), 5u) << dynamic;
  auto [ldd_status, ldd] = pkg_sh("ldd " + std::string(ZKPUSH_BINARY));
  ASSERT_EQ(ldd_status, 0) << ldd;
  const std::regex library("([^\\s]+) => (/[^ ]+) \\(");
  std::set<std::string> packages;
  for (std::sregex_iterator it(ldd.begin(), ldd.end(), library), end; it != end; ++it) {
    if (!needed.contains((*it)[1])) continue;
    const std::string path = (*it)[2];
    auto [found, owner] = pkg_sh("dpkg -S " + path + " 2>/dev/null || dpkg -S $(realpath " + path + ")");
    ASSERT_EQ(found, 0) << path << ": " << owner;
    const std::string package = owner.substr(0, owner.find_first_of(":"));
    packages.insert(package);
  }
  EXPECT_GE(packages.size(), 5u) << ldd;
  for (const auto& package : packages) {
    EXPECT_TRUE(listed.contains(package)) << package << " (a library of build/zkpush) is not installed by the Containerfile";
  }

  // The rest of what the image promises.
  EXPECT_NE(file.find("bash scripts/install-deps.sh build"), std::string::npos);
  EXPECT_NE(image.find(std::string("COPY --from=console /out/console ") + zkpush::server::kSystemConsoleDir), std::string::npos);
  EXPECT_NE(image.find("\nUSER zkpush"), std::string::npos);
  EXPECT_EQ(image.find("\nUSER root"), std::string::npos);
  EXPECT_NE(image.find("VOLUME [\"/var/lib/zkpush\"]"), std::string::npos);
  EXPECT_NE(image.find("EXPOSE 8088"), std::string::npos);
  EXPECT_NE(image.find("CMD [\"/usr/bin/zkpush\", \"healthcheck\", \"http://127.0.0.1:8088/healthz\"]"), std::string::npos);
  EXPECT_EQ(pkg_sh(std::string(ZKPUSH_BINARY) + " healthcheck --help").first, 0);
  const std::string ignore = pkg_read(kSource / ".dockerignore");
  for (const char* line : {"\nbuild\n", "\ndata\n", "\nconsole/node_modules\n", "\n.git\n"}) {
    EXPECT_NE(("\n" + ignore).find(line), std::string::npos) << line;
  }
  // `install-deps.sh build` keeps the libraries' -dev packages and leaves the test tools out.
  auto [listing, packages_of_build] = pkg_sh("sed -n '/^PACKAGES=(/,/^)/p' " + (kSource / "scripts/install-deps.sh").string());
  ASSERT_EQ(listing, 0);
  for (const char* dev : {"libsqlite3-dev", "libarchive-dev", "libmosquitto-dev", "libspdlog-dev", "libssl-dev"}) {
    EXPECT_NE(packages_of_build.find(dev), std::string::npos) << dev;
  }
  if (pkg_sh("docker info >/dev/null 2>&1 || podman info >/dev/null 2>&1").first == 0) {
    auto [image_built, build_log] = pkg_sh("cd " + kSource.string() + " && (docker build -q -f packaging/container/Containerfile . "
                                           "|| podman build -q -f packaging/container/Containerfile .)");
    EXPECT_EQ(image_built, 0) << build_log;
  } else {
    std::printf("no container engine runs here: the image was not built\n");
  }
}

TEST_F(Packaging, EverySettingOfTheConfigFileIsOneServeTakes) {
  std::string conf = pkg_read(kSource / "packaging/deb/zkpush.conf");
  ASSERT_FALSE(conf.empty());
  // Every commented setting ("#key = value"), uncommented.
  const std::regex setting("(^|\n)#([a-z][a-z-]* = )");
  const std::string all = std::regex_replace(conf, setting, "$1$2");
  int settings = 0;
  for (std::size_t at = 0; (at = all.find(" = ", at)) != std::string::npos; ++at) ++settings;
  EXPECT_GE(settings, 30);
  std::ofstream(dir_ / "all.conf") << all;
  PkgServer server({ZKPUSH_BINARY, "serve", "--config", (dir_ / "all.conf").string(), "--listen", "127.0.0.1:0", "--data",
                    (dir_ / "data").string()});
  EXPECT_NE(server.port(), 0) << server.log();
  // As shipped (all commented out), too.
  PkgServer shipped({ZKPUSH_BINARY, "serve", "--config", (kSource / "packaging/deb/zkpush.conf").string(), "--listen",
                     "127.0.0.1:0", "--data", (dir_ / "data2").string()});
  EXPECT_NE(shipped.port(), 0) << shipped.log();
}

TEST_F(Packaging, TheAlertRulesUseMetricsTheServerExports) {
  const fs::path rules = kSource / "packaging/prometheus/zkpush-alerts.yml";
  if (pkg_have("promtool")) {
    auto [checked, said] = pkg_sh("promtool check rules " + rules.string());
    EXPECT_EQ(checked, 0) << said;
  }
  const YAML::Node doc = YAML::LoadFile(rules.string());
  ASSERT_TRUE(doc["groups"].IsSequence());
  std::set<std::string> used;
  const std::regex metric("zkpush_[a-z0-9_]+");
  int alerts = 0;
  for (const auto& group : doc["groups"]) {
    ASSERT_TRUE(group["name"].IsScalar());
    for (const auto& rule : group["rules"]) {
      ++alerts;
      const std::string name = rule["alert"].as<std::string>("");
      EXPECT_FALSE(name.empty());
      EXPECT_FALSE(rule["expr"].as<std::string>("").empty()) << name;
      EXPECT_TRUE(rule["labels"]["severity"].IsScalar()) << name;
      EXPECT_TRUE(rule["annotations"]["summary"].IsScalar()) << name;
      const std::string expr = rule["expr"].as<std::string>("");
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) used.insert(it->str());
    }
  }
  EXPECT_GE(alerts, 8);
  PkgServer server({ZKPUSH_BINARY, "serve", "--listen", "127.0.0.1:0", "--data", (dir_ / "data").string()});
  ASSERT_NE(server.port(), 0) << server.log();
  zkpush::server::http::test::TestClient client(server.port());
  ASSERT_TRUE(client.send(zkpush::server::http::test::request("GET", "/metrics")));
  const auto answer = client.read_response();
  ASSERT_TRUE(answer && answer->status == 200);
  for (const auto& name : used) {
    if (name == "zkpush_tls_certificate_expiry_seconds") continue;  // the TLS listener's, not in this build
    EXPECT_NE(answer->body.find("# TYPE " + name + " "), std::string::npos) << name << " is not on /metrics";
  }
}

}  // namespace
