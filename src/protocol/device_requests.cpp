// parse_device_request: from method + target + body to a DeviceRequest.
#include "protocol/device_requests.hpp"

#include <string>

#include "protocol/base64.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

std::string line_where(std::size_t index) { return "line " + std::to_string(index + 1); }

// Splits an absolute-form target ("http://host:port/path?q") into its origin path and query.
Target split_target(std::string_view target) {
  std::string_view t = text::trim(target);
  std::size_t q = t.find('?');
  std::string_view before_query = t.substr(0, q);
  std::size_t scheme = before_query.find("://");
  if (scheme != std::string_view::npos && before_query.find('/') > scheme) {
    std::size_t slash = before_query.find('/', scheme + 3);
    std::string_view path = slash == std::string_view::npos ? std::string_view("/") : before_query.substr(slash);
    Target out = parse_target(q == std::string_view::npos ? std::string_view{} : t.substr(q));
    out.path = std::string(path);
    return out;
  }
  return parse_target(t);
}

bool has_any_value(const Record& r) {
  for (const Field& f : r.fields)
    if (f.has_value) return true;
  return false;
}

// Tab records of `table`, with the table's keys for space repair. Lines without any key=value
// field cannot be records: they are dropped with a note.
std::vector<Record> tab_records(std::string_view body, std::string_view table, std::string_view expected_prefix,
                                std::vector<std::string>& notes) {
  std::vector<std::string_view> keys = known_keys_of(table);
  TabRecordOptions options;
  options.known_keys = keys;
  options.expected_prefix = expected_prefix;
  std::vector<Record> records;
  std::vector<std::string_view> lines = text::split_lines(body, false);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (text::trim_line(line).empty()) continue;
    Record r = parse_tab_record(line, options);
    if (!has_any_value(r)) {
      notes.push_back(line_where(i) + " has no key=value field; ignored");
      continue;
    }
    records.push_back(std::move(r));
  }
  return records;
}

// "BioPhotoFun=1BioDataFun=1" (the 4.4 template lost a comma): a value that runs into a known
// registration key followed by '=' is split there (the longest key wins: GATEIPAddress, not
// IPAddress). The text before the key must not be empty.
void repair_glued_keys(Record& record, std::vector<std::string>& notes) {
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    Field& f = record.fields[i];
    if (!f.has_value) continue;
    for (std::size_t eq = f.value.find('='); eq != std::string::npos; eq = f.value.find('=', eq + 1)) {
      std::string_view best;
      for (std::string_view key : registry_keys()) {
        if (eq < key.size() + 1 || key.size() <= best.size()) continue;
        if (text::iequals(std::string_view(f.value).substr(eq - key.size(), key.size()), key)) best = key;
      }
      if (best.empty()) continue;
      std::size_t start = eq - best.size();
      std::string_view rest = text::trim_line(std::string_view(f.value).substr(eq + 1));
      Field next{f.value.substr(start, best.size()), std::string(rest), true};
      notes.push_back("value of " + f.key + " ran into key " + next.key + " (missing comma); split");
      f.value = std::string(text::trim_line(std::string_view(f.value).substr(0, start)));  // as parse_comma_list does
      record.fields.insert(record.fields.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(next));
      break;  // the new field is examined in the next round
    }
  }
}

Record options_record(std::string_view body, bool repair, std::vector<std::string>& notes) {
  Record r = parse_comma_list(body);
  if (repair) repair_glued_keys(r, notes);
  return r;
}

std::optional<std::int64_t> query_int(const Record& query, std::string_view key) {
  auto v = query.get(key);
  if (!v) return std::nullopt;
  return text::parse_int(*v);
}

