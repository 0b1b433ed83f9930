// Everything a device sends: parsing (server side) and building (emulator side).
//
// parse_device_request() turns method + target + body into a DeviceRequest: which endpoint it is
// (endpoints.hpp), the device serial number, the logical table and the body as records. Every
// body becomes records:
//   registry / options / GET OPTIONS uploads   one record, the comma-separated key list
//   rtlog, rtstate, irstate, testdata, remote   tab records, one per line, no table word
//   tabledata and querydata uploads             tab records with their table word ("user uid=..")
//   DATA COUNT answer                           one record "user=3"
//   devicecmd                                   one ampersand record per result line
//   ACCOUNT                                     the transaction.txt records inside the archive
//   ACCOUNT overview, exchange envelopes        one record of key=value lines
//   EnrollInfoData / BioData                    tab records (BioData separated by CR LF)
// Records keep keys and values exactly as sent; lookups ignore case. Lines may end in LF, CR LF,
// NUL; blank lines and trailing separators are ignored. Spaces where the grammar has HT are
// repaired with the table's known keys (schema.hpp).
//
// The formatters build the same requests the way the manual writes them, exactly: HT between
// fields, LF between records (CR LF where the grammar says so), no trailing separators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/account.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/fields.hpp"
#include "protocol/http_capture.hpp"
#include "protocol/result.hpp"

