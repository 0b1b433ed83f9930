// The answers to each device request (members of DeviceRouter; routing is in device_router.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/responses.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"
#include "server/device_router.hpp"
#include "server/random.hpp"

namespace zkpush::server {

namespace p = protocol;
using p::Endpoint;

namespace {

std::optional<std::int64_t> int_of(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  std::string_view t = *text;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty()) return std::nullopt;
  return value;
}

std::optional<std::string_view> first_of(const p::Record& r, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    if (auto v = r.get(k)) return v;
  }
  return std::nullopt;
}

// Answers once every one of `n` writes has completed: the first failure, else `ok_body`.
struct Countdown {
  Countdown(std::size_t n, SharedResponder r, std::string ok, std::string what)
      : left(n), respond(std::move(r)), ok_body(std::move(ok)), what(std::move(what)) {}
  void done(const storage::StoreStatus& status) {
    if (!status.ok()) {
      std::lock_guard lock(mutex);
      if (!error) error = status.error();
    }
    if (--left == 0) {
      if (error) {
        answer_store_error(respond, *error, what);
      } else {
        answer(respond, 200, ok_body);
      }
    }
  }
  std::atomic<std::size_t> left;
  SharedResponder respond;
  std::string ok_body;
  std::string what;
  std::mutex mutex;
  std::optional<storage::StoreError> error;
};

// An rtlog record (7.2) or a transaction record (ACCOUNT / DATA QUERY transaction, 9.2) as an event.
// time_local is normalised to "YYYY-MM-DD HH:MM:SS": it is part of the store's dedupe key.
storage::NewEvent to_event(const p::Record& r, const std::string& sn, int tz, const char* source, std::int64_t now) {
  storage::NewEvent e;
  e.sn = sn;
  std::optional<p::CivilTime> civil;
  if (auto time = r.get("time")) {
    if (auto parsed = p::parse_datetime(*time)) civil = *parsed;
    e.time_local = std::string(*time);
  } else if (auto seconds = r.get("time_second")) {
    if (auto parsed = p::parse_zktime(*seconds); parsed && p::is_valid_civil_time(*parsed)) civil = *parsed;
    e.time_local = std::string(*seconds);
  }
  if (civil) {
    e.time_local = p::format_datetime(*civil);
    if (auto unix = p::unix_from_civil(*civil)) e.time_utc = *unix - static_cast<std::int64_t>(tz) * 60;
  }
  e.pin = std::string(r.get_or("pin", ""));
  e.cardno = std::string(r.get_or("cardno", ""));
  e.event = int_of(first_of(r, {"event", "eventtype"}));
  e.door = int_of(first_of(r, {"eventaddr", "doorid"}));
  e.inout = int_of(first_of(r, {"inoutstatus", "inoutstate"}));
  e.verifytype = std::string(first_of(r, {"verifytype", "verified"}).value_or(""));
  e.index = int_of(r.get("index"));
  e.alarm_type = int_of(r.get("alarmtype"));
  e.raw = p::format_tab_record(r);
  e.source = source;
  e.received_at = now;
  return e;
}

// The catalogue's key fields of the table (templatev10: Pin/FingerID, biodata: Pin/Type/No/Index...)
// joined by '/': a re-upload of the same key replaces the stored record rather than adding one.
// ATTPHOTO has no key in the catalogue; its pin is the photo's file name. A table we do not know,
// or a record missing a key field, is keyed by the whole record (identical re-uploads still fold).
std::string record_key(const std::string& table, const p::Record& r) {
  std::string key;
  const p::TableSpec* spec = p::find_table(table);
  if (spec && !spec->key_fields.empty()) {
    for (auto field : spec->key_fields) {
      auto v = r.get(field);
      if (!v) return p::format_tab_record(r);
      if (!key.empty()) key += '/';
      key += *v;
    }
    return key;
  }
  if (auto pin = r.get("pin"); pin && spec && spec->name == "ATTPHOTO") return std::string(*pin);
  return p::format_tab_record(r);
}

