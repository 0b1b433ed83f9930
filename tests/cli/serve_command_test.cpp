// The `zkpush serve` binary: starts on a free port, answers a device, stops on SIGTERM with status 0;
// reads its config file with the precedence flags > file > ZKPUSH_* environment; refuses a bad file
// with exit status 1; generates the API token file once (mode 0600) and reuses it.
#include <gtest/gtest.h>
#include <signal.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli/run_zkpush.hpp"
#include "server/http/test_client.hpp"
#include "support/test_certificates.hpp"

namespace {

using zkpush::server::http::test::TestClient;
namespace fs = std::filesystem;

// `zkpush serve <args>`, its stdout and stderr read as the test asks (cli/run_zkpush.hpp).
class ServeProcess : public zkpush::cli_test::ZkpushProcess {
 public:
  ServeProcess(std::vector<std::string> args, const std::vector<std::string>& env = {})
      : ZkpushProcess(serve_command(std::move(args)), env) {}

 private:
  static std::vector<std::string> serve_command(std::vector<std::string> args) {
    args.insert(args.begin(), "serve");
    return args;
  }
};

class ServeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zkpush-serve-cli-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::pair<int, std::string> get(int port, const std::string& target, const std::string& headers = {}) {
    TestClient client(static_cast<std::uint16_t>(port));
    if (!client.send(zkpush::server::http::test::request("GET", target, {}, headers))) return {0, {}};
    auto response = client.read_response();
    return response ? std::pair{response->status, response->body} : std::pair{0, std::string()};
  }
  static std::string init(const std::string& sn) { return "/iclock/cdata?SN=" + sn + "&options=all&pushver=3.1.2"; }

  fs::path dir_;
};

TEST_F(ServeCommand, ServesAndStopsOnSigterm) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data")});
  const int port = serve.wait_serving();
  ASSERT_NE(port, 0) << serve.log();
  EXPECT_EQ(get(port, init("CLI0001")), (std::pair<int, std::string>{200, "OK"}));
  EXPECT_EQ(serve.stop(), 0) << serve.log();
  EXPECT_TRUE(fs::exists(dir_ / "data" / "zkpush.db"));
}

TEST_F(ServeCommand, ConfigFileBetweenFlagsAndEnvironment) {
  const std::string file = write("zkpush.toml",
                                 "# settings are the long flag names\n"
                                 "listen = \"127.0.0.1:0\"\n"
                                 "data = \"" + path("file-data") + "\"\n"
                                 "allow-sn = [\"CFG*\", \"EXTRA01\"]\n"
                                 "request-delay = 7\n"
                                 "verbose = false\n");
  {
    // The file wins over the environment.
    ServeProcess serve({"--config", file}, {"ZKPUSH_DATA=" + path("env-data"), "ZKPUSH_ALLOW_SN=ENV*"});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    EXPECT_NE(serve.log().find("(data " + path("file-data") + ","), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, init("CFG0001")).first, 200);
    EXPECT_EQ(get(port, init("EXTRA01")).first, 200);
    EXPECT_EQ(get(port, init("ENV0001")), (std::pair<int, std::string>{403, "serial number not allowed: ENV0001"}));
    EXPECT_EQ(serve.stop(), 0);
    EXPECT_TRUE(fs::exists(dir_ / "file-data" / "zkpush.db"));
    EXPECT_FALSE(fs::exists(dir_ / "env-data"));
  }
  {
    // Flags win over the file.
    ServeProcess serve({"--config", file, "--data", path("cli-data"), "--allow-sn", "CLI1,CLI2"},
                       {"ZKPUSH_DATA=" + path("env-data")});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    EXPECT_NE(serve.log().find("(data " + path("cli-data") + ","), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, init("CLI2")).first, 200);
    EXPECT_EQ(get(port, init("CFG0001")).first, 403);
    EXPECT_EQ(serve.stop(), 0);
  }
}

