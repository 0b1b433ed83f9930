// The device side: building every request of the protocol, packages, and to_outgoing().
#include <string>

#include "protocol/base64.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace {

Record sn_query(std::string_view sn) {
  Record q;
  q.add("SN", sn);
  return q;
}

std::string target_of(std::string_view path, const Record& query) {
  Target t;
  t.path = std::string(path);
  t.query = query;
  return format_target(t);
}

OutgoingRequest get(std::string_view path, const Record& query) {
  return OutgoingRequest{"GET", target_of(path, query), {}, {}};
}

OutgoingRequest post(std::string_view path, const Record& query, std::string body,
                     std::string_view content_type = kPushContentType) {
  OutgoingRequest r{"POST", target_of(path, query), {}, std::move(body)};
  r.headers.push_back(HttpHeader{"Content-Type", std::string(content_type)});
  return r;
}

// Records joined by `sep`; with `terminate` every record is followed by it instead.
std::string join_records(const std::vector<Record>& records, std::string_view sep, bool terminate = false) {
  std::string out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i && !terminate) out.append(sep);
    out += format_tab_record(records[i]);
    if (terminate) out.append(sep);
  }
  return out;
}

// Records with the table word they need: the catalogue's upload word when the record has none.
std::vector<Record> with_prefix(const std::vector<Record>& records, std::string_view tablename) {
  std::string_view word;
  if (const TableSpec* t = find_table(tablename)) word = t->upload_prefix;
  std::vector<Record> out = records;
  if (word.empty()) return out;
  for (Record& r : out)
    if (r.prefix.empty()) r.prefix = std::string(word);
  return out;
}

std::string table_body(const std::vector<Record>& records, std::string_view tablename) {
  return join_records(with_prefix(records, tablename), "\n");
}

std::string n(std::int64_t v) { return std::to_string(v); }

std::string_view querydata_type(std::string_view tablename) {
  return text::iequals(tablename, "APList") || text::iequals(tablename, "[APList]") ? "vmtable" : "tabledata";
}

std::string_view plain_tablename(std::string_view tablename) {
  if (tablename.size() > 2 && tablename.front() == '[' && tablename.back() == ']')
    return tablename.substr(1, tablename.size() - 2);
  return tablename;
}

}  // namespace

OutgoingRequest format_init_request(std::string_view sn, std::string_view pushver, const Record& extra_query) {
  Record q = sn_query(sn);
  if (!pushver.empty()) q.add("pushver", pushver);
  q.add("options", "all");
  for (const Field& f : extra_query.fields) q.fields.push_back(f);
  return get("/iclock/cdata", q);
}

OutgoingRequest format_exchange_publickey(std::string_view sn, std::string_view public_key) {
  Record q = sn_query(sn);
  q.add("type", "publickey");
  return post("/iclock/exchange", q, "PublicKey=" + std::string(public_key));
}

OutgoingRequest format_exchange_factors(std::string_view sn, std::string_view factors) {
  Record q = sn_query(sn);
  q.add("type", "factors");
  return post("/iclock/exchange", q, "Factors=" + std::string(factors));
}

OutgoingRequest format_registry_request(std::string_view sn, const Record& options) {
  return post("/iclock/registry", sn_query(sn), format_comma_list(options));
}

OutgoingRequest format_push_config_request(std::string_view sn) {
  OutgoingRequest r = post("/iclock/push", sn_query(sn), {});
  return r;
}

OutgoingRequest format_options_upload(std::string_view sn, const Record& options) {
  Record q = sn_query(sn);
  q.add("table", "options");
  return post("/iclock/cdata", q, format_comma_list(options));
}

OutgoingRequest format_device_authorize_upload(std::string_view sn, const std::vector<Record>& records) {
  Record q = sn_query(sn);
  q.add("type", "registry");
  q.add("table", "tabledata");
  q.add("tablename", "DeviceAuthorize");
  q.add("count", n(static_cast<std::int64_t>(records.size())));
  return post("/iclock/cdata", q, table_body(records, "DeviceAuthorize"));
}

OutgoingRequest format_ping(std::string_view sn) { return get("/iclock/ping", sn_query(sn)); }

namespace {
OutgoingRequest realtime_upload(std::string_view sn, std::string_view table, std::string body) {
  Record q = sn_query(sn);
  q.add("table", table);
  return post("/iclock/cdata", q, std::move(body));
}
}  // namespace