bool serial_number_byte(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Why `sn` (not empty) is not a serial number, for the error message.
std::string serial_number_problem(std::string_view sn) {
  if (sn.size() > kMaxSerialNumberLength)
    return "longer than " + std::to_string(kMaxSerialNumberLength) + " bytes (" + std::to_string(sn.size()) + ")";
  for (std::size_t i = 0; i < sn.size(); ++i)
    if (!serial_number_byte(sn[i]))
      return "byte " + std::to_string(i + 1) + " ('" + text::printable(sn.substr(i, 1)) +
             "') is not a letter, digit, '-' or '_'";
  return {};
}

// req.sn from SN= of the query (key in any case), trimmed of blanks. Several SN= must agree; a
// present one must be a serial number. An absent or empty one leaves req.sn empty. Without
// check_sn the problems become notes and the first SN is kept.
Status take_serial_number(DeviceRequest& req, bool check_sn) {
  const Field* first = nullptr;
  std::optional<Error> problem;
  for (const Field& f : req.query.fields) {
    if (!text::iequals(f.key, "SN")) continue;
    if (first == nullptr) {
      first = &f;
    } else if (!problem && text::trim(f.value) != text::trim(first->value)) {
      problem = make_error(Errc::malformed,
                           "SN given twice with different values: '" + text::printable(text::trim(first->value), 40) +
                               "' and '" + text::printable(text::trim(f.value), 40) + "'",
                           "query parameter SN");
    }
  }
  std::string_view sn = first != nullptr ? text::trim(first->value) : std::string_view{};
  if (!problem && !sn.empty() && !is_valid_serial_number(sn))
    problem = make_error(Errc::bad_value,
                         "SN '" + text::printable(sn, kMaxSerialNumberLength) +
                             "' is not a serial number: " + serial_number_problem(sn),
                         "query parameter SN");
  if (problem) {
    if (check_sn) return *std::move(problem);
    req.notes.push_back(problem->what + "; a server refuses this request");
  }
  req.sn = std::string(sn);
  return Ok{};
}

bool needs_sn(Endpoint e) {
  return e != Endpoint::http_intro_login && e != Endpoint::firmware_range && e != Endpoint::unknown;
}

std::string canonical_table(std::string_view name) {
  if (const TableSpec* t = find_table(name)) return std::string(t->name);
  return std::string(text::trim(name));
}

Status parse_devicecmd(DeviceRequest& req) {
  std::vector<std::string_view> lines = text::split_lines(req.body, false);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = text::trim_line(lines[i]);
    if (line.empty()) continue;
    Record r = parse_amp_list(line);
    const Field* id = r.find("ID");
    if (!id || !id->has_value || text::trim(id->value).empty())
      return make_error(Errc::malformed, "command result has no ID=", line_where(i));
    req.records.push_back(std::move(r));
  }
  return Ok{};
}

std::string_view strip_blank(std::string_view s) {
  auto junk = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; };
  while (!s.empty() && junk(s.front())) s.remove_prefix(1);
  while (!s.empty() && junk(s.back())) s.remove_suffix(1);
  return s;
}

// "<tablename>=<N>". The query's tablename is matched first (it may itself hold odd bytes), then
// the first line with a '=', split at its last '='.
Status parse_count(DeviceRequest& req) {
  std::string_view body = strip_blank(req.body);
  std::string_view tablename = strip_blank(req.query.get_or("tablename", {}));
  std::string_view key, value;
  if (!tablename.empty() && body.size() > tablename.size() && body[tablename.size()] == '=' &&
      text::istarts_with(body, tablename)) {
    key = body.substr(0, tablename.size());
    value = body.substr(tablename.size() + 1);
    value = value.substr(0, value.find('\n'));
  } else {
    for (std::string_view line : text::split_lines(body)) {
      std::size_t eq = line.rfind('=');  // N never holds one; a table name might
      if (eq == std::string_view::npos) continue;
      key = text::trim_line(line.substr(0, eq));
      value = line.substr(eq + 1);
      break;
    }
    if (value.data() == nullptr)
      return make_error(Errc::malformed, "DATA COUNT upload needs a body <table>=<N>", "body");
  }
  value = text::trim_line(value);
  while (!value.empty() && value.back() == ',') value.remove_suffix(1);
  if (!text::parse_int(value))
    return make_error(Errc::bad_value, "count is not a number: '" + std::string(value) + "'",
                      "field '" + std::string(key) + "'");
  if (!req.table.empty() && !text::iequals(key, req.table))
    req.notes.push_back("count body names table " + std::string(key) + " but tablename=" + req.table);
  if (req.table.empty()) req.table = std::string(key);
  Record r;
  r.add(key, value);
  req.records.push_back(std::move(r));
  return Ok{};
}

Status unpack_into(DeviceRequest& req, AccountArchive& archive, const ParseOptions& options) {
  if (!options.unpack_archives) return Ok{};
  auto entries = unpack_tgz(archive.data, options.archive_limits);
  if (!entries) {
    Error e = std::move(entries).error();
    e.what = "ACCOUNT archive: " + e.what;
    return e;
  }
  archive.files = std::move(*entries);
  auto records = transaction_records_from_tgz(archive.data, options.archive_limits);
  if (!records) return records.error();
  req.records = std::move(*records);
  return Ok{};
}

Status parse_account_tgz(DeviceRequest& req, const ParseOptions& options) {
  auto body = parse_account_archive_body(req.body);
  if (!body) return body.error();
  AccountArchive archive;
  archive.header = std::move(body->header);
  archive.data = std::move(body->data);
  if (auto size = archive.header.get_int("size"); size && *size >= 0 &&
                                                  static_cast<std::uint64_t>(*size) != archive.data.size())
    req.notes.push_back("size=" + std::to_string(*size) + " but the archive has " + std::to_string(archive.data.size()) +
                        " bytes");
  auto st = unpack_into(req, archive, options);
  if (!st) return st.error();
  req.archive = std::move(archive);
  return Ok{};
}

