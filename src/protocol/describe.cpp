#include "protocol/describe.hpp"

#include "protocol/codecs.hpp"
#include "protocol/describe_values.hpp"
#include "protocol/schema.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

using describe_detail::Json;
namespace dd = describe_detail;

namespace {

// What a field means, given its table, its spec (nullptr when the table does not list it) and the
// rest of its record (nullptr when described alone).
Json describe_field(std::string_view table, const FieldSpec* spec, std::string_view key, std::string_view value,
                    const Record* record, const DescribeContext& ctx) {
  using text::iequals;
  const FieldType type = spec ? spec->type : FieldType::text;

  // Keys whose meaning does not depend on the table (or whose table gives them a plain type).
  if (iequals(key, "Return")) return dd::return_json(value, record ? record->get_or("CMD", "") : "");
  if (iequals(key, "event") || iequals(key, "eventtype")) return dd::event_json(value);
  if (iequals(key, "verifytype") || iequals(key, "verify") || iequals(key, "verified") ||
      iequals(key, "DoorVerifyType"))
    return dd::verify_json(value);
  if (iequals(key, "cardno") && (!spec || type == FieldType::cardno || type == FieldType::text))
    return dd::card_json(value);
  if (iequals(key, "inoutstatus") || iequals(key, "inoutstate")) return dd::inout_json(value);
  if (iequals(key, "AuthorizeFloors")) return dd::floors_json(value);
  if (iequals(key, "AuthorizeDoorId")) return dd::doors_json(value, ctx.one_door_authorize);
  if (iequals(key, "errcode")) return dd::errorlog_json(value);
  if (!spec && iequals(key, "time")) {
    auto t = parse_datetime(value);
    return t ? Json(format_iso8601(*t)) : dd::text_json(value, ctx);
  }

  // Table-specific encodings the field types do not capture.
  if (iequals(table, "DSTSetting") && (iequals(key, "StartTime") || iequals(key, "EndTime"))) return dd::dst_json(value);
  if (iequals(table, "templatev10") && iequals(key, "fingerid")) {
    // Uploads mark a duress finger as finger+16 (7.7).
    auto id = text::parse_int(value);
    if (!id || *id < 0 || *id > 99) return dd::number_or_text(value, ctx);
    const auto valid = record ? text::parse_int(record->get_or("valid", "1")) : std::optional<std::int64_t>(1);
    FingerMark mark = templatev10_from_upload(static_cast<int>(*id), valid && *valid == 3 ? 3 : 1);
    Json j = Json::object();
    j["finger"] = mark.finger;
    j["duress"] = mark.duress;
    return j;
  }
  if (iequals(table, "DevParameters") && iequals(key, "Value") && record) {
    std::string_view name = record->get_or("Name", "");
    auto n = text::parse_int(value);
    if (n && iequals(name, "AntiPassback")) return dd::code_json(value, apb_name(*n));
    if (n && iequals(name, "InterLock")) return dd::code_json(value, interlock_name(*n));
  }

  switch (type) {
    case FieldType::integer:
      if (spec && !spec->enum_ref.empty()) return dd::enum_ref_json(spec->enum_ref, value);
      return dd::number_or_text(value, ctx);
    case FieldType::boolean: return dd::boolean_json(value, ctx);
    case FieldType::enumerated: return dd::enumerated_json(*spec, value, ctx);
    case FieldType::base64: return dd::base64_json(value);
    case FieldType::date8: return dd::date8_json(value);
    case FieldType::zktime:
      // userauthorize / timezone validity bounds: 0 is "no limit" like the user's.
      return dd::zktime_json(value, iequals(key, "StartTime") || iequals(key, "EndTime"));
    case FieldType::zktime_or_date8: return dd::validity_json(value, ctx);
    case FieldType::datetime: return dd::datetime_json(value);
    case FieldType::timerange: return dd::timerange_json(value);
    case FieldType::doormask: return dd::doors_json(value, ctx.one_door_authorize);
    case FieldType::cardno: return dd::card_json(value);
    case FieldType::bitmask: return dd::bitmask_json(*spec, value, ctx);
    case FieldType::verifytype: return dd::verify_json(value);
    case FieldType::hex:
    case FieldType::text: break;
  }
  if (spec && !spec->enum_ref.empty()) return dd::enum_ref_json(spec->enum_ref, value);
  return dd::text_json(value, ctx);
}

// The spec of a key: a list spelling it exactly wins, so an upload's "valid" gets the upload's
// value names and a command's "Valid" the command's; otherwise any case, update list first.
const FieldSpec* field_spec(const TableSpec* table, std::string_view key) {
  if (!table) return nullptr;
  for (auto list : {table->update_fields, table->upload_fields})
    for (const FieldSpec& f : list)
      if (f.name == key) return &f;
  return table->field(key);
}

}  // namespace

DescribeContext context_from_options(const Record& options, DescribeContext base) {
  for (const Field& f : options.fields) {
    std::string_view key = f.key;
    if (!key.empty() && key.front() == '~') key.remove_prefix(1);
    if (text::iequals(key, "Language")) {
      if (auto v = text::parse_int(f.value)) base.language = static_cast<int>(*v);
    } else if (text::iequals(key, "DateFmtFunOn")) {
      if (auto v = text::parse_int(f.value)) base.date_fmt_zktime = *v == 1;
    } else if (text::iequals(key, "AccSupportFunList")) {
      base.one_door_authorize = function_supported(text::trim(f.value), kFunOneDoorAuthorize);
    } else if (text::iequals(key, "LockCount")) {
      if (auto v = text::parse_int(f.value); v && *v > 0 && *v <= kMaxDoors) base.door_count = static_cast<int>(*v);
    }
  }
  return base;
}

Json describe_value(std::string_view table, std::string_view key, std::string_view value, const DescribeContext& ctx) {
  if (text::iequals(table, "options")) {
    Record one;
    one.add(key, value);
    Json all = describe_options(one, ctx);
    return all.empty() ? Json() : all.begin().value();
  }
  const TableSpec* spec = find_table(table);
  return describe_field(table, field_spec(spec, key), key, value, nullptr, ctx);
}

Json describe_record(std::string_view table, const Record& record, const DescribeContext& ctx) {
  if (text::iequals(table, "options")) return describe_options(record, ctx);
  const TableSpec* spec = find_table(table);
  Json out = Json::object();
  for (const Field& f : record.fields) {
    std::string name = text::sanitize_utf8(f.key);
    // A repeated key keeps every occurrence: "key", "key#2", ...
    for (int n = 2; out.contains(name); ++n) name = text::sanitize_utf8(f.key) + "#" + std::to_string(n);
    if (!f.has_value) {
      out[name] = nullptr;
      continue;
    }
    out[name] = describe_field(table, field_spec(spec, f.key), f.key, f.value, &record, ctx);
  }
  if (text::iequals(table, "rtstate") && (record.has("sensor") || record.has("relay") || record.has("alarm")))
    out["doors"] = dd::rtstate_doors_json(record.get_or("sensor", ""), record.get_or("relay", ""),
                                          record.get_or("alarm", ""), ctx);
  return out;
}

}  // namespace zkpush::protocol