TEST_F(ServeCommand, ConfigFileFromEnvironmentWithServeSection) {
  const std::string file = write("serve.ini",
                                 "[serve]\n"
                                 "listen = 127.0.0.1:0\n"
                                 "data = " + path("ini-data") + "\n"
                                 "allow-net = 127.0.0.0/8,::1\n");
  ServeProcess serve({}, {"ZKPUSH_CONFIG=" + file, "ZKPUSH_DATA=" + path("env-data")});
  const int port = serve.wait_serving();
  ASSERT_NE(port, 0) << serve.log();
  EXPECT_NE(serve.log().find("(data " + path("ini-data") + ","), std::string::npos) << serve.log();
  EXPECT_NE(serve.log().find("networks 127.0.0.0/8, ::1"), std::string::npos) << serve.log();
  EXPECT_EQ(get(port, init("INI0001")).first, 200);
  EXPECT_EQ(serve.stop(), 0);
}

TEST_F(ServeCommand, BadConfigFileExitsWithStatus1) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string message;
  };
  const std::string missing = path("missing.toml");
  const std::vector<Case> cases = {
      {{"--config", missing}, {}, "config file " + missing + ": not found"},
      {{}, {"ZKPUSH_CONFIG=" + missing}, "config file " + missing + ": not found"},
      {{"--config", dir_.string()}, {}, "not a regular file"},
      {{"--config", write("unknown.toml", "listen = \"127.0.0.1:0\"\nlisten-port = 80\n")}, {},
       "listen-port: unknown setting"},
      {{"--config", write("section.toml", "[decode]\nformat = \"json\"\n")}, {}, "decode.format: unknown section"},
      {{"--config", write("nested.toml", "config = \"other.toml\"\n")}, {}, "config: cannot be set in a config file"},
      {{"--config", write("threads.toml", "threads = \"many\"\n")}, {}, "threads:"},
      {{"--config", write("net.toml", "listen = \"127.0.0.1:0\"\nallow-net = \"10.0.0.0/33\"\n")}, {},
       "--allow-net: '10.0.0.0/33': prefix length above 32"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.end(), {"--data", path("data")});
    ServeProcess serve(args, c.env);
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find(c.message), std::string::npos) << "expected: " << c.message << "\nlog: " << serve.log();
    EXPECT_EQ(serve.log().find("serving on"), std::string::npos) << serve.log();
  }
}

// docs/serve.md: a key given twice is an error naming the file and the key, however the two are
// written. CLI11's reader merges a key on consecutive lines into one setting with both values, so
// without a check of its own `allow-sn` twice silently allowed both lists.
TEST_F(ServeCommand, KeyGivenTwiceIsAlwaysAnError) {
  struct Case {
    std::string name, text, message;
  };
  const std::string listen = "listen = \"127.0.0.1:0\"\n";
  const std::vector<Case> cases = {
      {"consecutive.toml", listen + "allow-sn = \"A1\"\nallow-sn = \"B1\"\n", "allow-sn: set twice"},
      {"consecutive-scalar.toml", "listen = \"127.0.0.1:0\"\nlisten = \"127.0.0.1:1\"\n", "listen: set twice"},
      {"same-value.toml", listen + "request-delay = 7\nrequest-delay = 7\n", "request-delay: set twice"},
      {"flag.toml", listen + "require-cookie = true\nrequire-cookie = true\n", "require-cookie: set twice"},
      {"bare-flag.toml", listen + "require-cookie\nrequire-cookie\n", "require-cookie: set twice"},
      {"between.toml", listen + "allow-sn = \"A1\"\n# a comment\n\ndata = \"x\"\nallow-sn = \"B1\"\n", "allow-sn: set twice"},
      {"quoted.toml", listen + "\"allow-sn\" = \"A1\"\nallow-sn = \"B1\"\n", "allow-sn: set twice"},
      {"array.toml", listen + "allow-sn = [\"A1\",\n  \"A2\"]\nallow-sn = [\"B1\"]\n", "allow-sn: set twice"},
      {"section.toml", "[serve]\n" + listen + "allow-sn = \"A1\"\nallow-sn = \"B1\"\n", "serve.allow-sn: set twice"},
      {"top-and-section.toml", listen + "request-delay = 7\n[serve]\nrequest-delay = 8\n",
       "serve.request-delay: set twice (also as request-delay)"},
      {"dotted.toml", listen + "serve.request-delay = 7\nrequest-delay = 8\n",
       "request-delay: set twice (also as serve.request-delay)"},
      {"two-sections.ini", "[serve]\nlisten = 127.0.0.1:0\n[serve]\nlisten = 127.0.0.1:1\n", "serve.listen: set twice"},
      // Other spellings are not the same key, and not a second spelling of it either: unknown.
      {"case.toml", listen + "Listen = \"127.0.0.1:1\"\n", "Listen: unknown setting"},
      {"underscore.toml", listen + "request-delay = 7\nrequest_delay = 8\n", "request_delay: unknown setting"},
  };
  for (const auto& c : cases) {
    const std::string file = write(c.name, c.text);
    ServeProcess serve({"--config", file, "--data", path("data")});
    EXPECT_EQ(serve.wait_exit(), 1) << c.name << "\n" << serve.log();
    EXPECT_NE(serve.log().find("config file " + file + ": " + c.message), std::string::npos)
        << c.name << ": expected: " << c.message << "\nlog: " << serve.log();
    EXPECT_EQ(serve.log().find("serving on"), std::string::npos) << c.name << "\n" << serve.log();
  }
  // A list in one key is one setting, not two.
  ServeProcess serve({"--config", write("list.toml", listen + "allow-sn = [\"A1\",\n \"B1\"]\ndata = \"" + path("data") + "\"\n")});
  ASSERT_NE(serve.wait_serving(), 0) << serve.log();
  EXPECT_EQ(serve.stop(), 0);
}