Status parse_account_file(DeviceRequest& req, const ParseOptions& options) {
  AccountArchive archive;
  // The first and last branches take the body as it is: a .tgz, or (not unpacking) whatever it is.
  if (looks_like_gzip(req.body)) {  // NOLINT(bugprone-branch-clone): see above
    archive.data = req.body;
  } else if (auto decoded = base64_decode(text::trim_line(req.body)); decoded && looks_like_gzip(*decoded)) {
    archive.data = std::move(*decoded);
    req.notes.push_back("ACCOUNT file arrived base64-encoded; decoded");
  } else if (options.unpack_archives) {
    return make_error(Errc::malformed, "ACCOUNT file is neither a .tgz nor the base64 of one", "body");
  } else {
    archive.data = req.body;
  }
  auto st = unpack_into(req, archive, options);
  if (!st) return st.error();
  req.archive = std::move(archive);
  return Ok{};
}

// Records of a table upload (tabledata_*) or of a DATA QUERY answer (querydata tabledata/vmtable).
Status parse_table_records(DeviceRequest& req, std::string_view tablename) {
  std::vector<std::string>& notes = req.notes;
  const std::string& body = req.body;
  std::string name(tablename);
  if (name.empty()) {
    // Table named by the records' word only.
    name = std::string(first_record_word(body));  // as classify() did
    if (name.empty() && req.endpoint == Endpoint::tabledata_attphoto) name = "ATTPHOTO";
    if (name.empty() && req.endpoint == Endpoint::querydata_vmtable) name = "APList";
  }
  if (!name.empty() && name.front() == '[' && name.back() == ']' && name.size() > 2)
    name = name.substr(1, name.size() - 2);  // "[APList]" as written in the command
  req.table = canonical_table(name);
  const TableSpec* spec = find_table(req.table);
  std::string_view prefix = spec ? spec->upload_prefix : std::string_view(req.table);
  req.records = tab_records(body, req.table, prefix, notes);
  for (const Record& r : req.records)
    if (!r.prefix.empty() && !prefix.empty() && !text::iequals(r.prefix, prefix)) {
      notes.push_back("record word '" + r.prefix + "' differs from table " + req.table);
      break;
    }
  return Ok{};
}

Status parse_body(DeviceRequest& req, const ParseOptions& options) {
  std::vector<std::string>& notes = req.notes;
  const std::string& body = req.body;
  std::string_view tablename = strip_blank(req.query.get_or("tablename", {}));
  if (is_tabledata(req.endpoint)) return parse_table_records(req, tablename);
  switch (req.endpoint) {
    case Endpoint::init:
    case Endpoint::push_config:
    case Endpoint::ping:
    case Endpoint::getrequest:
    case Endpoint::firmware_file:
    case Endpoint::firmware_range:
    case Endpoint::rtdata_time:
    case Endpoint::http_intro_login:
      if (!text::trim_line(body).empty()) notes.push_back("unexpected body ignored");
      return Ok{};

    case Endpoint::exchange_publickey:
    case Endpoint::exchange_factors: {
      std::string_view key = req.endpoint == Endpoint::exchange_publickey ? "PublicKey" : "Factors";
      Record r = parse_line_list(body);
      if (!r.has(key))
        return make_error(Errc::incomplete, "exchange body needs " + std::string(key) + "=", "body");
      req.records.push_back(std::move(r));
      return Ok{};
    }

    case Endpoint::registry:
    case Endpoint::upload_options:
    case Endpoint::querydata_options:
      req.table = "options";
      if (Record r = options_record(body, true, notes); !r.empty()) req.records.push_back(std::move(r));
      return Ok{};

    case Endpoint::device_authorize_upload:
      req.table = "DeviceAuthorize";
      req.records = tab_records(body, "DeviceAuthorize", "DeviceAuthorize", notes);
      return Ok{};

    case Endpoint::rtlog:
    case Endpoint::rtlog_cancel_alarm:
      req.table = "rtlog";
      req.records = tab_records(body, "rtlog", {}, notes);
      return Ok{};
    case Endpoint::rtstate:
      req.table = "rtstate";
      req.records = tab_records(body, "rtstate", {}, notes);
      return Ok{};
    case Endpoint::irstate:
      req.table = "irstate";
      req.records = tab_records(body, "irstate", {}, notes);
      return Ok{};
    case Endpoint::testdata_wiegand:
      req.table = "testdata";
      req.records = tab_records(body, "testdata", {}, notes);
      return Ok{};
    case Endpoint::enroll_info_upload:
      req.table = "EnrollInfoData";
      req.records = tab_records(body, "EnrollInfoData", {}, notes);
      return Ok{};
    case Endpoint::enroll_bio_upload:
      req.table = "BioData";
      req.records = tab_records(body, "BioData", {}, notes);
      return Ok{};
    case Endpoint::remote_auth:
      req.records = tab_records(body, "rtlog", {}, notes);
      if (req.records.empty())
        return make_error(Errc::incomplete, "remote identification needs an event record", "body");
      return Ok{};

    case Endpoint::devicecmd:
      return parse_devicecmd(req);

    case Endpoint::querydata_tabledata:
    case Endpoint::querydata_vmtable: return parse_table_records(req, tablename);

    case Endpoint::querydata_count:
      req.table = tablename.empty() ? std::string() : canonical_table(tablename);
      return parse_count(req);

    case Endpoint::querydata_account_tgz:
      req.table = tablename.empty() ? std::string("transaction") : canonical_table(tablename);
      return parse_account_tgz(req, options);

    case Endpoint::account_overview:
      if (!text::trim_line(body).empty()) req.records.push_back(parse_line_list(body));
      return Ok{};

    case Endpoint::account_file: {
      std::string_view table = text::trim(req.query.get_or("table", {}));
      req.table = table.empty() ? std::string("transaction") : canonical_table(table);
      return parse_account_file(req, options);
    }

    case Endpoint::unknown:
    default:  // the tabledata uploads: parse_table_records above
      return Ok{};
  }
  return Ok{};
}