OutgoingRequest format_rtlog_upload(std::string_view sn, const std::vector<Record>& records) {
  bool alarm = false;
  for (const Record& r : records) alarm = alarm || is_cancel_alarm(r);
  return realtime_upload(sn, "rtlog", alarm ? join_records(records, "\r\n", true) : join_records(records, "\n"));
}

OutgoingRequest format_rtstate_upload(std::string_view sn, const std::vector<Record>& records) {
  return realtime_upload(sn, "rtstate", join_records(records, "\n"));
}

OutgoingRequest format_irstate_upload(std::string_view sn, const std::vector<Record>& records) {
  return realtime_upload(sn, "irstate", join_records(records, "\r\n", true));
}

OutgoingRequest format_testdata_upload(std::string_view sn, const std::vector<Record>& records) {
  return realtime_upload(sn, "testdata", join_records(records, "\n"));
}

OutgoingRequest format_tabledata_upload(std::string_view sn, std::string_view tablename,
                                        const std::vector<Record>& records) {
  Record q = sn_query(sn);
  q.add("table", "tabledata");
  q.add("tablename", tablename);
  q.add("count", n(static_cast<std::int64_t>(records.size())));
  return post("/iclock/cdata", q, table_body(records, tablename));
}

OutgoingRequest format_devicecmd_results(std::string_view sn, const std::vector<Record>& results) {
  std::string body;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (i) body += '\n';
    body += format_amp_list(results[i]);
  }
  return post("/iclock/devicecmd", sn_query(sn), std::move(body));
}

OutgoingRequest format_getrequest(std::string_view sn) { return get("/iclock/getrequest", sn_query(sn)); }

OutgoingRequest format_querydata_count(std::string_view sn, std::string_view cmdid, std::string_view tablename,
                                       std::int64_t count, std::int64_t packcnt, std::int64_t packidx) {
  Record q = sn_query(sn);
  q.add("type", "count");
  q.add("cmdid", cmdid);
  q.add("tablename", tablename);
  q.add("count", "1");
  q.add("packcnt", n(packcnt));
  q.add("packidx", n(packidx));
  return post("/iclock/querydata", q, std::string(tablename) + "=" + n(count));
}

OutgoingRequest format_querydata_tabledata(std::string_view sn, std::string_view cmdid, std::string_view tablename,
                                           const std::vector<Record>& records, std::int64_t packcnt,
                                           std::int64_t packidx) {
  std::string_view name = plain_tablename(tablename);
  Record q = sn_query(sn);
  q.add("type", querydata_type(name));
  q.add("cmdid", cmdid);
  q.add("tablename", name);
  q.add("count", n(static_cast<std::int64_t>(records.size())));
  q.add("packcnt", n(packcnt));
  q.add("packidx", n(packidx));
  return post("/iclock/querydata", q, table_body(records, name));
}

OutgoingRequest format_querydata_options(std::string_view sn, std::string_view cmdid, const Record& options) {
  Record q = sn_query(sn);
  q.add("type", "options");
  q.add("cmdid", cmdid);
  q.add("tablename", "options");
  q.add("count", "1");
  q.add("packcnt", "1");
  q.add("packidx", "1");
  return post("/iclock/querydata", q, format_comma_list(options));
}

OutgoingRequest format_querydata_account(std::string_view sn, std::string_view cmdid, std::string_view tgz,
                                         std::int64_t record_count, std::string_view archive_name,
                                         std::int64_t packcnt, std::int64_t packidx) {
  Record q = sn_query(sn);
  q.add("type", "tabledata");
  q.add("cmdid", cmdid);
  q.add("tablename", "transaction");
  q.add("count", n(record_count));
  q.add("datafmt", "3");
  q.add("Stamp", "9999");
  if (packcnt > 0) {
    q.add("packcnt", n(packcnt));
    q.add("packidx", n(packidx));
  }
  // NOLINTNEXTLINE(readability-suspicious-call-argument): the archive is tgz, its name archive_name
  return post("/iclock/querydata", q, format_account_archive_body(tgz, archive_name));
}

