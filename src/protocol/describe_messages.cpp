#include "protocol/describe_messages.hpp"

#include <string>

#include "protocol/enums.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using json = nlohmann::ordered_json;

namespace {

std::string utf8(std::string_view s) { return text::sanitize_utf8(s); }

// Tables whose records describe the event fields of rtlog (remote identification sends an event).
std::string_view describe_table_for(const DeviceRequest& request) {
  if (request.endpoint == Endpoint::remote_auth) return "rtlog";
  return request.table;
}

json describe_count_body(const Record& record) {
  json out = json::object();
  for (const Field& f : record.fields) {
    if (auto n = text::parse_int(f.value)) out[utf8(f.key)] = {{"table", utf8(f.key)}, {"count", *n}};
    else out[utf8(f.key)] = utf8(f.value);
  }
  return out;
}

std::string hex2(std::uint8_t v) { return text::to_hex(&v, 1, true); }

std::string door_text(unsigned door) { return door == 0 ? "all" : std::to_string(door); }

json duration_json(std::uint8_t dd) {
  if (dd == ControlDevice::close) return "close";
  if (dd == ControlDevice::hold_open) return "normal open";
  return json{{"seconds", dd}};
}

}  // namespace

json record_json(const Record& record) {
  json out = json::object();
  for (const Field& f : record.fields) {
    std::string key = utf8(f.key);
    if (out.contains(key)) {
      int n = 2;
      while (out.contains(key + "#" + std::to_string(n))) ++n;
      key += "#" + std::to_string(n);
    }
    out[key] = f.has_value ? json(utf8(f.value)) : json(nullptr);
  }
  return out;
}

json describe_request(const DeviceRequest& request, const DescribeContext& ctx) {
  json out;
  out["endpoint"] = std::string(endpoint_id(request.endpoint));
  out["method"] = request.method;
  out["path"] = utf8(request.path);
  out["query"] = record_json(request.query);
  out["sn"] = utf8(request.sn);
  out["table"] = utf8(request.table);

  json records = json::array();
  json decoded = json::array();
  std::string_view table = describe_table_for(request);
  for (const Record& r : request.records) {
    records.push_back(record_json(r));
    switch (request.endpoint) {
      case Endpoint::devicecmd: {
        auto result = parse_command_result(format_amp_list(r));
        decoded.push_back(result ? describe_result(*result) : json{{"error", result.error().to_string()}});
        break;
      }
      case Endpoint::querydata_count:
        decoded.push_back(describe_count_body(r));
        break;
      case Endpoint::registry:
      case Endpoint::upload_options:
      case Endpoint::querydata_options:
        decoded.push_back(describe_options(r, context_from_options(r, ctx)));
        break;
      default:
        decoded.push_back(describe_record(table, r, ctx));
    }
  }
  out["records"] = std::move(records);
  out["decoded"] = std::move(decoded);

  const Pagination& p = request.pagination;
  if (!p.cmdid.empty() || p.count || p.packcnt || p.packidx || p.fileseq) {
    json pj = json::object();
    if (!p.cmdid.empty()) pj["cmdid"] = utf8(p.cmdid);
    if (p.count) pj["count"] = *p.count;
    if (p.packcnt) pj["packcnt"] = *p.packcnt;
    if (p.packidx) pj["packidx"] = *p.packidx;
    if (p.fileseq) pj["fileseq"] = *p.fileseq;
    out["pagination"] = std::move(pj);
  }
  if (request.archive) {
    json files = json::array();
    for (const ArchiveEntry& e : request.archive->files) files.push_back({{"name", utf8(e.name)}, {"bytes", e.bytes.size()}});
    out["archive"] = {{"header", record_json(request.archive->header)},
                      {"bytes", request.archive->data.size()},
                      {"files", std::move(files)}};
  }
  if (!request.notes.empty()) {
    json notes = json::array();
    for (const auto& n : request.notes) notes.push_back(utf8(n));
    out["notes"] = std::move(notes);
  }
  return out;
}

json describe_control_device(const ControlDevice& c) {
  json out;
  std::string_view name = control_code_name(c.aa);
  out["action"] = name.empty() ? json(nullptr) : json(std::string(name));
  out["code"] = hex2(c.aa);
  switch (c.aa) {
    case 1:
      out["door"] = door_text(c.bb);
      out["target"] = c.cc == 1 ? "lock" : c.cc == 2 ? "auxiliary output" : "unknown";
      out["duration"] = duration_json(c.dd);
      break;
    case 2:
    case 4:
    case 6:
      out["door"] = door_text(c.bb);
      if (c.aa == 4) out["normal_open"] = c.cc == 1 ? "enable" : "disable";
      if (c.aa == 6) out["lock"] = c.cc == 1 ? "lock" : "unlock";
      break;
    case 3:
      out["device"] = c.bb == 0 ? "this device" : std::to_string(c.bb);
      break;
    case 7:
      out["emergency"] = c.bb == 1 ? "dual open" : c.bb == 2 ? "dual close" : "unknown";
      break;
    case 9:
      out["wiegand_test"] = c.bb == 1 ? "start" : c.bb == 2 ? "stop" : "unknown";
      break;
    case 12:
      out["id_card_registration"] = c.bb == 1 ? "enable" : "disable";
      out["door"] = door_text(c.cc);
      out["timeout"] = c.dd;
      break;
    case 17:
    case 18: {
      json floors = json::array();
      if (c.floors)
        for (unsigned f : floors_of(*c.floors)) floors.push_back(f);
      out["floors"] = std::move(floors);
      out["duration"] = duration_json(c.dd);
      break;
    }
    default:
      out["bb"] = hex2(c.bb);
      out["cc"] = hex2(c.cc);
      out["dd"] = hex2(c.dd);
  }
  if (c.ee) out["operator"] = hex2(*c.ee);
  return out;
}