TEST_F(ServeCommand, GeneratedApiTokenStoredPrivatelyAndReused) {
  const std::string data = path("data");
  const std::string file = (fs::path(data) / "api-token").string();
  // Never the token itself: where it is, its fingerprint, and how to read it.
  const std::regex logged("API token: (generated and )?stored in ([^ ]*) \\(fingerprint sha256:([0-9a-f]{8}); "
                          "read it with: sudo cat ([^)]*)\\)");
  auto read_token = [&file] {
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    return token;
  };
  std::string token, fingerprint;
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    token = read_token();
    ASSERT_EQ(token.size(), 64u);
    EXPECT_EQ(serve.log().find(token), std::string::npos) << serve.log();
    EXPECT_EQ(serve.log().find(token.substr(0, 16)), std::string::npos) << serve.log();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(serve.log(), m, logged)) << serve.log();
    EXPECT_TRUE(m[1].matched);
    EXPECT_EQ(m[2], file);
    EXPECT_EQ(m[4], file);
    fingerprint = m[3];
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer " + token + "\r\n").first, 200);
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer " + std::string(64, '0') + "\r\n").first, 401);
    EXPECT_EQ(serve.stop(), 0);
  }
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(serve.log(), m, logged)) << serve.log();
    EXPECT_FALSE(m[1].matched);  // read, not generated again
    EXPECT_EQ(m[3], fingerprint);
    EXPECT_EQ(read_token(), token);
    EXPECT_EQ(serve.log().find(token), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer " + token + "\r\n").first, 200);
    EXPECT_EQ(serve.stop(), 0);
  }
  {
    // A token given in the environment is used as is and not printed.
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data}, {"ZKPUSH_API_TOKEN=env-token"});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    EXPECT_EQ(serve.log().find(token), std::string::npos) << serve.log();
    EXPECT_EQ(serve.log().find("env-token"), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer env-token\r\n").first, 200);
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer " + token + "\r\n").first, 401);
    EXPECT_EQ(serve.stop(), 0);
  }
}

