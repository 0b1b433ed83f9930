#include "protocol/responses.hpp"

#include <array>
#include <charconv>
#include <string>

#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

constexpr std::array<std::string_view, 11> kInitKeys{{
    "ServerVersion", "ServerName", "PushProtVer", "ErrorDelay", "RequestDelay", "TransTimes", "TransInterval",
    "TransTables", "Realtime", "SessionID", "TimeoutSec",
}};

constexpr std::array<std::string_view, 21> kPushKeys{{
    "ServerVersion", "ServerName", "PushProtVer", "ErrorDelay", "RequestDelay", "TransTimes", "TransInterval",
    "TransTables", "Realtime", "SessionID", "TimeoutSec", "BioPhotoFun", "BioDataFun", "MultiBioDataSupport",
    "MultiBioPhotoSupport", "QRCodeDecryptKey", "QRCodeDecryptType", "NewVFStyles", "IRTempUnitTrans", "SvrNSLevel",
    "PushOptionsFlag",
}};

std::string_view strip_junk(std::string_view s) noexcept {
  auto junk = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; };
  while (!s.empty() && junk(s.front())) s.remove_prefix(1);
  while (!s.empty() && junk(s.back())) s.remove_suffix(1);
  return s;
}

// key=value lines, both sides trimmed; lines without '=' skipped.
Record trimmed_lines(std::string_view body) {
  Record r;
  for (std::string_view line : text::split_lines(body)) {
    line = text::trim_line(line);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = text::trim(line.substr(0, eq));
    if (key.empty()) continue;
    r.fields.push_back(Field{std::string(key), std::string(text::trim(line.substr(eq + 1))), true});
  }
  return r;
}

std::string config_lines(const Record& config, KeyOrder order, std::span<const std::string_view> keys) {
  return format_line_list(order == KeyOrder::catalogue ? in_key_order(config, keys) : config);
}

}  // namespace

bool is_ok(std::string_view body) noexcept { return text::iequals(strip_junk(body), "OK"); }

// ---- configuration answers -----------------------------------------------------------------------------

std::span<const std::string_view> init_config_keys() noexcept { return kInitKeys; }
std::span<const std::string_view> push_config_keys() noexcept { return kPushKeys; }

Record in_key_order(const Record& config, std::span<const std::string_view> order) {
  Record out;
  out.prefix = config.prefix;
  std::vector<bool> used(config.fields.size(), false);
  for (std::string_view key : order)
    for (std::size_t i = 0; i < config.fields.size(); ++i)
      if (!used[i] && text::iequals(config.fields[i].key, key)) {
        out.fields.push_back(config.fields[i]);
        used[i] = true;
      }
  for (std::size_t i = 0; i < config.fields.size(); ++i)
    if (!used[i]) out.fields.push_back(config.fields[i]);
  return out;
}

std::string format_init_answer(const InitAnswer& answer, KeyOrder order) {
  if (!answer.registered) return std::string(kOkBody);
  std::string out = "registry=ok\nRegistryCode=" + answer.registry_code + "\n";
  Record config = answer.config;
  std::erase_if(config.fields, [](const Field& f) {
    return text::iequals(f.key, "registry") || text::iequals(f.key, "RegistryCode");
  });
  out += config_lines(config, order, kInitKeys);
  return out;
}

InitAnswer parse_init_answer(std::string_view body) {
  InitAnswer a;
  Record lines = trimmed_lines(body);
  std::optional<std::string> registry;
  for (Field& f : lines.fields) {
    if (text::iequals(f.key, "registry")) {
      if (!registry) registry = f.value;
    } else if (text::iequals(f.key, "RegistryCode")) {
      if (a.registry_code.empty()) a.registry_code = f.value;
    } else {
      a.config.fields.push_back(std::move(f));
    }
  }
  if (registry && !text::iequals(*registry, "ok"))
    a.registered = false;
  else
    a.registered = !a.registry_code.empty() || registry.has_value();
  return a;
}

std::string format_config_answer(const Record& config, KeyOrder order) {
  return config_lines(config, order, kPushKeys);
}

Record parse_config_answer(std::string_view body) { return trimmed_lines(body); }

bool push_options_requested(const Record& config) noexcept {
  auto v = config.get("PushOptionsFlag");
  return v && text::parse_int(*v).value_or(0) == 1;
}

// ---- registration ------------------------------------------------------------------------------------------

std::string format_registry_answer(std::string_view registry_code) {
  return "RegistryCode=" + std::string(registry_code);
}

HttpAnswer registry_accepted(std::string_view registry_code) {
  return HttpAnswer{200, format_registry_answer(registry_code), "text/plain;charset=UTF-8"};
}

