#include "protocol/endpoints.hpp"

#include <array>
#include <string>

#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

struct EndpointName {
  Endpoint endpoint;
  std::string_view id;
};

constexpr std::array<EndpointName, 39> kNames{{
    {Endpoint::init, "init"},
    {Endpoint::exchange_publickey, "exchange_publickey"},
    {Endpoint::exchange_factors, "exchange_factors"},
    {Endpoint::registry, "registry"},
    {Endpoint::push_config, "push_config"},
    {Endpoint::upload_options, "upload_options"},
    {Endpoint::device_authorize_upload, "device_authorize_upload"},
    {Endpoint::ping, "ping"},
    {Endpoint::rtlog, "rtlog"},
    {Endpoint::rtlog_cancel_alarm, "rtlog_cancel_alarm"},
    {Endpoint::rtstate, "rtstate"},
    {Endpoint::devicecmd, "devicecmd"},
    {Endpoint::tabledata_user, "tabledata_user"},
    {Endpoint::tabledata_identitycard, "tabledata_identitycard"},
    {Endpoint::tabledata_templatev10, "tabledata_templatev10"},
    {Endpoint::tabledata_biophoto, "tabledata_biophoto"},
    {Endpoint::tabledata_attphoto, "tabledata_attphoto"},
    {Endpoint::tabledata_userpic, "tabledata_userpic"},
    {Endpoint::tabledata_biodata, "tabledata_biodata"},
    {Endpoint::tabledata_errorlog, "tabledata_errorlog"},
    {Endpoint::irstate, "irstate"},
    {Endpoint::getrequest, "getrequest"},
    {Endpoint::querydata_count, "querydata_count"},
    {Endpoint::querydata_tabledata, "querydata_tabledata"},
    {Endpoint::querydata_vmtable, "querydata_vmtable"},
    {Endpoint::querydata_options, "querydata_options"},
    {Endpoint::querydata_account_tgz, "querydata_account_tgz"},
    {Endpoint::account_overview, "account_overview"},
    {Endpoint::account_file, "account_file"},
    {Endpoint::testdata_wiegand, "testdata_wiegand"},
    {Endpoint::firmware_file, "firmware_file"},
    {Endpoint::firmware_range, "firmware_range"},
    {Endpoint::rtdata_time, "rtdata_time"},
    {Endpoint::enroll_info_upload, "enroll_info_upload"},
    {Endpoint::enroll_bio_upload, "enroll_bio_upload"},
    {Endpoint::remote_auth, "remote_auth"},
    {Endpoint::http_intro_login, "http_intro_login"},
    {Endpoint::tabledata_other, "tabledata_other"},
    {Endpoint::unknown, "unknown"},
}};

constexpr std::array<Endpoint, 37> kCatalogue = []() {
  std::array<Endpoint, 37> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = kNames[i].endpoint;
  return out;
}();

constexpr std::array<Endpoint, 7> kHandshake{{
    Endpoint::init,
    Endpoint::exchange_publickey,
    Endpoint::exchange_factors,
    Endpoint::registry,
    Endpoint::push_config,
    Endpoint::upload_options,
    Endpoint::device_authorize_upload,
}};

struct TabledataName {
  std::string_view table;
  Endpoint endpoint;
};
constexpr std::array<TabledataName, 8> kTabledata{{
    {"user", Endpoint::tabledata_user},
    {"identitycard", Endpoint::tabledata_identitycard},
    {"templatev10", Endpoint::tabledata_templatev10},
    {"biophoto", Endpoint::tabledata_biophoto},
    {"ATTPHOTO", Endpoint::tabledata_attphoto},
    {"userpic", Endpoint::tabledata_userpic},
    {"biodata", Endpoint::tabledata_biodata},
    {"errorlog", Endpoint::tabledata_errorlog},
}};

bool is_sep(char c) { return c == '\t' || c == ' ' || c == '\n' || c == '\r' || c == '\0'; }

// True when `body` holds "<key>=" at the start of a field (after HT, SP, LF or at the start).
bool body_has_key(std::string_view body, std::string_view key) {
  if (key.empty() || body.size() <= key.size()) return false;
  for (std::size_t i = 0; i + key.size() < body.size(); ++i) {
    if (i > 0 && !is_sep(body[i - 1])) continue;
    if (body[i + key.size()] != '=') continue;
    if (text::iequals(body.substr(i, key.size()), key)) return true;
  }
  return false;
}