// A weak token, from the file or the command line, is accepted with a WARN line that says why; the
// start-up log says which defences are in force, and never holds the token.
TEST_F(ServeCommand, WeakTokenWarnedAndSecuritySettingsLogged) {
  const std::string data = path("data");
  fs::create_directories(data);
  {
    std::ofstream(fs::path(data) / "api-token") << "short\n";
    fs::permissions(fs::path(data) / "api-token", fs::perms::owner_read | fs::perms::owner_write);
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data, "--registration", "approve", "--allow-sn",
                        "AB*,CD1", "--allow-net", "10.0.0.0/8", "--panel-enrolment", "ignore"});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    const auto& log = serve.log();
    EXPECT_EQ(log.find("short"), log.find("shorter than 16 characters (5)")) << log;  // only in the reason
    EXPECT_NE(log.find("[warning] API token sha256:"), std::string::npos) << log;
    EXPECT_NE(log.find("is weak: shorter than 16 characters (5)"), std::string::npos) << log;
    EXPECT_NE(log.find("security (devices): registration approve, device token strict (missing cookie accepted), "
                       "allow-list on (2 serial pattern(s), 1 network(s)), panel enrolment ignore, encryption off"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("security (API): roles checked on "), std::string::npos) << log;
    EXPECT_NE(log.find("1 public (/api/v1/openapi.json)"), std::string::npos) << log;
    EXPECT_NE(log.find("locked out for a minute after 10 wrong tokens"), std::string::npos) << log;
    EXPECT_NE(log.find("audit log: empty"), std::string::npos) << log;
    // The weak token still works: refusing it would lock out the scripts that use it.
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer short\r\n").first, 200);
    EXPECT_EQ(serve.stop(), 0);
  }
  {
    // Long enough but with little variety; from the command line.
    const std::string dull = "abababababababababab";
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data, "--api-token", dull, "--api-lockout-after", "0"});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    const auto& log = serve.log();
    EXPECT_EQ(log.find(dull), std::string::npos) << log;
    EXPECT_NE(log.find("is weak: only 2 distinct characters (at least 6 wanted)"), std::string::npos) << log;
    EXPECT_NE(log.find("security (devices): registration auto, device token strict"), std::string::npos) << log;
    EXPECT_NE(log.find("allow-list off (every device)"), std::string::npos) << log;
    EXPECT_NE(log.find("no lockout after wrong tokens (--api-lockout-after 0)"), std::string::npos) << log;
    EXPECT_EQ(get(port, "/api/v1/devices", "Authorization: Bearer " + dull + "\r\n").first, 200);
    EXPECT_EQ(serve.stop(), 0);
  }
  {
    // A strong token: no warning.
    const std::string strong = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", data, "--api-token", strong});
    ASSERT_NE(serve.wait_serving(), 0) << serve.log();
    EXPECT_EQ(serve.log().find("is weak"), std::string::npos) << serve.log();
    EXPECT_EQ(serve.log().find(strong), std::string::npos) << serve.log();
    EXPECT_EQ(serve.stop(), 0);
  }
}

// --listen takes a host name as well as an address: localhost is resolved (to 127.0.0.1, what
// clients and IPv4-only devices reach), and ":port" means every address.
TEST_F(ServeCommand, ListenTakesAHostNameAndABarePort) {
  {
    ServeProcess serve({"--listen", "localhost:0", "--data", path("data")});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    EXPECT_NE(serve.log().find("serving on 127.0.0.1:"), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, init("LISTEN01")).first, 200);
    EXPECT_EQ(serve.stop(), 0) << serve.log();
  }
  {
    ServeProcess serve({"--listen", ":0", "--data", path("data")});
    const int port = serve.wait_serving();
    ASSERT_NE(port, 0) << serve.log();
    EXPECT_NE(serve.log().find("serving on 0.0.0.0:"), std::string::npos) << serve.log();
    EXPECT_EQ(get(port, init("LISTEN02")).first, 200);
    EXPECT_EQ(serve.stop(), 0) << serve.log();
  }
  {
    ServeProcess serve({"--listen", "no-such-host.invalid:0", "--data", path("data")});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("--listen: cannot resolve host 'no-such-host.invalid'"), std::string::npos)
        << serve.log();
  }
}