// The field holding a record's photo or template, and whether it is kept decoded: photos are
// binary (served as images later); templates stay the base64 text the device sent, which is what
// DATA UPDATE gives back to a device. identitycard carries several base64 fields: the JPEG is the
// one worth serving, the others stay in the fields.
struct ContentRule {
  std::string_view table;
  std::string_view field;
  bool decode;
};
constexpr ContentRule kContentRules[] = {
    {"templatev10", "template", false}, {"biodata", "tmp", false},   {"biophoto", "content", true},
    {"userpic", "content", true},       {"ATTPHOTO", "photo", true}, {"identitycard", "PhotoJPG", true},
};

void move_content(storage::DeviceRecord& d) {
  for (const auto& rule : kContentRules) {
    if (!p::text::iequals(rule.table, d.table)) continue;
    for (std::size_t i = 0; i < d.fields.fields.size(); ++i) {
      auto& f = d.fields.fields[i];
      if (!p::text::iequals(f.key, rule.field) || f.value.empty()) continue;
      d.content_field = f.key;
      if (auto bytes = rule.decode ? p::base64_decode(f.value) : std::nullopt) {
        d.content = std::move(*bytes);
        d.content_encoding = "binary";
        if (auto size = int_of(d.fields.get("size")); size && *size != static_cast<std::int64_t>(d.content.size()))
          spdlog::debug("{} {} {}: size={} but the photo has {} bytes", d.sn, d.table, d.key, *size, d.content.size());
      } else {
        // Templates, and photos that are not valid base64 (truncated uploads): kept as sent.
        if (rule.decode) spdlog::warn("{} {} {}: {} is not base64; kept as sent", d.sn, d.table, d.key, f.key);
        d.content = std::move(f.value);
        d.content_encoding = "base64";
      }
      d.fields.fields.erase(d.fields.fields.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    return;
  }
}

std::string ack_body(const p::DeviceRequest& req) {
  auto ack = p::upload_ack(req);
  return ack ? ack->body : std::string(p::kOkBody);
}

// ACCOUNT: records received and missing ones inserted over the command's uploads (and the SumCount
// the controller announced); nullopt when nothing was uploaded for it yet.
std::optional<nlohmann::ordered_json> account_totals(storage::Store& store, std::int64_t command_id) {
  std::int64_t missing = 0;
  bool any = false;
  std::optional<std::int64_t> expected;
  // Records per archive (pack / fileseq), the latest upload of each: a device re-posting an archive
  // it got no answer for must not be counted twice. Missing ones are summed over every upload: a
  // re-post inserts nothing more.
  std::vector<std::pair<std::pair<std::string, std::int64_t>, std::int64_t>> per_archive;
  for (const auto& d : store.get_command_data(command_id)) {
    if (d.kind == "overview") {
      if (auto sum = p::parse_line_list(d.body).get_int("SumCount")) expected = *sum;
      continue;
    }
    if (d.kind != "account" && d.kind != "file") continue;
    auto j = nlohmann::json::parse(d.body, nullptr, false);
    if (!j.is_object()) continue;
    any = true;
    missing += j.value("missing_inserted", std::int64_t{0});
    const auto records = j.value("records", std::int64_t{0});
    auto key = std::make_pair(d.kind, d.packidx);
    auto it = std::find_if(per_archive.begin(), per_archive.end(), [&](const auto& e) { return e.first == key; });
    if (it == per_archive.end())
      per_archive.emplace_back(key, records);
    else
      it->second = records;
  }
  if (!any && !expected) return std::nullopt;
  std::int64_t records = 0;
  for (const auto& e : per_archive) records += e.second;
  nlohmann::ordered_json totals;
  totals["records"] = records;
  totals["missing_inserted"] = missing;
  if (expected) totals["expected_records"] = *expected;
  return totals;
}

void refresh_account_result(storage::Store& store, std::int64_t command_id, const SharedResponder& respond,
                            const std::string& body) {
  // The archive may arrive after the device posted its result: the closed command's result then
  // gets the counts too.
  auto row = store.get_command(command_id);
  auto totals = account_totals(store, command_id);
  if (!row || !totals || (row->status != storage::CommandStatus::done && row->status != storage::CommandStatus::failed))
    return answer(respond, 200, body);
  auto result = nlohmann::ordered_json::parse(row->result, nullptr, false);
  if (!result.is_object()) result = nlohmann::ordered_json::object();
  for (auto it = totals->begin(); it != totals->end(); ++it) result[it.key()] = it.value();
  storage::ResultUpdate u;
  u.wire_id = row->wire_id;
  u.status = row->status;
  u.return_code = row->return_code.value_or(0);
  u.result = result.dump();
  u.at = row->done_at;
  store.record_results(row->sn, {std::move(u)},
                       [respond, body, sn = row->sn](storage::StoreResult<std::vector<storage::CommandRow>> r) {
                         if (!r.ok()) return answer_store_error(respond, r.error(), sn + " ACCOUNT result");
                         answer(respond, 200, body);
                       });
}

}  // namespace

int DeviceRouter::tz_minutes(const DeviceState& state) const {
  // 1. The zone set for the device on the server (stored with the device row).
  if (!state.device->time_zone.empty()) {
    if (auto tz = p::parse_tz_offset(state.device->time_zone)) return *tz;
  }
  // 2. The device's own MachineTZ parameter (Appendix 12 "Time zone"), uploaded with its options.
  // The manual does not give its format: only the +hhmm form the protocol uses for ServerTZ is
  // trusted (a sign is required: a bare number may be an index of the device's zone list); anything
  // else would shift every event by a guess.
  if (auto machine = p::option_value(state.device->options, "MachineTZ")) {
    const auto text = p::text::trim(*machine);
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
      if (auto tz = p::parse_tz_offset(text)) return *tz;
    }
  }
  // 3. The server's --tz.
  return config_.default_tz_minutes;
}

