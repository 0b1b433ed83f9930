#include "front/api/views.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "protocol/codecs_bitmaps.hpp"
#include "protocol/codecs_doors.hpp"
#include "protocol/codecs_time.hpp"
#include "protocol/command_results.hpp"
#include "protocol/commands.hpp"
#include "protocol/text.hpp"
#include "protocol/describe.hpp"
#include "protocol/device_requests.hpp"
#include "protocol/enums.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

Json optional_int(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
Json unix_or_null(std::int64_t v) { return v != 0 ? Json(v) : Json(nullptr); }

// A stored code as a number; spaces around it are not expected but harmless.
std::optional<std::int64_t> plain_int(std::string_view text) { return p::text::parse_int(text); }

Json record_object(const p::Record& record) {
  Json out = Json::object();
  for (const auto& f : record.fields) out[f.key] = f.has_value ? Json(f.value) : Json(nullptr);
  return out;
}

// Appendix 3 codes by name; a VERIFY_TYPE bit string by its methods, '+' when all are required
// and '/' when any one will do.
Json verify_name(std::string_view verifytype) {
  if (p::looks_like_vf_bits(verifytype)) {
    auto bits = p::parse_vf_bits(verifytype);
    if (!bits) return nullptr;
    std::string joined;
    for (int b : p::vf_methods(*bits)) {
      if (!joined.empty()) joined += p::vf_and_logic(*bits) ? "+" : "/";
      std::string_view name = p::vf_bit_name(b);
      joined += name.empty() ? "bit " + std::to_string(b) : std::string(name);
    }
    return joined.empty() ? Json(nullptr) : Json(joined);
  }
  auto code = plain_int(verifytype);
  if (!code) return nullptr;
  auto name = p::verify_mode_name(*code);
  return name ? Json(std::string(*name)) : Json(nullptr);
}

bool safe_table_word(std::string_view table) {
  return std::all_of(table.begin(), table.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '[' || c == ']';
  });
}

// Stored querydata bodies are read again with the parser that accepted them on arrival, so the API
// shows the records exactly as the device request parser understood them.
std::optional<p::DeviceRequest> reparse(std::string_view type, const std::string& table, const std::string& body) {
  std::string target = "/iclock/querydata?SN=api&cmdid=1&type=" + std::string(type);
  if (!table.empty() && safe_table_word(table)) target += "&tablename=" + table;
  auto parsed = p::parse_device_request("POST", target, body);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

}  // namespace

Json iso_utc(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return nullptr;
  auto civil = p::civil_from_unix(unix_seconds);
  if (!civil) return nullptr;
  return p::format_iso8601(*civil) + "Z";
}

bool is_numeric_config_key(std::string_view key) noexcept {
  for (const auto& k : kDeviceConfigKeys)
    if (k.numeric && p::text::iequals(k.name, key)) return true;
  return false;
}

Json device_json(const storage::Device& d, std::int64_t last_seen, std::int64_t pending, std::int64_t now,
                 std::int64_t window) {
  const std::int64_t seen = std::max(last_seen, d.last_seen);
  auto firmware = p::option_value(d.options, "FirmVer");
  Json j = Json::object();
  j["sn"] = d.sn;
  j["online"] = seen > 0 && now - seen <= window;
  j["last_seen"] = iso_utc(seen);
  j["approved"] = d.approved;
  j["ip"] = d.ip;
  j["firmware"] = firmware ? Json(std::string(*firmware)) : Json(nullptr);
  j["push_version"] = d.push_version;
  j["options"] = record_object(d.options);
  j["registered"] = !d.registry_code.empty();
  j["registered_at"] = unix_or_null(d.registered_at);
  j["first_seen"] = unix_or_null(d.first_seen);
  j["last_seen_unix"] = unix_or_null(seen);
  j["time_zone"] = d.time_zone.empty() ? Json(nullptr) : Json(d.time_zone);
  // The overrides as the API takes them: numbers for the numeric keys (RequestDelay...).
  Json config = Json::object();
  for (const auto& f : d.config.fields) {
    auto number = p::text::parse_int(f.value);
    config[f.key] = number && is_numeric_config_key(f.key) ? Json(*number) : Json(f.value);
  }
  j["config"] = std::move(config);
  j["pending"] = pending;
  return j;
}