HttpAnswer registry_refused() { return HttpAnswer{406, "406", "text/plain;charset=UTF-8"}; }

RegistryAnswer parse_registry_answer(int status, std::string_view body) {
  RegistryAnswer a;
  if (status < 200 || status > 299) return a;
  Record lines = trimmed_lines(body);
  // Some servers prefix registry=ok as in the init answer; only the code matters.
  if (auto code = lines.get("RegistryCode"); code && !code->empty()) {
    a.accepted = true;
    a.registry_code = std::string(*code);
  }
  return a;
}

// ---- table acknowledgements ---------------------------------------------------------------------------------

std::string format_table_ack(std::string_view table, std::int64_t count) {
  return std::string(table) + "=" + std::to_string(count);
}

Result<TableAck> parse_table_ack(std::string_view body) {
  for (std::string_view line : text::split_lines(body)) {
    line = text::trim_line(line);
    if (line.empty()) continue;
    std::size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos || sep == 0)
      return make_error(Errc::malformed, "acknowledgement is not <table>=<N>: '" + std::string(line) + "'", "body");
    std::string_view table = text::trim(line.substr(0, sep));
    std::string_view count = text::trim(line.substr(sep + 1));
    auto n = text::parse_int(count);
    if (!n) return make_error(Errc::bad_value, "acknowledged count is not a number: '" + std::string(count) + "'",
                              "body");
    return TableAck{std::string(table), n};
  }
  return make_error(Errc::incomplete, "empty acknowledgement", "body");
}

// ---- getrequest -----------------------------------------------------------------------------------------------

std::string format_empty_command_queue() { return std::string(kOkBody); }

bool is_empty_command_queue(std::string_view body) noexcept {
  std::string_view s = strip_junk(body);
  return s.empty() || text::iequals(s, "OK");
}

// ---- rtdata time ------------------------------------------------------------------------------------------------

std::string format_time_answer(const TimeAnswer& answer) {
  std::string out = "DateTime=" + std::to_string(answer.datetime);
  if (!answer.server_tz.empty()) out += ",ServerTZ=" + answer.server_tz;
  return out;
}

Result<TimeAnswer> parse_time_answer(std::string_view body) {
  std::string flat(strip_junk(body));
  for (char& c : flat)
    if (c == '\n' || c == '&' || c == ';') c = ',';
  Record r = parse_comma_list(flat);
  TimeAnswer a;
  auto dt = r.get("DateTime");
  if (!dt) return make_error(Errc::incomplete, "time answer has no DateTime=", "body");
  auto n = text::parse_int(text::trim_line(*dt));
  if (!n) return make_error(Errc::bad_value, "DateTime is not a number: '" + std::string(*dt) + "'", "field 'DateTime'");
  a.datetime = *n;
  a.server_tz = std::string(text::trim_line(r.get_or("ServerTZ", {})));
  return a;
}

