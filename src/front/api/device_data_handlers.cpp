// The routes that read what a device uploaded about itself (docs/serve.md "JSON API"): its table
// records (users, identity cards, templates, biodata, photos, snapshots), the photo or template of
// one, its log (error log, irstate, Wiegand test data, enrolment, DeviceAuthorize), the history of
// its door state and its parameters. Reads only: every route is a viewer's.
#include <algorithm>
#include <string>

#include "front/api/answers.hpp"
#include "front/api/api_endpoints.hpp"
#include "front/api/requests.hpp"
#include "protocol/describe.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::front::api {

namespace p = protocol;

namespace {

// The device of the path, known to the server; else nullopt and a 404 answered.
std::optional<service::DeviceState> known_device(const ApiServices& s, const Call& call) {
  auto state = s.devices.get(call.params.at(0));
  if (!state) answer_error(call.respond, call.who, 404, "unknown device " + p::text::quoted(call.params.at(0)));
  return state;
}

// ?<name>= when given and not empty.
std::string query_text(const Call& call, std::string_view name) {
  return std::string(p::parse_target(call.request.target()).query.get_or(name, ""));
}

// ?table=: a table of the protocol's catalogue, any case (the store compares without case); "" for
// every table. nullopt and a 400 answered for another name.
std::optional<std::string> table_param(const Call& call) {
  auto table = query_text(call, "table");
  if (table.empty() || p::find_table(table)) return table;
  answer_error(call.respond, call.who, 400,
               "table: not a table of the protocol (user, identitycard, templatev10, biodata, biophoto, userpic, "
               "ATTPHOTO...): " + p::text::quoted(table));
  return std::nullopt;
}

// ?kind=: one of the kinds the device endpoints log; "" for every kind.
std::optional<std::string> kind_param(const Call& call) {
  auto kind = query_text(call, "kind");
  if (kind.empty() || std::find(std::begin(kDeviceLogKinds), std::end(kDeviceLogKinds), kind) != std::end(kDeviceLogKinds))
    return kind;
  std::string names;
  for (auto k : kDeviceLogKinds) names += (names.empty() ? "" : ", ") + std::string(k);
  answer_error(call.respond, call.who, 400, "kind: " + names + ", not " + p::text::quoted(kind));
  return std::nullopt;
}

// {id} of .../records/{id}/content: a positive decimal number.
std::optional<std::int64_t> record_id(const Call& call) {
  const auto& text = call.params.at(1);
  auto id = p::text::parse_int(text);
  if (!id || *id <= 0 || text.find_first_not_of("0123456789") != std::string::npos) {
    answer_error(call.respond, call.who, 400, "a record id is a positive number, not " + p::text::quoted(text));
    return std::nullopt;
  }
  return id;
}

void list_records(const ApiServices& s, const Call& call) {
  if (!known_device(s, call)) return;
  auto table = table_param(call);
  if (!table) return;
  auto after = id_param(call, "after_id", "a record id");
  if (!after) return;
  auto limit = limit_param(call);
  if (!limit) return;
  // Photos stay in the store: a listing says how large each is and where to get it.
  const storage::DeviceRecordFilter filter{call.params[0], *table, query_text(call, "key"), *after, *limit, false};
  read_json(s, call, [filter](storage::Reads& r) {
    Json out = Json::array();
    for (const auto& record : r.device_data().record_page(filter)) out.push_back(device_record_json(record));
    return out;
  });
}

// The record's content as it is kept: the bytes of a photo with its image type, or a template's
// base64 text.
void record_content(const ApiServices& s, const Call& call) {
  if (!known_device(s, call)) return;
  auto id = record_id(call);
  if (!id) return;
  s.store.read([id = *id](storage::Reads& r) { return r.device_data().record(id); },
               [sn = call.params[0], id = *id, who = call.who,
                respond = call.respond](storage::StoreResult<std::optional<storage::DeviceRecord>> r) {
                 if (!r.ok()) return answer_store_refusal(respond, who, r.error());
                 auto& record = r.value();
                 if (!record || record->sn != sn)
                   return answer_error(respond, who, 404, "no record " + std::to_string(id) + " of device " + p::text::quoted(sn));
                 if (record->content.empty())
                   return answer_error(respond, who, 404, "record " + std::to_string(id) + " has no photo or template");
                 const auto type = record_content_type(*record);
                 (*respond)(http::make_response(http::Status::ok, std::move(record->content), type));
               });
}

void list_log(const ApiServices& s, const Call& call) {
  if (!known_device(s, call)) return;
  auto kind = kind_param(call);
  if (!kind) return;
  auto before = id_param(call, "before_id", "a log entry id");
  if (!before) return;
  auto limit = limit_param(call);
  if (!limit) return;
  const storage::DeviceLogFilter filter{call.params[0], *kind, *before, *limit};
  read_json(s, call, [filter](storage::Reads& r) {
    Json out = Json::array();
    for (const auto& entry : r.device_data().log_page(filter)) out.push_back(device_log_json(entry));
    return out;
  });
}

void door_state_history(const ApiServices& s, const Call& call) {
  auto state = known_device(s, call);
  if (!state) return;
  auto before = id_param(call, "before_id", "a door state change id");
  if (!before) return;
  auto limit = limit_param(call);
  if (!limit) return;
  // Decoded as GET .../state decodes the current one: the device's door count and zone.
  const int doors = p::context_from_options(state->device->options).door_count;
  const int tz = s.devices.tz_minutes(*state->device);
  read_json(s, call, [sn = call.params[0], before = *before, limit = *limit, doors, tz](storage::Reads& r) {
    Json out = Json::array();
    for (const auto& change : r.door_states().history(sn, before, limit))
      out.push_back(door_state_change_json(change, doors, tz));
    return out;
  });
}

}  // namespace