Json sub_controller_json(const storage::SubController& sub) {
  Json j = Json::object();
  j["sn"] = sub.sn;
  j["master"] = sub.master_sn;
  j["online"] = sub.online;
  j["is_authorize"] = sub.is_authorize;
  const char* state = "unauthorized";
  if (sub.requested == -1) state = "deauthorized";
  else if (sub.is_authorize == 2) state = "authorized";
  else if (sub.is_authorize == 1 || sub.requested > 0) state = "authorizing";
  j["state"] = state;
  j["requested"] = sub.requested;
  j["authorize_info"] = sub.authorize_info;
  j["register_info"] = sub.register_info;
  j["first_seen"] = unix_or_null(sub.first_seen);
  j["last_seen"] = unix_or_null(sub.last_seen);
  return j;
}

Json door_state_json(const std::optional<storage::DoorStateUpdate>& state, int door_count, int tz_minutes) {
  Json j = Json::object();
  j["doors"] = Json::array();
  j["time"] = nullptr;
  if (!state) return j;
  j["time"] = state->time_local.empty() ? Json(nullptr) : Json(state->time_local);
  Json time_utc = nullptr;
  if (auto civil = p::parse_datetime(state->time_local)) {
    if (auto unix = p::unix_from_civil(*civil)) time_utc = *unix - static_cast<std::int64_t>(tz_minutes) * 60;
  }
  j["time_utc"] = time_utc;
  j["received_at"] = unix_or_null(state->received_at);
  j["sensor"] = state->sensor;
  j["relay"] = state->relay;
  j["alarm"] = state->alarm;
  auto doors = p::decode_rtstate(state->sensor, state->relay, state->alarm, door_count);
  if (!doors) {
    // Stored as the device sent it; what cannot be decoded is shown raw with the reason.
    j["decode_error"] = doors.error().to_string();
    return j;
  }
  for (const auto& d : *doors) {
    Json alarms = Json::array();
    for (auto name : p::alarm_names(d.alarms)) alarms.push_back(std::string(name));
    j["doors"].push_back(Json{{"door", d.door},
                              {"sensor", p::door_sensor_name(d.sensor)},
                              {"relay", d.relay_disconnected ? "disconnected" : "connected"},
                              {"alarms", std::move(alarms)}});
  }
  return j;
}

Json event_json(const storage::EventRow& e, const std::string* person_name) {
  Json j = Json::object();
  j["id"] = e.id;
  j["sn"] = e.sn;
  j["time"] = e.time_local.empty() ? Json(nullptr) : Json(e.time_local);
  j["pin"] = e.pin;
  j["person_name"] = person_name ? Json(*person_name) : Json(nullptr);
  j["cardno"] = e.cardno;
  j["event"] = optional_int(e.event);
  Json event_name = nullptr;
  Json event_class = nullptr;
  if (e.event) {
    auto info = p::event_info(*e.event);
    if (info.defined && !info.name.empty()) event_name = std::string(info.name);
    if (!info.class_name.empty()) event_class = std::string(info.class_name);
  }
  j["event_name"] = event_name;
  j["door"] = optional_int(e.door);
  j["inout"] = optional_int(e.inout);
  // Appendix 3 codes as numbers; a VERIFY_TYPE bit string stays text (its leading zeros matter).
  if (auto code = plain_int(e.verifytype); code && !p::looks_like_vf_bits(e.verifytype)) {
    j["verifytype"] = *code;
  } else {
    j["verifytype"] = e.verifytype.empty() ? Json(nullptr) : Json(e.verifytype);
  }
  j["verify_name"] = verify_name(e.verifytype);
  j["index"] = optional_int(e.index);
  j["time_local"] = e.time_local;
  j["time_utc"] = optional_int(e.time_utc);
  j["alarm_type"] = optional_int(e.alarm_type);
  j["source"] = e.source;
  j["received_at"] = unix_or_null(e.received_at);
  j["event_class"] = event_class;
  return j;
}

