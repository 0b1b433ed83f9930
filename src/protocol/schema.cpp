#include "protocol/schema.hpp"

#include "protocol/text.hpp"

namespace zkpush::protocol {

const char* field_type_name(FieldType type) noexcept {
  switch (type) {
    case FieldType::text: return "text";
    case FieldType::integer: return "integer";
    case FieldType::boolean: return "boolean";
    case FieldType::enumerated: return "enumerated";
    case FieldType::hex: return "hex";
    case FieldType::base64: return "base64";
    case FieldType::date8: return "date8";
    case FieldType::zktime: return "zktime";
    case FieldType::zktime_or_date8: return "zktime_or_date8";
    case FieldType::datetime: return "datetime";
    case FieldType::timerange: return "timerange";
    case FieldType::doormask: return "doormask";
    case FieldType::cardno: return "cardno";
    case FieldType::bitmask: return "bitmask";
    case FieldType::verifytype: return "verifytype";
  }
  return "text";
}

namespace {
const FieldSpec* find_in(std::span<const FieldSpec> fields, std::string_view key) noexcept {
  for (const auto& f : fields)
    if (text::iequals(f.name, key)) return &f;
  return nullptr;
}
}  // namespace

const FieldSpec* TableSpec::update_field(std::string_view key) const noexcept { return find_in(update_fields, key); }
const FieldSpec* TableSpec::upload_field(std::string_view key) const noexcept { return find_in(upload_fields, key); }
const FieldSpec* TableSpec::field(std::string_view key) const noexcept {
  if (const FieldSpec* f = update_field(key)) return f;
  return upload_field(key);
}

std::span<const TableSpec> all_tables() noexcept { return detail::table_specs(); }

const TableSpec* find_table(std::string_view name) noexcept {
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  // Exact spelling first: "BioData" (ENROLL_BIO uploads) and "biodata" are different tables.
  for (const auto& t : detail::table_specs())
    if (t.name == name) return &t;
  for (const auto& t : detail::table_specs())
    if (text::iequals(t.name, name)) return &t;
  return nullptr;
}

}  // namespace zkpush::protocol