// A number that means nothing to a device or to the queue is refused with the option's name and
// what it must be, before anything starts: from the command line (status 2), a config file or the
// environment (status 1). Where 0 means something (never, one per core, off), 0 is taken.
TEST_F(ServeCommand, MeaninglessNumbersAreRefused) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--request-delay", "-1"}, "--request-delay: must be at least 1, got -1"},
      {{"--request-delay", "0"}, "--request-delay: must be at least 1, got 0"},
      {{"--max-commands", "0"}, "--max-commands: must be at least 1, got 0"},
      {{"--max-commands", "-3"}, "--max-commands: must be at least 1, got -3"},
      {{"--error-delay", "0"}, "--error-delay: must be at least 1"},
      {{"--timeout-sec", "-5"}, "--timeout-sec: must be at least 1"},
      {{"--trans-interval", "0"}, "--trans-interval: must be at least 1"},
      {{"--resend-after", "0"}, "--resend-after: must be at least 1"},
      {{"--control-expiry", "-1"}, "--control-expiry: must be at least 0"},
      {{"--threads", "-2"}, "--threads: must be 0 to 1024"},
      {{"--realtime", "2"}, "--realtime: must be 0 to 1"},
      {{"--sync-settle", "-1"}, "--sync-settle: must be 0 to 60"},
      {{"--trace-memory", "-1"}, "--trace-memory: must be 0 to 65536"},
      {{"--request-delay", "soon"}, "--request-delay: not a number: soon"},
  };
  for (const auto& [args, message] : refused) {
    auto all = args;
    all.insert(all.end(), {"--listen", "127.0.0.1:0", "--data", path("data")});
    ServeProcess serve(all);
    EXPECT_EQ(serve.wait_exit(), 2) << args[0] << " " << args[1] << "\n" << serve.log();
    EXPECT_NE(serve.log().find(message), std::string::npos) << "expected: " << message << "\nlog: " << serve.log();
  }
  {
    ServeProcess serve({"--config", write("delay.toml", "request-delay = 0\n"), "--data", path("data")});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("request-delay: --request-delay: must be at least 1, got 0"), std::string::npos)
        << serve.log();
  }
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data")}, {"ZKPUSH_MAX_COMMANDS=0"});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("ZKPUSH_MAX_COMMANDS: must be at least 1, got 0"), std::string::npos) << serve.log();
  }
  // 0 where it means something: CONTROL DEVICE never expires, one thread per core, Realtime off.
  ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--control-expiry", "0", "--threads", "0",
                      "--realtime", "0", "--sync-verify-hours", "0"});
  const int port = serve.wait_serving();
  ASSERT_NE(port, 0) << serve.log();
  EXPECT_EQ(serve.stop(), 0) << serve.log();
}

// The device guard's options (docs/serve.md "Device rate limits and lockouts"): a rate that does not
// read stops the start naming the option; thresholds out of range are command-line errors; good
// values are what the start-up log says.
TEST_F(ServeCommand, DeviceGuardOptions) {
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--device-rate", "fast"});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("--device-rate 'fast'"), std::string::npos) << serve.log();
  }
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--address-rate", "10/h"});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("--address-rate '10/h'"), std::string::npos) << serve.log();
  }
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--lockout-after", "-1"});
    EXPECT_EQ(serve.wait_exit(), 2) << serve.log();
    EXPECT_NE(serve.log().find("--lockout-after: must be 0 to 100000"), std::string::npos) << serve.log();
  }
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--lockout-minutes", "0"});
    EXPECT_EQ(serve.wait_exit(), 2) << serve.log();
  }
  ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--device-rate", "20/s:100", "--address-rate",
                      "600/min", "--limit-loopback", "--lockout-after", "5", "--lockout-minutes", "30"});
  const int port = serve.wait_serving();
  ASSERT_NE(port, 0) << serve.log();
  EXPECT_NE(serve.log().find("device rate limits: per serial number 20/s burst 100, per address 10/s burst 100\n"),
            std::string::npos)
      << serve.log();
  EXPECT_EQ(serve.stop(), 0) << serve.log();
}