void add_device_data_routes(RouteTable& table, const ApiServices& services) {
  using V = http::Verb;
  const ApiServices& s = services;  // the routes capture copies
  table.add({V::get, "/api/v1/devices/{sn}/records", Role::viewer, "listDeviceRecords",
             "Table records the device uploaded (users, identity cards, templates, biodata, photos, snapshots), "
             "oldest first; photos and templates by their content_url",
             "", "200 DeviceRecord[]",
             {{"table", "string", "only this table (user, identitycard, templatev10, biodata, biophoto, userpic, ATTPHOTO...; any case)"},
              {"key", "string", "only the record of this key (the table's key fields joined by '/': \"7/6\" for pin 7, finger 6)"},
              {"after_id", "integer", "only records with a larger id (paging: the last id seen)"},
              {"limit", "integer", "at most this many (default 100; values above 1000 give 1000)"}},
             [s](Call& c) { list_records(s, c); }});
  table.add({V::get, "/api/v1/devices/{sn}/records/{id}/content", Role::viewer, "getDeviceRecordContent",
             "The photo of a device record as an image (type by its bytes), or its template as base64 text", "",
             "200 Content", {}, [s](Call& c) { record_content(s, c); }});
  table.add({V::get, "/api/v1/devices/{sn}/log", Role::viewer, "listDeviceLog",
             "The device's log uploads (error log, irstate, Wiegand test data, enrolment results, DeviceAuthorize), "
             "newest first",
             "", "200 DeviceLogEntry[]",
             {{"kind", "string", "only this kind: errorlog, irstate, testdata, enroll_info, enroll_bio, device_authorize"},
              {"before_id", "integer", "only entries with a smaller id (paging: the last id seen)"},
              {"limit", "integer", "at most this many (default 100; values above 1000 give 1000)"}},
             [s](Call& c) { list_log(s, c); }});
  table.add({V::get, "/api/v1/devices/{sn}/state/history", Role::viewer, "listDoorStateHistory",
             "Changes of the device's door state, decoded, newest first", "", "200 DoorStateChange[]",
             {{"before_id", "integer", "only changes with a smaller id (paging: the last id seen)"},
              {"limit", "integer", "at most this many (default 100; values above 1000 give 1000)"}},
             [s](Call& c) { door_state_history(s, c); }});
  table.add({V::get, "/api/v1/devices/{sn}/options", Role::viewer, "getDeviceOptions",
             "The device's parameters, each with where its value came from (registry, options upload, GET OPTIONS)",
             "", "200 DeviceOptions", {}, [s](Call& c) {
               if (!known_device(s, c)) return;
               read_json(s, c, [sn = c.params[0]](storage::Reads& r) { return device_options_json(r.devices().options(sn)); });
             }});
}

}  // namespace zkpush::front::api
