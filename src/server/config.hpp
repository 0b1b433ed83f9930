// Configuration of `zkpush serve`. Precedence, highest first: command-line flags, the config file
// (--config / ZKPUSH_CONFIG), ZKPUSH_* environment variables, the defaults below. The CLI applies
// the environment to the defaults before parsing, then its flags, then the file's settings for
// the flags the command line did not give.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zkpush::server {

enum class RegistrationPolicy { automatic, approve };  // "auto" | "approve"
enum class TokenPolicy { strict, warn };               // mismatched token: 401 | log and accept
// Communication encryption (4.2, 4.3, Appendix 16; docs/encryption.md): nobody encrypts | a device
// that exchanges keys is encrypted, others stay plain | a device that does not is refused.
enum class EncryptionMode { off, optional, required };
// The JSON API on the plain listener: from any address | only from loopback (others must use the
// TLS listener; docs/tls.md).
enum class ApiPlain { any, loopback };

struct ServerConfig {
  std::string listen = "0.0.0.0:8088";  // host:port; "[::]:8088" for IPv6, a name is resolved
  std::string data_dir = "./data";      // holds zkpush.db (unless --store), files, the API token
  // Where the store lives: "" = sqlite:<data_dir>/zkpush.db; postgres://user@host:port/db for PostgreSQL,
  // which several nodes may share (docs/postgres.md, docs/scaling.md).
  std::string store;
  unsigned threads = 0;                 // I/O threads; 0 = one per core
  // HTTPS beside the plain listener (docs/tls.md): host:port as --listen; "" = no TLS listener.
  // The certificate chain and its private key, PEM; reloaded on SIGHUP (App::reload_tls).
  std::string tls_listen;
  std::string tls_cert;
  std::string tls_key;
  ApiPlain api_plain = ApiPlain::any;

  RegistrationPolicy registration = RegistrationPolicy::automatic;
  TokenPolicy token = TokenPolicy::strict;
  // A request without a token cookie from a device that has a session: refuse (401) or accept.
  bool allow_missing_cookie = true;
  EncryptionMode encryption = EncryptionMode::off;

  // Configuration sent in init / push answers.
  int request_delay = 30;
  int error_delay = 60;
  int timeout_sec = 10;
  std::string trans_times = "00:00;14:05";
  int trans_interval = 1;
  int realtime = 1;
  std::string server_name = "zkpush";
  std::string push_prot_ver = "3.1.2";
  std::string trans_tables = "User Transaction";

  std::size_t max_commands_per_poll = 16;
  int command_resend_after = 300;     // seconds a sent command waits for its result before re-sending
  int control_device_expiry = 30;     // seconds: default expiry of CONTROL DEVICE commands
  int default_tz_minutes = 0;         // device time zone when the device has none ("+0800" = 480)
  int presence_interval = 15;         // seconds between writes of devices' last_seen
  int message_retention_days = 7;     // the message log (stream resume, webhooks, MQTT); 0 = keep all
  int event_retention_days = 0;       // access events, by when they were received; 0 = keep all
  std::string mqtt_url;               // mqtt://[user[:password]@]host[:port]; "" = no MQTT
  std::string mqtt_prefix = "zkpush"; // topic prefix
  std::string mqtt_client_id;         // "" = zkpush-<host name>
  std::string mqtt_password;          // ZKPUSH_MQTT_PASSWORD (kept out of the process list)
  // Users enrolled at a panel: ignore | new_persons_only | all (service/access.hpp).
  std::string panel_enrolment = "new_persons_only";
  int sync_settle = 1;                // seconds a panel's changes settle before they are sent
  std::int64_t sync_verify_seconds = 86400;  // a panel's user count is checked this often (0: never)
  // The wire trace of each device's last exchanges (front/wire_trace.hpp): its memory budget over all
  // devices (0 = off) and the entries kept per device.
  int trace_memory_mib = 16;
  int trace_depth = 100;
  // Milliseconds a remote identification (AuthType=device) may wait for the store before the panel
  // is answered AUTH=TIMEOUT.
  int remote_auth_deadline_ms = 2000;
  // Bearer token of /api/v1. Empty: App reads <data>/api-token, or generates and stores one there.
  std::string api_token;
  // Wrong bearer tokens from one address within a minute before that address is refused (429) for a
  // minute, whatever it presents (front/api/bad_tokens.hpp); 0 = never.
  int api_lockout_after = 10;

  // Device allow-list of /iclock/* (see access_list.hpp); entries may be comma lists. Empty = all.
  std::vector<std::string> allow_sn;   // serial numbers or patterns with * and ?
  std::vector<std::string> allow_net;  // CIDR networks or single addresses, IPv4 and IPv6