Record account_overview_record(std::int64_t sum_count, std::string_view file_name, std::int64_t file_count,
                               std::string_view content_type) {
  Record r;
  r.add("SumCount", n(sum_count));
  r.add("FileName", file_name);
  r.add("ContentType", content_type);
  r.add("FileCount", n(file_count));
  return r;
}

OutgoingRequest format_account_overview(std::string_view sn, std::string_view cmdid, const Record& overview) {
  Record q = sn_query(sn);
  q.add("cmdid", cmdid);
  q.add("desc", "overview");
  std::string body = format_line_list(overview);
  if (!body.empty()) body.pop_back();  // LF between the lines, none after the last
  return post("/iclock/cdata", q, std::move(body));
}

OutgoingRequest format_account_file(std::string_view sn, std::string_view cmdid, std::int64_t fileseq,
                                    std::int64_t record_count, std::string_view tgz, std::string_view table) {
  Record q = sn_query(sn);
  q.add("cmdid", cmdid);
  q.add("fileseq", n(fileseq));
  q.add("contenttype", "tgz");
  q.add("table", table);
  q.add("count", n(record_count));
  return post("/iclock/file", q, std::string(tgz), "application/octet-stream");
}

OutgoingRequest format_firmware_file_request(std::string_view sn, std::string_view url) {
  Record q = sn_query(sn);
  q.add("url", url);
  return get("/iclock/file", q);
}

OutgoingRequest format_firmware_range_request(std::string_view url, std::uint64_t from, std::uint64_t to) {
  OutgoingRequest r{"GET", std::string(url), {}, {}};
  if (to >= from) r.headers.push_back(HttpHeader{"Range", "bytes=" + std::to_string(from) + "-" + std::to_string(to)});
  return r;
}

OutgoingRequest format_rtdata_time_request(std::string_view sn) {
  Record q = sn_query(sn);
  q.add("type", "time");
  return get("/iclock/rtdata", q);
}

OutgoingRequest format_enroll_info_upload(std::string_view sn, const std::vector<Record>& records) {
  Record q = sn_query(sn);
  q.add("type", "EnrollInfoData");
  return post("/iclock/cdata", q, join_records(records, "\n"));
}

OutgoingRequest format_enroll_bio_upload(std::string_view sn, const std::vector<Record>& records) {
  Record q = sn_query(sn);
  q.add("type", "BioData");
  return post("/iclock/cdata", q, join_records(records, "\r\n"));
}

OutgoingRequest format_remote_auth_request(std::string_view sn, const Record& event) {
  Record q = sn_query(sn);
  q.add("AuthType", "device");
  return post("/iclock/cdata", q, format_tab_record(event));
}

// ---- packages ---------------------------------------------------------------------------------------

std::vector<std::vector<Record>> split_into_packages(const std::vector<Record>& records, std::size_t max_body_bytes) {
  std::vector<std::vector<Record>> packages;
  std::size_t size = 0;
  for (const Record& r : records) {
    std::size_t len = format_tab_record(r).size();
    bool fits = !packages.empty() && (max_body_bytes == 0 || size + 1 + len <= max_body_bytes);
    if (!fits) {
      packages.emplace_back();
      size = len;
    } else {
      size += 1 + len;
    }
    packages.back().push_back(r);
  }
  return packages;
}

std::vector<OutgoingRequest> format_querydata_packages(std::string_view sn, std::string_view cmdid,
                                                       std::string_view tablename, const std::vector<Record>& records,
                                                       std::size_t max_package_size) {
  std::vector<std::vector<Record>> packages =
      split_into_packages(with_prefix(records, plain_tablename(tablename)), max_package_size);
  std::vector<OutgoingRequest> out;
  auto total = static_cast<std::int64_t>(packages.size());
  for (std::size_t i = 0; i < packages.size(); ++i)
    out.push_back(format_querydata_tabledata(sn, cmdid, tablename, packages[i], total, static_cast<std::int64_t>(i) + 1));
  return out;
}

// ---- to_outgoing --------------------------------------------------------------------------------------