// --help shows what runs when an option is left out, the ZKPUSH_* environment included, but never
// the API token.
TEST_F(ServeCommand, HelpShowsEveryDefault) {
  // "  --registration TEXT:{auto,approve}=auto": the default after the last '=' of the option's line.
  auto shows_default = [](const std::string& help, const std::string& option, const std::string& value) {
    const auto at = help.find("  " + option + " ");
    if (at == std::string::npos) return false;
    const std::string line = help.substr(at, help.find('\n', at) - at);
    const auto name_end = line.find(' ', 2);
    const auto eq = line.find('=' + value, name_end);
    if (eq == std::string::npos) return false;
    const auto after = eq + 1 + value.size();
    return after == line.size() || line[after] == ' ';
  };
  ServeProcess plain({"--help"});
  EXPECT_EQ(plain.wait_exit(), 0) << plain.log();
  const std::string help = plain.log();
  EXPECT_TRUE(shows_default(help, "--registration", "auto")) << help;
  EXPECT_TRUE(shows_default(help, "--token", "strict")) << help;
  EXPECT_TRUE(shows_default(help, "--listen", "0.0.0.0:8088")) << help;
  EXPECT_TRUE(shows_default(help, "--request-delay", "30")) << help;
  EXPECT_TRUE(shows_default(help, "--max-commands", "16")) << help;
  EXPECT_TRUE(shows_default(help, "--threads", "0")) << help;
  EXPECT_TRUE(shows_default(help, "--tz", "+0000")) << help;
  EXPECT_TRUE(shows_default(help, "--sync-verify-hours", "24")) << help;
  EXPECT_TRUE(shows_default(help, "--trace-memory", "16")) << help;

  ServeProcess from_env({"--help"}, {"ZKPUSH_REGISTRATION=approve", "ZKPUSH_TOKEN=warn", "ZKPUSH_API_TOKEN=secret-token"});
  EXPECT_EQ(from_env.wait_exit(), 0) << from_env.log();
  EXPECT_TRUE(shows_default(from_env.log(), "--registration", "approve")) << from_env.log();
  EXPECT_TRUE(shows_default(from_env.log(), "--token", "warn")) << from_env.log();
  EXPECT_EQ(from_env.log().find("secret-token"), std::string::npos) << from_env.log();
}

// The contract of the TLS listener (docs/tls.md): with --tls-listen, --tls-cert and --tls-key the API
// (bearer token) and a panel's init answer 200 over HTTPS while the plain listener goes on; SIGHUP
// swaps the certificate for new connections, keeps open ones, and keeps the old one when the new
// files are bad.
struct ServeTlsClient {
  ServeTlsClient() : ctx(SSL_CTX_new(TLS_client_method())) {}
  ~ServeTlsClient() { SSL_CTX_free(ctx); }
  // Connects and handshakes; the certificate's common name in `cn`.
  std::unique_ptr<TestClient> connect(int port, std::string* cn = nullptr) const {
    auto c = std::make_unique<TestClient>(static_cast<std::uint16_t>(port));
    std::string error;
    if (!c->start_tls(ctx, &error)) {
      ADD_FAILURE() << "TLS handshake: " << error;
      return nullptr;
    }
    if (cn != nullptr) {
      X509* cert = SSL_get1_peer_certificate(c->ssl());
      char name[256] = {};
      if (cert != nullptr) X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
      X509_free(cert);
      *cn = name;
    }
    return c;
  }
  SSL_CTX* ctx;
};

std::optional<zkpush::server::http::test::RawResponse> serve_tls_get(TestClient& c, const std::string& target,
                                                                     const std::string& headers = {}) {
  if (!c.send(zkpush::server::http::test::request("GET", target, {}, headers))) return std::nullopt;
  return c.read_response();
}