// True when a field of the body, split as records are (lines, then HT), has `key` (padding
// around the key ignored, as the record parser does).
bool body_has_field_key(std::string_view body, std::string_view key) {
  for (std::string_view line : text::split_lines(body))
    for (std::string_view piece : text::split(line, '\t')) {
      std::size_t eq = piece.find('=');
      if (eq != std::string_view::npos && text::iequals(text::trim_line(piece.substr(0, eq)), key)) return true;
    }
  return false;
}

// The first line holding a key=value field (lines without one are not records).
std::string_view first_record_line(std::string_view body) {
  for (std::string_view line : text::split_lines(body)) {
    line = text::trim_line(line);
    if (line.find('=') != std::string_view::npos) return line;
  }
  return {};
}

bool value_is(const Record& query, std::string_view key, std::string_view value) {
  auto v = query.get(key);
  return v && text::iequals(text::trim(*v), value);
}

std::string_view value_of(const Record& query, std::string_view key) {
  return text::trim(query.get_or(key, {}));
}

Endpoint classify_cdata(std::string_view method, const Record& query, std::string_view body) {
  if (value_is(query, "options", "all")) return Endpoint::init;
  if (query.has("AuthType")) return Endpoint::remote_auth;
  std::string_view type = value_of(query, "type");
  std::string_view table = value_of(query, "table");
  std::string_view tablename = value_of(query, "tablename");
  if (text::iequals(type, "EnrollInfoData")) return Endpoint::enroll_info_upload;
  if (text::iequals(type, "BioData")) return Endpoint::enroll_bio_upload;
  if (text::iequals(tablename, "DeviceAuthorize") ||
      ((text::iequals(type, "registry") || text::iequals(table, "tabledata")) && tablename.empty() &&
       text::istarts_with(first_record_line(body), "DeviceAuthorize")))
    return Endpoint::device_authorize_upload;
  if (value_is(query, "desc", "overview")) return Endpoint::account_overview;
  if (text::iequals(table, "options")) return Endpoint::upload_options;
  if (text::iequals(table, "rtlog"))
    return body_has_key(body, "Alarmtype") ? Endpoint::rtlog_cancel_alarm : Endpoint::rtlog;
  if (text::iequals(table, "rtstate")) return Endpoint::rtstate;
  if (text::iequals(table, "irstate")) return Endpoint::irstate;
  if (text::iequals(table, "testdata")) return Endpoint::testdata_wiegand;
  if (text::iequals(table, "tabledata")) {
    if (!tablename.empty()) return tabledata_endpoint(tablename);
    std::string_view word = first_record_word(body);
    if (!word.empty()) return tabledata_endpoint(word);
    // No table word: only ATTPHOTO records come without one (pin=<file>.jpg ... photo=).
    if (body_has_key(body, "photo")) return Endpoint::tabledata_attphoto;
    return Endpoint::tabledata_other;
  }
  if (!table.empty()) return Endpoint::unknown;  // a table of another protocol (ATTLOG...)
  if (text::iequals(method, "GET")) return Endpoint::init;
  return Endpoint::unknown;
}

Endpoint classify_querydata(const Record& query, std::string_view body) {
  std::string_view type = value_of(query, "type");
  std::string_view tablename = value_of(query, "tablename");
  if (text::iequals(type, "count")) return Endpoint::querydata_count;
  if (text::iequals(type, "vmtable")) return Endpoint::querydata_vmtable;
  if (text::iequals(type, "options")) return Endpoint::querydata_options;
  std::string_view line = first_record_line(body);
  bool archive = value_is(query, "datafmt", "3") ||
                 (text::iequals(text::trim_line(line.substr(0, line.find('='))), "name") &&
                  body_has_field_key(body, "datacode"));
  if (text::iequals(type, "tabledata")) return archive ? Endpoint::querydata_account_tgz : Endpoint::querydata_tabledata;
  if (!type.empty()) return Endpoint::unknown;
  // No type: guess from the table.
  if (archive) return Endpoint::querydata_account_tgz;
  if (text::iequals(tablename, "options")) return Endpoint::querydata_options;
  if (text::iequals(tablename, "APList") || text::iequals(tablename, "[APList]")) return Endpoint::querydata_vmtable;
  return Endpoint::querydata_tabledata;
}