namespace {

struct CommandView {
  std::string table;
  json records = json::array();
  json decoded = json::array();
};

json enroll_params(const Record& params, bool bio) {
  json out = describe_record("", params);
  if (auto type = params.get_int("TYPE")) {
    json name = nullptr;
    if (bio) {
      if (auto n = biometric_type_name(*type)) name = std::string(*n);
    } else if (const EnumEntry* e = find_enum_entry("enroll", std::to_string(*type), "ENROLL_INFO.TYPE")) {
      name = std::string(e->name);
    }
    out["TYPE"] = {{"code", *type}, {"name", std::move(name)}};
  }
  for (const char* group : {"MODE", "OVERWRITE"})
    if (auto v = params.get(group))
      if (const EnumEntry* e = find_enum_entry("enroll", *v, group))
        out[group] = {{"code", std::string(*v)}, {"name", std::string(e->name)}};
  return out;
}

CommandView view_of(const Command& command, const DescribeContext& ctx) {
  CommandView v;
  auto table_name = [&](const std::string& wire) {
    const TableSpec* t = effective_table(command);
    return t ? std::string(t->name) : wire;
  };
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DataUpdate>) {
          v.table = body.table;
          for (const Record& r : body.records) {
            v.records.push_back(record_json(r));
            v.decoded.push_back(describe_record(table_name(body.table), r, ctx));
          }
        } else if constexpr (std::is_same_v<T, DataDelete> || std::is_same_v<T, DataCount>) {
          v.table = body.table;
          v.records.push_back(record_json(body.conditions));
          json d = describe_record(table_name(body.table), body.conditions, ctx);
          bool whole = body.all || body.conditions.empty();
          v.decoded.push_back({{"whole_table", whole}, {"conditions", std::move(d)}});
        } else if constexpr (std::is_same_v<T, DataQuery>) {
          v.table = body.table;
          Record wire{{"tablename", body.table}, {"fielddesc", body.fielddesc}};
          wire.add("filter", body.filter.empty() ? body.filter_text : format_tab_record(body.filter));
          v.records.push_back(record_json(wire));
          json filter = body.filter.empty() ? json(utf8(body.filter_text))
                                            : json(describe_record(table_name(body.table), body.filter, ctx));
          v.decoded.push_back({{"table", utf8(body.table)}, {"fields", utf8(body.fielddesc)}, {"filter", filter}});
        } else if constexpr (std::is_same_v<T, AccountCommand>) {
          v.table = body.table;
          Record wire;
          json d;
          switch (body.form) {
            case AccountForm::pullsdk:
              wire.add("ContentType", body.content_type).add("MaxIndex", std::to_string(body.max_index));
              d = {{"form", "pull SDK (tgz through querydata)"}, {"records_after_index", body.max_index}};
              break;
            case AccountForm::max_index:
              wire.add("MaxIndex", std::to_string(body.max_index));
              d = {{"form", "controller (overview + files)"}, {"records_after_index", body.max_index}};
              break;
            case AccountForm::index_range:
              wire.add("StartIndex", std::to_string(body.start_index)).add("EndIndex", std::to_string(body.end_index));
              d = {{"form", "controller (overview + files)"}, {"first_index", body.start_index},
                   {"last_index", body.end_index}};
              break;
            case AccountForm::time_range:
              wire.add("StartTime", body.start_time).add("EndTime", body.end_time);
              d = {{"form", "controller (overview + files)"}, {"from", utf8(body.start_time)}, {"to", utf8(body.end_time)}};
              break;
          }
          v.records.push_back(record_json(wire));
          v.decoded.push_back(std::move(d));
        } else if constexpr (std::is_same_v<T, TestHost>) {
          v.records.push_back(record_json(Record{{"Address", body.address}}));
          std::size_t colon = body.address.rfind(':');
          json d = {{"host", utf8(body.address.substr(0, colon))}};
          if (colon != std::string::npos) d["port"] = utf8(body.address.substr(colon + 1));
          v.decoded.push_back(std::move(d));
        } else if constexpr (std::is_same_v<T, ControlDevice>) {
          Record wire{{"AA", hex2(body.aa)}};
          if (body.floors) wire.add("BB", text::to_hex(body.floors->data(), body.floors->size(), true));
          else wire.add("BB", hex2(body.bb));
          wire.add("CC", hex2(body.cc)).add("DD", hex2(body.dd));
          if (body.ee) wire.add("EE", hex2(*body.ee));
          v.records.push_back(record_json(wire));
          v.decoded.push_back(describe_control_device(body));
        } else if constexpr (std::is_same_v<T, Upgrade>) {
          Record wire;
          if (body.method == 2) wire.add("type", body.type);
          wire.add("checksum", body.checksum).add("url", body.url).add("size", std::to_string(body.size));
          if (body.support_subcontracting) wire.add("supportsubcontracting", std::to_string(*body.support_subcontracting));
          v.records.push_back(record_json(wire));
          json d = {{"method", body.method},
                    {"download", body.method == 3 ? "GET of the URL itself, in HTTP Range pieces"
                                 : body.method == 1 ? "GET /iclock/file, base64 of the file"
                                                    : "GET /iclock/file, the file as is"},
                    {"url", utf8(body.url)},
                    {"size", body.size},
                    {"md5", utf8(body.checksum)}};
          v.decoded.push_back(std::move(d));
        } else if constexpr (std::is_same_v<T, SetOptions> || std::is_same_v<T, SetAdscreenOptions>) {
          v.records.push_back(record_json(body.options));
          v.decoded.push_back(describe_options(body.options, ctx));
        } else if constexpr (std::is_same_v<T, GetOptions>) {
          Record wire;
          json keys = json::array();
          for (const auto& k : body.keys) {
            wire.fields.push_back(Field{k, {}, false});
            keys.push_back(utf8(k));
          }
          v.records.push_back(record_json(wire));
          v.decoded.push_back({{"keys", std::move(keys)}});
        } else if constexpr (std::is_same_v<T, EnrollInfo>) {
          v.records.push_back(record_json(body.params));
          v.decoded.push_back(enroll_params(body.params, false));
        } else if constexpr (std::is_same_v<T, EnrollBio>) {
          v.records.push_back(record_json(body.params));
          v.decoded.push_back(enroll_params(body.params, true));
        } else if constexpr (std::is_same_v<T, UnknownCommand>) {
          v.records.push_back(record_json(Record{{"verb", body.verb}, {"detail", body.detail}}));
          v.decoded.push_back({{"unknown_verb", utf8(body.verb)}});
        }
      },
      command.body);
  return v;
}

}  // namespace