Json caller_json(std::string_view role, const std::string& name, std::optional<std::int64_t> token_id,
                 const std::string& actor) {
  return Json{{"role", role}, {"name", name}, {"token_id", optional_int(token_id)}, {"actor", actor}};
}

std::vector<std::string> event_stat_classes() {
  std::vector<std::string> out;
  for (const auto& c : p::event_classes()) out.emplace_back(c.name);
  out.emplace_back("other");
  return out;
}

Json event_stats_json(const std::vector<storage::EventHourCount>& counts, std::int64_t from, std::int64_t hours,
                      const std::string& sn) {
  const auto classes = event_stat_classes();
  const auto slot_of = [&classes](const std::optional<std::int64_t>& code) {
    std::string_view name = "other";
    if (code) {
      const auto info = p::event_info(*code);
      if (!info.class_name.empty()) name = info.class_name;
    }
    return static_cast<std::size_t>(std::find(classes.begin(), classes.end(), name) - classes.begin());
  };
  // [hour][class], the last column the hour's total; and the same for the whole window.
  std::vector<std::vector<std::int64_t>> per_hour(static_cast<std::size_t>(std::max<std::int64_t>(hours, 0)),
                                                  std::vector<std::int64_t>(classes.size() + 1, 0));
  std::vector<std::int64_t> whole(classes.size() + 1, 0);
  std::map<std::int64_t, std::int64_t> denials;  // error-class code -> count
  for (const auto& row : counts) {
    const auto at = (row.hour - from) / 3600;
    if (row.hour < from || at >= hours) continue;  // the store was asked for this window only
    const auto slot = std::min(slot_of(row.event), classes.size() - 1);
    for (auto* tally : {&per_hour[static_cast<std::size_t>(at)], &whole}) {
      (*tally)[slot] += row.count;
      (*tally)[classes.size()] += row.count;
    }
    if (row.event && classes[slot] == "error") denials[*row.event] += row.count;
  }
  const auto tally_json = [&classes](Json j, const std::vector<std::int64_t>& tally) {
    j["total"] = tally[classes.size()];
    for (std::size_t i = 0; i < classes.size(); ++i) j[classes[i]] = tally[i];
    return j;
  };
  Json out = Json::object();
  out["from"] = iso_utc(from);
  out["to"] = iso_utc(from + hours * 3600);
  out["hours"] = hours;
  out["sn"] = sn.empty() ? Json(nullptr) : Json(sn);
  out["total"] = whole[classes.size()];
  Json by_class = tally_json(Json::object(), whole);
  by_class.erase("total");
  out["by_class"] = std::move(by_class);
  Json hourly = Json::array();
  for (std::size_t i = 0; i < per_hour.size(); ++i)
    hourly.push_back(tally_json(Json{{"hour", iso_utc(from + static_cast<std::int64_t>(i) * 3600)}}, per_hour[i]));
  out["per_hour"] = std::move(hourly);
  std::vector<std::pair<std::int64_t, std::int64_t>> top(denials.begin(), denials.end());
  std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (top.size() > kTopDenials) top.resize(kTopDenials);
  Json top_json = Json::array();
  for (const auto& [code, n] : top) {
    const auto info = p::event_info(code);
    top_json.push_back(Json{{"event", code},
                            {"name", info.defined && !info.name.empty() ? Json(std::string(info.name)) : Json(nullptr)},
                            {"count", n}});
  }
  out["top_denials"] = std::move(top_json);
  return out;
}