p::Record DeviceRouter::config_lines(const storage::Device& device, bool push) const {
  const std::string& session_id = device.session_id;
  p::Record c;
  c.add("ServerVersion", "zkpush 0.1.0");
  c.add("ServerName", config_.server_name);
  c.add("PushProtVer", config_.push_prot_ver);
  c.add("ErrorDelay", std::to_string(config_.error_delay));
  c.add("RequestDelay", std::to_string(config_.request_delay));
  c.add("TransTimes", config_.trans_times);
  c.add("TransInterval", std::to_string(config_.trans_interval));
  c.add("TransTables", config_.trans_tables);
  c.add("Realtime", std::to_string(config_.realtime));
  if (!session_id.empty()) c.add("SessionID", session_id);
  c.add("TimeoutSec", std::to_string(config_.timeout_sec));
  if (push) c.add("PushOptionsFlag", "1");
  // Per-device overrides (PATCH /api/v1/devices/{sn}): only keys of the configuration, checked
  // when they were set, replace the server's values.
  for (const auto& f : device.config.fields) c.set(f.key, f.value);
  return c;
}

// ---- handshake -----------------------------------------------------------------------------------

void DeviceRouter::on_init(const p::DeviceRequest& req, const std::optional<DeviceState>& state,
                           const std::string& ip, const SharedResponder& respond) {
  const auto now = unix_now();
  const std::string pushver(req.query.get_or("pushver", ""));
  if (state && state->device->approved && !state->device->registry_code.empty()) {
    registry_.touch(req.sn, now);
    if (state->device->push_version != pushver || state->device->ip != ip) {
      storage::Device d = *state->device;
      d.push_version = pushver;
      d.ip = ip;
      d.last_seen = now;
      registry_.put_device(d);
      store_.save_device(d, [](storage::StoreStatus) {});
    }
    p::InitAnswer a{true, state->device->registry_code, config_lines(*state->device, false)};
    answer(respond, 200, p::format_init_answer(a));
    return;
  }
  storage::Device d = state ? *state->device : storage::Device{};
  if (!state) {
    d.sn = req.sn;
    d.first_seen = now;
    // Under auto registration a device may go on without POST /iclock/registry (the step is
    // optional for firmware that does not register, decision 6); under approve it waits.
    d.approved = config_.registration == RegistrationPolicy::automatic;
    spdlog::info("{} {}: new device (init)", ip, req.sn);
  }
  d.push_version = pushver;
  d.ip = ip;
  d.last_seen = now;
  store_.save_device(d, [this, d, respond, sn = req.sn](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), sn + " init");
    registry_.put_device(d);
    answer(respond, 200, p::format_init_answer(p::InitAnswer{}));
  });
}

