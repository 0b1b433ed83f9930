// ServerConfig: listen address parsing and the ZKPUSH_* environment.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "server/config.hpp"

namespace zkpush::server {
namespace {

TEST(ServerConfig, ParseListen) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(parse_listen("0.0.0.0:8088", host, port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 8088);
  ASSERT_TRUE(parse_listen("[::]:9000", host, port));
  EXPECT_EQ(host, "::");
  EXPECT_EQ(port, 9000);
  ASSERT_TRUE(parse_listen(":80", host, port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_FALSE(parse_listen("8088", host, port));
  EXPECT_FALSE(parse_listen("host:99999", host, port));
  EXPECT_FALSE(parse_listen("host:8x", host, port));
}

TEST(ServerConfig, Environment) {
  ::setenv("ZKPUSH_LISTEN", "127.0.0.1:9999", 1);
  ::setenv("ZKPUSH_REGISTRATION", "approve", 1);
  ::setenv("ZKPUSH_TOKEN", "warn", 1);
  ::setenv("ZKPUSH_REQUEST_DELAY", "5", 1);
  ::setenv("ZKPUSH_TZ", "+0800", 1);
  ServerConfig c;
  apply_environment(c);
  EXPECT_EQ(c.listen, "127.0.0.1:9999");
  EXPECT_EQ(c.registration, RegistrationPolicy::approve);
  EXPECT_EQ(c.token, TokenPolicy::warn);
  EXPECT_EQ(c.request_delay, 5);
  EXPECT_EQ(c.default_tz_minutes, 480);
  ::setenv("ZKPUSH_REQUEST_DELAY", "soon", 1);
  EXPECT_THROW(apply_environment(c), std::invalid_argument);
  for (auto name : {"ZKPUSH_LISTEN", "ZKPUSH_REGISTRATION", "ZKPUSH_TOKEN", "ZKPUSH_REQUEST_DELAY", "ZKPUSH_TZ"}) {
    ::unsetenv(name);
  }
  EXPECT_THROW(parse_registration_policy("open"), std::invalid_argument);
}

TEST(ServerConfig, TraceMemoryFromEnvironment) {
  ServerConfig c;
  EXPECT_EQ(c.trace_memory_mib, 16);
  EXPECT_EQ(c.trace_depth, 100);
  ::setenv("ZKPUSH_TRACE_MEMORY", "0", 1);
  apply_environment(c);
  EXPECT_EQ(c.trace_memory_mib, 0);
  ::setenv("ZKPUSH_TRACE_MEMORY", "70000", 1);
  EXPECT_THROW(apply_environment(c), std::invalid_argument);
  ::unsetenv("ZKPUSH_TRACE_MEMORY");
  c = ServerConfig{};  // the refused value stays in the config it was read into
  ::setenv("ZKPUSH_TRACE_DEPTH", "20", 1);
  apply_environment(c);
  EXPECT_EQ(c.trace_depth, 20);
  ::setenv("ZKPUSH_TRACE_DEPTH", "0", 1);
  EXPECT_THROW(apply_environment(c), std::invalid_argument);
  ::unsetenv("ZKPUSH_TRACE_DEPTH");
}

TEST(ServerConfig, AllowListsFromEnvironment) {
  ::setenv("ZKPUSH_ALLOW_SN", "CGXH*, DDG71", 1);
  ::setenv("ZKPUSH_ALLOW_NET", "10.0.0.0/8,::1", 1);
  ServerConfig c;
  apply_environment(c);
  ::unsetenv("ZKPUSH_ALLOW_SN");
  ::unsetenv("ZKPUSH_ALLOW_NET");
  // Kept as given: the comma lists are split and checked by the allow-list when App starts.
  EXPECT_EQ(c.allow_sn, (std::vector<std::string>{"CGXH*, DDG71"}));
  EXPECT_EQ(c.allow_net, (std::vector<std::string>{"10.0.0.0/8,::1"}));
  ServerConfig untouched;
  apply_environment(untouched);
  EXPECT_TRUE(untouched.allow_sn.empty());
  EXPECT_TRUE(untouched.allow_net.empty());
}

TEST(ServerConfig, DeviceGuardFromEnvironment) {
  ServerConfig defaults;
  EXPECT_EQ(defaults.device_rate, "50/s:500");
  EXPECT_EQ(defaults.address_rate, "0");
  EXPECT_FALSE(defaults.limit_loopback);
  EXPECT_EQ(defaults.lockout_after, 10);
  EXPECT_EQ(defaults.lockout_address_after, 30);
  ::setenv("ZKPUSH_DEVICE_RATE", "5/s", 1);
  ::setenv("ZKPUSH_ADDRESS_RATE", "100/s:1000", 1);
  ::setenv("ZKPUSH_LIMIT_LOOPBACK", "1", 1);
  ::setenv("ZKPUSH_LOCKOUT_AFTER", "0", 1);
  ::setenv("ZKPUSH_LOCKOUT_MINUTES", "60", 1);
  ServerConfig c;
  apply_environment(c);
  EXPECT_EQ(c.device_rate, "5/s");
  EXPECT_EQ(c.address_rate, "100/s:1000");
  EXPECT_TRUE(c.limit_loopback);
  EXPECT_EQ(c.lockout_after, 0);
  EXPECT_EQ(c.lockout_minutes, 60);
  ::setenv("ZKPUSH_LOCKOUT_MINUTES", "0", 1);
  EXPECT_THROW(apply_environment(c), std::invalid_argument);
  ::setenv("ZKPUSH_LOCKOUT_MINUTES", "60", 1);
  ::setenv("ZKPUSH_LOCKOUT_WINDOW", "2000", 1);
  EXPECT_THROW(apply_environment(c), std::invalid_argument);
  for (const char* name : {"ZKPUSH_DEVICE_RATE", "ZKPUSH_ADDRESS_RATE", "ZKPUSH_LIMIT_LOOPBACK", "ZKPUSH_LOCKOUT_AFTER",
                           "ZKPUSH_LOCKOUT_MINUTES", "ZKPUSH_LOCKOUT_WINDOW"})
    ::unsetenv(name);
}

TEST(ServerConfig, ConsoleFolder) {
  ::setenv("ZKPUSH_CONSOLE", "/srv/zkpush-console", 1);
  ServerConfig c;
  apply_environment(c);
  ::unsetenv("ZKPUSH_CONSOLE");
  EXPECT_EQ(c.console_dir, "/srv/zkpush-console");

  // The defaults: beside this executable, then the packaged folder.
  const auto defaults = default_console_dirs();
  ASSERT_EQ(defaults.size(), 2u);
  EXPECT_EQ(std::filesystem::path(defaults[0]).filename(), "console");
  EXPECT_EQ(std::filesystem::path(defaults[0]).parent_path(),
            std::filesystem::read_symlink("/proc/self/exe").parent_path());
  EXPECT_EQ(defaults[1], "/usr/share/zkpush/console");

  // Given: used as is (made absolute), built or not. Else the first default holding an index.html,
  // else the first default.
  const auto dir = std::filesystem::temp_directory_path() / ("zkpush-console-dirs-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto first = (dir / "first").string(), second = (dir / "second").string();
  EXPECT_EQ(resolve_console_dir("/opt/console", {first, second}), "/opt/console");
  EXPECT_EQ(resolve_console_dir("rel/console", {}), (std::filesystem::current_path() / "rel/console").string());
  EXPECT_EQ(resolve_console_dir("", {first, second}), first);
  std::filesystem::create_directories(second);
  std::ofstream(std::filesystem::path(second) / "index.html") << "<!doctype html>";
  EXPECT_EQ(resolve_console_dir("", {first, second}), second);
  std::filesystem::create_directories(first);
  std::ofstream(std::filesystem::path(first) / "index.html") << "<!doctype html>";
  EXPECT_EQ(resolve_console_dir("", {first, second}), first);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zkpush::server
