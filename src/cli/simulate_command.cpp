// `zkpush simulate`: N emulated devices against a PUSH server, a live progress line on a terminal,
// and a summary (latency per exchange) at the end, as text or JSON; or, with --scenario, one device
// running a script (emulator/scenario.hpp), each step printed as it ends.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/checks.hpp"
#include "cli/commands.hpp"
#include "emulator/scenario.hpp"
#include "emulator/simulator.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::cli {

namespace {

struct SimulateOptions {
  std::string server = "http://127.0.0.1:8088";
  int devices = 1;
  std::string profile = "inbio460";
  std::string sn_prefix = "EMU";
  double events_per_second = 0;
  std::string swipe_cards;  // FIRST-LAST
  double duration = 0;       // seconds; 0 = until Ctrl-C
  double poll_interval = 0;  // seconds; 0 = the server's RequestDelay
  double ramp = 500;
  unsigned threads = 0;
  std::string tz;
  bool json = false;
  std::string scenario;  // a script for one device instead of a load run
  bool remote_auth = false;
  std::string remote_fallback = "deny";
  int sub_controllers = 0;
  double remote_timeout = 3;  // seconds
  bool encryption = false;
  std::string ca;         // https://: a PEM file of CAs to trust besides the system's
  bool insecure = false;  // https://: no certificate verification
};

emulator::Simulator* g_running = nullptr;
extern "C" void on_signal(int) {
  if (g_running != nullptr) g_running->stop();
}

// Under the table, why the errors happened, per exchange: "registry: 5 errors (5× 406 not
// approved)". A count alone sent users to the server's log to find out.
void print_error_reasons(const nlohmann::ordered_json& j) {
  bool first = true;
  for (const auto& [name, e] : j["endpoints"].items()) {
    if (!e.contains("error_reasons")) continue;
    std::string reasons;
    for (const auto& [reason, count] : e["error_reasons"].items()) {
      reasons += (reasons.empty() ? "" : ", ") + std::to_string(count.get<std::uint64_t>()) + "\u00d7 " + reason;
    }
    const auto errors = e["errors"].get<std::uint64_t>();
    std::printf("%s%s: %llu error%s (%s)\n", first ? "\n" : "", name.c_str(), static_cast<unsigned long long>(errors),
                errors == 1 ? "" : "s", reasons.c_str());
    first = false;
  }
}

void print_summary(const nlohmann::ordered_json& j) {
  std::printf("\n%-12s %10s %8s %10s %10s %10s\n", "exchange", "count", "errors", "p50 ms", "p99 ms", "max ms");
  for (const auto& [name, e] : j["endpoints"].items()) {
    std::printf("%-12s %10llu %8llu %10.2f %10.2f %10.2f\n", name.c_str(),
                static_cast<unsigned long long>(e["count"].get<std::uint64_t>()),
                static_cast<unsigned long long>(e["errors"].get<std::uint64_t>()), e["p50_ms"].get<double>(),
                e["p99_ms"].get<double>(), e["max_ms"].get<double>());
  }
  print_error_reasons(j);
  std::printf("\n%lld/%d devices online, %llu requests (%.0f/s), %llu errors, %llu events acknowledged (%.0f/s), "
              "%llu commands executed in %.1f s\n",
              static_cast<long long>(j["devices_online"].get<std::int64_t>()), j["devices"].get<int>(),
              static_cast<unsigned long long>(j["requests"].get<std::uint64_t>()), j["requests_per_s"].get<double>(),
              static_cast<unsigned long long>(j["errors"].get<std::uint64_t>()),
              static_cast<unsigned long long>(j["events_acked"].get<std::uint64_t>()), j["events_per_s"].get<double>(),
              static_cast<unsigned long long>(j["commands_executed"].get<std::uint64_t>()), j["elapsed_s"].get<double>());
  if (j.contains("encryption")) {
    const auto& e = j["encryption"];
    std::printf("encryption: %llu sessions, %llu mismatches, %llu exchanges refused by the server (plain text)\n",
                static_cast<unsigned long long>(e["sessions"].get<std::uint64_t>()),
                static_cast<unsigned long long>(e["mismatches"].get<std::uint64_t>()),
                static_cast<unsigned long long>(e["refused"].get<std::uint64_t>()));
  }
}

void print_step(const emulator::StepOutcome& s) {
  std::printf("%-7s line %-4d %s%s%s\n", s.status == emulator::StepStatus::passed ? "ok" : "FAIL", s.line, s.text.c_str(),
              s.detail.empty() ? "" : "  -> ", s.detail.c_str());
  std::fflush(stdout);
}

// One device, one script. Exit 0 when every step passed, 1 at the first failed expectation or
// timeout, 2 for a script that does not parse (every bad line printed with its number).
int run_scenario(const SimulateOptions& o, const emulator::SimulationOptions& s) {
  auto parsed = emulator::parse_scenario_file(o.scenario);
  if (!parsed.ok()) {
    for (const auto& e : parsed.errors) {
      if (e.line > 0) {
        std::fprintf(stderr, "simulate: %s:%d: %s\n", o.scenario.c_str(), e.line, e.message.c_str());
      } else {
        std::fprintf(stderr, "simulate: --scenario: %s\n", e.message.c_str());
      }
    }
    return 2;
  }
  if (parsed.scenario.steps.empty()) {
    std::fprintf(stderr, "simulate: %s: no steps\n", o.scenario.c_str());
    return 2;
  }
  boost::asio::io_context io;  // one thread: the session and the runner share its executor
  emulator::Stats stats;
  emulator::SessionOptions so;
  so.server = s.server;
  so.profile = s.profile;
  so.sn = emulator::Simulator::serial_number(s.sn_prefix, 0);
  so.tz_minutes = s.tz_minutes;
  so.poll_interval = s.poll_interval;
  so.events_per_second = s.events_per_second;
  so.swipe_cards = s.swipe_cards;
  so.remote_auth = s.remote_auth;
  so.remote_auth_fallback_local = s.remote_auth_fallback_local;
  so.remote_auth_timeout = s.remote_auth_timeout;
  so.encryption = s.encryption;
  so.sub_controllers = s.sub_controllers;
  auto session = std::make_shared<emulator::DeviceSession>(io.get_executor(), so, stats);
  auto runner = std::make_shared<emulator::ScenarioRunner>(io.get_executor(), session, std::move(parsed.scenario));
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) runner->stop();
  });
  emulator::ScenarioReport report;
  session->start();
  runner->start(
      [&](const emulator::ScenarioReport& r) {
        report = r;
        session->stop();
        signals.cancel();
      },
      [&](const emulator::StepOutcome& step) {
        if (!o.json) print_step(step);
      });
  io.run();
  if (o.json) {
    auto j = report.to_json();
    j["scenario"] = o.scenario;
    j["sn"] = so.sn;
    j["profile"] = o.profile;
    j["server"] = o.server;
    std::cout << j.dump(2) << std::endl;
  } else if (report.passed) {
    std::printf("scenario passed: %zu steps (%s as %s)\n", report.steps.size(), o.scenario.c_str(), so.sn.c_str());
  } else {
    std::printf("scenario FAILED at line %d (%zu of %zu steps run)\n", report.failed_line.value_or(0), report.steps.size(),
                report.steps_total);
  }
  return report.passed ? 0 : 1;
}