void DeviceRouter::on_registry(const p::DeviceRequest& req, const std::optional<DeviceState>& state,
                               const std::string& ip, const SharedResponder& respond) {
  const auto now = unix_now();
  storage::Device d = state ? *state->device : storage::Device{};
  if (!state) {
    d.sn = req.sn;
    d.first_seen = now;
  }
  d.ip = ip;
  d.last_seen = now;
  d.registry = req.records.empty() ? p::Record{} : req.records.front();
  // d.approved is the registry's value when the request arrived. An approval committed after that
  // only means this attempt gets 406 and the device's next registry is accepted; the save below
  // cannot undo it (save_device and put_device never lower approved).
  const bool accept = config_.registration == RegistrationPolicy::automatic || d.approved;
  if (accept) {
    d.approved = true;
    if (d.registry_code.empty()) d.registry_code = random_hex(16);
    if (d.registered_at == 0) d.registered_at = now;
  }
  auto options = d.registry;
  store_.save_device(d, [this, d, options, respond, accept](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), d.sn + " registry");
    registry_.put_device(d);
    store_.merge_options(d.sn, options, "registry", unix_now(), [this, d, options, respond, accept](storage::StoreStatus m) {
      if (!m.ok()) return answer_store_error(respond, m.error(), d.sn + " registry options");
      registry_.merge_options(d.sn, options);
      if (accept) {
        spdlog::info("{}: registered", d.sn);
        auto a = p::registry_accepted(d.registry_code);
        answer(respond, a.status, a.body);
      } else {
        spdlog::info("{}: registration waits for approval (406)", d.sn);
        auto a = p::registry_refused();
        answer(respond, a.status, a.body);
      }
    });
  });
}

void DeviceRouter::on_push(const p::DeviceRequest& req, const DeviceState& state, const SharedResponder& respond) {
  storage::Device d = *state.device;
  d.session_id = random_hex(16);
  d.last_seen = unix_now();
  store_.save_device(d, [this, d, respond, sn = req.sn](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), sn + " push");
    registry_.put_device(d);
    // The configuration is the operator's: a PATCH committed since the request arrived wins over d's.
    storage::Device shown = d;
    if (auto now = registry_.get(sn)) shown.config = now->device->config;
    answer(respond, 200, p::format_config_answer(config_lines(shown, true)));
  });
}

void DeviceRouter::on_options(const p::DeviceRequest& req, const SharedResponder& respond) {
  p::Record options = req.records.empty() ? p::Record{} : req.records.front();
  store_.merge_options(req.sn, options, "options", unix_now(),
                       [this, sn = req.sn, options, respond, body = ack_body(req)](storage::StoreStatus s) {
                         if (!s.ok()) return answer_store_error(respond, s.error(), sn + " options");
                         registry_.merge_options(sn, options);
                         answer(respond, 200, body);
                       });
}

// ---- uploads -------------------------------------------------------------------------------------

void DeviceRouter::on_rtlog(const p::DeviceRequest& req, const DeviceState& state, const SharedResponder& respond) {
  const auto now = unix_now();
  const int tz = tz_minutes(state);
  std::vector<storage::NewEvent> events;
  events.reserve(req.records.size());
  for (const auto& r : req.records) events.push_back(to_event(r, req.sn, tz, "rtlog", now));
  store_.insert_events(std::move(events), [this, respond, sn = req.sn, body = ack_body(req)](
                                              storage::StoreResult<storage::InsertCounts> r) {
    if (!r.ok()) return answer_store_error(respond, r.error(), sn + " rtlog");
    metrics_.add_events(r->inserted, r->duplicates);
    spdlog::debug("{}: rtlog {} new, {} duplicate", sn, r->inserted, r->duplicates);
    answer(respond, 200, body);
  });
}

void DeviceRouter::on_rtstate(const p::DeviceRequest& req, const SharedResponder& respond) {
  if (req.records.empty()) return answer(respond, 200, ack_body(req));
  auto countdown = std::make_shared<Countdown>(req.records.size(), respond, ack_body(req), req.sn + " rtstate");
  const auto now = unix_now();
  for (const auto& r : req.records) {
    storage::DoorStateUpdate u;
    u.sn = req.sn;
    u.time_local = std::string(r.get_or("time", ""));
    if (auto civil = p::parse_datetime(u.time_local)) u.time_local = p::format_datetime(*civil);
    u.sensor = std::string(r.get_or("sensor", ""));
    u.relay = std::string(r.get_or("relay", ""));
    u.alarm = std::string(r.get_or("alarm", ""));
    u.received_at = now;
    store_.put_door_state(std::move(u), [countdown](storage::StoreStatus s) { countdown->done(s); });
  }
}