void check_count(DeviceRequest& req) {
  if (!req.pagination.count) return;
  switch (req.endpoint) {
    case Endpoint::querydata_count:
    case Endpoint::querydata_options:
    case Endpoint::account_file:
    case Endpoint::querydata_account_tgz:
      return;  // count means something else there (or is checked against the archive below)
    default:
      break;
  }
  if (req.records.empty() && req.body.empty()) return;
  if (*req.pagination.count != static_cast<std::int64_t>(req.records.size()))
    req.notes.push_back("count=" + std::to_string(*req.pagination.count) + " but the body holds " +
                        std::to_string(req.records.size()) + " records");
}

}  // namespace

bool is_valid_serial_number(std::string_view sn) noexcept {
  if (sn.empty() || sn.size() > kMaxSerialNumberLength) return false;
  for (char c : sn)
    if (!serial_number_byte(c)) return false;
  return true;
}

Result<DeviceRequest> parse_device_request(std::string_view method, std::string_view target, std::string_view body,
                                           const ParseOptions& options) {
  DeviceRequest req;
  req.method = text::to_upper(text::trim(method));
  req.target = std::string(target);
  Target t = split_target(target);
  req.path = std::move(t.path);
  req.query = std::move(t.query);
  req.body = std::string(body);
  req.endpoint = classify(req.method, req.path, req.query, body);

  if (auto st = take_serial_number(req, options.check_sn); !st) return st.error();
  if (options.require_sn && needs_sn(req.endpoint) && req.sn.empty())
    return make_error(Errc::incomplete, "request has no SN", "query parameter SN");

  req.pagination.cmdid = std::string(text::trim(req.query.get_or("cmdid", {})));
  req.pagination.count = query_int(req.query, "count");
  req.pagination.packcnt = query_int(req.query, "packcnt");
  req.pagination.packidx = query_int(req.query, "packidx");
  req.pagination.fileseq = query_int(req.query, "fileseq");

  auto st = parse_body(req, options);
  if (!st) return st.error();
  if (req.records.size() > options.max_records)
    return make_error(Errc::too_large, "more than " + std::to_string(options.max_records) + " records", "body");

  // The body decides between an ordinary event and a cancelled alarm (7.13).
  if (req.endpoint == Endpoint::rtlog || req.endpoint == Endpoint::rtlog_cancel_alarm) {
    bool alarm = false;
    for (const Record& r : req.records) alarm = alarm || is_cancel_alarm(r);
    req.endpoint = alarm ? Endpoint::rtlog_cancel_alarm : Endpoint::rtlog;
  }
  check_count(req);
  return req;
}

Result<DeviceRequest> parse_device_request(const HttpRequestCapture& capture, const ParseOptions& options) {
  auto req = parse_device_request(capture.method, capture.target, capture.body, options);
  if (req) req->notes.insert(req->notes.begin(), capture.notes.text.begin(), capture.notes.text.end());
  return req;
}

Result<DeviceRequest> parse_captured_request(std::string_view capture_text, const ParseOptions& options) {
  auto capture = parse_http_request(capture_text);
  if (!capture) return capture.error();
  return parse_device_request(*capture, options);
}

}  // namespace zkpush::protocol