  // Rate limits of /iclock/* (front/rate_limiter.hpp, docs/security-devices.md): "N[/s|/min][:burst]",
  // "0" = off. Per serial number: far above what a panel sends (a poll every few seconds, uploads in
  // bursts); per peer address: off, since behind NAT one address carries many panels.
  std::string device_rate = "50/s:500";
  std::string address_rate = "0";
  // Loopback peers (127.0.0.0/8, ::1) are exempt from the rate limits and the address lockout unless
  // this is set: the emulator's load tests and `make bench` drive thousands of devices from
  // 127.0.0.1. Set it behind a reverse proxy on the same machine.
  bool limit_loopback = false;
  // Lockout after refused device tokens (service/lockouts.hpp): of one serial number, of one address
  // across serial numbers (0 = never), counted within the window, refused for lockout_minutes.
  int lockout_after = 10;
  int lockout_address_after = 30;
  int lockout_window_minutes = 10;
  int lockout_minutes = 15;

  // Upgrade packages served at /files/<name> and through /iclock/file (env ZKPUSH_FILES, --files);
  // empty = <data_dir>/files.
  std::string files_dir;
  // The largest file POST /api/v1/files takes, MiB (env ZKPUSH_MAX_FILE_MB, --max-file-mb).
  int max_file_mb = 64;

  // The web console's built files, served at / (env ZKPUSH_CONSOLE, --console); empty = the first of
  // default_console_dirs() that holds an index.html, else the first of them (resolve_console_dir).
  std::string console_dir;
};

// Where the console is looked for when --console is not given: `<directory of the executable>/console`
// (where the build puts it: build/console beside build/zkpush), then /usr/share/zkpush/console (an
// installed package). The first is left out when the executable's path cannot be read.
inline constexpr const char* kSystemConsoleDir = "/usr/share/zkpush/console";
std::vector<std::string> default_console_dirs();
// The folder the console is served from: `configured` when given, else the first of `candidates` that
// holds an index.html, else the first candidate (a console built there later is picked up while the
// server runs). Absolute.
std::string resolve_console_dir(const std::string& configured, const std::vector<std::string>& candidates);

// "0.0.0.0:8088" -> host, port; ":8088" -> all IPv4 addresses ("0.0.0.0"). False when unreadable.
bool parse_listen(const std::string& listen, std::string& host, std::uint16_t& port);
// The address to listen on for a host of --listen: an address as it is, a name ("localhost") resolved,
// its first IPv4 address preferred. Throws std::invalid_argument naming the host when it does not resolve.
std::string resolve_listen_host(const std::string& host);
// Applies ZKPUSH_LISTEN, ZKPUSH_DATA, ZKPUSH_STORE, ZKPUSH_REGISTRATION, ZKPUSH_TOKEN, ZKPUSH_ALLOW_MISSING_COOKIE,
// ZKPUSH_REQUEST_DELAY, ZKPUSH_ERROR_DELAY, ZKPUSH_TIMEOUT_SEC, ZKPUSH_TRANS_TIMES,
// ZKPUSH_TRANS_INTERVAL, ZKPUSH_REALTIME, ZKPUSH_SERVER_NAME, ZKPUSH_PUSH_PROT_VER,
// ZKPUSH_MAX_COMMANDS, ZKPUSH_RESEND_AFTER, ZKPUSH_CONTROL_EXPIRY, ZKPUSH_TZ, ZKPUSH_API_TOKEN,
// ZKPUSH_ALLOW_SN, ZKPUSH_ALLOW_NET (comma lists; checked when App starts), ZKPUSH_FILES, ZKPUSH_MAX_FILE_MB,
// ZKPUSH_TRACE_MEMORY, ZKPUSH_TRACE_DEPTH, ZKPUSH_CONSOLE, ZKPUSH_ENCRYPTION, ZKPUSH_REMOTE_AUTH_DEADLINE,
// ZKPUSH_TLS_LISTEN, ZKPUSH_TLS_CERT, ZKPUSH_TLS_KEY, ZKPUSH_API_PLAIN,
// ZKPUSH_DEVICE_RATE, ZKPUSH_ADDRESS_RATE (checked when App starts), ZKPUSH_LIMIT_LOOPBACK,
// ZKPUSH_LOCKOUT_AFTER, ZKPUSH_LOCKOUT_ADDRESS_AFTER, ZKPUSH_LOCKOUT_WINDOW, ZKPUSH_LOCKOUT_MINUTES,
// ZKPUSH_API_LOCKOUT_AFTER. Throws
// std::invalid_argument naming the variable when a value is unreadable.
void apply_environment(ServerConfig& config);
RegistrationPolicy parse_registration_policy(const std::string& text);  // throws std::invalid_argument
TokenPolicy parse_token_policy(const std::string& text);                // throws std::invalid_argument
EncryptionMode parse_encryption_mode(const std::string& text);          // throws std::invalid_argument
ApiPlain parse_api_plain(const std::string& text);                      // throws std::invalid_argument
inline constexpr const char* api_plain_name(ApiPlain mode) noexcept {
  return mode == ApiPlain::loopback ? "loopback" : "any";
}
// "off", "optional", "required". Inline: the front names it, and its library links before this one.
inline constexpr const char* encryption_mode_name(EncryptionMode mode) noexcept {
  switch (mode) {
    case EncryptionMode::off: return "off";
    case EncryptionMode::optional: return "optional";
    case EncryptionMode::required: return "required";
  }
  return "off";
}

}  // namespace zkpush::server
