// `zkpush serve`: the PUSH server. Runs until SIGINT or SIGTERM, then stops gracefully; SIGHUP
// reloads the TLS certificate and key (--tls-cert, --tls-key) for new connections.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <system_error>
#include <string>
#include <utility>
#include <vector>

#include "cli/checks.hpp"
#include "cli/commands.hpp"
#include "protocol/responses.hpp"
#include "server/app.hpp"

namespace zkpush::cli {

namespace {

struct ServeOptions {
  server::ServerConfig config;
  std::string registration;
  std::string token;
  std::string encryption;
  std::string api_plain;
  std::string tz;
  bool require_cookie = false;
  bool verbose = false;
  std::string config_file;  // --config, else ZKPUSH_CONFIG
  std::string env_error;    // an unreadable ZKPUSH_* variable: reported when serve runs
};

// CLI11 2.1 reads config files (set_config) only for the top-level app, before the environment and
// with its own exit codes, so `serve` reads its file itself with CLI11's TOML/INI reader and hands
// each setting to the option of the same long name, as CLI11 would: only when the command line did
// not give that option (flags win over the file), and after the ZKPUSH_* environment was applied
// to the defaults (the file wins over the environment). Keys may be at the top or under [serve].
// Throws std::runtime_error naming the file and the setting.
// The option a config key names ("listen" -> --listen), or nullptr. Exact spelling: CLI11 matches
// long names with their case and with '-' (not '_'), so "Listen" or "request_delay" are unknown.
CLI::Option* option_of_key(CLI::App& cmd, const std::string& name) {
  return name.size() > 1 ? cmd.get_option_no_throw("--" + name) : nullptr;
}

// Every key line of the file as CLI11's reader sees it (section, dotted key, quotes, comments,
// multi-line arrays), in order: "serve.listen" for `listen` under [serve]. The reader itself merges
// a key written on consecutive lines into one item with the values of both, so a key given twice
// cannot always be seen in its items; these lines can.
std::vector<std::pair<std::string, std::string>> config_key_lines(std::istream& in) {
  std::vector<std::pair<std::string, std::string>> keys;  // (full name, name)
  std::string section, line;
  auto trim = [](const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return std::string();
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
  };
  auto unquote = [](std::string s) {
    if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
    return s;
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.size() < 3) continue;  // as the reader: shorter lines mean nothing
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      if (section.size() > 1 && section.front() == '[' && section.back() == ']') section = section.substr(1, section.size() - 2);
      if (CLI::detail::to_lower(section) == "default") section.clear();
      continue;
    }
    if (line.front() == ';' || line.front() == '#') continue;
    std::string name;
    const auto eq = line.find('=');
    if (eq != std::string::npos) {
      name = trim(line.substr(0, eq));
      std::string value = trim(line.substr(eq + 1));
      if (const auto hash = value.find('#'); hash != std::string::npos) value = trim(value.substr(0, hash));
      if (value.size() > 1 && value.front() == '[') {  // a multi-line array: its lines are values
        for (std::string more; value.back() != ']' && std::getline(in, more);) value += trim(more);
      }
    } else {
      name = trim(line.substr(0, line.find('#')));
    }
    if (name.find('.') == std::string::npos) name = unquote(name);
    std::string full = section;
    if (!full.empty()) full += '.';
    full += name;
    const auto dot = full.rfind('.');
    keys.emplace_back(full, dot == std::string::npos ? full : full.substr(dot + 1));
  }
  return keys;
}