OutgoingRequest to_outgoing(const DeviceRequest& req) {
  const std::string& sn = req.sn;
  const Pagination& p = req.pagination;
  std::string_view tablename = text::trim(req.query.get_or("tablename", req.table));
  auto one = [&]() -> Record { return req.records.empty() ? Record{} : req.records.front(); };
  if (is_tabledata(req.endpoint) && req.endpoint != Endpoint::tabledata_other)
    return format_tabledata_upload(sn, tablename.empty() ? std::string_view(req.table) : tablename, req.records);
  switch (req.endpoint) {
    case Endpoint::init: {
      Record extra;
      for (const Field& f : req.query.fields)
        if (!text::iequals(f.key, "SN") && !text::iequals(f.key, "pushver") && !text::iequals(f.key, "options"))
          extra.fields.push_back(f);
      return format_init_request(sn, req.query.get_or("pushver", {}), extra);
    }
    case Endpoint::exchange_publickey: return format_exchange_publickey(sn, one().get_or("PublicKey", {}));
    case Endpoint::exchange_factors: return format_exchange_factors(sn, one().get_or("Factors", {}));
    case Endpoint::registry: return format_registry_request(sn, one());
    case Endpoint::push_config: return format_push_config_request(sn);
    case Endpoint::upload_options: return format_options_upload(sn, one());
    case Endpoint::device_authorize_upload: return format_device_authorize_upload(sn, req.records);
    case Endpoint::ping: return format_ping(sn);
    case Endpoint::rtlog:
    case Endpoint::rtlog_cancel_alarm: return format_rtlog_upload(sn, req.records);
    case Endpoint::rtstate: return format_rtstate_upload(sn, req.records);
    case Endpoint::irstate: return format_irstate_upload(sn, req.records);
    case Endpoint::testdata_wiegand: return format_testdata_upload(sn, req.records);
    case Endpoint::devicecmd: return format_devicecmd_results(sn, req.records);
    case Endpoint::getrequest: return format_getrequest(sn);
    case Endpoint::querydata_count: {
      std::int64_t count = counted_value(req).value_or(0);
      return format_querydata_count(sn, p.cmdid, tablename.empty() ? std::string_view(req.table) : tablename, count,
                                    p.packcnt.value_or(1), p.packidx.value_or(1));
    }
    case Endpoint::querydata_tabledata:
    case Endpoint::querydata_vmtable:
      return format_querydata_tabledata(sn, p.cmdid, tablename.empty() ? std::string_view(req.table) : tablename,
                                        req.records, p.packcnt.value_or(1), p.packidx.value_or(1));
    case Endpoint::querydata_options: return format_querydata_options(sn, p.cmdid, one());
    case Endpoint::querydata_account_tgz: {
      std::string_view data = req.archive ? std::string_view(req.archive->data) : std::string_view{};
      std::string_view name = req.archive ? req.archive->header.get_or("name", "transaction.tgz") : "transaction.tgz";
      return format_querydata_account(sn, p.cmdid, data, p.count.value_or(static_cast<std::int64_t>(req.records.size())),
                                      name, p.packcnt.value_or(0), p.packidx.value_or(0));
    }
    case Endpoint::account_overview: return format_account_overview(sn, p.cmdid, one());
    case Endpoint::account_file: {
      std::string_view data = req.archive ? std::string_view(req.archive->data) : std::string_view(req.body);
      return format_account_file(sn, p.cmdid, p.fileseq.value_or(1),
                                 p.count.value_or(static_cast<std::int64_t>(req.records.size())), data,
                                 req.table.empty() ? std::string_view("transaction") : std::string_view(req.table));
    }
    case Endpoint::firmware_file: return format_firmware_file_request(sn, req.query.get_or("url", {}));
    case Endpoint::firmware_range: return format_firmware_range_request(req.target, 1, 0);
    case Endpoint::rtdata_time: return format_rtdata_time_request(sn);
    case Endpoint::enroll_info_upload: return format_enroll_info_upload(sn, req.records);
    case Endpoint::enroll_bio_upload: return format_enroll_bio_upload(sn, req.records);
    case Endpoint::remote_auth: return format_remote_auth_request(sn, one());
    case Endpoint::tabledata_other:  // a catalogue tabledata is sent above
      if (!tablename.empty()) return format_tabledata_upload(sn, tablename, req.records);
      break;
    case Endpoint::http_intro_login:
    case Endpoint::unknown:
    default:  // the catalogue tabledata uploads: sent above
      break;
  }
  OutgoingRequest r{req.method, req.target, {}, req.body};
  if (!req.body.empty()) r.headers.push_back(HttpHeader{"Content-Type", std::string(kPushContentType)});
  return r;
}

}  // namespace zkpush::protocol