json describe_command(const Command& command, const DescribeContext& ctx) {
  CommandView view = view_of(command, ctx);
  json out;
  out["id"] = utf8(command.id);
  out["verb"] = command.verb() == Verb::unknown ? json(nullptr) : json(std::string(verb_name(command.verb())));
  std::string_view cid = catalogue_id(command);
  out["catalogue_id"] = cid.empty() ? json(nullptr) : json(std::string(cid));
  out["table"] = view.table.empty() ? json(nullptr) : json(utf8(view.table));
  if (const TableSpec* t = effective_table(command); t && !text::iequals(t->name, view.table))
    out["acts_on_table"] = std::string(t->name);
  out["records"] = std::move(view.records);
  out["decoded"] = std::move(view.decoded);
  if (command.envelope) {
    json env = {{"DataType", command.envelope->data_type}, {"SN", utf8(command.envelope->sn)}};
    if (command.envelope->priority) env["Priority"] = *command.envelope->priority;
    out["envelope"] = std::move(env);
  }
  return out;
}

json describe_result(const CommandResult& result, std::optional<Verb> verb) {
  json out;
  out["id"] = utf8(result.id);
  std::optional<Verb> v = verb ? verb : verb_of_result_cmd(result.cmd);
  json ret = {{"code", result.return_code}};
  if (v) {
    ReturnMeaning m = interpret_return(*v, result.return_code);
    ret["kind"] = return_kind_name(m.kind);
    if (m.kind == ReturnKind::count) ret["records"] = m.value;
    ret["name"] = m.name ? json(std::string(*m.name)) : json(nullptr);
  } else {
    // CMD=DATA names no single verb: without the command, a non-negative Return may be a status
    // or a record count; say so instead of guessing.
    auto name = return_code_name(result.return_code);
    ret["kind"] = result.return_code >= 0 ? "ok_or_count" : "failed";
    ret["name"] = name ? json(std::string(*name)) : json(nullptr);
  }
  out["return"] = std::move(ret);
  out["cmd"] = utf8(result.cmd);
  if (result.sn) out["sn"] = utf8(*result.sn);
  json extra = json::object();
  for (const Field& f : result.extra_fields()) extra[utf8(f.key)] = f.has_value ? json(utf8(f.value)) : json(nullptr);
  if (!extra.empty()) out["extra"] = std::move(extra);
  return out;
}

}  // namespace zkpush::protocol
