#include "server/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "protocol/responses.hpp"
#include "protocol/text.hpp"

namespace zkpush::server {

bool parse_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const auto value = protocol::text::parse_int(digits).value_or(0);
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

std::string resolve_listen_host(const std::string& host) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  if (ip::make_address(host, ec); !ec) return host;
  boost::asio::io_context io;
  ip::tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, "", ip::tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    throw std::invalid_argument("--listen: cannot resolve host '" + host + "': " +
                                (ec ? ec.message() : std::string("no address")));
  }
  // IPv4 first: "localhost" is 127.0.0.1 to most clients (and to devices, which are IPv4 only);
  // listening on ::1 alone would leave them out.
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_v4()) return entry.endpoint().address().to_string();
  }
  return results.begin()->endpoint().address().to_string();
}

RegistrationPolicy parse_registration_policy(const std::string& text) {
  if (text == "auto") return RegistrationPolicy::automatic;
  if (text == "approve") return RegistrationPolicy::approve;
  throw std::invalid_argument("registration policy must be auto or approve, not '" + text + "'");
}

TokenPolicy parse_token_policy(const std::string& text) {
  if (text == "strict") return TokenPolicy::strict;
  if (text == "warn") return TokenPolicy::warn;
  throw std::invalid_argument("token policy must be strict or warn, not '" + text + "'");
}

EncryptionMode parse_encryption_mode(const std::string& text) {
  if (text == "off") return EncryptionMode::off;
  if (text == "optional") return EncryptionMode::optional;
  if (text == "required") return EncryptionMode::required;
  throw std::invalid_argument("encryption must be off, optional or required, not '" + text + "'");
}

ApiPlain parse_api_plain(const std::string& text) {
  if (text == "any") return ApiPlain::any;
  if (text == "loopback") return ApiPlain::loopback;
  throw std::invalid_argument("api-plain must be any or loopback, not '" + text + "'");
}

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

// `min`: the least value that means something, as the flag's check in `zkpush serve` (1 for a delay
// or a number of commands; 0 where 0 means off or never).
int env_int(const char* name, int fallback, int min = 0) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  const auto value = protocol::text::parse_int(v);
  if (!value || *value < 0 || *value > 1'000'000'000L) {
    throw std::invalid_argument(std::string(name) + ": not a number: " + v);
  }
  if (*value < min) {
    throw std::invalid_argument(std::string(name) + ": must be at least " + std::to_string(min) + ", got " + v);
  }
  return static_cast<int>(*value);
}

bool env_bool(const char* name, bool fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  std::string s(v);
  if (s == "1" || s == "true" || s == "yes") return true;
  if (s == "0" || s == "false" || s == "no") return false;
  throw std::invalid_argument(std::string(name) + ": not a boolean: " + s);
}

}  // namespace