Json person_sync_json(const std::vector<storage::SyncItem>& items) {
  Json out = Json::array();
  for (const auto& item : items) {
    Json j = Json::object();
    j["sn"] = item.id.sn;
    j["state"] = storage::sync_state_name(item.state);
    j["should_hold"] = item.desired.has_value();
    j["holds"] = item.applied.has_value();
    j["error"] = item.error.empty() ? Json(nullptr) : Json(item.error);
    j["return"] = optional_int(item.return_code);
    j["attempts"] = item.attempts;
    j["updated_at"] = unix_or_null(item.updated_at);
    j["retry_at"] = item.state == storage::SyncState::failed ? unix_or_null(item.retry_at) : Json(nullptr);
    out.push_back(std::move(j));
  }
  return out;
}

Json panel_sync_json(const std::vector<storage::PanelSyncCounts>& panels) {
  Json out = Json::array();
  for (const auto& panel : panels) {
    const auto& c = panel.counts;
    out.push_back(Json{{"sn", panel.sn}, {"pending", c.pending}, {"applied", c.applied}, {"failed", c.failed},
                       {"in_flight", c.in_flight}, {"commands", c.commands}});
  }
  return out;
}

EventPage read_event_page(storage::Reads& r, const storage::EventFilter& filter) {
  EventPage page;
  page.events = r.events().list(filter);
  for (const auto& e : page.events) {
    if (e.pin.empty() || e.pin == "0" || page.names.count(e.pin)) continue;
    if (auto person = r.access().person(e.pin)) page.names[e.pin] = person->name;
  }
  return page;
}

Json event_page_json(const EventPage& page) {
  Json out = Json::array();
  for (const auto& e : page.events) {
    auto name = page.names.find(e.pin);
    out.push_back(event_json(e, name == page.names.end() ? nullptr : &name->second));
  }
  return out;
}

namespace {

void complete_page(storage::Reads& r, MessagePage& page) {
  for (const auto& m : page.messages) {
    if (m.event && !m.event->pin.empty() && m.event->pin != "0" && !page.names.count(m.event->pin)) {
      if (auto person = r.access().person(m.event->pin)) page.names[m.event->pin] = person->name;
    }
    if (m.kind == "command" && !page.commands.count(m.ref)) {
      if (auto row = r.commands().get(m.ref)) page.commands.emplace(m.ref, std::pair(*row, r.commands().data(m.ref)));
    }
  }
}

}  // namespace

MessagePage read_message_page(storage::Reads& r, const storage::MessageFilter& filter) {
  MessagePage page;
  page.messages = r.messages().list(filter);
  complete_page(r, page);
  return page;
}

MessagePage read_messages(storage::Reads& r, const std::vector<std::int64_t>& ids) {
  MessagePage page;
  page.messages = r.messages().get(ids);
  complete_page(r, page);
  return page;
}

Json device_door_state_json(const std::string& sn, const std::optional<storage::DoorStateUpdate>& state,
                            const DoorContext& doors) {
  auto [count, tz] = doors ? doors(sn) : std::pair(0, 0);
  Json j = Json::object();
  j["sn"] = sn;
  const Json decoded = door_state_json(state, count, tz);
  for (const auto& item : decoded.items()) j[item.key()] = item.value();
  return j;
}

Json message_json(const MessagePage& page, std::size_t index, const DoorContext& doors) {
  const auto& m = page.messages.at(index);
  if (m.kind == "event") {
    if (!m.event) return nullptr;
    auto name = page.names.find(m.event->pin);
    return event_json(*m.event, name == page.names.end() ? nullptr : &name->second);
  }
  if (m.kind == "door_state") return m.door_state ? device_door_state_json(m.sn, m.door_state, doors) : Json(nullptr);
  if (m.kind == "command") {
    auto c = page.commands.find(m.ref);
    if (c == page.commands.end()) return nullptr;
    return command_json(c->second.first, c->second.second);
  }
  auto body = Json::parse(m.body, nullptr, false);
  return body.is_discarded() ? Json(nullptr) : body;
}