int run_simulate(const SimulateOptions& o) {
  emulator::SimulationOptions s;
  auto server = emulator::parse_server_url(o.server);
  if (!server) {
    std::fprintf(stderr, "simulate: --server: expected http://host:port or https://host:port, got '%s'\n",
                 o.server.c_str());
    return 2;
  }
  if (server->tls) {
    try {
      server->tls_context = emulator::make_client_tls_context(o.ca, o.insecure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "simulate: --ca: %s\n", e.what());
      return 2;
    }
  } else if (!o.ca.empty() || o.insecure) {
    std::fprintf(stderr, "simulate: --ca and --insecure need an https:// --server\n");
    return 2;
  }
  s.server = *server;
  s.profile = emulator::find_profile(o.profile);
  if (s.profile == nullptr) {
    std::string names;
    for (const auto& p : emulator::profiles()) names += " " + std::string(p.name);
    std::fprintf(stderr, "simulate: unknown profile '%s' (profiles:%s)\n", o.profile.c_str(), names.c_str());
    return 2;
  }
  s.devices = o.devices;
  // Servers refuse a request whose SN is not a serial number (protocol::is_valid_serial_number).
  if (!protocol::is_valid_serial_number(emulator::Simulator::serial_number(o.sn_prefix, o.devices - 1))) {
    std::fprintf(stderr, "simulate: --sn-prefix: letters, digits, '-' and '_' only (serial numbers at most %zu), got '%s'\n",
                 protocol::kMaxSerialNumberLength, protocol::text::printable(o.sn_prefix).c_str());
    return 2;
  }
  s.sn_prefix = o.sn_prefix;
  s.events_per_second = o.events_per_second;
  if (!o.swipe_cards.empty()) {
    const auto dash = o.swipe_cards.find('-');
    const auto first = protocol::text::parse_int(o.swipe_cards.substr(0, dash));
    const auto last = dash == std::string::npos ? std::nullopt : protocol::text::parse_int(o.swipe_cards.substr(dash + 1));
    if (!first || !last || *first < 1 || *last < *first) {
      std::fprintf(stderr, "simulate: --swipe-cards: FIRST-LAST card numbers, e.g. 1000001-1010000, got '%s'\n",
                   protocol::text::printable(o.swipe_cards).c_str());
      return 2;
    }
    s.swipe_cards = emulator::SessionOptions::CardRange{static_cast<std::uint64_t>(*first), static_cast<std::uint64_t>(*last)};
  }
  if (o.duration > 0) s.duration = std::chrono::milliseconds(static_cast<std::int64_t>(o.duration * 1000));
  if (o.poll_interval > 0) s.poll_interval = std::chrono::milliseconds(static_cast<std::int64_t>(o.poll_interval * 1000));
  s.connects_per_second = o.ramp;
  s.remote_auth = o.remote_auth;
  s.encryption = o.encryption;
  if (o.remote_fallback != "deny" && o.remote_fallback != "local") {
    std::fprintf(stderr, "simulate: --remote-fallback: deny or local, got '%s'\n", protocol::text::printable(o.remote_fallback).c_str());
    return 2;
  }
  s.remote_auth_fallback_local = o.remote_fallback == "local";
  s.sub_controllers = o.sub_controllers;
  s.remote_auth_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.remote_timeout * 1000));
  s.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  if (!o.tz.empty()) {
    auto tz = protocol::parse_tz_offset(o.tz);
    if (!tz) {
      std::fprintf(stderr, "simulate: --tz: not an offset like +0800: %s\n", o.tz.c_str());
      return 2;
    }
    s.tz_minutes = *tz;
  }
  if (!o.scenario.empty()) {
    if (o.devices != 1) {
      std::fprintf(stderr, "simulate: --scenario runs one device: --devices must be 1 or left out\n");
      return 2;
    }
    if (o.duration > 0) {
      std::fprintf(stderr, "simulate: --duration does not apply to --scenario (the script ends the run)\n");
      return 2;
    }
    return run_scenario(o, s);
  }
  const auto limit = emulator::raise_open_file_limit();
  if (limit != 0 && limit < static_cast<std::uint64_t>(o.devices) + 64) {
    std::fprintf(stderr, "simulate: warning: open file limit %llu is below %d devices (raise `ulimit -n`)\n",
                 static_cast<unsigned long long>(limit), o.devices);
  }

  emulator::Simulator simulator(s);
  g_running = &simulator;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const bool live = ::isatty(STDERR_FILENO) != 0;
  simulator.run([&](const emulator::Stats& st, double elapsed) {
    if (!live) return;
    std::fprintf(stderr, "\r%6.0fs  online %lld/%d  requests %llu  errors %llu  events acked %llu  commands %llu   ",
                 elapsed, static_cast<long long>(st.devices_online.load()), o.devices,
                 static_cast<unsigned long long>(st.requests.load()), static_cast<unsigned long long>(st.errors.load()),
                 static_cast<unsigned long long>(st.events_acked.load()),
                 static_cast<unsigned long long>(st.commands_executed.load()));
  });
  g_running = nullptr;
  if (live) std::fprintf(stderr, "\n");
  auto j = simulator.stats().to_json(simulator.elapsed_seconds());
  j["devices_online"] = simulator.online_at_end();
  j["devices"] = o.devices;
  j["profile"] = o.profile;
  j["server"] = o.server;
  if (o.json) {
    std::cout << j.dump(2) << std::endl;
  } else {
    print_summary(j);
  }
  return simulator.stats().devices_registered.load() == o.devices ? 0 : 1;
}

}  // namespace

