// The OpenAPI 3.0 document of the route table: paths from the patterns, parameters from their
// {names} and each route's query list, the role as x-zkpush-role, and the shapes below (what
// views.hpp builds; docs/serve.md "JSON API" describes each field).
#include <nlohmann/json.hpp>

#include "front/api/routes.hpp"

namespace zkpush::front::api {

namespace {

using OJson = nlohmann::ordered_json;

OJson object_of(std::initializer_list<std::pair<const char*, const char*>> fields) {
  OJson props = OJson::object();
  for (const auto& [name, type] : fields) {
    std::string t = type;
    const bool nullable = !t.empty() && t.back() == '?';
    if (nullable) t.pop_back();
    OJson p = t == "object" ? OJson{{"type", "object"}, {"additionalProperties", true}}
              : t == "array" ? OJson{{"type", "array"}, {"items", {{"type", "object"}}}}
                             : OJson{{"type", t}};
    if (nullable) p["nullable"] = true;
    props[name] = p;
  }
  return OJson{{"type", "object"}, {"properties", props}};
}

OJson schema_ref_local(const char* name) { return OJson{{"$ref", std::string("#/components/schemas/") + name}}; }

OJson schemas() {
  OJson s = OJson::object();
  s["Error"] = object_of({{"error", "string"}, {"code", "string"}, {"field", "string"}});
  s["Error"]["required"] = OJson::array({"error", "code"});
  s["Device"] = object_of({{"sn", "string"}, {"online", "boolean"}, {"last_seen", "string?"}, {"approved", "boolean"},
                           {"ip", "string"}, {"firmware", "string"}, {"push_version", "string"}, {"options", "object"},
                           {"registered", "boolean"}, {"registered_at", "integer?"}, {"first_seen", "integer?"},
                           {"last_seen_unix", "integer?"}, {"time_zone", "string?"}, {"config", "object"},
                           {"pending", "integer"}});
  s["Device"]["properties"]["master"] = OJson{{"type", "string"}, {"nullable", true}};
  s["Device"]["properties"]["sub_controller"] = schema_ref_local("SubController");
  s["Device"]["properties"]["sub_controllers"] = OJson{{"type", "array"}, {"items", schema_ref_local("SubController")}};
  s["SubController"] = object_of({{"sn", "string"}, {"master", "string"}, {"online", "boolean"},
                                  {"is_authorize", "integer"}, {"state", "string"}, {"requested", "integer"},
                                  {"authorize_info", "string"}, {"register_info", "string"},
                                  {"first_seen", "integer?"}, {"last_seen", "integer?"}});
  s["SubController"]["properties"]["state"]["enum"] =
      OJson::array({"unauthorized", "authorizing", "authorized", "deauthorized"});
  s["SubControllerStep"] = object_of({{"sub_controller", "object"}, {"command_id", "integer?"}});
  s["DevicePatch"] = object_of({{"time_zone", "string?"}, {"config", "object"}});
  s["DoorState"] = object_of({{"doors", "array"}, {"time", "string?"}});
  s["DeviceDoorState"] = object_of({{"sn", "string"}, {"doors", "array"}, {"time", "string?"}});
  s["NewCommand"] = object_of({{"line", "string"}, {"expires_in", "integer?"}, {"priority", "string?"}});
  s["NewCommand"]["required"] = OJson::array({"line"});
  s["NewCommand"]["properties"]["priority"]["enum"] = OJson::array({"control", "normal", "bulk"});
  s["Command"] = object_of({{"id", "integer"}, {"sn", "string"}, {"line", "string"}, {"status", "string"},
                            {"return", "integer?"}, {"return_name", "string?"}, {"result", "object?"},
                            {"wire_id", "integer"}, {"priority", "string"}, {"expires_at", "integer?"}});
  s["Command"]["properties"]["status"]["enum"] =
      OJson::array({"queued", "sent", "done", "failed", "expired", "cancelled"});
  s["Event"] = object_of({{"id", "integer"}, {"sn", "string"}, {"time", "string"}, {"pin", "string"}, {"person_name", "string?"},
                          {"cardno", "string"}, {"event", "integer"}, {"event_name", "string"}, {"door", "integer"},
                          {"inout", "integer"}, {"verifytype", "string"}, {"verify_name", "string"},
                          {"index", "integer?"}, {"event_class", "string?"}});
  {
    OJson tally = object_of({{"total", "integer"}, {"normal", "integer"}, {"error", "integer"}, {"abnormal", "integer"},
                             {"alarm", "integer"}, {"warning", "integer"}, {"special", "integer"}, {"other", "integer"}});
    OJson hour = tally;
    hour["properties"]["hour"] = {{"type", "string"}, {"format", "date-time"}};
    OJson by_class = tally;
    by_class["properties"].erase("total");
    s["EventStats"] = object_of({{"from", "string"}, {"to", "string"}, {"hours", "integer"}, {"sn", "string?"},
                                 {"total", "integer"}, {"by_class", "object"}, {"per_hour", "array"},
                                 {"top_denials", "array"}});
    s["EventStats"]["properties"]["by_class"] = by_class;
    s["EventStats"]["properties"]["per_hour"]["items"] = hour;
    s["EventStats"]["properties"]["top_denials"]["items"] =
        object_of({{"event", "integer"}, {"name", "string?"}, {"count", "integer"}});
  }
  // What a device uploaded about itself (device_data_handlers.cpp).
  s["DeviceRecord"] = object_of({{"id", "integer"}, {"sn", "string"}, {"table", "string"}, {"key", "string"},
                                 {"fields", "object"}, {"content_field", "string?"}, {"content_encoding", "string?"},
                                 {"content_bytes", "integer"}, {"content_url", "string?"}, {"updated_at", "integer?"}});
  s["DeviceRecord"]["properties"]["content_encoding"]["enum"] = OJson::array({"binary", "base64"});
  s["Content"] = OJson{{"type", "string"}, {"format", "binary"},
                       {"description", "a photo (image/jpeg, image/png, image/gif, image/bmp by its bytes, else "
                                       "application/octet-stream) or a template's base64 text (text/plain)"}};
  s["DeviceLogEntry"] = object_of({{"id", "integer"}, {"sn", "string"}, {"kind", "string"}, {"data", "string"},
                                   {"fields", "object"}, {"decoded", "object?"}, {"meaning", "string?"},
                                   {"received_at", "integer?"}});
  s["DeviceLogEntry"]["properties"]["decoded"]["description"] =
      "errorlog, irstate and testdata entries: the fields as the catalogue reads them (null for the other kinds)";
  s["DeviceLogEntry"]["properties"]["meaning"]["description"] = "errorlog entries: the Appendix 17 meaning of errcode";
  s["DoorStateChange"] = object_of({{"id", "integer"}, {"sn", "string"}, {"doors", "array"}, {"time", "string?"},
                                    {"time_utc", "integer?"}, {"received_at", "integer?"}, {"sensor", "string"},
                                    {"relay", "string"}, {"alarm", "string"}});
  s["DeviceOptions"] = OJson{{"type", "object"},
                             {"additionalProperties", object_of({{"value", "string"}, {"source", "string"},
                                                                 {"updated_at", "integer?"}})}};
  // The wire trace (trace_handlers.cpp).
  s["TraceMessage"] = object_of({{"headers", "object"}, {"body", "string"}, {"bytes", "integer"}, {"truncated", "boolean"}});
  s["TraceExchange"] = object_of({{"seq", "integer"}, {"last_seq", "integer"}, {"time", "string"},
                                  {"time_unix_ms", "integer"}, {"last_time", "string"}, {"last_time_unix_ms", "integer"},
                                  {"repeat", "integer"}, {"method", "string"}, {"target", "string"},
                                  {"endpoint", "string"}, {"duration_ms", "number"}, {"status", "integer"},
                                  {"request", "object"}, {"response", "object"}, {"decoded", "object"}});
  s["TraceExchange"]["properties"]["request"] = schema_ref_local("TraceMessage");
  s["TraceExchange"]["properties"]["response"] = schema_ref_local("TraceMessage");
  s["DeviceTrace"] = object_of({{"sn", "string"}, {"enabled", "boolean"}, {"depth", "integer"}, {"exchanges", "array"}});
  s["DeviceTrace"]["properties"]["exchanges"]["items"] = schema_ref_local("TraceExchange");
  s["TraceCleared"] = object_of({{"sn", "string"}, {"enabled", "boolean"}, {"cleared", "integer"}});
  // The access domain (docs/access.md).
  s["Person"] = object_of({{"pin", "string"}, {"name", "string"}, {"cards", "array"}, {"lost_cards", "array"},
                           {"access_levels", "array"}, {"credentials", "array"}, {"privilege", "integer"},
                           {"group", "integer"}, {"has_password", "boolean"}, {"valid_from", "string?"},
                           {"valid_until", "string?"}, {"disabled", "boolean"}, {"enrolled_at", "string?"},
                           {"created_at", "integer"}, {"updated_at", "integer"}});
  s["Person"]["properties"]["cards"]["items"] = {{"type", "string"}};
  s["Person"]["properties"]["lost_cards"]["items"] = {{"type", "string"}};
  s["Person"]["properties"]["access_levels"]["items"] = {{"type", "integer"}};
  s["PersonPatch"] = object_of({{"name", "string"}, {"cards", "array"}, {"lost_cards", "array"},
                                {"access_levels", "array"}, {"password", "string"}, {"privilege", "integer"},
                                {"group", "integer"}, {"valid_from", "string?"}, {"valid_until", "string?"},
                                {"disabled", "boolean"}});
  s["PersonPatch"]["properties"]["cards"]["items"] = {{"type", "string"}};
  s["PersonPatch"]["properties"]["lost_cards"]["items"] = {{"type", "string"}};
  s["PersonPatch"]["properties"]["access_levels"]["items"] = {{"type", "integer"}};
  s["NewPerson"] = s["PersonPatch"];
  s["NewPerson"]["properties"]["pin"] = {{"type", "string"}};
  s["NewPerson"]["required"] = OJson::array({"pin"});
  s["Credential"] = object_of({{"id", "integer"}, {"type", "string"}, {"finger", "integer"}, {"no", "integer"},
                               {"bio_type", "integer"}, {"index", "integer"}, {"format", "string"},
                               {"version", "string?"}, {"duress", "boolean"}, {"enrolled_at", "string?"},
                               {"created_at", "integer"}});
  s["Person"]["properties"]["credentials"]["items"] = {{"$ref", "#/components/schemas/Credential"}};
  s["NewCredential"] = object_of({{"type", "string"}, {"finger", "integer"}, {"no", "integer"}, {"index", "integer"},
                                  {"template", "string"}, {"photo", "string"}, {"version", "string"},
                                  {"duress", "boolean"}});
  s["NewCredential"]["required"] = OJson::array({"type"});
  s["Door"] = object_of({{"sn", "string"}, {"door", "integer"}, {"name", "string"}, {"settings", "object"},
                         {"access_levels", "array"}});
  s["PanelDoors"] = object_of({{"sn", "string"}, {"registered", "boolean"}, {"lock_count", "integer"},
                               {"reader_count", "integer"}, {"aux_in_count", "integer"}, {"aux_out_count", "integer"},
                               {"settings", "object"}, {"doors", "array"}});
  s["PanelDoors"]["properties"]["doors"]["items"] = {{"$ref", "#/components/schemas/Door"}};
  s["DoorPatch"] = object_of({{"name", "string"}, {"drive_time", "integer"}, {"sensor_type", "integer"},
                              {"sensor_delay", "integer"}, {"verify_mode", "integer"},
                              {"normal_open_time_rule_id", "integer"}, {"active_time_rule_id", "integer"},
                              {"duress_password", "string"}, {"emergency_password", "string"},
                              {"lock_on_close", "boolean"}, {"first_card", "integer"}, {"multi_card", "boolean"},
                              {"in_out_anti_passback", "integer"}, {"first_card_persons", "array"},
                              {"multi_card_groups", "array"}});
  s["PanelSettingsPatch"] = object_of({{"anti_passback", "integer"}, {"interlock", "integer"}, {"dst", "boolean"},
                                       {"linkages", "array"}, {"dst_rules", "array"}});
  s["DoorOpen"] = object_of({{"seconds", "integer"}});
  s["DoorNormalOpen"] = object_of({{"enable", "boolean"}});
  s["ControlAction"] = object_of({{"action", "integer"}, {"bb", "integer"}, {"cc", "integer"}, {"dd", "integer"},
                                  {"floors", "array"}});
  s["ControlAction"]["required"] = OJson::array({"action"});
  s["ControlAction"]["properties"]["floors"]["items"] = OJson{{"type", "integer"}};
  s["ControlAction"]["description"] =
      "CONTROL DEVICE AABBCCDD (manual 9.4) by its groups: action 1-18, bb/cc/dd 0-255 (default 0), floors "
      "1-256 in place of bb for the elevator actions 17 and 18";
  s["DeviceTime"] = object_of({{"time", "string"}});
  s["OptionKeys"] = object_of({{"keys", "array"}});
  s["OptionKeys"]["properties"]["keys"]["items"] = {{"type", "string"}};
  s["OptionValues"] = object_of({{"options", "object"}});
  s["Token"] = object_of({{"id", "integer"}, {"name", "string"}, {"role", "string"}, {"created_at", "integer"},
                          {"revoked_at", "integer?"}});
  s["Me"] = object_of({{"role", "string"}, {"name", "string"}, {"token_id", "integer?"}, {"actor", "string"}});
  s["Me"]["properties"]["role"]["enum"] = OJson::array({"admin", "operator", "viewer"});
  s["MadeToken"] = s["Token"];
  s["MadeToken"]["properties"]["token"] = {{"type", "string"}};
  s["NewToken"] = object_of({{"name", "string"}, {"role", "string"}});
  s["NewToken"]["required"] = OJson::array({"name", "role"});
  s["TimeRule"] = object_of({{"id", "integer"}, {"name", "string"}, {"segments", "object"}});
  s["NewTimeRule"] = object_of({{"name", "string"}, {"segments", "object"}});
  s["Holiday"] = object_of({{"id", "integer"}, {"name", "string"}, {"start", "string"}, {"end", "string"},
                            {"type", "integer"}, {"yearly", "boolean"}});
  s["NewHoliday"] = object_of({{"name", "string"}, {"date", "string"}, {"start", "string"}, {"end", "string"},
                               {"type", "integer"}, {"yearly", "boolean"}});
  s["AccessLevel"] = object_of({{"id", "integer"}, {"name", "string"}, {"time_rule_id", "integer"}, {"doors", "array"}});
  s["NewAccessLevel"] = object_of({{"name", "string"}, {"time_rule_id", "integer"}, {"doors", "array"}});
  s["SyncStatus"] = object_of({{"pending", "integer"}, {"applied", "integer"}, {"failed", "integer"},
                               {"errors", "array"}, {"commands", "integer"}, {"in_flight", "integer"},
                               {"checked_at", "integer?"}, {"check", "string"}, {"check_pending", "boolean"},
                               {"unmanaged", "array"}});
  s["PanelSync"] = object_of({{"sn", "string"}, {"pending", "integer"}, {"applied", "integer"}, {"failed", "integer"},
                              {"in_flight", "integer"}, {"commands", "integer"}});
  s["ApbZone"] = object_of({{"id", "integer"}, {"name", "string"}, {"mode", "string"}, {"minutes", "integer?"}, {"doors", "array"}});
  s["NewApbZone"] = object_of({{"name", "string"}, {"mode", "string"}, {"minutes", "integer"}, {"doors", "array"}});
  s["ApbPresence"] = object_of({{"pin", "string"}, {"inside", "boolean"}, {"entered_at", "integer?"}, {"exited_at", "integer?"}});
  s["ApbReset"] = object_of({{"pin", "string"}});
  s["ApbResetDone"] = object_of({{"id", "integer"}, {"pin", "string?"}, {"reset", "integer"}});
  s["Enrolment"] = object_of({{"sn", "string"}, {"type", "string"}, {"finger", "integer"}, {"no", "integer"},
                              {"retry", "integer"}, {"overwrite", "boolean"}});
  s["EnrolmentQueued"] = object_of({{"pin", "string"}, {"sn", "string"}, {"type", "string"}, {"command", "object"},
                                    {"commands", "array"}});
  s["PersonSync"] = object_of({{"sn", "string"}, {"state", "string"}, {"should_hold", "boolean"},
                               {"holds", "boolean"}, {"error", "string?"}, {"return", "integer?"},
                               {"attempts", "integer"}, {"updated_at", "integer?"}, {"retry_at", "integer?"}});
  s["PersonSync"]["properties"]["state"]["enum"] = OJson::array({"pending", "sending", "applied", "failed"});
  s["Resync"] = object_of({{"clear", "boolean"}});
  s["Replace"] = object_of({{"by", "string"}});
  s["Replace"]["required"] = OJson::array({"by"});
  s["Replaced"] = object_of({{"replaced", "string"}, {"by", "string"}});
  s["Deleted"] = object_of({{"deleted", "boolean"}});
  s["Lockout"] = object_of({{"scope", "string"}, {"key", "string"}, {"sn", "string"}, {"address", "string"},
                            {"failures", "integer"}, {"since", "integer"}, {"until", "integer"}});
  s["Lockout"]["properties"]["scope"]["enum"] = OJson::array({"device", "address"});
  s["PersonImport"] = OJson{{"type", "array"}, {"items", schema_ref_local("NewPerson")},
                            {"description", "or text/csv with a header row: pin,name,cards,access_levels,... (lists separated by ';')"}};
  s["Job"] = object_of({{"id", "integer"}, {"kind", "string"}, {"state", "string"}, {"total", "integer"},
                        {"processed", "integer"}, {"created", "integer"}, {"updated", "integer"}, {"failed", "integer"},
                        {"errors", "array"}, {"error", "string?"}, {"started_at", "integer"}, {"finished_at", "integer?"}});
  s["Webhook"] = object_of({{"id", "integer"}, {"url", "string"}, {"events", "array"}, {"sn", "string?"},
                            {"max_attempts", "integer"}, {"cursor", "integer"}, {"delivered", "integer"},
                            {"dead_letters", "integer"}, {"last_status", "integer?"}, {"last_error", "string?"},
                            {"last_attempt_at", "integer?"}, {"last_success_at", "integer?"}, {"created_at", "integer"}});
  s["Webhook"]["properties"]["events"]["items"] = {{"type", "string"}};
  s["NewWebhook"] = object_of({{"url", "string"}, {"secret", "string"}, {"events", "array"}, {"sn", "string"},
                               {"max_attempts", "integer"}});
  s["NewWebhook"]["properties"]["events"]["items"] = {{"type", "string"}, {"enum", {"*", "event", "door_state", "command", "device", "sync", "security"}}};
  s["NewWebhook"]["required"] = OJson::array({"url", "secret"});
  s["DeadLetter"] = object_of({{"id", "integer"}, {"message_id", "integer"}, {"attempts", "integer"},
                               {"last_status", "integer?"}, {"last_error", "string"}, {"failed_at", "integer"},
                               {"redeliver", "boolean"}});
  s["Redeliver"] = object_of({{"ids", "array"}});
  s["Redelivering"] = object_of({{"redelivering", "integer"}});
  s["AuditEntry"] = object_of({{"id", "integer"}, {"at", "integer"}, {"actor", "string"}, {"role", "string?"},
                               {"remote", "string"}, {"method", "string"}, {"target", "string"},
                               {"operation", "string?"}, {"status", "integer"}, {"hash", "string"}});
  s["AuditVerdict"] = object_of({{"intact", "boolean"}, {"entries", "integer"}, {"last_id", "integer"},
                                 {"last_hash", "string"}, {"broken_id", "integer"}, {"problem", "string"},
                                 {"why", "string"}});
  s["File"] = object_of({{"name", "string"}, {"size", "integer"}, {"md5", "string"}, {"modified", "integer"},
                         {"created_at", "integer"}});
  s["NewCampaign"] = object_of({{"file", "string"}, {"devices", "array"}, {"method", "string"}, {"type", "string"},
                                {"url_base", "string"}});
  s["NewCampaign"]["properties"]["devices"] = {
      {"oneOf", {{{"type", "array"}, {"items", {{"type", "string"}}}}, {{"type", "string"}, {"enum", {"all"}}}}}};
  s["NewCampaign"]["properties"]["method"] = {
      {"oneOf", {{{"type", "string"}, {"enum", {"auto"}}}, {{"type", "integer"}, {"enum", {1, 2, 3}}}}}};
  s["NewCampaign"]["required"] = OJson::array({"file", "devices"});
  s["CampaignTarget"] = object_of({{"sn", "string"}, {"method", "integer"}, {"url", "string"}, {"command_id", "integer"},
                                   {"state", "string"}, {"bytes", "integer"}, {"progress", "integer"},
                                   {"return", "integer?"}, {"return_name", "string?"}, {"sent_at", "integer?"},
                                   {"done_at", "integer?"}});
  s["CampaignTarget"]["properties"]["state"]["enum"] =
      OJson::array({"queued", "sent", "downloading", "succeeded", "failed", "expired", "cancelled", "removed"});
  s["Campaign"] = object_of({{"id", "integer"}, {"file", "string"}, {"size", "integer"}, {"md5", "string"},
                             {"method", "string"}, {"type", "string"}, {"url_base", "string"}, {"created_by", "string"},
                             {"created_at", "integer"}, {"cancelled_at", "integer?"}, {"state", "string"},
                             {"counts", "object"}, {"targets", "array"}});
  s["Campaign"]["properties"]["targets"]["items"] = schema_ref_local("CampaignTarget");
  s["Campaign"]["properties"]["method"] = s["NewCampaign"]["properties"]["method"];
  s["Campaign"]["properties"]["state"]["enum"] = OJson::array({"running", "finished", "cancelled"});
  s["OpenApi"] = OJson{{"type", "object"}};
  return s;
}

OJson schema_ref(std::string_view name) {
  if (name.size() > 2 && name.substr(name.size() - 2) == "[]") {
    return OJson{{"type", "array"}, {"items", schema_ref(name.substr(0, name.size() - 2))}};
  }
  return OJson{{"$ref", "#/components/schemas/" + std::string(name)}};
}

OJson error_response(const char* description) {
  return OJson{{"description", description}, {"content", {{"application/json", {{"schema", schema_ref("Error")}}}}}};
}

}  // namespace

std::string openapi_document(const RouteTable& table) {
  OJson doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "zkpush management API"}, {"version", "1"},
                 {"description", "JSON API of zkpush serve; see docs/serve.md. Roles: x-zkpush-role."}};
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"] = schemas();
  OJson paths = OJson::object();
  for (const auto& route : table.routes()) {
    std::string method(boost::beast::http::to_string(route.method));
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    OJson op;
    op["operationId"] = route.operation;
    op["summary"] = route.summary;
    op["x-zkpush-role"] = role_name(route.role);
    op["security"] = route.role == Role::open ? OJson::array() : OJson::array({{{"bearer", OJson::array()}}});
    OJson params = OJson::array();
    for (const auto& segment : path_segments(route.pattern)) {
      if (segment.size() > 2 && segment.front() == '{') {
        params.push_back({{"name", segment.substr(1, segment.size() - 2)}, {"in", "path"}, {"required", true},
                          {"schema", {{"type", "string"}}}});
      }
    }
    for (const auto& q : route.query) {
      params.push_back({{"name", q.name}, {"in", "query"}, {"required", false}, {"description", q.description},
                        {"schema", {{"type", q.type}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (!route.request_body.empty()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", schema_ref(route.request_body)}}}}}};
    }
    const std::string_view response = route.response;
    const auto space = response.find(' ');
    OJson responses;
    // "200 Event[]": a JSON schema; "200 text/csv": a media type, the body a string; "200 Content":
    // bytes (a photo or a template).
    const std::string_view answer = response.substr(space + 1);
    const bool media = answer.find('/') != std::string_view::npos;
    OJson content = OJson::object();
    if (answer == "Content") {
      for (const char* type : {"image/jpeg", "image/png", "image/gif", "image/bmp", "application/octet-stream", "text/plain"})
        content[type] = {{"schema", schema_ref(answer)}};
    } else {
      content[std::string(media ? answer : "application/json")] = {
          {"schema", media ? OJson{{"type", "string"}} : schema_ref(answer)}};
    }
    responses[std::string(response.substr(0, space))] = {{"description", "success"}, {"content", content}};
    if (route.role != Role::open) responses["401"] = error_response("missing or wrong bearer token");
    if (!params.empty() || !route.request_body.empty()) responses["400"] = error_response("bad request");
    if (route.pattern.find('{') != std::string_view::npos) responses["404"] = error_response("no such object");
    op["responses"] = responses;
    paths[std::string(route.pattern)][method] = op;
  }
  doc["paths"] = paths;
  return doc.dump(2);
}

}  // namespace zkpush::front::api