Json device_record_json(const storage::DeviceRecord& record) {
  auto text_or_null = [](const std::string& v) { return v.empty() ? Json(nullptr) : Json(v); };
  Json j = Json::object();
  j["id"] = record.id;
  j["sn"] = record.sn;
  j["table"] = record.table;
  j["key"] = record.key;
  j["fields"] = record_object(record.fields);
  j["content_field"] = text_or_null(record.content_field);
  j["content_encoding"] = text_or_null(record.content_encoding);
  j["content_bytes"] = record.content_size;
  j["content_url"] = record.content_size > 0 ? Json("/api/v1/devices/" + p::text::percent_encode(record.sn) +
                                                     "/records/" + std::to_string(record.id) + "/content")
                                              : Json(nullptr);
  j["updated_at"] = unix_or_null(record.updated_at);
  return j;
}

std::string_view record_content_type(const storage::DeviceRecord& record) {
  if (record.content_encoding == "base64") return "text/plain";
  // Decoded, or stored before the encoding was (schema version 2): known by its bytes.
  return image_type(record.content);
}

std::string_view image_type(std::string_view bytes) {
  auto starts = [bytes](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1A\n")) return "image/png";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (starts("BM")) return "image/bmp";
  return "application/octet-stream";
}

Json device_log_json(const storage::DeviceLogEntry& entry) {
  Json j = Json::object();
  j["id"] = entry.id;
  j["sn"] = entry.sn;
  j["kind"] = entry.kind;
  j["data"] = entry.data;
  // Stored as format_tab_record wrote it: read back by its parser, table word apart.
  const p::Record fields = p::parse_tab_record(entry.data);
  j["fields"] = record_object(fields);
  // The uploads the catalogue describes (errorlog's Appendix 17 code, irstate's counters, the
  // Wiegand test reading) also come decoded; an error log says what its code means at the top.
  const std::string_view table = entry.kind == "errorlog" ? "errorlog"
                                 : entry.kind == "irstate" ? "irstate"
                                 : entry.kind == "testdata" ? "testdata"
                                                            : "";
  j["decoded"] = table.empty() ? Json(nullptr) : p::describe_record(table, fields);
  j["meaning"] = nullptr;
  if (entry.kind == "errorlog") {
    if (auto name = p::errorlog_code_name(p::text::trim(fields.get_or("errcode", "")))) j["meaning"] = std::string(*name);
  }
  j["received_at"] = unix_or_null(entry.received_at);
  return j;
}

Json door_state_change_json(const storage::DoorStateUpdate& change, int door_count, int tz_minutes) {
  Json j = Json::object();
  j["id"] = change.id;
  j["sn"] = change.sn;
  const Json state = door_state_json(change, door_count, tz_minutes);  // named: items() refers to it
  for (const auto& item : state.items()) j[item.key()] = item.value();
  return j;
}

Json device_options_json(const std::vector<storage::DeviceOption>& options) {
  Json j = Json::object();
  for (const auto& o : options)
    j[o.key] = Json{{"value", o.value}, {"source", o.source}, {"updated_at", unix_or_null(o.updated_at)}};
  return j;
}

bool is_message_kind(std::string_view kind) noexcept {
  for (auto k : kMessageKinds) {
    if (k == kind) return true;
  }
  return false;
}

Json command_result_json(const std::vector<storage::CommandData>& data) {
  if (data.empty()) return nullptr;
  Json out = Json::object();
  Json records = Json::array();
  Json counts = Json::object();
  Json options = Json::object();
  Json files = Json::array();
  Json uploads = Json::array();
  std::string table;
  std::map<std::pair<std::string, std::int64_t>, std::int64_t> per_part;  // ACCOUNT records per part
  std::int64_t missing = 0;
  std::optional<std::int64_t> expected;
  for (const auto& d : data) {
    Json upload{{"kind", d.kind}, {"table", d.table}, {"packidx", d.packidx}, {"packcnt", d.packcnt},
                {"bytes", d.body.size()}, {"received_at", d.received_at}};
    if (d.kind == "tabledata") {
      const bool vm = d.table == "APList";
      if (auto req = reparse(vm ? "vmtable" : "tabledata", d.table, d.body)) {
        if (table.empty()) table = req->table.empty() ? d.table : req->table;
        for (const auto& r : req->records) records.push_back(record_object(r));
        upload["records"] = req->records.size();
      } else {
        upload["error"] = "stored body no longer parses";
      }
    } else if (d.kind == "count") {
      auto req = reparse("count", d.table, d.body);
      auto n = req ? p::counted_value(*req) : std::nullopt;
      if (n) {
        counts[req->table.empty() ? d.table : req->table] = *n;
      } else {
        upload["error"] = "stored count no longer parses";
      }
    } else if (d.kind == "options") {
      if (auto req = reparse("options", "options", d.body); req && !req->records.empty()) {
        for (const auto& f : req->records.front().fields) {
          if (f.has_value) options[f.key] = f.value;
        }
      }
    } else if (d.kind == "overview") {
      auto overview = p::parse_line_list(d.body);
      if (auto sum = overview.get_int("SumCount")) expected = *sum;
      out["overview"] = record_object(overview);
    } else if (d.kind == "account" || d.kind == "file") {
      // ACCOUNT archives are not kept: their transactions became events, and the command data is
      // the summary of that check ({"records","missing_inserted","already_stored",...}).
      Json file = upload;
      auto summary = Json::parse(d.body, nullptr, false);
      if (summary.is_object()) {
        for (auto it = summary.begin(); it != summary.end(); ++it) file[it.key()] = it.value();
        missing += summary.value("missing_inserted", std::int64_t{0});
        // A re-posted archive (same part) replaces its count rather than adding to it.
        per_part[{d.kind, d.packidx}] = summary.value("records", std::int64_t{0});
      }
      files.push_back(std::move(file));
    } else {
      upload["body"] = d.body;
    }
    uploads.push_back(std::move(upload));
  }
  if (!table.empty() || !records.empty()) {
    out["table"] = table;
    out["records"] = std::move(records);
  }
  if (!counts.empty()) out["counts"] = std::move(counts);
  if (!options.empty()) out["options"] = std::move(options);
  if (!files.empty()) out["files"] = std::move(files);
  if (!per_part.empty() || expected) {
    std::int64_t records_total = 0;
    for (const auto& [part, n] : per_part) records_total += n;
    Json account{{"records", records_total}, {"missing_inserted", missing}};
    account["expected_records"] = expected ? Json(*expected) : Json(nullptr);
    out["account"] = std::move(account);
  }
  out["uploads"] = std::move(uploads);
  return out;
}

Json command_json(const storage::CommandRow& row, const std::vector<storage::CommandData>& data) {
  Json j = Json::object();
  j["id"] = row.id;
  j["sn"] = row.sn;
  j["line"] = row.line;
  j["status"] = storage::command_status_name(row.status);
  j["return"] = optional_int(row.return_code);
  Json return_name = nullptr;
  Json return_kind = nullptr;
  if (row.return_code) {
    if (auto verb = p::verb_from_name(row.verb)) {
      auto meaning = p::interpret_return(*verb, *row.return_code);
      if (meaning.name) return_name = std::string(*meaning.name);
      return_kind = p::return_kind_name(meaning.kind);
    } else if (auto name = p::return_code_name(*row.return_code)) {
      return_name = std::string(*name);
    }
  }
  j["return_name"] = return_name;
  j["result"] = command_result_json(data);
  j["wire_id"] = row.wire_id;
  j["verb"] = row.verb;
  j["priority"] = storage::command_priority_name(row.priority);
  j["return_kind"] = return_kind;
  if (row.result.empty()) {
    j["result_line"] = nullptr;
  } else {
    auto line = Json::parse(row.result, nullptr, false);
    j["result_line"] = line.is_discarded() ? Json(row.result) : line;
  }
  j["created_at"] = unix_or_null(row.created_at);
  j["sent_at"] = unix_or_null(row.sent_at);
  j["done_at"] = unix_or_null(row.done_at);
  j["expires_at"] = unix_or_null(row.expires_at);
  j["attempts"] = row.attempts;
  return j;
}

}  // namespace zkpush::front::api