std::optional<int> parse_tz_offset(std::string_view tz) noexcept {
  tz = text::trim(tz);
  if (tz.empty()) return std::nullopt;
  int sign = 1;
  if (tz.front() == '+' || tz.front() == '-') {
    sign = tz.front() == '-' ? -1 : 1;
    tz.remove_prefix(1);
  }
  std::size_t colon = tz.find(':');
  int hours = 0, minutes = 0;
  auto number = [](std::string_view s, int& out) {
    if (s.empty() || s.size() > 2) return false;
    for (char c : s)
      if (c < '0' || c > '9') return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (colon != std::string_view::npos) {
    if (!number(tz.substr(0, colon), hours) || !number(tz.substr(colon + 1), minutes)) return std::nullopt;
  } else if (tz.size() == 4) {
    if (!number(tz.substr(0, 2), hours) || !number(tz.substr(2), minutes)) return std::nullopt;
  } else if (!number(tz, hours)) {
    return std::nullopt;
  }
  if (hours > 14 || minutes > 59) return std::nullopt;
  return sign * (hours * 60 + minutes);
}

std::string format_tz_offset(int minutes) {
  char sign = minutes < 0 ? '-' : '+';
  int m = minutes < 0 ? -minutes : minutes;
  std::string hh = std::to_string(m / 60), mm = std::to_string(m % 60);
  if (hh.size() < 2) hh.insert(0, 1, '0');
  if (mm.size() < 2) mm.insert(0, 1, '0');
  return std::string(1, sign) + hh + mm;
}

// ---- exchange ------------------------------------------------------------------------------------------------------

std::string format_exchange_answer(std::string_view key, std::string_view value) {
  return std::string(key) + "=" + std::string(value);
}

Result<ExchangeAnswer> parse_exchange_answer(std::string_view body, std::string_view expected_key) {
  Record r = trimmed_lines(body);
  const Field* f = r.find(expected_key);
  if (!f) return make_error(Errc::incomplete, "answer has no " + std::string(expected_key) + "=", "body");
  return ExchangeAnswer{f->key, f->value};
}

// ---- remote identification -------------------------------------------------------------------------------------

std::string_view auth_result_name(AuthResult result) noexcept {
  switch (result) {
    case AuthResult::success: return "SUCCESS";
    case AuthResult::failed: return "FAILED";
    case AuthResult::timeout: return "TIMEOUT";
  }
  return "FAILED";
}

std::string format_remote_auth_answer(const RemoteAuthAnswer& answer) {
  std::string out = "AUTH=" + std::string(auth_result_name(answer.auth));
  if (answer.event) out += "\r\n" + format_tab_record(*answer.event);
  if (answer.auth == AuthResult::success && !answer.control.empty()) out += "\r\nCONTROL DEVICE " + answer.control;
  if (answer.tips) out += "\r\nTIPS=" + *answer.tips;
  return out;
}

namespace {

// "CONTROL DEVICE 01010105" (any case, any spacing, optional "C:<id>:" before): the detail.
std::optional<std::string_view> control_detail(std::string_view line) {
  if (text::istarts_with(line, "C:")) {
    std::size_t second = line.find(':', 2);
    if (second == std::string_view::npos) return std::nullopt;
    line = text::trim(line.substr(second + 1));
  }
  if (!text::istarts_with(line, "CONTROL")) return std::nullopt;
  std::string_view rest = text::trim(line.substr(7));
  if (!text::istarts_with(rest, "DEVICE")) return std::nullopt;
  return text::trim(rest.substr(6));
}

}  // namespace

Result<RemoteAuthAnswer> parse_remote_auth_answer(std::string_view body) {
  RemoteAuthAnswer a;
  bool have_auth = false;
  std::vector<std::string_view> keys = known_keys_of("rtlog");
  TabRecordOptions options;
  options.known_keys = keys;
  options.allow_prefix = false;
  std::vector<std::string_view> lines = text::split_lines(body);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = text::trim_line(lines[i]);
    if (line.empty()) continue;
    if (text::istarts_with(line, "AUTH=") || text::istarts_with(line, "AUTH =")) {
      std::string_view v = text::trim(line.substr(line.find('=') + 1));
      if (text::iequals(v, "SUCCESS")) a.auth = AuthResult::success;
      else if (text::iequals(v, "FAILED")) a.auth = AuthResult::failed;
      else if (text::iequals(v, "TIMEOUT")) a.auth = AuthResult::timeout;
      else
        return make_error(Errc::bad_value, "AUTH is not SUCCESS, FAILED or TIMEOUT: '" + std::string(v) + "'",
                          "line " + std::to_string(i + 1));
      have_auth = true;
    } else if (text::istarts_with(line, "TIPS=")) {
      a.tips = std::string(line.substr(5));
    } else if (auto detail = control_detail(line)) {
      a.control = std::string(*detail);
    } else if (line.find('=') != std::string_view::npos && !a.event) {
      a.event = parse_tab_record(line, options);
    }
  }
  if (!have_auth) return make_error(Errc::incomplete, "remote identification answer has no AUTH= line", "body");
  return a;
}

// ---- Range ------------------------------------------------------------------------------------------------------------

std::optional<ByteRange> parse_range_header(std::string_view value) noexcept {
  value = text::trim(value);
  if (text::istarts_with(value, "bytes")) {
    value = text::trim(value.substr(5));
    if (value.empty() || (value.front() != '=' && value.front() != ':')) return std::nullopt;
    value = text::trim(value.substr(1));
  }
  std::size_t dash = value.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  auto from = text::parse_uint(value.substr(0, dash));
  if (!from) return std::nullopt;
  ByteRange r{*from, std::nullopt};
  std::string_view to = text::trim(value.substr(dash + 1));
  if (!to.empty()) {
    auto t = text::parse_uint(to);
    if (!t || *t < *from) return std::nullopt;
    r.to = *t;
  }
  return r;
}

std::string format_content_range(std::uint64_t from, std::uint64_t to, std::uint64_t total) {
  return "bytes " + std::to_string(from) + "-" + std::to_string(to) + "/" + std::to_string(total);
}

// ---- per request --------------------------------------------------------------------------------------------------------