void apply_config_file(CLI::App& cmd, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error("config file " + path + ": " +
                             (std::filesystem::exists(path, ec) ? "not a regular file" : "not found"));
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error("config file " + path + ": cannot read: " + std::generic_category().message(errno));
  // A key given twice is an error whatever lies between the two (nothing, other keys, a section):
  // top-level `listen`, `listen` under [serve] and `serve.listen` are one setting.
  std::map<const CLI::Option*, std::string> seen;
  for (const auto& [full, name] : config_key_lines(in)) {
    const bool top_or_serve = full == name || full == cmd.get_name() + "." + name;
    const CLI::Option* option = top_or_serve ? option_of_key(cmd, name) : nullptr;
    if (option == nullptr) continue;  // unknown keys and sections: reported below, by the items
    if (auto [first, fresh] = seen.emplace(option, full); !fresh) {
      // NOLINTNEXTLINE(performance-inefficient-string-concatenation): an error, built once and thrown
      throw std::runtime_error("config file " + path + ": " + full + ": set twice" +
                               (first->second == full ? std::string() : " (also as " + first->second + ")"));
    }
  }
  in.clear();
  in.seekg(0);
  CLI::ConfigTOML reader;
  std::vector<CLI::ConfigItem> items;
  try {
    items = reader.from_config(in);
  } catch (const CLI::Error& e) {
    throw std::runtime_error("config file " + path + ": " + e.what());
  }
  std::set<const CLI::Option*> from_file;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section open / close markers
    const std::string where = "config file " + path + ": " + item.fullname();
    if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents.front() == cmd.get_name())) {
      throw std::runtime_error(where + ": unknown section (settings go at the top or under [serve])");
    }
    CLI::Option* option = option_of_key(cmd, item.name);
    if (option == nullptr || option == cmd.get_help_ptr()) {
      throw std::runtime_error(where + ": unknown setting (settings are the long flag names of zkpush serve)");
    }
    if (!option->get_configurable()) throw std::runtime_error(where + ": cannot be set in a config file");
    if (!from_file.insert(option).second) throw std::runtime_error(where + ": set twice");
    if (option->count() > 0) continue;  // given on the command line
    try {
      if (option->get_expected_min() == 0) {
        option->add_result(option->get_flag_value(item.name, reader.to_flag(item)));
      } else {
        option->add_result(item.inputs);
      }
      option->run_callback();
    } catch (const CLI::Error& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
  }
}