void register_simulate(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  auto* cmd = app.add_subcommand("simulate", "Emulate PUSH devices (one to tens of thousands) against a server");
  // Defaults are shown by --help (main.cpp); 0 means "not set" where the help says so.
  cmd->add_option("--server", o->server,
                  "server URL, http://host:port, or https://host:port as a panel given an HTTPS address (docs/tls.md)");
  cmd->add_option("--ca", o->ca, "https://: PEM file of CAs to trust besides the system's (a private CA)");
  cmd->add_flag("--insecure", o->insecure, "https://: do not verify the server's certificate");
  cmd->add_option("--devices", o->devices, "number of devices")->check(at_least(1));
  cmd->add_option("--profile", o->profile, "device profile: inbio460 | c3-100 | face | channel");
  cmd->add_option("--sn-prefix", o->sn_prefix, "serial numbers are <prefix>000001...");
  cmd->add_option("--events-per-second", o->events_per_second, "card swipes per second across all devices, 0 = none")
      ->check(not_negative());
  cmd->add_option("--swipe-cards", o->swipe_cards,
                  "FIRST-LAST: the swipes present cards of this range (default: the devices' own users' cards, and strangers)");
  cmd->add_option("--duration", o->duration, "seconds to run, 0 = until Ctrl-C")->check(not_negative());
  cmd->add_option("--poll-interval", o->poll_interval,
                  "seconds between getrequest polls, 0 = the server's RequestDelay")
      ->check(not_negative());
  cmd->add_option("--ramp", o->ramp, "devices started per second")->check(more_than_zero());
  cmd->add_option("--threads", o->threads, "I/O threads, 0 = one per core")->check(between(0, 1024));
  cmd->add_option("--tz", o->tz, "devices' time zone, e.g. +0800")->default_str("+0000");
  cmd->add_flag("--json", o->json, "print the summary (or the scenario's step outcomes) as JSON");
  cmd->add_option("--scenario", o->scenario, "run this script with one device (docs/simulate.md, Scenarios)");
  cmd->add_flag("--encryption", o->encryption,
                "communication encryption (4.2, 4.3, docs/encryption.md): exchange keys after init, encrypt every body "
                "after; a server that refuses gets plain text (counted in the summary's encryption.refused)");
  cmd->add_flag("--remote-auth", o->remote_auth,
                "remote identification: every card or user read is sent to the server (AuthType=device) and its answer obeyed");
  cmd->add_option("--remote-fallback", o->remote_fallback,
                  "when the server does not answer in time: deny, or local (the device's own tables decide)")
      ->capture_default_str();
  cmd->add_option("--remote-timeout", o->remote_timeout, "seconds to wait for the server's decision")
      ->check(more_than_zero())
      ->capture_default_str();
  cmd->add_option("--sub-controllers", o->sub_controllers,
                  "each device a master controller (CmdFormat=1) with N sub-controllers <sn>-S1..: multi-level control")
      ->check(between(0, 64));
  cmd->callback([o] { set_exit_code(run_simulate(*o)); });
}

}  // namespace zkpush::cli
