// The answers to each device request (members of DeviceEndpoints; the checks before them are in device_endpoints.cpp):
// parse what the request carries, call a service, answer. A 200 to an upload is given once the
// service's unit of work is durable.
#include <spdlog/spdlog.h>

#include "protocol/codecs_session.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/responses.hpp"
#include "protocol/text.hpp"
#include "front/device_endpoints.hpp"

namespace zkpush::front {

namespace p = protocol;
using p::Endpoint;

namespace {

std::string ack_body(const p::DeviceRequest& req) {
  auto ack = p::upload_ack(req);
  return ack ? ack->body : std::string(p::kOkBody);
}

// The table an upload names: the table word of the body, else tablename=.
std::string table_of(const p::DeviceRequest& req) {
  return req.table.empty() ? std::string(req.query.get_or("tablename", "")) : req.table;
}

}  // namespace

// ---- handshake -----------------------------------------------------------------------------------

void DeviceEndpoints::on_init(const p::DeviceRequest& req, const std::optional<service::DeviceState>& state,
                           const std::string& ip, const SharedResponder& respond) {
  if (!state) spdlog::info("{} {}: new device (init)", ip, req.sn);
  devices_.init(req.sn, std::string(req.query.get_or("pushver", "")), ip,
                [this, respond, sn = req.sn](storage::StoreResult<std::shared_ptr<const storage::Device>> r) {
                  if (!r.ok()) return answer_store_error(respond, r.error(), sn + " init");
                  const auto& d = *r.value();
                  if (d.approved && !d.registry_code.empty()) {
                    p::InitAnswer a{true, d.registry_code, devices_.config_lines(d, false)};
                    return answer(respond, 200, p::format_init_answer(a));
                  }
                  answer(respond, 200, p::format_init_answer(p::InitAnswer{}));
                });
}

// 4.2 / 4.3: POST /iclock/exchange?type=publickey|factors with PublicKey= / Factors= in the body;
// the answer carries ours the same way, in plain text. Only reached with --encryption on.
void DeviceEndpoints::on_exchange(const p::DeviceRequest& req, const service::DeviceState& state,
                                  const std::string& ip, const SharedResponder& respond) {
  // Appendix 16: the lower of the device's pushver (at init) and our PushProtVer decides; below
  // 3.1.1 neither side encrypts.
  const std::string& pushver = state.device->push_version;
  const auto v = p::negotiate_protocol_version(pushver.empty() ? std::nullopt : std::optional<std::string_view>(pushver),
                                               config_.push_prot_ver);
  if (!p::has_encryption_exchange(v)) {
    spdlog::warn("{} {}: 403 {}: pushver {} negotiates PUSH {}, below 3.1.1: plain text", ip, req.sn,
                 p::endpoint_id(req.endpoint), pushver.empty() ? "(none)" : pushver, v.to_string());
    return answer(respond, 403, "PUSH " + v.to_string() + " has no encryption (3.1.1 or later): plain text");
  }
  const bool publickey = req.endpoint == Endpoint::exchange_publickey;
  const std::string_view key = publickey ? "PublicKey" : "Factors";
  const std::string value(req.records.empty() ? std::string_view() : req.records.front().get_or(key, ""));
  auto ours = publickey ? encryption_.exchange_public_key(req.sn, value) : encryption_.exchange_factors(req.sn, value);
  if (!ours) {
    metrics_.encryption_failure("malformed");
    spdlog::warn("{} {}: 400 {}: {}", ip, req.sn, p::endpoint_id(req.endpoint), ours.error().what);
    return answer(respond, 400, std::string(key) + ": " + ours.error().what);
  }
  if (publickey) {
    spdlog::info("{}: public keys exchanged (4.2)", req.sn);
  } else {
    spdlog::info("{}: factors exchanged (4.3): communication encrypted from now on", req.sn);
  }
  answer(respond, 200, p::format_exchange_answer(key, *ours));
}

void DeviceEndpoints::on_registry(const p::DeviceRequest& req, const std::string& ip, const SharedResponder& respond) {
  devices_.registry(req.sn, ip, req.records.empty() ? p::Record{} : req.records.front(),
                    [respond, sn = req.sn](storage::StoreResult<service::Devices::Registration> r) {
                      if (!r.ok()) return answer_store_error(respond, r.error(), sn + " registry");
                      if (r->accepted) {
                        spdlog::info("{}: registered", sn);
                        auto a = p::registry_accepted(r->device->registry_code);
                        return answer(respond, a.status, a.body);
                      }
                      spdlog::info("{}: registration waits for approval (406)", sn);
                      auto a = p::registry_refused();
                      answer(respond, a.status, a.body);
                    });
}

void DeviceEndpoints::on_push(const p::DeviceRequest& req, const SharedResponder& respond) {
  devices_.push(req.sn, [this, respond, sn = req.sn](storage::StoreResult<std::shared_ptr<const storage::Device>> r) {
    if (!r.ok()) return answer_store_error(respond, r.error(), sn + " push");
    // The row as stored: the configuration is the operator's, whatever was committed since.
    answer(respond, 200, p::format_config_answer(devices_.config_lines(*r.value(), true)));
  });
}

void DeviceEndpoints::on_options(const p::DeviceRequest& req, const SharedResponder& respond) {
  devices_.merge_options(req.sn, req.records.empty() ? p::Record{} : req.records.front(), "options",
                         [respond, sn = req.sn, body = ack_body(req)](storage::StoreStatus s) {
                           if (!s.ok()) return answer_store_error(respond, s.error(), sn + " options");
                           answer(respond, 200, body);
                         });
}

// ---- uploads -------------------------------------------------------------------------------------

void DeviceEndpoints::on_rtlog(const p::DeviceRequest& req, const SharedResponder& respond) {
  ingest_.rtlog(req.sn, req.records,
                [this, respond, sn = req.sn, body = ack_body(req)](storage::StoreResult<storage::InsertCounts> r) {
                  if (!r.ok()) return answer_store_error(respond, r.error(), sn + " rtlog");
                  metrics_.add_events(r->inserted, r->duplicates);
                  spdlog::debug("{}: rtlog {} new, {} duplicate", sn, r->inserted, r->duplicates);
                  answer(respond, 200, body);
                });
}

void DeviceEndpoints::on_remote_auth(const p::DeviceRequest& req, const SharedResponder& respond) {
  if (req.records.empty()) {
    spdlog::warn("{}: remote identification without an event record: 400", req.sn);
    return answer(respond, 400, "remote identification: no event record in the body");
  }
  // One record per request (10); a panel that sends more is answered for the first.
  remote_auth_.identify(req.sn, req.records.front(), [respond](const p::RemoteAuthAnswer& answer) {
    front::answer(respond, 200, p::format_remote_auth_answer(answer));
  });
}

void DeviceEndpoints::on_rtstate(const p::DeviceRequest& req, const SharedResponder& respond) {
  ingest_.rtstate(req.sn, req.records, [respond, sn = req.sn, body = ack_body(req)](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), sn + " rtstate");
    answer(respond, 200, body);
  });
}