void DeviceRouter::on_tabledata(const p::DeviceRequest& req, const SharedResponder& respond) {
  const auto now = unix_now();
  std::vector<storage::DeviceRecord> records;
  records.reserve(req.records.size());
  for (const auto& r : req.records) {
    storage::DeviceRecord d;
    d.sn = req.sn;
    d.table = req.table.empty() ? std::string(req.query.get_or("tablename", "")) : req.table;
    d.key = record_key(d.table, r);
    d.fields = r;
    d.updated_at = now;
    move_content(d);
    records.push_back(std::move(d));
  }
  if (records.empty()) return answer(respond, 200, ack_body(req));
  store_.put_device_records(std::move(records), [respond, sn = req.sn, table = req.table, body = ack_body(req)](
                                                    storage::StoreResult<storage::InsertCounts> r) {
    if (!r.ok()) return answer_store_error(respond, r.error(), sn + " tabledata " + table);
    answer(respond, 200, body);
  });
}

void DeviceRouter::on_device_log(const p::DeviceRequest& req, const std::string& kind,
                                 const SharedResponder& respond) {
  const auto now = unix_now();
  std::vector<storage::DeviceLogEntry> entries;
  for (const auto& r : req.records) {
    storage::DeviceLogEntry e;
    e.sn = req.sn;
    e.kind = kind;
    e.data = p::format_tab_record(r);
    e.received_at = now;
    entries.push_back(std::move(e));
  }
  if (entries.empty()) return answer(respond, 200, ack_body(req));
  store_.append_device_log(std::move(entries), [respond, sn = req.sn, kind, body = ack_body(req)](storage::StoreStatus s) {
    if (!s.ok()) return answer_store_error(respond, s.error(), sn + " " + kind);
    answer(respond, 200, body);
  });
}

// ---- commands ------------------------------------------------------------------------------------

namespace {

std::string wire_text(const storage::CommandRow& row, const DeviceState& state) {
  const std::string plain = "C:" + std::to_string(row.wire_id) + ":" + row.line;
  if (state.cmd_format == 0) return plain;
  auto parsed = p::parse_command(plain);
  if (!parsed) return plain;
  p::CommandFormat format;
  format.cmd_format = state.cmd_format;
  format.sn = state.device->sn;
  return p::format_command(*parsed, format);
}

}  // namespace

void DeviceRouter::on_getrequest(const p::DeviceRequest& req, const DeviceState& state,
                                 const SharedResponder& respond) {
  if (state.pending <= 0) return answer(respond, 200, p::format_empty_command_queue());
  const auto now = unix_now();
  storage::DeliveryRequest delivery;
  delivery.sn = req.sn;
  delivery.now = now;
  delivery.resend_sent_before = now - config_.command_resend_after;
  delivery.max_commands = config_.max_commands_per_poll;
  auto used = std::make_shared<std::size_t>(0);
  const std::size_t budget = state.max_package_size;
  delivery.fits = [used, budget, state](const storage::CommandRow& row) {
    const std::size_t size = wire_text(row, state).size() + 1;
    if (budget != 0 && *used != 0 && *used + size > budget) return false;
    *used += size;
    return true;
  };
  store_.take_for_delivery(std::move(delivery), [respond, state](storage::StoreResult<std::vector<storage::CommandRow>> r) {
    if (!r.ok()) return answer_store_error(respond, r.error(), state.device->sn + " getrequest");
    if (r->empty()) return answer(respond, 200, p::format_empty_command_queue());
    std::string body;
    for (const auto& row : r.value()) {
      body += wire_text(row, state);
      body += '\n';
    }
    spdlog::info("{}: delivering {} command(s)", state.device->sn, r->size());
    answer(respond, 200, std::move(body));
  });
}

