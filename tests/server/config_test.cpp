// ServerConfig: listen address parsing and the ZKPUSH_* environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

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

}  // namespace
}  // namespace zkpush::server
