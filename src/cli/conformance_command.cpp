// `zkpush conformance --server URL`: the manual's device-initiated flows against a PUSH server, a
// PASS / FAIL / N/A / BLOCKED matrix per manual section (docs/conformance.md). Exit status 0 = no
// failure, 1 = a check failed, 2 = bad arguments or a server that does not answer at all, 3 = the
// server kept the device out (registration refused or not approved), so almost nothing was tested.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "emulator/conformance.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli {

namespace {

struct ConformanceCliOptions {
  std::string server;
  std::string sn;
  std::string profile = "inbio460";
  std::string wait_approval = "0";  // text, so that a bad value is our status 2, not CLI11's code
  std::string timeout = "10";
  std::string file;
  bool json = false;
  bool verbose = false;
};

// Whole seconds, 0 to a day; nullopt otherwise.
std::optional<long> seconds_of(const std::string& text) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const long v = std::stol(text);
  return v <= 86400 ? std::optional<long>(v) : std::nullopt;
}

int run_conformance_command(const ConformanceCliOptions& o) {
  emulator::ConformanceOptions c;
  auto server = emulator::parse_server_url(o.server);
  if (!server) {
    std::fprintf(stderr, "conformance: --server: expected http://host:port, got '%s'\n", o.server.c_str());
    return 2;
  }
  c.server = *server;
  c.profile = emulator::find_profile(o.profile);
  if (c.profile == nullptr) {
    std::string names;
    for (const auto& p : emulator::profiles()) names += " " + std::string(p.name);
    std::fprintf(stderr, "conformance: unknown profile '%s' (profiles:%s)\n", o.profile.c_str(), names.c_str());
    return 2;
  }
  // The serial number goes into query strings and bodies as is: the protocol core's rule.
  if (!o.sn.empty() && !protocol::is_valid_serial_number(o.sn)) {
    std::fprintf(stderr, "conformance: --sn: letters, digits, '-' and '_' only (at most %zu), got '%s'\n",
                 protocol::kMaxSerialNumberLength, protocol::text::printable(o.sn).c_str());
    return 2;
  }
  c.sn = o.sn;
  auto wait = seconds_of(o.wait_approval);
  if (!wait) {
    std::fprintf(stderr, "conformance: --wait-approval: seconds (0-86400), got '%s'\n", o.wait_approval.c_str());
    return 2;
  }
  c.wait_approval = std::chrono::seconds(*wait);
  auto timeout = seconds_of(o.timeout);
  if (!timeout || *timeout == 0) {
    std::fprintf(stderr, "conformance: --timeout: seconds (1-86400), got '%s'\n", o.timeout.c_str());
    return 2;
  }
  c.timeout = std::chrono::seconds(*timeout);
  c.file = o.file;

  const emulator::ConformanceReport report = emulator::run_conformance(c);
  if (o.json) {
    std::cout << emulator::report_json(report).dump(2) << std::endl;
  } else {
    std::cout << emulator::format_report(report, o.verbose) << std::flush;
  }
  if (!report.reachable) {
    std::fprintf(stderr, "conformance: server %s unreachable: %s\n", report.server.c_str(),
                 report.unreachable_reason.c_str());
  }
  if (report.blocked()) {
    std::fprintf(stderr, "conformance: %s; %d of %zu checks could not be made\n", report.blocked_reason.c_str(),
                 report.count(emulator::Verdict::blocked), report.results.size());
  }
  return report.exit_status();
}

}  // namespace

void register_conformance(CLI::App& app) {
  auto o = std::make_shared<ConformanceCliOptions>();
  auto* cmd = app.add_subcommand("conformance",
                                 "Check a PUSH server against the manual's device-initiated flows (pass/fail matrix)");
  cmd->add_option("--server", o->server, "server URL, http://host:port (required)");
  cmd->add_option("--sn", o->sn, "serial number to register as (default: a fresh CFT... number)");
  cmd->add_option("--profile", o->profile, "device profile: inbio460 | c3-100 | face | channel")->capture_default_str();
  cmd->add_option("--wait-approval", o->wait_approval,
                  "seconds to keep retrying a registration the server holds for approval (406)")
      ->capture_default_str();
  cmd->add_option("--file", o->file, "a file the server publishes for UPGRADE (/files/NAME or its URL)");
  cmd->add_option("--timeout", o->timeout, "seconds to wait for each answer")->capture_default_str();
  cmd->add_flag("--json", o->json, "print the report as JSON");
  cmd->add_flag("--verbose", o->verbose, "show every exchange, not only those of failed checks");
  cmd->callback([o] { set_exit_code(run_conformance_command(*o)); });
}

}  // namespace zkpush::cli