void DeviceRouter::on_devicecmd(const p::DeviceRequest& req, const SharedResponder& respond) {
  auto results = p::parse_command_results(req.body);
  if (!results) {
    spdlog::warn("{}: devicecmd 400 {}", req.sn, results.error().to_string());
    return answer(respond, 400, results.error().to_string());
  }
  const auto now = unix_now();
  std::vector<storage::ResultUpdate> updates;
  std::int64_t closing = 0;  // open commands this answer closes
  for (const auto& result : *results) {
    auto wire = int_of(result.id);
    if (!wire) {
      spdlog::warn("{}: result with non-numeric ID {} ignored", req.sn, result.id);
      continue;
    }
    auto row = store_.find_command(req.sn, *wire);
    std::optional<p::Verb> verb;
    if (row && !row->verb.empty()) verb = p::verb_from_name(row->verb);
    if (!verb) verb = p::verb_of_result_cmd(result.cmd);
    storage::ResultUpdate u;
    u.wire_id = *wire;
    u.return_code = result.return_code;
    u.at = now;
    nlohmann::ordered_json j;
    j["return"] = result.return_code;
    j["cmd"] = result.cmd;
    if (verb) {
      auto meaning = p::interpret_return(*verb, result.return_code);
      j["kind"] = p::return_kind_name(meaning.kind);
      if (meaning.name) j["name"] = std::string(*meaning.name);
      if (meaning.kind == p::ReturnKind::repeated && row &&
          (row->status == storage::CommandStatus::done || row->status == storage::CommandStatus::failed)) {
        // -7: the device already ran it and we have its result; that result stands.
        spdlog::info("{}: C:{} repeated (-7), earlier result kept", req.sn, *wire);
        continue;
      }
      if (meaning.kind == p::ReturnKind::pending) {
        u.status = storage::CommandStatus::sent;
      } else if (meaning.kind == p::ReturnKind::repeated || meaning.succeeded()) {
        u.status = storage::CommandStatus::done;
      } else {
        u.status = storage::CommandStatus::failed;
      }
    } else {
      u.status = result.return_code >= 0 ? storage::CommandStatus::done : storage::CommandStatus::failed;
    }
    auto fields = nlohmann::ordered_json::object();
    for (const auto& f : result.fields.fields) fields[f.key] = f.value;
    j["fields"] = std::move(fields);
    if (row && verb == p::Verb::account) {
      // What the ACCOUNT check found (the uploads come before the result; late ones update it).
      if (auto totals = account_totals(store_, row->id))
        for (auto it = totals->begin(); it != totals->end(); ++it) j[it.key()] = it.value();
    }
    u.result = j.dump();
    if (row && (row->status == storage::CommandStatus::queued || row->status == storage::CommandStatus::sent) &&
        u.status != storage::CommandStatus::sent) {
      ++closing;
    }
    if (!row) spdlog::warn("{}: result for unknown command C:{}", req.sn, *wire);
    updates.push_back(std::move(u));
  }
  if (updates.empty()) return answer(respond, 200, std::string(p::kOkBody));
  store_.record_results(req.sn, std::move(updates),
                        [this, respond, sn = req.sn, closing](storage::StoreResult<std::vector<storage::CommandRow>> r) {
                          if (!r.ok()) return answer_store_error(respond, r.error(), sn + " devicecmd");
                          registry_.add_pending(sn, -closing);
                          for (const auto& row : r.value()) {
                            spdlog::info("{}: C:{} {} -> {}", sn, row.wire_id, row.verb,
                                         storage::command_status_name(row.status));
                          }
                          answer(respond, 200, std::string(p::kOkBody));
                        });
}

