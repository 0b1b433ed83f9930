// The HTTP exchanges a device starts (endpoints.yaml), and how a request is told apart.
//
// Every request of PUSH 3.1.2 goes to a handful of paths under /iclock; most uploads share
// /iclock/cdata and differ only by their query string (endpoints.yaml `cdata_dispatch`).
// classify() implements that dispatch for any firmware dialect seen so far: paths and query keys
// in any case, the ".aspx" paths of old firmware, GET or POST for push and ping.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "protocol/fields.hpp"

namespace zkpush::protocol {

// The 37 endpoint ids of the catalogue, plus two of ours: tabledata_other (a tabledata upload of a
// table the catalogue has no upload for) and unknown (nothing matched).
enum class Endpoint {
  init,
  exchange_publickey,
  exchange_factors,
  registry,
  push_config,
  upload_options,
  device_authorize_upload,
  ping,
  rtlog,
  rtlog_cancel_alarm,
  rtstate,
  devicecmd,
  tabledata_user,
  tabledata_identitycard,
  tabledata_templatev10,
  tabledata_biophoto,
  tabledata_attphoto,
  tabledata_userpic,
  tabledata_biodata,
  tabledata_errorlog,
  irstate,
  getrequest,
  querydata_count,
  querydata_tabledata,
  querydata_vmtable,
  querydata_options,
  querydata_account_tgz,
  account_overview,
  account_file,
  testdata_wiegand,
  firmware_file,
  firmware_range,
  rtdata_time,
  enroll_info_upload,
  enroll_bio_upload,
  remote_auth,
  http_intro_login,
  tabledata_other,
  unknown,
};

// Catalogue id ("init", "tabledata_attphoto", ...; "tabledata_other", "unknown" for ours).
std::string_view endpoint_id(Endpoint endpoint) noexcept;
// Inverse of endpoint_id (exact, lower-case ids); nullopt for anything else.
std::optional<Endpoint> endpoint_from_id(std::string_view id) noexcept;
// The 37 catalogue endpoints in catalogue order (without tabledata_other and unknown).
std::span<const Endpoint> catalogue_endpoints() noexcept;

// A tabledata upload: the eight catalogue tabledata_* endpoints (user ... errorlog) and tabledata_other.
bool is_tabledata(Endpoint endpoint) noexcept;

// The tabledata_* endpoint of a tablename (any case: "ATTPHOTO", "attphoto"); tabledata_other when
// the catalogue has no tabledata upload of that name.
Endpoint tabledata_endpoint(std::string_view tablename) noexcept;

// The table word of the first line that holds a key=value field ("user uid=1\t..." -> "user");
// "" when that line starts with a field. Lines without '=' are not records and are skipped.
std::string_view first_record_word(std::string_view body);

// The path as classify() sees it: lower case, no scheme/authority ("http://h:80/iclock/x" ->
// "/iclock/x"), no ".aspx" suffix, no repeated or trailing '/'.
std::string normalize_path(std::string_view path);

// endpoints.yaml cdata_dispatch and the other paths. `path` may still carry "?query" (it is cut
// off); `query` is the parsed query string (keys any case); `body` is only looked at to tell an
// rtlog from a cancel-alarm upload (a record with Alarmtype=) and, when the query lacks the
// selector, to recognise an exchange envelope or a table word.
// Method matters only where the path alone is ambiguous: GET /iclock/cdata without upload
// selectors is init, GET /iclock/file is a firmware download, POST /iclock/file an ACCOUNT file,
// and a GET outside /iclock is a ranged firmware download (the URL of an UPGRADE command).
Endpoint classify(std::string_view method, std::string_view path, const Record& query,
                  std::string_view body = {});

// The order in which the emulator performs the start-up requests (ambiguity 6). Optional steps
// (exchange, registry, options upload, DeviceAuthorize) are skipped when they do not apply; the
// server accepts every request in any order.
std::span<const Endpoint> handshake_order() noexcept;

}  // namespace zkpush::protocol