namespace zkpush::protocol {

// A serial number as this library accepts one from a device (SN= of every /iclock request): 1 to
// kMaxSerialNumberLength bytes, each an ASCII letter, digit, '-' or '_'. Case is kept and
// significant. Anything else (blanks, control bytes, '%', '.', '/', non-ASCII...) is refused, so a
// serial number is safe as it is in query strings, log lines, JSON, URL paths of the API and file
// names. See docs/protocol-decisions.md, "Serial numbers".
inline constexpr std::size_t kMaxSerialNumberLength = 64;
bool is_valid_serial_number(std::string_view sn) noexcept;

struct ParseOptions {
  // Requests under /iclock without SN= (or with an empty one) are an error (incomplete). An SN
  // that is present is checked: one that is not is_valid_serial_number() is an error (bad_value,
  // where "query parameter SN"), and so are two SN= with different values (malformed).
  bool require_sn = true;
  // When false, such an SN is kept as sent (trimmed; the first of several) with a note saying why
  // a server refuses it, instead of the error: for the decoder, which shows what a device sent.
  bool check_sn = true;
  // ACCOUNT uploads: unpack the archive and parse transaction.txt into `records`. When false the
  // archive bytes are kept in DeviceRequest::archive and `records` stays empty.
  bool unpack_archives = true;
  UnpackOptions archive_limits;
  // More records than this in one body is an error (too_large).
  std::size_t max_records = 200000;
};

struct Pagination {
  std::string cmdid;                    // cmdid= as sent ("" when absent)
  std::optional<std::int64_t> count;    // count=: records in this package / message
  std::optional<std::int64_t> packcnt;  // packcnt=: number of packages
  std::optional<std::int64_t> packidx;  // packidx=: this package, 1-based
  std::optional<std::int64_t> fileseq;  // fileseq=: ACCOUNT file sub-package, 1-based
};

struct AccountArchive {
  Record header;                    // 9.2.1 header (name, size, datacode, datatype); empty for /iclock/file
  std::string data;                 // the .tgz bytes
  std::vector<ArchiveEntry> files;  // unpacked entries (ParseOptions::unpack_archives)
};

struct DeviceRequest {
  Endpoint endpoint = Endpoint::unknown;
  std::string method;  // upper case
  std::string target;  // as received
  std::string path;    // without the query; the origin path of an absolute-form target
  Record query;        // keys as sent, values percent-decoded
  std::string sn;
  // The table the records belong to, spelled as the catalogue does when it knows the table
  // ("user", "ATTPHOTO", "rtlog", "transaction", "APList", "DeviceAuthorize", "EnrollInfoData",
  // "BioData"); "options" for registry/options/GET OPTIONS key lists; "" for bodies that are not
  // table records (devicecmd results, overview, exchange, remote identification).
  std::string table;
  std::vector<Record> records;
  Pagination pagination;
  std::optional<AccountArchive> archive;  // querydata_account_tgz and account_file
  std::string body;                       // the body as received
  std::vector<std::string> notes;         // leniencies applied (for the decoder), never errors
};

Result<DeviceRequest> parse_device_request(std::string_view method, std::string_view target, std::string_view body,
                                           const ParseOptions& options = {});
// The same from a pasted capture (http_capture.hpp); capture notes are carried over.
Result<DeviceRequest> parse_device_request(const HttpRequestCapture& capture, const ParseOptions& options = {});
Result<DeviceRequest> parse_captured_request(std::string_view capture_text, const ParseOptions& options = {});

// Keys used to repair space-separated fields of a table's records (upload and update spellings
// plus the variants seen in the manual, e.g. IDNum for ID_Num). Empty for unknown tables.
std::vector<std::string_view> known_keys_of(std::string_view table);
// The option keys of the registration body (4.4) in the template's order, '~' included.
std::span<const std::string_view> registry_keys() noexcept;

// Value of an option key whether or not the device wrote its '~' ("MaxUserFingerCount" finds
// "~MaxUserFingerCount" and the other way round); case-insensitive.
std::optional<std::string_view> option_value(const Record& options, std::string_view key) noexcept;
// A rtlog record that reports a cancelled alarm (has Alarmtype=, any case).
bool is_cancel_alarm(const Record& record) noexcept;
// N of a DATA COUNT answer ("user=5" -> 5).
std::optional<std::int64_t> counted_value(const DeviceRequest& request) noexcept;

// ---- device side: building requests ---------------------------------------------------------------

struct OutgoingRequest {
  std::string method;
  std::string target;                // origin form, or the absolute URL of an UPGRADE command
  std::vector<HttpHeader> headers;   // Content-Type for bodies, Range for ranged downloads
  std::string body;
};

inline constexpr std::string_view kPushContentType = "application/push;charset=UTF-8";

// 4.1: GET /iclock/cdata?SN=..&pushver=..&options=all[&extra...]. An empty pushver is left out.
OutgoingRequest format_init_request(std::string_view sn, std::string_view pushver = "3.1.2",
                                    const Record& extra_query = {});
// 4.2 / 4.3: POST /iclock/exchange?SN=..&type=publickey|factors, body PublicKey=.. / Factors=..
OutgoingRequest format_exchange_publickey(std::string_view sn, std::string_view public_key);
OutgoingRequest format_exchange_factors(std::string_view sn, std::string_view factors);
// 4.4: POST /iclock/registry?SN=.., body k=v,k=v (keys as given, '~' included).
OutgoingRequest format_registry_request(std::string_view sn, const Record& options);
// 4.5: POST /iclock/push?SN=.. with an empty body (ambiguity 1).
OutgoingRequest format_push_config_request(std::string_view sn);
// 4.6: POST /iclock/cdata?SN=..&table=options, body k=v,k=v.
OutgoingRequest format_options_upload(std::string_view sn, const Record& options);
// 5: POST /iclock/cdata?SN=..&type=registry&table=tabledata&tablename=DeviceAuthorize&count=N,
// records "DeviceAuthorize SN=..HT Online=.." joined by LF.
OutgoingRequest format_device_authorize_upload(std::string_view sn, const std::vector<Record>& records);
// 6: GET /iclock/ping?SN=.. (ambiguity 2).
OutgoingRequest format_ping(std::string_view sn);
// 7.2 / 7.13: POST /iclock/cdata?SN=..&table=rtlog. Records joined by LF; when a record carries
// Alarmtype (7.13) every record ends in CR LF as that grammar writes.
OutgoingRequest format_rtlog_upload(std::string_view sn, const std::vector<Record>& records);
// 7.3: table=rtstate, records joined by LF.
OutgoingRequest format_rtstate_upload(std::string_view sn, const std::vector<Record>& records);
// 7.14: table=irstate, every record ends in CR LF (grammar).
OutgoingRequest format_irstate_upload(std::string_view sn, const std::vector<Record>& records);
// 9.4 Wiegand test: table=testdata, records joined by LF.
OutgoingRequest format_testdata_upload(std::string_view sn, const std::vector<Record>& records);
// 7.5-7.12: POST /iclock/cdata?SN=..&table=tabledata&tablename=<t>&count=N; records get the
// table's upload word when they have none (ATTPHOTO has none).
OutgoingRequest format_tabledata_upload(std::string_view sn, std::string_view tablename,
                                        const std::vector<Record>& records);
// 7.4: POST /iclock/devicecmd?SN=.., one ID=..&Return=..&CMD=.. line per result, joined by LF.
OutgoingRequest format_devicecmd_results(std::string_view sn, const std::vector<Record>& results);
// 8.1: GET /iclock/getrequest?SN=..
OutgoingRequest format_getrequest(std::string_view sn);
// 9.1.3: POST /iclock/querydata?SN=..&type=count&cmdid=..&tablename=..&count=1&packcnt=..&packidx=..
// body "<tablename>=<n>".
OutgoingRequest format_querydata_count(std::string_view sn, std::string_view cmdid, std::string_view tablename,
                                       std::int64_t n, std::int64_t packcnt = 1, std::int64_t packidx = 1);
// 9.1.4: type=tabledata (type=vmtable for APList), count = records in this package.
OutgoingRequest format_querydata_tabledata(std::string_view sn, std::string_view cmdid, std::string_view tablename,
                                           const std::vector<Record>& records, std::int64_t packcnt = 1,
                                           std::int64_t packidx = 1);
// 9.5.2: type=options&tablename=options&count=1&packcnt=1&packidx=1, body k=v,k=v.
OutgoingRequest format_querydata_options(std::string_view sn, std::string_view cmdid, const Record& options);
// 9.2.1: type=tabledata&tablename=transaction&count=N&datafmt=3&Stamp=9999, body header NUL base64.
// The manual's request has no packcnt/packidx; they are appended when packcnt > 0.
OutgoingRequest format_querydata_account(std::string_view sn, std::string_view cmdid, std::string_view tgz,
                                         std::int64_t record_count, std::string_view archive_name = "transaction.tgz",
                                         std::int64_t packcnt = 0, std::int64_t packidx = 0);
// 9.2.2: POST /iclock/cdata?SN=..&cmdid=..&desc=overview, body SumCount LF FileName LF
// ContentType LF FileCount (fields as given, LF between them).
OutgoingRequest format_account_overview(std::string_view sn, std::string_view cmdid, const Record& overview);
Record account_overview_record(std::int64_t sum_count, std::string_view file_name, std::int64_t file_count,
                               std::string_view content_type = "tgz");
// 9.2.2: POST /iclock/file?SN=..&cmdid=..&fileseq=..&contenttype=tgz&table=transaction&count=..,
// body the raw .tgz bytes (ambiguity 37).
OutgoingRequest format_account_file(std::string_view sn, std::string_view cmdid, std::int64_t fileseq,
                                    std::int64_t record_count, std::string_view tgz,
                                    std::string_view table = "transaction");
// 9.4.1 methods 1/2: GET /iclock/file?SN=..&url=<url>.
OutgoingRequest format_firmware_file_request(std::string_view sn, std::string_view url);
// 9.4.1 method 3: GET <url> with "Range: bytes=<from>-<to>" (inclusive). No Range header when
// to < from (the whole file).
OutgoingRequest format_firmware_range_request(std::string_view url, std::uint64_t from, std::uint64_t to);
// 9.5.1: GET /iclock/rtdata?SN=..&type=time.
OutgoingRequest format_rtdata_time_request(std::string_view sn);
// 9.6.1: POST /iclock/cdata?SN=..&type=EnrollInfoData, TYPE=..HT PIN=..HT TMP=..
OutgoingRequest format_enroll_info_upload(std::string_view sn, const std::vector<Record>& records);
// 9.6.2: type=BioData, templates separated by CR LF.
OutgoingRequest format_enroll_bio_upload(std::string_view sn, const std::vector<Record>& records);
// 10: POST /iclock/cdata?SN=..&AuthType=device, body the event record.
OutgoingRequest format_remote_auth_request(std::string_view sn, const Record& event);

// Rebuilds a parsed request with the formatters above (the emulator's replay, and the check that
// formatting gives back what was parsed). Query parameters the formatter does not write are lost;
// tabledata_other and unknown requests are rebuilt from their target and body as received.
OutgoingRequest to_outgoing(const DeviceRequest& request);

// ---- packages (MaxPackageSize) ---------------------------------------------------------------------

// Splits records into consecutive groups whose formatted body (records joined by LF) fits in
// max_body_bytes. A record longer than the limit on its own travels alone. 0 = no limit. Empty
// input gives no groups.
std::vector<std::vector<Record>> split_into_packages(const std::vector<Record>& records, std::size_t max_body_bytes);
// A DATA QUERY answer as querydata uploads with packcnt/packidx, each body within
// max_package_size bytes (the registration's MaxPackageSize; applies to the body). No records:
// no requests (the devicecmd result with Return=0 says it all).
std::vector<OutgoingRequest> format_querydata_packages(std::string_view sn, std::string_view cmdid,
                                                       std::string_view tablename, const std::vector<Record>& records,
                                                       std::size_t max_package_size);

}  // namespace zkpush::protocol