void DeviceRouter::on_querydata(const p::DeviceRequest& req, const std::string& kind, const SharedResponder& respond) {
  const std::string body = ack_body(req);
  auto wire = int_of(std::string_view(req.pagination.cmdid));
  std::optional<storage::CommandRow> row;
  if (wire) row = store_.find_command(req.sn, *wire);
  const bool archive = kind == "account" || kind == "file";
  const bool transactions = archive || (kind == "tabledata" && (req.table == "transaction" ||
                                                                 req.query.get_or("tablename", "") == "transaction"));
  if (!row) {
    // Nothing to attach the data to: acknowledged so that the device does not resend it forever.
    // Transaction records are events all the same (a command from before a wiped data folder).
    spdlog::warn("{}: {} upload for unknown command cmdid={}: not kept as command data", req.sn, kind,
                 req.pagination.cmdid);
    if (!transactions || req.records.empty()) return answer(respond, 200, body);
    auto state = registry_.get(req.sn);
    const int tz = state ? tz_minutes(*state) : config_.default_tz_minutes;
    std::vector<storage::NewEvent> events;
    const auto now = unix_now();
    for (const auto& r : req.records) events.push_back(to_event(r, req.sn, tz, archive ? "account" : "query", now));
    store_.insert_events(std::move(events), [respond, sn = req.sn, body](storage::StoreResult<storage::InsertCounts> r) {
      if (!r.ok()) return answer_store_error(respond, r.error(), sn + " transactions");
      spdlog::info("{}: {} transaction record(s) were missing and are now stored", sn, r->inserted);
      answer(respond, 200, body);
    });
    return;
  }
  storage::CommandData data;
  data.command_id = row->id;
  data.kind = kind;
  data.table = req.table.empty() ? std::string(req.query.get_or("tablename", "")) : req.table;
  data.packidx = kind == "file" ? req.pagination.fileseq.value_or(0) : req.pagination.packidx.value_or(0);
  data.packcnt = req.pagination.packcnt.value_or(0);
  data.body = req.body;
  data.received_at = unix_now();
  auto keep = [this, respond, sn = req.sn, kind, body, archive](storage::CommandData data) {
    const auto command_id = data.command_id;
    store_.add_command_data(std::move(data), [this, respond, sn, kind, body, archive, command_id](storage::StoreStatus s) {
      if (!s.ok()) return answer_store_error(respond, s.error(), sn + " querydata " + kind);
      if (archive) return refresh_account_result(store_, command_id, respond, body);
      answer(respond, 200, body);
    });
  };
  if (transactions && !req.records.empty()) {
    // Recovered events: inserted like rtlog (duplicates of what rtlog delivered are recognised).
    auto state = registry_.get(req.sn);
    const int tz = state ? tz_minutes(*state) : config_.default_tz_minutes;
    std::vector<storage::NewEvent> events;
    const auto now = unix_now();
    for (const auto& r : req.records) events.push_back(to_event(r, req.sn, tz, archive ? "account" : "query", now));
    const auto received = static_cast<std::int64_t>(req.records.size());
    const std::int64_t announced = req.pagination.count.value_or(-1);
    const std::size_t archive_bytes = req.archive ? req.archive->data.size() : 0;
    store_.insert_events(std::move(events), [respond, sn = req.sn, keep, data = std::move(data), archive, received,
                                             announced, archive_bytes](storage::StoreResult<storage::InsertCounts> r) mutable {
      if (!r.ok()) return answer_store_error(respond, r.error(), sn + " transactions");
      spdlog::info("{}: {} of {} transaction record(s) were missing and are now stored, {} already stored", sn,
                   r->inserted, received, r->duplicates);
      if (archive) {
        // The archive itself is not kept (up to 96 MiB, and its records are now events): what
        // the ACCOUNT check found is.
        nlohmann::ordered_json summary;
        summary["records"] = received;
        summary["missing_inserted"] = r->inserted;
        summary["already_stored"] = r->duplicates;
        if (announced >= 0) summary["count"] = announced;
        summary["archive_bytes"] = archive_bytes;
        data.body = summary.dump();
      }
      keep(std::move(data));
    });
    return;
  }
  if (archive) {
    nlohmann::ordered_json summary;
    summary["records"] = 0;
    summary["missing_inserted"] = 0;
    summary["already_stored"] = 0;
    data.body = summary.dump();
  }
  if (kind == "options" && !req.records.empty()) {
    // GET OPTIONS answers are device parameters too.
    p::Record options = req.records.front();
    store_.merge_options(req.sn, options, "get_options", unix_now(),
                         [this, sn = req.sn, options, keep, data = std::move(data)](storage::StoreStatus s) mutable {
                           if (s.ok()) registry_.merge_options(sn, options);
                           keep(std::move(data));
                         });
    return;
  }
  keep(std::move(data));
}

void DeviceRouter::on_rtdata_time(const DeviceState& state, const SharedResponder& respond) {
  auto zk = p::zktime_from_unix(unix_now(), 0);
  if (!zk) return answer(respond, 500, "clock out of range");
  p::TimeAnswer a{static_cast<std::int64_t>(*zk), p::format_tz_offset(tz_minutes(state))};
  answer(respond, 200, p::format_time_answer(a));
}

}  // namespace zkpush::server
