// The device allow-list: serial number patterns, IPv4/IPv6 networks, errors for bad entries.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "front/access_list.hpp"

namespace zkpush::front {
namespace {

TEST(AccessList, GlobMatch) {
  EXPECT_TRUE(glob_match("CGXH201360001", "CGXH201360001"));
  EXPECT_FALSE(glob_match("CGXH201360001", "CGXH20136000"));
  EXPECT_FALSE(glob_match("CGXH201360001", "cgxh201360001"));  // exact: case matters
  EXPECT_TRUE(glob_match("CGXH*", "CGXH201360001"));
  EXPECT_TRUE(glob_match("CGXH*", "CGXH"));
  EXPECT_FALSE(glob_match("CGXH*", "XCGXH1"));
  EXPECT_TRUE(glob_match("*0001", "ABC0001"));
  EXPECT_FALSE(glob_match("*0001", "ABC0001X"));
  EXPECT_TRUE(glob_match("A?C", "ABC"));
  EXPECT_FALSE(glob_match("A?C", "AC"));
  EXPECT_TRUE(glob_match("A*B*C", "AxxBxxBxxC"));
  EXPECT_FALSE(glob_match("A*B*C", "AxxCxxB"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("", "A"));
  EXPECT_TRUE(glob_match("**?", "Z"));
}

TEST(AccessList, SplitList) {
  EXPECT_EQ(split_list({"a, b,,c ", "d"}), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(split_list({" , "}).empty());
}

TEST(AccessList, EmptyAllowsEverything) {
  AccessList all;
  EXPECT_TRUE(all.allows_all());
  EXPECT_FALSE(all.refusal("203.0.113.9", "ANY").has_value());
  EXPECT_FALSE(all.refusal("not an address", "").has_value());
  AccessList blank({" "}, {","});
  EXPECT_TRUE(blank.allows_all());
}

TEST(AccessList, SerialNumbers) {
  AccessList list({"CGXH*,DDG7?", "EXACT01"}, {});
  EXPECT_FALSE(list.allows_all());
  EXPECT_TRUE(list.serial_allowed("CGXH201360001"));
  EXPECT_TRUE(list.serial_allowed("DDG71"));
  EXPECT_FALSE(list.serial_allowed("DDG712"));
  EXPECT_TRUE(list.serial_allowed("EXACT01"));
  EXPECT_FALSE(list.serial_allowed("EXACT011"));
  EXPECT_FALSE(list.serial_allowed(""));
  EXPECT_TRUE(list.network_allowed("203.0.113.9"));  // no networks: any peer
  EXPECT_EQ(list.refusal("10.1.1.1", "OTHER").value_or(""), "serial number not allowed: OTHER");
  EXPECT_EQ(list.refusal("10.1.1.1", "").value_or(""), "serial number required by the allow-list");
  EXPECT_NE(list.describe().find("CGXH*"), std::string::npos);
}

TEST(AccessList, Ipv4Networks) {
  AccessList list({}, {"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12", "100.64.0.0/10"});
  EXPECT_TRUE(list.network_allowed("10.255.1.2"));
  EXPECT_FALSE(list.network_allowed("11.0.0.1"));
  EXPECT_TRUE(list.network_allowed("192.168.1.7"));
  EXPECT_FALSE(list.network_allowed("192.168.1.8"));
  EXPECT_TRUE(list.network_allowed("172.31.255.255"));
  EXPECT_FALSE(list.network_allowed("172.32.0.0"));
  EXPECT_TRUE(list.network_allowed("100.127.0.1"));   // /10 cuts inside a byte
  EXPECT_FALSE(list.network_allowed("100.128.0.1"));
  EXPECT_FALSE(list.network_allowed("127.0.0.1"));
  EXPECT_FALSE(list.network_allowed("::1"));          // an IPv6 peer never matches an IPv4 network
  EXPECT_FALSE(list.network_allowed("garbage"));      // unreadable peers are refused
  EXPECT_TRUE(list.serial_allowed("ANY"));            // no patterns: any serial number
  EXPECT_EQ(list.refusal("127.0.0.1", "SN1").value_or(""), "network not allowed: 127.0.0.1");
}

TEST(AccessList, Ipv4MappedPeersMatchIpv4Networks) {
  AccessList list({}, {"10.0.0.0/8"});
  EXPECT_TRUE(list.network_allowed("::ffff:10.1.2.3"));
  EXPECT_FALSE(list.network_allowed("::ffff:127.0.0.1"));
  // A mapped network is the IPv4 network it maps.
  AccessList mapped({}, {"::ffff:192.168.0.0/112"});
  EXPECT_TRUE(mapped.network_allowed("192.168.4.5"));
  EXPECT_TRUE(mapped.network_allowed("::ffff:192.168.4.5"));
  EXPECT_FALSE(mapped.network_allowed("192.169.0.1"));
}

TEST(AccessList, Ipv6Networks) {
  AccessList list({}, {"::1/128", "2001:db8::/32", "fe80::/10"});
  EXPECT_TRUE(list.network_allowed("::1"));
  EXPECT_FALSE(list.network_allowed("::2"));
  EXPECT_TRUE(list.network_allowed("2001:db8:1234::7"));
  EXPECT_FALSE(list.network_allowed("2001:db9::1"));
  EXPECT_TRUE(list.network_allowed("fe80::1%eth0"));  // a scope id does not change the address
  EXPECT_TRUE(list.network_allowed("febf::1"));
  EXPECT_FALSE(list.network_allowed("fec0::1"));
  EXPECT_FALSE(list.network_allowed("127.0.0.1"));
  AccessList everything({}, {"::/0", "0.0.0.0/0"});
  EXPECT_TRUE(everything.network_allowed("2001:db8::1"));
  EXPECT_TRUE(everything.network_allowed("8.8.8.8"));
}

TEST(AccessList, BothListsMustAllow) {
  AccessList list({"GOOD*"}, {"127.0.0.0/8"});
  EXPECT_FALSE(list.refusal("127.0.0.1", "GOOD1").has_value());
  EXPECT_EQ(list.refusal("127.0.0.1", "BAD1").value_or(""), "serial number not allowed: BAD1");
  EXPECT_EQ(list.refusal("10.0.0.1", "GOOD1").value_or(""), "network not allowed: 10.0.0.1");
}

std::string error_of(const std::vector<std::string>& serials, const std::vector<std::string>& networks) {
  try {
    AccessList list(serials, networks);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(AccessList, BadEntriesNamedInTheError) {
  EXPECT_EQ(error_of({}, {"10.0.0.300/8"}),
            "--allow-net: '10.0.0.300/8': not an IPv4 or IPv6 address (expected e.g. 10.0.0.0/8, 192.168.1.7, ::1/128)");
  EXPECT_NE(error_of({}, {"10.0.0/8"}).find("not an IPv4 or IPv6 address"), std::string::npos);
  EXPECT_NE(error_of({}, {"example.com"}).find("'example.com'"), std::string::npos);
  EXPECT_EQ(error_of({}, {"10.0.0.0/33"}), "--allow-net: '10.0.0.0/33': prefix length above 32");
  EXPECT_EQ(error_of({}, {"::/129"}), "--allow-net: '::/129': prefix length above 128");
  EXPECT_EQ(error_of({}, {"10.0.0.0/"}), "--allow-net: '10.0.0.0/': the prefix length after / must be a number");
  EXPECT_EQ(error_of({}, {"10.0.0.0/x"}), "--allow-net: '10.0.0.0/x': the prefix length after / must be a number");
  EXPECT_EQ(error_of({}, {"10.0.0.0/8, 192.168.1.7/24"}),
            "--allow-net: '192.168.1.7/24': host bits set after the prefix (did you mean 192.168.1.0/24?)");
  EXPECT_EQ(error_of({}, {"2001:db8::1/32"}),
            "--allow-net: '2001:db8::1/32': host bits set after the prefix (did you mean 2001:db8::/32?)");
  EXPECT_NE(error_of({}, {"::ffff:10.0.0.0/64"}).find("at least 96"), std::string::npos);
  EXPECT_EQ(error_of({"CG[0-9]*"}, {}), "--allow-sn: 'CG[0-9]*': only * and ? are wildcards, [ ] are not supported");
  EXPECT_EQ(error_of({"A B"}, {}), "--allow-sn: 'A B': only printable ASCII without blanks");
  EXPECT_EQ(error_of({"A1, B2"}, {"10.0.0.0/8"}), "(accepted)");
}

TEST(AccessList, DeviceAccessAnswersEveryRefusalAndLogsOncePerAddressAndSerial) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  // The log is rate-limited, the answer is not: every refused request gets its reason.
  DeviceAccess access({"OK*"}, {});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(access.check("10.9.9.9", "NOPE").value_or(""), "serial number not allowed: NOPE");
  }
  EXPECT_EQ(access.check("10.9.9.10", "NOPE").value_or(""), "serial number not allowed: NOPE");
  EXPECT_FALSE(access.check("10.9.9.9", "OK1").has_value());
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 2u) << text;  // one per address and serial number within the minute
  EXPECT_NE(text.find("10.9.9.9 NOPE: 403 serial number not allowed: NOPE"), std::string::npos) << text;
  EXPECT_NE(text.find("10.9.9.10 NOPE: 403"), std::string::npos) << text;
}

// Behind NAT many panels share one address: each refused serial number is logged once, not only
// the first one the address sent.
TEST(AccessList, RefusalsBehindNatLoggedForEachSerialNumber) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  DeviceAccess access({"OK*"}, {});
  for (int round = 0; round < 3; ++round) {
    for (const char* sn : {"PANEL1", "PANEL2", "PANEL3"}) EXPECT_TRUE(access.check("10.0.0.1", sn).has_value());
  }
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 3u) << text;
  for (const char* sn : {"PANEL1", "PANEL2", "PANEL3"})
    EXPECT_NE(text.find(std::string("10.0.0.1 ") + sn + ": 403 serial number not allowed"), std::string::npos) << text;
}

// A peer inventing serial numbers cannot flood the log: past the per-address budget lines stop, and
// the refusals keep being answered.
TEST(AccessList, SerialNumberSprayFromOneAddressIsNotAFlood) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  DeviceAccess access({"OK*"}, {});
  for (int i = 0; i < 500; ++i) {
    const auto sn = "SPRAY" + std::to_string(i);
    EXPECT_EQ(access.check("10.6.6.6", sn).value_or(""), "serial number not allowed: " + sn);
  }
  EXPECT_TRUE(access.check("10.7.7.7", "OTHER").has_value());  // another address has its own budget
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, DeviceAccess::kLinesPerAddress + 1) << text;
  EXPECT_NE(text.find("10.7.7.7 OTHER: 403"), std::string::npos) << text;
}

// A serial number with a newline cannot forge a second log line.
TEST(AccessList, RefusalLogLineKeepsControlCharactersOut) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  DeviceAccess access({"OK*"}, {});
  EXPECT_TRUE(access.check("10.0.0.2", "X\nfake: 200 accepted").has_value());
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 1u) << text;
}

TEST(AccessList, Loopback) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.9.8.7"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("::2"));
  EXPECT_FALSE(is_loopback("::ffff:10.0.0.1"));
  EXPECT_FALSE(is_loopback("not an address"));
}

}  // namespace
}  // namespace zkpush::front
