// The `zkpush` binary's own command line, as a new user meets it: --version, a mistyped or missing
// subcommand named with the list of subcommands (exit status 2), and --help showing every option's
// default.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "cli/run_zkpush.hpp"

namespace {

using zkpush::cli_test::run_zkpush;

// The version of project() in CMakeLists.txt, where it is written once.
std::string project_version() {
  std::ifstream in(std::string(ZKPUSH_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream text;
  text << in.rdbuf();
  std::smatch m;
  const std::string s = text.str();
  return std::regex_search(s, m, std::regex(R"(project\(zkpush VERSION ([0-9.]+))")) ? m[1].str() : std::string();
}

TEST(ZkpushCommand, VersionPrintsTheProjectVersion) {
  const std::string version = project_version();
  ASSERT_FALSE(version.empty());
  auto [status, out] = run_zkpush("--version");
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "zkpush " + version + "\n");
}

TEST(ZkpushCommand, AnUnknownSubcommandIsNamedWithTheSubcommands) {
  auto [status, out] = run_zkpush("bogus", true);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("zkpush: unknown subcommand 'bogus'; the subcommands are: serve, simulate, conformance, "
                     "decode, ctl, backup, restore, healthcheck, audit, migrate (zkpush --help)"),
            std::string::npos)
      << out;
  // Options before it change nothing.
  auto [with_option, said] = run_zkpush("--unknown-flag bogus", true);
  EXPECT_EQ(with_option, 2) << said;
  EXPECT_NE(said.find("unknown subcommand 'bogus'"), std::string::npos) << said;
}

TEST(ZkpushCommand, NoSubcommandSaysOneIsRequiredAndListsThem) {
  auto [status, out] = run_zkpush("", true);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("zkpush: a subcommand is required: serve, simulate, conformance, decode, ctl, backup, "
                     "restore, healthcheck"),
            std::string::npos)
      << out;
}

TEST(ZkpushCommand, AnUnknownOptionOfASubcommandExitsWithStatus2) {
  auto [status, out] = run_zkpush("serve --no-such-option", true);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--no-such-option"), std::string::npos) << out;
  EXPECT_EQ(out.find("unknown subcommand"), std::string::npos) << out;
}

// Whether `help` (CLI11's --help) shows `value` as the default of `option`: "  --ramp FLOAT:> 0=500  ...".
bool shows_default(const std::string& help, const std::string& option, const std::string& value) {
  const auto at = help.find("  " + option + " ");
  if (at == std::string::npos) return false;
  const std::string line = help.substr(at, help.find('\n', at) - at);
  const auto name_end = line.find(' ', 2);
  const auto eq = line.find('=' + value, name_end);
  if (eq == std::string::npos) return false;
  const auto after = eq + 1 + value.size();
  return after == line.size() || line[after] == ' ';
}

TEST(ZkpushCommand, HelpShowsTheDefaults) {
  // serve's, which its ZKPUSH_* environment changes: tests/cli/serve_command_test.cpp.
  auto [simulate_status, simulate] = run_zkpush("simulate --help");
  ASSERT_EQ(simulate_status, 0) << simulate;
  EXPECT_TRUE(shows_default(simulate, "--devices", "1")) << simulate;
  EXPECT_TRUE(shows_default(simulate, "--events-per-second", "0")) << simulate;
  EXPECT_TRUE(shows_default(simulate, "--duration", "0")) << simulate;
  EXPECT_TRUE(shows_default(simulate, "--ramp", "500")) << simulate;
  EXPECT_TRUE(shows_default(simulate, "--tz", "+0000")) << simulate;

  auto [conformance_status, conformance] = run_zkpush("conformance --help");
  ASSERT_EQ(conformance_status, 0) << conformance;
  EXPECT_TRUE(shows_default(conformance, "--timeout", "10")) << conformance;
  EXPECT_TRUE(shows_default(conformance, "--wait-approval", "0")) << conformance;

  auto [ctl_status, ctl] = run_zkpush("ctl doors open --help");
  ASSERT_EQ(ctl_status, 0) << ctl;
  EXPECT_TRUE(shows_default(ctl, "--seconds", "5")) << ctl;
}

}  // namespace