Endpoint classify_exchange(const Record& query, std::string_view body) {
  std::string_view type = value_of(query, "type");
  if (text::iequals(type, "publickey")) return Endpoint::exchange_publickey;
  if (text::iequals(type, "factors")) return Endpoint::exchange_factors;
  if (!type.empty()) return Endpoint::unknown;
  if (body_has_key(body, "PublicKey")) return Endpoint::exchange_publickey;
  if (body_has_key(body, "Factors")) return Endpoint::exchange_factors;
  return Endpoint::unknown;
}

}  // namespace

std::string_view endpoint_id(Endpoint endpoint) noexcept {
  for (const auto& n : kNames)
    if (n.endpoint == endpoint) return n.id;
  return "unknown";
}

std::optional<Endpoint> endpoint_from_id(std::string_view id) noexcept {
  for (const auto& n : kNames)
    if (n.id == id) return n.endpoint;
  return std::nullopt;
}

std::span<const Endpoint> catalogue_endpoints() noexcept { return kCatalogue; }

std::span<const Endpoint> handshake_order() noexcept { return kHandshake; }

std::string_view first_record_word(std::string_view body) {
  std::string_view line = first_record_line(body);
  std::size_t sp = line.find_first_of(" \t=");
  if (sp == std::string_view::npos || line[sp] != ' ') return {};
  return line.substr(0, sp);
}

Endpoint tabledata_endpoint(std::string_view tablename) noexcept {
  tablename = text::trim(tablename);
  for (const auto& t : kTabledata)
    if (text::iequals(t.table, tablename)) return t.endpoint;
  return Endpoint::tabledata_other;
}

bool is_tabledata(Endpoint endpoint) noexcept {
  switch (endpoint) {
    case Endpoint::tabledata_user:
    case Endpoint::tabledata_identitycard:
    case Endpoint::tabledata_templatev10:
    case Endpoint::tabledata_biophoto:
    case Endpoint::tabledata_attphoto:
    case Endpoint::tabledata_userpic:
    case Endpoint::tabledata_biodata:
    case Endpoint::tabledata_errorlog:
    case Endpoint::tabledata_other: return true;
    default: return false;
  }
}

std::string normalize_path(std::string_view path) {
  std::size_t q = path.find('?');
  if (q != std::string_view::npos) path = path.substr(0, q);
  std::size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  path = text::trim(path);
  // Absolute form: "http://host:port/path".
  std::size_t scheme = path.find("://");
  if (scheme != std::string_view::npos && path.find('/') > scheme) {
    std::size_t slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  std::string out;
  out.reserve(path.size() + 1);
  if (path.empty() || path.front() != '/') out.push_back('/');
  for (char c : path) {
    if (c == '\\') c = '/';
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  out = text::to_lower(out);
  constexpr std::string_view aspx = ".aspx";
  if (out.size() > aspx.size() && out.compare(out.size() - aspx.size(), aspx.size(), aspx) == 0)
    out.resize(out.size() - aspx.size());
  return out;
}

Endpoint classify(std::string_view method, std::string_view path, const Record& query, std::string_view body) {
  std::string p = normalize_path(path);
  if (p == "/iclock/cdata") return classify_cdata(method, query, body);
  if (p == "/iclock/registry") return Endpoint::registry;
  if (p == "/iclock/push") return Endpoint::push_config;
  if (p == "/iclock/ping") return Endpoint::ping;
  if (p == "/iclock/getrequest") return Endpoint::getrequest;
  if (p == "/iclock/devicecmd") return Endpoint::devicecmd;
  if (p == "/iclock/querydata") return classify_querydata(query, body);
  if (p == "/iclock/exchange") return classify_exchange(query, body);
  if (p == "/iclock/file") return text::iequals(method, "POST") ? Endpoint::account_file : Endpoint::firmware_file;
  if (p == "/iclock/rtdata") {
    std::string_view type = value_of(query, "type");
    return type.empty() || text::iequals(type, "time") ? Endpoint::rtdata_time : Endpoint::unknown;
  }
  if (p == "/iclock/accounts/login") return Endpoint::http_intro_login;
  if (p != "/iclock" && p.rfind("/iclock/", 0) != 0 && text::iequals(method, "GET") && p != "/")
    return Endpoint::firmware_range;
  return Endpoint::unknown;
}

}  // namespace zkpush::protocol