void DeviceEndpoints::on_tabledata(const p::DeviceRequest& req, const SharedResponder& respond) {
  const std::string table = table_of(req);
  ingest_.table_records(req.sn, table, req.records,
                        [respond, sn = req.sn, table, body = ack_body(req)](storage::StoreResult<storage::InsertCounts> r) {
                          if (!r.ok()) return answer_store_error(respond, r.error(), sn + " tabledata " + table);
                          answer(respond, 200, body);
                        });
}

void DeviceEndpoints::on_device_log(const p::DeviceRequest& req, const std::string& kind,
                                 const SharedResponder& respond) {
  ingest_.device_log(req.sn, kind, req.records, [respond, sn = req.sn, kind, body = ack_body(req)](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), sn + " " + kind);
    answer(respond, 200, body);
  });
}

// ---- commands ------------------------------------------------------------------------------------

void DeviceEndpoints::on_getrequest(const p::DeviceRequest& req, const service::DeviceState& state,
                                 const SharedResponder& respond) {
  // The hot path: an idle device's poll never reaches the store.
  if (!queue_.has_work(req.sn, state.cmd_format)) return answer(respond, 200, p::format_empty_command_queue());
  const service::DeliveryBudget budget{state.max_package_size, state.cmd_format};
  queue_.deliver(req.sn, budget,
                 [respond, sn = req.sn, cmd_format = state.cmd_format](
                     storage::StoreResult<std::vector<storage::CommandRow>> r) {
                   if (!r.ok()) return answer_store_error(respond, r.error(), sn + " getrequest");
                   if (r->empty()) return answer(respond, 200, p::format_empty_command_queue());
                   std::string body;
                   for (const auto& row : r.value()) {
                     body += service::CommandQueue::wire_text(row, cmd_format);
                     body += '\n';
                   }
                   spdlog::info("{}: delivering {} command(s)", sn, r->size());
                   answer(respond, 200, std::move(body));
                 });
}