TEST_F(ServeCommand, TlsListenerServesApiAndDevicesAndReloadsOnSighup) {
  const auto a = zkpush::test::make_test_certificate(dir_, "a", "cli-tls-a");
  const auto b = zkpush::test::make_test_certificate(dir_, "b", "cli-tls-b");
  fs::copy_file(a.cert, path("server.crt"));
  fs::copy_file(a.key, path("server.key"));
  const std::string token = "cli-tls-token-0123456789abcdef";
  ServeProcess serve({"--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--tls-cert", path("server.crt"),
                      "--tls-key", path("server.key"), "--data", path("data"), "--api-token", token});
  const int port = serve.wait_serving();
  ASSERT_NE(port, 0) << serve.log();
  const int tls_port = serve.wait_serving("serving HTTPS on [^ ]*:([0-9]+)");
  ASSERT_NE(tls_port, 0) << serve.log();
  EXPECT_NE(serve.log().find("subject CN=cli-tls-a"), std::string::npos) << serve.log();
  EXPECT_EQ(serve.log().find("PRIVATE KEY"), std::string::npos) << serve.log();

  ServeTlsClient tls;
  std::string cn;
  auto kept = tls.connect(tls_port, &cn);
  ASSERT_TRUE(kept);
  EXPECT_EQ(cn, "cli-tls-a");
  auto api = serve_tls_get(*kept, "/api/v1/devices", "Authorization: Bearer " + token + "\r\n");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200) << api->body;
  EXPECT_EQ(api->header("Strict-Transport-Security"), "max-age=31536000");
  auto device = tls.connect(tls_port);
  ASSERT_TRUE(device);
  auto init_answer = serve_tls_get(*device, init("CLITLS01"));
  ASSERT_TRUE(init_answer);
  EXPECT_EQ(init_answer->status, 200);
  EXPECT_EQ(get(port, init("CLITLS02")), (std::pair<int, std::string>{200, "OK"}));  // plain goes on

  // Renewed files, then SIGHUP: new connections get them, the open one goes on.
  fs::copy_file(b.cert, path("server.crt"), fs::copy_options::overwrite_existing);
  fs::copy_file(b.key, path("server.key"), fs::copy_options::overwrite_existing);
  std::size_t mark = serve.log().size();
  serve.signal(SIGHUP);
  ASSERT_TRUE(serve.wait_log("TLS reload: new connections use", mark)) << serve.log();
  auto renewed = tls.connect(tls_port, &cn);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(cn, "cli-tls-b");
  api = serve_tls_get(*kept, "/api/v1/devices", "Authorization: Bearer " + token + "\r\n");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 200);

  // A bad file on reload: logged, and the current certificate stays.
  write("server.crt", "not a certificate\n");
  mark = serve.log().size();
  serve.signal(SIGHUP);
  ASSERT_TRUE(serve.wait_log("TLS reload failed", mark)) << serve.log();
  auto after_failure = tls.connect(tls_port, &cn);
  ASSERT_TRUE(after_failure);
  EXPECT_EQ(cn, "cli-tls-b");
  auto still = serve_tls_get(*after_failure, init("CLITLS03"));
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  EXPECT_EQ(serve.stop(), 0) << serve.log();
}

TEST_F(ServeCommand, TlsFromTheEnvironmentAndBadKeyRefused) {
  const auto a = zkpush::test::make_test_certificate(dir_, "a", "cli-tls-env");
  const auto b = zkpush::test::make_test_certificate(dir_, "b", "cli-tls-other");
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data")},
                       {"ZKPUSH_TLS_LISTEN=127.0.0.1:0", "ZKPUSH_TLS_CERT=" + a.cert.string(),
                        "ZKPUSH_TLS_KEY=" + a.key.string(), "ZKPUSH_API_PLAIN=loopback"});
    const int tls_port = serve.wait_serving("serving HTTPS on [^ ]*:([0-9]+)");
    ASSERT_NE(tls_port, 0) << serve.log();
    EXPECT_NE(serve.log().find("API on plain HTTP only from loopback"), std::string::npos) << serve.log();
    ServeTlsClient tls;
    auto c = tls.connect(tls_port);
    ASSERT_TRUE(c);
    auto r = serve_tls_get(*c, init("CLITLS04"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(serve.stop(), 0) << serve.log();
  }
  {
    // The key of another certificate: a clear error and status 1, before serving.
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--tls-listen", "127.0.0.1:0",
                        "--tls-cert", a.cert.string(), "--tls-key", b.key.string()});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("does not match the certificate"), std::string::npos) << serve.log();
    EXPECT_EQ(serve.log().find("serving on"), std::string::npos) << serve.log();
  }
  {
    ServeProcess serve({"--listen", "127.0.0.1:0", "--data", path("data"), "--tls-listen", "127.0.0.1:0",
                        "--tls-cert", path("absent.crt"), "--tls-key", a.key.string()});
    EXPECT_EQ(serve.wait_exit(), 1) << serve.log();
    EXPECT_NE(serve.log().find("absent.crt: cannot read"), std::string::npos) << serve.log();
  }
}

}  // namespace