std::optional<HttpAnswer> upload_ack(const DeviceRequest& req) {
  auto ok = [] { return HttpAnswer{200, std::string(kOkBody), "text/plain;charset=UTF-8"}; };
  auto table_ack = [&](std::int64_t n) {
    std::string_view name = text::trim(req.query.get_or("tablename", req.table));
    if (name.empty()) name = req.table;
    return HttpAnswer{200, format_table_ack(name, n), "text/plain;charset=UTF-8"};
  };
  auto records = static_cast<std::int64_t>(req.records.size());
  if (is_tabledata(req.endpoint)) return table_ack(records);
  switch (req.endpoint) {
    case Endpoint::querydata_tabledata:
    case Endpoint::querydata_vmtable:
    case Endpoint::device_authorize_upload:
      return table_ack(records);
    case Endpoint::querydata_account_tgz:
      return table_ack(req.records.empty() && req.pagination.count ? *req.pagination.count : records);
    case Endpoint::upload_options:
    case Endpoint::ping:
    case Endpoint::rtlog:
    case Endpoint::rtlog_cancel_alarm:
    case Endpoint::rtstate:
    case Endpoint::devicecmd:
    case Endpoint::irstate:
    case Endpoint::getrequest:
    case Endpoint::querydata_count:
    case Endpoint::querydata_options:
    case Endpoint::account_overview:
    case Endpoint::account_file:
    case Endpoint::testdata_wiegand:
    case Endpoint::enroll_info_upload:
    case Endpoint::enroll_bio_upload:
      return ok();
    case Endpoint::init:
    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors:
    case Endpoint::registry:
    case Endpoint::push_config:
    case Endpoint::firmware_file:
    case Endpoint::firmware_range:
    case Endpoint::rtdata_time:
    case Endpoint::remote_auth:
    case Endpoint::http_intro_login:
    case Endpoint::unknown:
    default:  // the tabledata uploads: acknowledged above
      return std::nullopt;
  }
  return std::nullopt;
}

// ---- any answer ----------------------------------------------------------------------------------------------------------

Result<ServerAnswer> parse_server_answer(Endpoint endpoint, int status, std::string_view body) {
  if (endpoint == Endpoint::registry) {
    RegistryAnswer a = parse_registry_answer(status, body);
    return ServerAnswer{std::move(a)};
  }
  if (status < 200 || status > 299)
    return make_error(Errc::bad_value, "server answered HTTP " + std::to_string(status), "status line");
  switch (endpoint) {
    case Endpoint::init:
      return ServerAnswer{parse_init_answer(body)};
    case Endpoint::push_config:
      return ServerAnswer{ConfigAnswer{parse_config_answer(body)}};
    case Endpoint::getrequest:
      return ServerAnswer{CommandQueue{is_empty_command_queue(body) ? std::string() : std::string(body)}};
    case Endpoint::rtdata_time: {
      auto t = parse_time_answer(body);
      if (!t) return t.error();
      return ServerAnswer{std::move(*t)};
    }
    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors: {
      auto e = parse_exchange_answer(body, endpoint == Endpoint::exchange_publickey ? "PublicKey" : "Factors");
      if (!e) return e.error();
      return ServerAnswer{std::move(*e)};
    }
    case Endpoint::remote_auth: {
      auto r = parse_remote_auth_answer(body);
      if (!r) return r.error();
      return ServerAnswer{std::move(*r)};
    }
    case Endpoint::firmware_file:
    case Endpoint::firmware_range:
    case Endpoint::http_intro_login:
    case Endpoint::unknown:
      return ServerAnswer{RawAnswer{std::string(body)}};
    default:
      break;
  }
  if (is_ok(body)) return ServerAnswer{PlainOk{}};
  if (auto ack = parse_table_ack(body)) return ServerAnswer{std::move(*ack)};
  return ServerAnswer{RawAnswer{std::string(body)}};
}

std::string format_server_answer(const ServerAnswer& answer) {
  struct Visitor {
    std::string operator()(const PlainOk&) const { return std::string(kOkBody); }
    std::string operator()(const InitAnswer& a) const { return format_init_answer(a, KeyOrder::as_given); }
    std::string operator()(const RegistryAnswer& a) const {
      return a.accepted ? format_registry_answer(a.registry_code) : registry_refused().body;
    }
    std::string operator()(const ConfigAnswer& a) const { return format_config_answer(a.config, KeyOrder::as_given); }
    std::string operator()(const TableAck& a) const { return format_table_ack(a.table, a.count.value_or(0)); }
    std::string operator()(const CommandQueue& a) const {
      return a.text.empty() ? format_empty_command_queue() : a.text;
    }
    std::string operator()(const TimeAnswer& a) const { return format_time_answer(a); }
    std::string operator()(const ExchangeAnswer& a) const { return format_exchange_answer(a.key, a.value); }
    std::string operator()(const RemoteAuthAnswer& a) const { return format_remote_auth_answer(a); }
    std::string operator()(const RawAnswer& a) const { return a.body; }
  };
  return std::visit(Visitor{}, answer);
}

}  // namespace zkpush::protocol