void DeviceEndpoints::on_devicecmd(const p::DeviceRequest& req, const SharedResponder& respond) {
  auto results = p::parse_command_results(req.body);
  if (!results) {
    spdlog::warn("{}: devicecmd 400 {}", req.sn, results.error().to_string());
    return answer(respond, 400, results.error().to_string());
  }
  for (const auto& result : *results) {
    if (!p::text::parse_int(result.id)) spdlog::warn("{}: result with non-numeric ID {} ignored", req.sn, p::text::quoted(result.id));
  }
  if (results->empty()) return answer(respond, 200, std::string(p::kOkBody));
  const auto answered = results->size();
  queue_.record_answers(req.sn, std::move(*results),
                        [respond, sn = req.sn, answered](storage::StoreResult<std::vector<storage::CommandRow>> r) {
                          if (!r.ok()) return answer_store_error(respond, r.error(), sn + " devicecmd");
                          for (const auto& row : r.value()) {
                            spdlog::info("{}: C:{} {} -> {}", sn, row.wire_id, row.verb,
                                         storage::command_status_name(row.status));
                          }
                          if (r->size() < answered)
                            spdlog::warn("{}: {} result(s) for commands this server does not know, or repeats (-7) of "
                                         "answered ones, ignored", sn, answered - r->size());
                          answer(respond, 200, std::string(p::kOkBody));
                        });
}

void DeviceEndpoints::on_querydata(const p::DeviceRequest& req, const std::string& kind, const SharedResponder& respond) {
  service::CommandUpload u;
  u.sn = req.sn;
  u.kind = kind;
  u.cmdid = req.pagination.cmdid;
  u.table = table_of(req);
  u.packidx = kind == "file" ? req.pagination.fileseq.value_or(0) : req.pagination.packidx.value_or(0);
  u.packcnt = req.pagination.packcnt.value_or(0);
  u.announced = req.pagination.count.value_or(-1);
  u.body = req.body;
  u.records = req.records;
  u.archive_bytes = req.archive ? req.archive->data.size() : 0;
  ingest_.command_upload(std::move(u), [respond, sn = req.sn, kind, cmdid = req.pagination.cmdid,
                                        body = ack_body(req)](storage::StoreResult<service::UploadOutcome> r) {
    if (!r.ok()) return answer_store_error(respond, r.error(), sn + " querydata " + kind);
    if (!r->command_known)
      spdlog::warn("{}: {} upload for unknown command cmdid={}: not kept as command data", sn, kind,
                   p::text::quoted(cmdid));
    if (r->events.inserted + r->events.duplicates > 0)
      spdlog::info("{}: {} of {} transaction record(s) were missing and are now stored, {} already stored", sn,
                   r->events.inserted, r->records, r->events.duplicates);
    answer(respond, 200, body);
  });
}

void DeviceEndpoints::on_rtdata_time(const service::DeviceState& state, const SharedResponder& respond) {
  auto zk = p::zktime_from_unix(devices_.clock().now(), 0);
  if (!zk) return answer(respond, 500, "clock out of range");
  p::TimeAnswer a{static_cast<std::int64_t>(*zk), p::format_tz_offset(devices_.tz_minutes(*state.device))};
  answer(respond, 200, p::format_time_answer(a));
}

// ---- firmware download (9.4.1 UPGRADE, methods 1 and 2) -----------------------------------------

// GET /iclock/file?SN=..&url=.., after the device checks of every /iclock request. The url is the
// command's URL; its path names the file (file_target_from_url), and a path under /files/base64/
// asks for the base64 text that method 1 devices decode. Served by FileDownloads on its threads.
void DeviceEndpoints::on_firmware_file(const p::DeviceRequest& req, const http::Request& request,
                                       const std::string& ip, const SharedResponder& respond) {
  const std::string who = ip + " " + req.sn;
  auto url = req.query.get("url");
  if (!url || url->empty()) {
    spdlog::warn("{}: 400 /iclock/file without url=", who);
    answer(respond, 400, "query parameter url missing");
    return;
  }
  auto target = file_target_from_url(*url, false);
  downloads_.serve(FileStore(files_root(config_)), std::move(target), std::string(request.header("Range")), who,
                   [respond](http::Response response) { (*respond)(std::move(response)); }, req.sn);
}

}  // namespace zkpush::front