void apply_environment(ServerConfig& c) {
  if (auto v = env("ZKPUSH_LISTEN")) c.listen = v;
  if (auto v = env("ZKPUSH_DATA")) c.data_dir = v;
  if (auto v = env("ZKPUSH_STORE")) c.store = v;
  if (auto v = env("ZKPUSH_REGISTRATION")) c.registration = parse_registration_policy(v);
  if (auto v = env("ZKPUSH_TOKEN")) c.token = parse_token_policy(v);
  if (auto v = env("ZKPUSH_ENCRYPTION")) c.encryption = parse_encryption_mode(v);
  if (auto v = env("ZKPUSH_TLS_LISTEN")) c.tls_listen = v;
  if (auto v = env("ZKPUSH_TLS_CERT")) c.tls_cert = v;
  if (auto v = env("ZKPUSH_TLS_KEY")) c.tls_key = v;
  if (auto v = env("ZKPUSH_API_PLAIN")) c.api_plain = parse_api_plain(v);
  c.allow_missing_cookie = env_bool("ZKPUSH_ALLOW_MISSING_COOKIE", c.allow_missing_cookie);
  c.request_delay = env_int("ZKPUSH_REQUEST_DELAY", c.request_delay, 1);
  c.error_delay = env_int("ZKPUSH_ERROR_DELAY", c.error_delay, 1);
  c.timeout_sec = env_int("ZKPUSH_TIMEOUT_SEC", c.timeout_sec, 1);
  if (auto v = env("ZKPUSH_TRANS_TIMES")) c.trans_times = v;
  c.trans_interval = env_int("ZKPUSH_TRANS_INTERVAL", c.trans_interval, 1);
  c.realtime = env_int("ZKPUSH_REALTIME", c.realtime);
  if (auto v = env("ZKPUSH_SERVER_NAME")) c.server_name = v;
  if (auto v = env("ZKPUSH_PUSH_PROT_VER")) c.push_prot_ver = v;
  c.max_commands_per_poll = static_cast<std::size_t>(env_int("ZKPUSH_MAX_COMMANDS", static_cast<int>(c.max_commands_per_poll), 1));
  c.command_resend_after = env_int("ZKPUSH_RESEND_AFTER", c.command_resend_after, 1);
  c.control_device_expiry = env_int("ZKPUSH_CONTROL_EXPIRY", c.control_device_expiry);
  if (auto v = env("ZKPUSH_PANEL_ENROLMENT")) c.panel_enrolment = v;
  c.sync_settle = env_int("ZKPUSH_SYNC_SETTLE", c.sync_settle);
  if (env("ZKPUSH_SYNC_VERIFY_HOURS"))
    c.sync_verify_seconds = std::int64_t{3600} * env_int("ZKPUSH_SYNC_VERIFY_HOURS", 24);
  c.event_retention_days = env_int("ZKPUSH_EVENT_RETENTION_DAYS", c.event_retention_days);
  c.trace_memory_mib = env_int("ZKPUSH_TRACE_MEMORY", c.trace_memory_mib);
  if (c.trace_memory_mib > 65536) throw std::invalid_argument("ZKPUSH_TRACE_MEMORY: must be 0 to 65536 (MiB)");
  c.trace_depth = env_int("ZKPUSH_TRACE_DEPTH", c.trace_depth);
  if (c.trace_depth < 1 || c.trace_depth > 10000) throw std::invalid_argument("ZKPUSH_TRACE_DEPTH: must be 1 to 10000");
  c.remote_auth_deadline_ms = env_int("ZKPUSH_REMOTE_AUTH_DEADLINE", c.remote_auth_deadline_ms);
  if (c.remote_auth_deadline_ms < 50 || c.remote_auth_deadline_ms > 60000)
    throw std::invalid_argument("ZKPUSH_REMOTE_AUTH_DEADLINE: must be 50 to 60000 (ms)");
  c.api_lockout_after = env_int("ZKPUSH_API_LOCKOUT_AFTER", c.api_lockout_after);
  if (c.api_lockout_after < 0 || c.api_lockout_after > 100000)
    throw std::invalid_argument("ZKPUSH_API_LOCKOUT_AFTER: must be 0 (off) to 100000");
  if (auto v = env("ZKPUSH_API_TOKEN")) c.api_token = v;
  if (auto v = env("ZKPUSH_MQTT")) c.mqtt_url = v;
  if (auto v = env("ZKPUSH_MQTT_PREFIX")) c.mqtt_prefix = v;
  if (auto v = env("ZKPUSH_MQTT_PASSWORD")) c.mqtt_password = v;
  if (auto v = env("ZKPUSH_FILES")) c.files_dir = v;
  c.max_file_mb = env_int("ZKPUSH_MAX_FILE_MB", c.max_file_mb);
  if (c.max_file_mb < 1 || c.max_file_mb > 4096) throw std::invalid_argument("ZKPUSH_MAX_FILE_MB: must be 1 to 4096");
  if (auto v = env("ZKPUSH_CONSOLE")) c.console_dir = v;
  // The device guard: rates are checked when App starts (front/rate_limiter.hpp), the numbers here.
  if (auto v = env("ZKPUSH_DEVICE_RATE")) c.device_rate = v;
  if (auto v = env("ZKPUSH_ADDRESS_RATE")) c.address_rate = v;
  c.limit_loopback = env_bool("ZKPUSH_LIMIT_LOOPBACK", c.limit_loopback);
  c.lockout_after = env_int("ZKPUSH_LOCKOUT_AFTER", c.lockout_after);
  c.lockout_address_after = env_int("ZKPUSH_LOCKOUT_ADDRESS_AFTER", c.lockout_address_after);
  if (c.lockout_after > 100000 || c.lockout_address_after > 100000)
    throw std::invalid_argument("ZKPUSH_LOCKOUT_AFTER, ZKPUSH_LOCKOUT_ADDRESS_AFTER: must be 0 to 100000");
  c.lockout_window_minutes = env_int("ZKPUSH_LOCKOUT_WINDOW", c.lockout_window_minutes, 1);
  if (c.lockout_window_minutes > 24 * 60) throw std::invalid_argument("ZKPUSH_LOCKOUT_WINDOW: must be 1 to 1440 (minutes)");
  c.lockout_minutes = env_int("ZKPUSH_LOCKOUT_MINUTES", c.lockout_minutes, 1);
  if (c.lockout_minutes > 7 * 24 * 60) throw std::invalid_argument("ZKPUSH_LOCKOUT_MINUTES: must be 1 to 10080 (minutes)");
  if (auto v = env("ZKPUSH_ALLOW_SN")) c.allow_sn = {v};
  if (auto v = env("ZKPUSH_ALLOW_NET")) c.allow_net = {v};
  if (auto v = env("ZKPUSH_TZ")) {
    auto tz = protocol::parse_tz_offset(v);
    if (!tz) throw std::invalid_argument(std::string("ZKPUSH_TZ: not an offset like +0800: ") + v);
    c.default_tz_minutes = *tz;
  }
}

std::vector<std::string> default_console_dirs() {
  std::vector<std::string> dirs;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) dirs.push_back((exe.parent_path() / "console").string());
  dirs.emplace_back(kSystemConsoleDir);
  return dirs;
}

std::string resolve_console_dir(const std::string& configured, const std::vector<std::string>& candidates) {
  std::error_code ec;
  const auto absolute = [&ec](const std::string& dir) {
    auto path = std::filesystem::absolute(dir, ec);
    return (ec ? std::filesystem::path(dir) : path).lexically_normal().string();
  };
  if (!configured.empty()) return absolute(configured);
  for (const auto& dir : candidates) {
    if (std::filesystem::is_regular_file(std::filesystem::path(dir) / "index.html", ec)) return absolute(dir);
  }
  return candidates.empty() ? std::string() : absolute(candidates.front());
}

}  // namespace zkpush::server
