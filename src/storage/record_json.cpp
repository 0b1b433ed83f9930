#include "storage/record_json.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "protocol/text.hpp"

namespace zkpush::storage {

namespace {

using nlohmann::json;

json text_value(const std::string& s) {
  if (protocol::text::is_valid_utf8(s)) return s;
  // nlohmann::json refuses to write invalid UTF-8; hex keeps every byte.
  return json{{"hex", protocol::text::to_hex(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())}};
}

std::string text_from(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("hex") && j["hex"].is_string()) {
    auto bytes = protocol::text::parse_hex_bytes(j["hex"].get<std::string>());
    if (!bytes) throw std::runtime_error("stored record: bad hex string");
    return std::string(bytes->begin(), bytes->end());
  }
  throw std::runtime_error("stored record: a field is neither a string nor {\"hex\"}");
}

}  // namespace

std::string record_to_json(const protocol::Record& record) {
  json fields = json::array();
  for (const auto& f : record.fields) {
    json pair = json::array({text_value(f.key)});
    if (f.has_value) pair.push_back(text_value(f.value));
    fields.push_back(std::move(pair));
  }
  if (record.prefix.empty()) return fields.dump();
  return json{{"prefix", text_value(record.prefix)}, {"fields", std::move(fields)}}.dump();
}

protocol::Record record_from_json(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw std::runtime_error("stored record: not JSON");
  protocol::Record record;
  const json* fields = &j;
  if (j.is_object()) {
    if (!j.contains("prefix") || !j.contains("fields")) throw std::runtime_error("stored record: unknown object");
    record.prefix = text_from(j["prefix"]);
    fields = &j["fields"];
  }
  if (!fields->is_array()) throw std::runtime_error("stored record: not a JSON array");
  record.fields.reserve(fields->size());
  for (const json& f : *fields) {
    if (!f.is_array() || f.empty() || f.size() > 2) throw std::runtime_error("stored record: bad field");
    protocol::Field field;
    field.key = text_from(f[0]);
    field.has_value = f.size() == 2;
    if (field.has_value) field.value = text_from(f[1]);
    record.fields.push_back(std::move(field));
  }
  return record;
}

}  // namespace zkpush::storage
