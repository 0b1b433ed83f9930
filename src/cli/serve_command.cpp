// `zkpush serve`: the PUSH server. Runs until SIGINT or SIGTERM, then stops gracefully.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "protocol/responses.hpp"
#include "server/app.hpp"

namespace zkpush::cli {

namespace {

struct ServeOptions {
  server::ServerConfig config;
  std::string registration;
  std::string token;
  std::string tz;
  bool require_cookie = false;
  bool verbose = false;
};

int run_serve(ServeOptions& o) {
  try {
    server::ServerConfig config = o.config;
    if (!o.registration.empty()) config.registration = server::parse_registration_policy(o.registration);
    if (!o.token.empty()) config.token = server::parse_token_policy(o.token);
    if (o.require_cookie) config.allow_missing_cookie = false;
    if (!o.tz.empty()) {
      auto tz = protocol::parse_tz_offset(o.tz);
      if (!tz) throw std::invalid_argument("--tz: not an offset like +0800: " + o.tz);
      config.default_tz_minutes = *tz;
    }
    if (o.verbose) spdlog::set_level(spdlog::level::debug);

    // Block the signals in every thread (the I/O threads inherit the mask) and wait for them here.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    server::App app(config);
    app.start();
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("signal {}: stopping", signal);
    app.stop();
    spdlog::info("stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("serve: {}", e.what());
    return 1;
  }
}

}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  try {
    server::apply_environment(o->config);
  } catch (const std::exception& e) {
    spdlog::error("environment: {}", e.what());
  }
  auto* cmd = app.add_subcommand("serve", "Run the PUSH server for devices (/iclock/*)");
  auto& c = o->config;
  cmd->add_option("--listen", c.listen, "host:port to listen on (env ZKPUSH_LISTEN)")->capture_default_str();
  cmd->add_option("--data", c.data_dir, "data folder holding zkpush.db (env ZKPUSH_DATA)")->capture_default_str();
  cmd->add_option("--threads", c.threads, "I/O threads, 0 = one per core");
  cmd->add_option("--registration", o->registration, "auto | approve (env ZKPUSH_REGISTRATION)");
  cmd->add_option("--token", o->token, "strict | warn: a wrong token cookie is refused or logged (env ZKPUSH_TOKEN)");
  cmd->add_flag("--require-cookie", o->require_cookie, "refuse requests without the token cookie once a session exists");
  cmd->add_option("--request-delay", c.request_delay, "RequestDelay sent to devices (s)")->capture_default_str();
  cmd->add_option("--error-delay", c.error_delay, "ErrorDelay sent to devices (s)")->capture_default_str();
  cmd->add_option("--timeout-sec", c.timeout_sec, "TimeoutSec sent to devices (s)")->capture_default_str();
  cmd->add_option("--trans-times", c.trans_times, "TransTimes sent to devices")->capture_default_str();
  cmd->add_option("--trans-interval", c.trans_interval, "TransInterval sent to devices (min)")->capture_default_str();
  cmd->add_option("--realtime", c.realtime, "Realtime sent to devices (0/1)")->capture_default_str();
  cmd->add_option("--server-name", c.server_name, "ServerName sent to devices")->capture_default_str();
  cmd->add_option("--push-prot-ver", c.push_prot_ver, "PushProtVer sent to devices")->capture_default_str();
  cmd->add_option("--max-commands", c.max_commands_per_poll, "commands per getrequest at most")->capture_default_str();
  cmd->add_option("--resend-after", c.command_resend_after, "re-send an unanswered command after (s)")->capture_default_str();
  cmd->add_option("--control-expiry", c.control_device_expiry, "default expiry of CONTROL DEVICE (s)")->capture_default_str();
  cmd->add_option("--tz", o->tz, "time zone of devices that report none, e.g. +0800 (env ZKPUSH_TZ)");
  cmd->add_option("--api-token", c.api_token, "Bearer token of the JSON API /api/v1 (env ZKPUSH_API_TOKEN); none = API off");
  cmd->add_flag("-v,--verbose", o->verbose, "debug logging");
  cmd->callback([o] { set_exit_code(run_serve(*o)); });
}

}  // namespace zkpush::cli