int run_serve(ServeOptions& o, CLI::App& cmd) {
  try {
    if (!o.env_error.empty()) throw std::invalid_argument("environment: " + o.env_error);
    std::string config_file = o.config_file;
    if (config_file.empty()) {
      if (const char* v = std::getenv("ZKPUSH_CONFIG"); v != nullptr) config_file = v;
    }
    if (!config_file.empty()) {
      apply_config_file(cmd, config_file);
      spdlog::info("configuration read from {}", config_file);
    }
    server::ServerConfig config = o.config;
    config.registration = server::parse_registration_policy(o.registration);
    config.token = server::parse_token_policy(o.token);
    config.encryption = server::parse_encryption_mode(o.encryption);
    config.api_plain = server::parse_api_plain(o.api_plain);
    if (o.require_cookie) config.allow_missing_cookie = false;
    const auto tz = protocol::parse_tz_offset(o.tz);
    if (!tz) throw std::invalid_argument("--tz: not an offset like +0800: " + o.tz);
    config.default_tz_minutes = *tz;
    if (o.verbose) spdlog::set_level(spdlog::level::debug);

    // Block the signals in every thread (the I/O threads inherit the mask) and wait for them here.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    // SIGHUP (systemctl reload, packaging/systemd/zkpush.service) must not end the server, as its
    // default action would: it reloads the TLS certificate, or is only logged without TLS.
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    server::App app(config);
    app.start();
    int signal = 0;
    for (;;) {
      sigwait(&signals, &signal);
      if (signal != SIGHUP) break;
      spdlog::info("signal {} (SIGHUP): reloading the TLS certificate", signal);
      app.reload_tls();  // logs what it did; a failure keeps the current certificate
    }
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
    o->env_error = e.what();  // reported by serve only: other subcommands do not read these
  }
  auto* cmd = app.add_subcommand("serve", "Run the PUSH server for devices (/iclock/*)");
  auto& c = o->config;
  // The policies are words on the command line: start from the configured ones (defaults and
  // ZKPUSH_* variables), so that --help shows what runs when the flag is left out.
  o->registration = c.registration == server::RegistrationPolicy::automatic ? "auto" : "approve";
  o->token = c.token == server::TokenPolicy::strict ? "strict" : "warn";
  o->encryption = server::encryption_mode_name(c.encryption);
  o->api_plain = server::api_plain_name(c.api_plain);
  o->tz = protocol::format_tz_offset(c.default_tz_minutes);
  // Checks: a value that means nothing (a negative delay, no commands per poll) is refused at the
  // command line rather than sent to every device. Where 0 means something (0 = one per core,
  // Realtime 0 = off), 0 is allowed. Defaults are shown by --help (main.cpp).
  cmd->add_option("--listen", c.listen, "host:port to listen on; a host name (localhost) is resolved, :8088 = all "
                                       "addresses (env ZKPUSH_LISTEN)");
  cmd->add_option("--tls-listen", c.tls_listen,
                  "host:port to serve HTTPS on as well, same forms as --listen, e.g. :8443; needs --tls-cert and "
                  "--tls-key (env ZKPUSH_TLS_LISTEN; docs/tls.md)");
  cmd->add_option("--tls-cert", c.tls_cert,
                  "PEM certificate chain of the TLS listener, the server's certificate first; reloaded on SIGHUP "
                  "(env ZKPUSH_TLS_CERT)");
  cmd->add_option("--tls-key", c.tls_key,
                  "PEM private key (unencrypted) of --tls-cert; reloaded on SIGHUP (env ZKPUSH_TLS_KEY)");
  cmd->add_option("--api-plain", o->api_plain,
                  "any | loopback: the JSON API on the plain listener from any address, or only from loopback "
                  "(others get 403 and must use HTTPS) (env ZKPUSH_API_PLAIN)")
      ->check(CLI::IsMember({"any", "loopback"}));
  cmd->add_option("--data", c.data_dir, "data folder holding zkpush.db, files and the API token (env ZKPUSH_DATA)");
  cmd->add_option("--store", c.store,
                  "where the data lives: sqlite:<file> (default <data>/zkpush.db) or postgres://user@host:port/db, "
                  "shared by several nodes (env ZKPUSH_STORE; docs/postgres.md)");
  cmd->add_option("--threads", c.threads, "I/O threads, 0 = one per core")->check(between(0, 1024));
  cmd->add_option("--registration", o->registration,
                  "auto | approve: new devices are registered at once or wait for an operator (env ZKPUSH_REGISTRATION)")
      ->check(CLI::IsMember({"auto", "approve"}));
  cmd->add_option("--token", o->token, "strict | warn: a wrong token cookie is refused or logged (env ZKPUSH_TOKEN)")
      ->check(CLI::IsMember({"strict", "warn"}));
  cmd->add_option("--encryption", o->encryption,
                  "off | optional | required: communication encryption (4.2, 4.3, docs/encryption.md); optional "
                  "encrypts the devices that exchange keys, required refuses the others (env ZKPUSH_ENCRYPTION)")
      ->check(CLI::IsMember({"off", "optional", "required"}));
  cmd->add_flag("--require-cookie", o->require_cookie, "refuse requests without the token cookie once a session exists");
  cmd->add_option("--request-delay", c.request_delay, "RequestDelay sent to devices (s): seconds between their polls")
      ->check(at_least(1));
  cmd->add_option("--error-delay", c.error_delay, "ErrorDelay sent to devices (s): their wait after a failed request")
      ->check(at_least(1));
  cmd->add_option("--timeout-sec", c.timeout_sec, "TimeoutSec sent to devices (s)")->check(at_least(1));
  cmd->add_option("--trans-times", c.trans_times, "TransTimes sent to devices");
  cmd->add_option("--trans-interval", c.trans_interval, "TransInterval sent to devices (min)")
      ->check(at_least(1));
  cmd->add_option("--realtime", c.realtime, "Realtime sent to devices (0/1)")->check(between(0, 1));
  cmd->add_option("--server-name", c.server_name, "ServerName sent to devices");
  cmd->add_option("--push-prot-ver", c.push_prot_ver, "PushProtVer sent to devices");
  cmd->add_option("--max-commands", c.max_commands_per_poll, "commands per getrequest at most")
      ->check(at_least(1));
  cmd->add_option("--resend-after", c.command_resend_after, "re-send an unanswered command after (s)")
      ->check(at_least(1));
  cmd->add_option("--control-expiry", c.control_device_expiry, "default expiry of CONTROL DEVICE (s), 0 = never")
      ->check(not_negative());
  cmd->add_option("--panel-enrolment", c.panel_enrolment,
                  "users enrolled at a panel: ignore | new_persons_only (they become persons) | all (cards added "
                  "to known persons too) (env ZKPUSH_PANEL_ENROLMENT)")
      ->check(CLI::IsMember({"ignore", "new_persons_only", "all"}));
  cmd->add_option("--sync-settle", c.sync_settle, "seconds a panel's changes settle before the sync sends them")
      ->check(between(0, 60));
  cmd->add_option_function<int>(
         "--sync-verify-hours", [&c](int hours) { c.sync_verify_seconds = std::int64_t{3600} * hours; },
         "hours between checks of a panel's user count against what it should hold (0: never)")
      ->check(between(0, 24 * 365))
      ->default_str(std::to_string(c.sync_verify_seconds / 3600));
  cmd->add_option("--mqtt", c.mqtt_url,
                  "publish events, door states, device status and command results to this broker: "
                  "mqtt://[user@]host[:port] (password in ZKPUSH_MQTT_PASSWORD; env ZKPUSH_MQTT)");
  cmd->add_option("--mqtt-prefix", c.mqtt_prefix, "MQTT topic prefix (env ZKPUSH_MQTT_PREFIX)")->capture_default_str();
  cmd->add_option("--mqtt-client-id", c.mqtt_client_id, "MQTT client id (default: zkpush-<host name>)");
  cmd->add_option("--message-retention-days", c.message_retention_days,
                  "days the message log keeps what the stream, webhooks and MQTT resume from (0: forever)")
      ->check(between(0, 3650))
      ->capture_default_str();
  cmd->add_option("--event-retention-days", c.event_retention_days,
                  "days access events are kept after they were received, pruned hourly (0: forever) "
                  "(env ZKPUSH_EVENT_RETENTION_DAYS)")
      ->check(between(0, 36500))
      ->capture_default_str();
  cmd->add_option("--trace-memory", c.trace_memory_mib,
                  "MiB the wire trace (each device's last exchanges, GET /api/v1/devices/{sn}/trace) may hold, "
                  "over all devices (0: tracing off) (env ZKPUSH_TRACE_MEMORY)")
      ->check(between(0, 65536))
      ->capture_default_str();
  cmd->add_option("--trace-depth", c.trace_depth,
                  "exchanges the wire trace keeps per device, repeated ones folded into one (env ZKPUSH_TRACE_DEPTH)")
      ->check(between(1, 10000))
      ->capture_default_str();
  cmd->add_option("--remote-auth-deadline", c.remote_auth_deadline_ms,
                  "ms a remote identification (AuthType=device) waits for a decision before the panel is answered "
                  "AUTH=TIMEOUT; keep it below the panels' own wait (env ZKPUSH_REMOTE_AUTH_DEADLINE)")
      ->check(between(50, 60000))
      ->capture_default_str();
  cmd->add_option("--tz", o->tz, "time zone of devices that report none, e.g. +0800 (env ZKPUSH_TZ)");
  cmd->add_option("--config", o->config_file,
                  "TOML/INI file of settings named like the long flags, e.g. listen = \"0.0.0.0:8088\" "
                  "(env ZKPUSH_CONFIG); flags win over the file, the file over ZKPUSH_* variables")
      ->configurable(false);
  // Not the token itself, which ZKPUSH_API_TOKEN may have set: --help is no place for a secret.
  cmd->add_option("--api-token", c.api_token,
                  "Bearer token of the JSON API /api/v1 (env ZKPUSH_API_TOKEN); default: <data>/api-token, "
                  "generated at the first start")
      ->default_str("");
  cmd->add_option("--api-lockout-after", c.api_lockout_after,
                  "wrong bearer tokens from one address within a minute before it is refused (429) for a minute; "
                  "0: never (env ZKPUSH_API_LOCKOUT_AFTER)")
      ->check(between(0, 100000))
      ->capture_default_str();
  cmd->add_option("--allow-sn", c.allow_sn,
                  "only these devices may use /iclock: serial numbers or patterns with * and ?, repeatable or "
                  "comma list (env ZKPUSH_ALLOW_SN); default all")
      ->default_str("");
  cmd->add_option("--allow-net", c.allow_net,
                  "only peers in these networks may use /iclock: CIDR like 10.0.0.0/8, 192.168.1.7, ::1/128, "
                  "repeatable or comma list (env ZKPUSH_ALLOW_NET); default all")
      ->default_str("");
  cmd->add_option("--device-rate", c.device_rate,
                  "requests per second one serial number may send to /iclock: N, N/s, N/min, with :burst "
                  "(e.g. 50/s:500); over it 503 with Retry-After; 0 = off (env ZKPUSH_DEVICE_RATE)")
      ->capture_default_str();
  cmd->add_option("--address-rate", c.address_rate,
                  "requests per second one peer address may send to /iclock, all its devices together (behind NAT: "
                  "many panels), same form as --device-rate; 0 = off (env ZKPUSH_ADDRESS_RATE)")
      ->capture_default_str();
  cmd->add_flag("--limit-loopback", c.limit_loopback,
                "apply the rate limits and the address lockout to 127.0.0.1 and ::1 too (a reverse proxy on this "
                "machine); by default loopback is exempt (load tests, make bench) (env ZKPUSH_LIMIT_LOOPBACK)");
  cmd->add_option("--lockout-after", c.lockout_after,
                  "refused device tokens of one serial number within --lockout-window before it is locked out; 0 = never "
                  "(env ZKPUSH_LOCKOUT_AFTER)")
      ->check(between(0, 100000))
      ->capture_default_str();
  cmd->add_option("--lockout-address-after", c.lockout_address_after,
                  "refused device tokens from one address (any serial numbers) before the address is locked out; 0 = never "
                  "(env ZKPUSH_LOCKOUT_ADDRESS_AFTER)")
      ->check(between(0, 100000))
      ->capture_default_str();
  cmd->add_option("--lockout-window", c.lockout_window_minutes, "minutes over which refused tokens are counted (env ZKPUSH_LOCKOUT_WINDOW)")
      ->check(between(1, 24 * 60))
      ->capture_default_str();
  cmd->add_option("--lockout-minutes", c.lockout_minutes,
                  "minutes a locked-out serial number or address is refused, 403 with Retry-After (env ZKPUSH_LOCKOUT_MINUTES)")
      ->check(between(1, 7 * 24 * 60))
      ->capture_default_str();
  cmd->add_option("--files", c.files_dir, "folder of upgrade packages served at /files/ (env ZKPUSH_FILES); default <data>/files");
  cmd->add_option("--max-file-mb", c.max_file_mb,
                  "largest file POST /api/v1/files takes, MiB (env ZKPUSH_MAX_FILE_MB); default 64")
      ->check(CLI::Range(1, 4096))
      ->default_str("64");
  {
    // --help names the folders the console is looked for in (this binary's own first), or the one
    // ZKPUSH_CONSOLE gave.
    std::string where;
    for (const auto& dir : server::default_console_dirs()) where += (where.empty() ? "" : ", else ") + dir;
    cmd->add_option("--console", c.console_dir,
                    "folder of the built web console served at / (env ZKPUSH_CONSOLE); default: <directory of "
                    "zkpush>/console, else " + std::string(server::kSystemConsoleDir) + ", the first holding an index.html")
        ->default_str(c.console_dir.empty() ? where : c.console_dir);
  }
  cmd->add_flag("-v,--verbose", o->verbose, "debug logging");
  cmd->callback([o, cmd] { set_exit_code(run_serve(*o, *cmd)); });
}

}  // namespace zkpush::cli
