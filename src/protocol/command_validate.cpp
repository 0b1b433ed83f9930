// The catalogue's rules for each command, shared by validate_command() and the builders.
#include <algorithm>
#include <string>

#include "protocol/commands.hpp"
#include "protocol/commands_internal.hpp"
#include "protocol/text.hpp"

namespace zkpush::protocol {

namespace detail {

namespace {
bool equal_ignoring_underscores(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && a[i] == '_') ++i;
    while (j < b.size() && b[j] == '_') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (!text::iequals(a.substr(i, 1), b.substr(j, 1))) return false;
    ++i;
    ++j;
  }
}
}  // namespace

const FieldSpec* match_field(std::span<const FieldSpec> fields, std::string_view key) noexcept {
  for (const auto& f : fields)
    if (text::iequals(f.name, key)) return &f;
  for (const auto& f : fields)
    if (equal_ignoring_underscores(f.name, key)) return &f;
  return nullptr;
}

Status check_round_trip(const Command& command) {
  std::string wire = format_command(command);
  auto back = parse_command(wire);
  if (!back) return make_error(Errc::bad_value, "the command would not parse back: " + back.error().what, "command " + command.id);
  if (back.value() != command)
    return make_error(Errc::bad_value,
                      "a value would be read back differently (leading/trailing space, ' Key=' or ',' inside it?)",
                      "command " + command.id);
  return Ok{};
}

}  // namespace detail

const FieldSpec* match_update_field(const TableSpec& table, std::string_view key) noexcept {
  return detail::match_field(table.update_fields, key);
}

namespace {

Error bad(Errc code, std::string what, std::string where) { return make_error(code, std::move(what), std::move(where)); }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hex(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool is_base64_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
  });
}

// A value of a command's record: HT and LF would add a field or a line, CR and NUL cut it short on
// some firmware, and the other control characters (ESC, DEL...) have no meaning in any field of the
// catalogue. All of them are refused.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

constexpr const char* kControlInValue = "value contains a control character (HT, LF, CR, NUL, ESC, DEL...)";

std::optional<std::int64_t> int_of(std::string_view s) {
  if (!all_digits(s)) return std::nullopt;
  return text::parse_int(s);
}

// Value syntax by field type; an empty value is always allowed (the manual sends "CardNo=").
Status check_value(const FieldSpec& spec, std::string_view value, const std::string& where) {
  if (has_control(value)) return bad(Errc::bad_value, kControlInValue, where);
  if (value.empty()) return Ok{};
  auto need = [&](bool ok, const char* what) -> Status {
    if (ok) return Ok{};
    return bad(Errc::bad_value, std::string(spec.name) + " must be " + what + ", got '" + std::string(value.substr(0, 40)) + "'", where);
  };
  switch (spec.type) {
    case FieldType::integer:
      return need(all_digits(value.front() == '-' ? value.substr(1) : value), "a decimal integer");
    case FieldType::boolean:
      return need(value == "0" || value == "1", "0 or 1");
    case FieldType::enumerated:
    case FieldType::zktime:
    case FieldType::zktime_or_date8:
    case FieldType::timerange:
    case FieldType::doormask:
    case FieldType::bitmask:
    case FieldType::verifytype:
      return need(all_digits(value), "decimal digits");
    case FieldType::date8:
      return need(all_digits(value) && value.size() == 8, "a YYYYMMDD date");
    case FieldType::hex:
      return need(is_hex(value), "hexadecimal digits");
    case FieldType::cardno:
      return need(all_digits(value) || (value.size() > 2 && value.front() == '[' && value.back() == ']' &&
                                        is_hex(value.substr(1, value.size() - 2))),
                  "a decimal card number or [hex bytes]");
    case FieldType::base64:
      return need(is_base64_text(value), "base64 text");
    case FieldType::text:
    case FieldType::datetime:
      return Ok{};
  }
  return Ok{};
}

// The few value ranges the manual states firmly enough to refuse anything else.
Status check_range(const TableSpec& table, const FieldSpec& spec, std::string_view value, const std::string& where) {
  if (value.empty()) return Ok{};
  auto within = [&](std::int64_t lo, std::int64_t hi) -> Status {
    auto n = int_of(value);
    if (n && *n >= lo && *n <= hi) return Ok{};
    return bad(Errc::bad_value, std::string(table.name) + "." + std::string(spec.name) + " must be " + std::to_string(lo) +
                                    ".." + std::to_string(hi),
               where);
  };
  std::string_view t = table.name, f = spec.name;
  if (t == "templatev10" && f == "FingerID") return within(0, 9);
  if (t == "templatev10" && f == "Valid") {
    if (value == "0" || value == "1" || value == "3") return Ok{};
    return bad(Errc::bad_value, "templatev10.Valid must be 0, 1 or 3 (duress)", where);
  }
  if (t == "biodata" && f == "Type") return within(0, 10);
  if (t == "biophoto" && f == "Type") return within(0, 9);
  if (t == "DeviceAuthorize" && f == "IsAuthorize") return within(1, 2);
  return Ok{};
}

std::string field_where(std::size_t record, std::string_view key) {
  return "record " + std::to_string(record + 1) + " field '" + std::string(key) + "'";
}

// Checks one update record and returns, per field, the schema entry it maps to.
Status check_update_record(const TableSpec& table, const Record& record, std::size_t index) {
  if (record.empty()) return bad(Errc::incomplete, "empty record", "record " + std::to_string(index + 1));
  std::vector<const FieldSpec*> used;
  for (const Field& f : record.fields) {
    const std::string where = field_where(index, f.key);
    if (!f.has_value) return bad(Errc::malformed, "'" + f.key + "' has no '='", where);
    const FieldSpec* spec = match_update_field(table, f.key);
    if (!spec) return bad(Errc::unsupported, "table " + std::string(table.name) + " has no field '" + f.key + "'", where);
    if (std::find(used.begin(), used.end(), spec) != used.end())
      return bad(Errc::bad_value, "field given twice", where);
    used.push_back(spec);
    if (auto st = check_value(*spec, f.value, where); !st) return st;
    if (auto st = check_range(table, *spec, f.value, where); !st) return st;
  }
  for (std::string_view key : table.key_fields) {
    const FieldSpec* spec = match_update_field(table, key);
    if (spec && std::find(used.begin(), used.end(), spec) == used.end())
      return bad(Errc::incomplete, "table " + std::string(table.name) + " needs its key field " + std::string(key),
                 "record " + std::to_string(index + 1));
  }
  return Ok{};
}

// Condition / filter fields: update or upload spelling of the table, plus `extra` names.
const FieldSpec* condition_field(const TableSpec& table, std::string_view key) {
  if (const FieldSpec* f = detail::match_field(table.update_fields, key)) return f;
  return detail::match_field(table.upload_fields, key);
}

bool is_bio_table(const TableSpec& t) { return t.name == "biodata" || t.name == "biophoto"; }

// `bio_type_first`: COUNT and QUERY of biodata/biophoto name the biometric type (3.1, 9.1.3/9.1.4).
Status check_conditions(const TableSpec& table, const Record& conditions, std::string_view what, bool bio_type_first,
                        std::span<const std::string_view> extra = {}) {
  for (const Field& f : conditions.fields) {
    const std::string where = std::string(what) + " condition '" + f.key + "'";
    if (!f.has_value) return bad(Errc::malformed, "condition without '='", where);
    if (has_control(f.value)) return bad(Errc::bad_value, kControlInValue, where);
    bool is_extra = std::any_of(extra.begin(), extra.end(), [&](std::string_view e) { return text::iequals(e, f.key); });
    if (is_extra) continue;
    const FieldSpec* spec = condition_field(table, f.key);
    if (!spec) return bad(Errc::unsupported, "table " + std::string(table.name) + " has no field '" + f.key + "'", where);
    if (auto st = check_value(*spec, f.value, where); !st) return st;
    if (auto st = check_range(table, *spec, f.value, where); !st) return st;
  }
  if (const Field* dup = [&]() -> const Field* {
        for (std::size_t i = 0; i < conditions.fields.size(); ++i)
          for (std::size_t j = 0; j < i; ++j)
            if (text::iequals(conditions.fields[i].key, conditions.fields[j].key)) return &conditions.fields[i];
        return nullptr;
      }())
    return bad(Errc::bad_value, "condition given twice", std::string(what) + " condition '" + dup->key + "'");
  if (bio_type_first && is_bio_table(table) && !conditions.empty() && !conditions.has("Type"))
    return bad(Errc::incomplete, std::string(table.name) + " conditions must include Type", std::string(what));
  return Ok{};
}

// Key sets of the documented delete conditions ("Pin=x${HT}FingerID=y" -> {Pin, FingerID}).
std::vector<std::vector<std::string>> delete_key_sets(const TableSpec& table, bool& star_allowed) {
  std::vector<std::vector<std::string>> sets;
  star_allowed = false;
  for (std::string_view cond : table.delete_conditions) {
    if (text::trim(cond) == "*") {
      star_allowed = true;
      continue;
    }
    std::vector<std::string> keys;
    std::size_t pos = 0;
    for (;;) {
      std::size_t eq = cond.find('=', pos);
      if (eq == std::string_view::npos) break;
      keys.emplace_back(text::trim(cond.substr(pos, eq - pos)));
      std::size_t next = cond.find("${HT}", eq);
      if (next == std::string_view::npos) break;
      pos = next + 5;
    }
    if (!keys.empty()) sets.push_back(std::move(keys));
  }
  // The biodata syntax makes No optional after Type and Pin (decision 31).
  if (table.name == "biodata") sets.push_back({"Type", "Pin"});
  return sets;
}

Status check_delete(const TableSpec& table, const DataDelete& d) {
  if (!table.supports(op_delete))
    return bad(Errc::unsupported, "table " + std::string(table.name) + " has no documented DATA DELETE", "table");
  bool star = false;
  auto sets = delete_key_sets(table, star);
  if (d.all) {
    if (!star) return bad(Errc::unsupported, "table " + std::string(table.name) + " cannot be cleared with '*'", "table");
    return Ok{};
  }
  if (d.conditions.empty()) return bad(Errc::incomplete, "DATA DELETE needs a condition or '*'", "conditions");
  if (auto st = check_conditions(table, d.conditions, "DATA DELETE", false); !st) return st;
  for (const auto& set : sets) {
    if (set.size() != d.conditions.size()) continue;
    bool match = std::all_of(set.begin(), set.end(), [&](const std::string& k) {
      return std::any_of(d.conditions.fields.begin(), d.conditions.fields.end(), [&](const Field& f) {
        const FieldSpec* a = condition_field(table, f.key);
        const FieldSpec* b = condition_field(table, k);
        return a && a == b;
      });
    });
    if (match) return Ok{};
  }
  std::string allowed;
  for (std::string_view cond : table.delete_conditions) allowed += (allowed.empty() ? "" : " | ") + std::string(cond);
  return bad(Errc::unsupported, "not a documented delete condition of " + std::string(table.name) + " (" + allowed + ")",
             "conditions");
}

bool is_datetime(std::string_view s) {
  if (s.size() != 19) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (i == 4 || i == 7) ? c == '-' : i == 10 ? c == ' ' : (i == 13 || i == 16) ? c == ':' : (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool clean_token(std::string_view s, std::string_view forbidden) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7F || forbidden.find(c) != std::string_view::npos) return false;
  }
  return true;
}

Status check_test_host(const TestHost& t) {
  std::size_t colon = t.address.rfind(':');
  if (colon == std::string::npos || colon == 0 || !clean_token(t.address, ","))
    return bad(Errc::bad_value, "Test Host address must be <host>:<port>", "Address");
  auto port = int_of(std::string_view(t.address).substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return bad(Errc::bad_value, "Test Host port must be 1..65535", "Address");
  return Ok{};
}

Status check_upgrade(const Upgrade& u) {
  if (u.method < 1 || u.method > 3) return bad(Errc::bad_value, "UPGRADE method must be 1, 2 or 3", "UPGRADE");
  if (u.checksum.size() != 32 || !is_hex(u.checksum))
    return bad(Errc::bad_value, "UPGRADE checksum must be an MD5 (32 hex digits)", "checksum");
  if (!clean_token(u.url, ","))
    return bad(Errc::bad_value, "UPGRADE url must be non-empty, without spaces, commas or control bytes", "url");
  bool absolute = text::istarts_with(u.url, "http://") || text::istarts_with(u.url, "https://");
  if (u.method != 3 && !absolute)
    return bad(Errc::bad_value, "UPGRADE methods 1 and 2 need an absolute http(s) url", "url");
  if (u.size == 0) return bad(Errc::bad_value, "UPGRADE size must be > 0", "size");
  // The manual defines type=1 (the firmware) only; other numbers name the resource files some
  // firmware fetches the same way (decision 21), so a number is taken and passed on as it is.
  if (u.method == 2 && (u.type.empty() || u.type.size() > 3 ||
                        !std::all_of(u.type.begin(), u.type.end(), [](char c) { return c >= '0' && c <= '9'; })))
    return bad(Errc::bad_value, "UPGRADE method 2 type is a number (1: the firmware)", "type");
  if (u.method != 2 && u.type != "1") return bad(Errc::bad_value, "type= belongs to UPGRADE method 2", "type");
  if (u.support_subcontracting && (u.method != 3 || *u.support_subcontracting < 0 || *u.support_subcontracting > 1))
    return bad(Errc::bad_value, "supportsubcontracting is 0 or 1 and belongs to UPGRADE method 3", "supportsubcontracting");
  return Ok{};
}

Status check_option_record(const Record& r, std::string_view verb) {
  if (r.empty()) return bad(Errc::incomplete, std::string(verb) + " needs at least one key=value", std::string(verb));
  for (const Field& f : r.fields) {
    const std::string where = std::string(verb) + " key '" + f.key + "'";
    if (!f.has_value) return bad(Errc::malformed, "key without '='", where);
    if (!clean_token(f.key, ",=")) return bad(Errc::bad_value, "option key must be a non-empty word", where);
    if (has_control(f.value)) return bad(Errc::bad_value, kControlInValue, where);
  }
  return Ok{};
}

Status check_adscreen(const Record& r) {
  if (auto st = check_option_record(r, "SET ADSCREEN_OPTIONS"); !st) return st;
  static constexpr std::string_view kKeys[] = {"InOut", "Area", "Type", "Range", "URL", "InPlayInterval", "OutPlayInterval"};
  for (const Field& f : r.fields)
    if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](std::string_view k) { return text::iequals(k, f.key); }))
      return bad(Errc::unsupported, "SET ADSCREEN_OPTIONS has no key '" + f.key + "'", "SET ADSCREEN_OPTIONS");
  for (std::string_view k : {"InOut", "Area", "Type", "URL"})
    if (!r.has(k)) return bad(Errc::incomplete, "SET ADSCREEN_OPTIONS needs " + std::string(k), "SET ADSCREEN_OPTIONS");
  auto in = [&](std::string_view key, std::int64_t lo, std::int64_t hi) -> Status {
    auto v = r.get(key);
    if (!v) return Ok{};
    auto n = int_of(*v);
    if (!n || *n < lo || *n > hi)
      return bad(Errc::bad_value, std::string(key) + " must be " + std::to_string(lo) + ".." + std::to_string(hi),
                 "SET ADSCREEN_OPTIONS");
    return Ok{};
  };
  if (auto st = in("InOut", 0, 1); !st) return st;
  if (auto st = in("Type", 0, 3); !st) return st;
  if (auto st = in("Area", 1, 255); !st) return st;
  if (auto st = in("InPlayInterval", 0, 86400); !st) return st;
  return in("OutPlayInterval", 0, 86400);
}

Status check_enroll(const Record& r, bool bio) {
  const char* verb = bio ? "ENROLL_BIO" : "ENROLL_INFO";
  static constexpr std::string_view kInfo[] = {"TYPE", "PIN", "RETRY", "MODE"};
  static constexpr std::string_view kBio[] = {"TYPE", "NO", "PIN", "RETRY", "OVERWRITE", "MODE"};
  std::span<const std::string_view> keys = bio ? std::span<const std::string_view>(kBio) : std::span<const std::string_view>(kInfo);
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    const Field& f = r.fields[i];
    if (std::none_of(keys.begin(), keys.end(), [&](std::string_view k) { return text::iequals(k, f.key); }) || !f.has_value)
      return bad(Errc::unsupported, std::string(verb) + " has no parameter '" + f.key + "'", verb);
    for (std::size_t j = 0; j < i; ++j)
      if (text::iequals(r.fields[j].key, f.key)) return bad(Errc::bad_value, f.key + " given twice", verb);
  }
  auto pin = r.get("PIN");
  if (!pin || !clean_token(*pin, ""))
    return bad(Errc::incomplete, std::string(verb) + " needs a PIN without spaces", verb);
  auto in = [&](std::string_view key, std::int64_t lo, std::int64_t hi, bool required) -> Status {
    auto v = r.get(key);
    if (!v) {
      if (required) return bad(Errc::incomplete, std::string(verb) + " needs " + std::string(key), verb);
      return Ok{};
    }
    auto n = int_of(*v);
    if (!n || *n < lo || *n > hi)
      return bad(Errc::bad_value, std::string(key) + " must be " + std::to_string(lo) + ".." + std::to_string(hi), verb);
    return Ok{};
  };
  if (auto st = in("MODE", 0, 1, false); !st) return st;
  if (auto st = in("RETRY", 0, 255, false); !st) return st;
  if (!bio) return in("TYPE", 0, 0, false);
  if (auto st = in("TYPE", 0, 9, true); !st) return st;
  if (auto st = in("OVERWRITE", 0, 1, false); !st) return st;
  // Fingers and finger veins count 0..9, the other biometrics 0 (face) or 0/1 (left/right).
  std::int64_t type = *int_of(*r.get("TYPE"));
  return in("NO", 0, (type == 1 || type == 7) ? 9 : 1, false);
}

Status check_query(const TableSpec& table, const DataQuery& q) {
  if (!table.supports(op_query))
    return bad(Errc::unsupported, "table " + std::string(table.name) + " has no documented DATA QUERY", "tablename");
  if (q.fielddesc != "*" && !condition_field(table, q.fielddesc))
    return bad(Errc::unsupported, "fielddesc must be '*' or a field of " + std::string(table.name), "fielddesc");
  if (q.filter.empty()) {
    if (q.filter_text == "*") return Ok{};
    if (table.name == "transaction" && text::iequals(q.filter_text, "NewRecord")) return Ok{};
    return bad(Errc::bad_value, "filter must be '*', conditions, or NewRecord (transaction)", "filter");
  }
  static constexpr std::string_view kTimeKeys[] = {"starttime", "endtime"};
  std::span<const std::string_view> extra;
  if (table.name == "transaction") extra = kTimeKeys;
  if (auto st = check_conditions(table, q.filter, "DATA QUERY", true, extra); !st) return st;
  if (table.name == "transaction" && q.filter.has("starttime") != q.filter.has("endtime"))
    return bad(Errc::incomplete, "starttime and endtime go together", "filter");
  return Ok{};
}

Status check_body(const Command& c) {
  return std::visit(
      detail::overloaded{
          [&](const DataUpdate& d) -> Status {
            const TableSpec* table = effective_table(c);
            if (!table) return bad(Errc::unsupported, "unknown table '" + d.table + "'", "table");
            if (!table->supports(op_update))
              return bad(Errc::unsupported, "table " + std::string(table->name) + " has no DATA UPDATE", "table");
            if (d.records.empty()) return bad(Errc::incomplete, "DATA UPDATE without a record", "table");
            for (std::size_t i = 0; i < d.records.size(); ++i)
              if (auto st = check_update_record(*table, d.records[i], i); !st) return st;
            if (table->name == "biodata") {
              // One biodata command carries one biometric type (9.1.1).
              for (const Record& r : d.records)
                if (!text::iequals(r.get_or("Type", ""), d.records.front().get_or("Type", "")))
                  return bad(Errc::bad_value, "all biodata records of one command must share Type", "Type");
            }
            return Ok{};
          },
          [&](const DataDelete& d) -> Status {
            const TableSpec* table = effective_table(c);
            if (!table) return bad(Errc::unsupported, "unknown table '" + d.table + "'", "table");
            return check_delete(*table, d);
          },
          [&](const DataCount& d) -> Status {
            const TableSpec* table = find_table(d.table);
            if (!table) return bad(Errc::unsupported, "unknown table '" + d.table + "'", "table");
            if (!table->supports(op_count))
              return bad(Errc::unsupported, "table " + std::string(table->name) + " has no documented DATA COUNT", "table");
            if (d.all && !d.conditions.empty()) return bad(Errc::malformed, "'*' together with conditions", "conditions");
            return check_conditions(*table, d.conditions, "DATA COUNT", true);
          },
          [&](const DataQuery& q) -> Status {
            const TableSpec* table = find_table(q.table);
            if (!table) return bad(Errc::unsupported, "unknown table '" + q.table + "'", "tablename");
            return check_query(*table, q);
          },
          [&](const AccountCommand& a) -> Status {
            if (!text::iequals(a.table, "transaction"))
              return bad(Errc::unsupported, "ACCOUNT works on table transaction only", "table");
            if (a.form == AccountForm::pullsdk && !text::iequals(a.content_type, "tgz"))
              return bad(Errc::bad_value, "ACCOUNT ContentType must be tgz", "ContentType");
            if (a.form == AccountForm::index_range && a.start_index > a.end_index)
              return bad(Errc::bad_value, "StartIndex is after EndIndex", "StartIndex");
            if (a.form == AccountForm::time_range) {
              if (!is_datetime(a.start_time) || !is_datetime(a.end_time))
                return bad(Errc::bad_value, "ACCOUNT times must be YYYY-MM-DD HH:MM:SS", "StartTime");
              if (a.start_time > a.end_time) return bad(Errc::bad_value, "StartTime is after EndTime", "StartTime");
            }
            return Ok{};
          },
          [&](const TestHost& t) { return check_test_host(t); },
          [&](const ControlDevice& cd) { return validate_control_device(cd); },
          [&](const Upgrade& u) { return check_upgrade(u); },
          [&](const SetOptions& s) -> Status {
            if (auto st = check_option_record(s.options, "SET OPTIONS"); !st) return st;
            return Ok{};
          },
          [&](const GetOptions& g) -> Status {
            if (g.keys.empty()) return bad(Errc::incomplete, "GET OPTIONS needs at least one key", "GET OPTIONS");
            for (const auto& k : g.keys)
              if (!clean_token(k, ",="))
                return bad(Errc::bad_value, "GET OPTIONS key must be a non-empty word", "key '" + k + "'");
            return Ok{};
          },
          [&](const SetAdscreenOptions& s) { return check_adscreen(s.options); },
          [&](const EnrollInfo& e) { return check_enroll(e.params, false); },
          [&](const EnrollBio& e) { return check_enroll(e.params, true); },
          [&](const UnknownCommand& u) -> Status {
            return bad(Errc::unsupported, "unknown verb '" + u.verb + "'", "verb");
          },
      },
      c.body);
}

// True when every key of `record` is a field of `table` (the test behind the misnamed examples).
bool fits(const TableSpec& table, const Record& record, bool update) {
  if (record.empty()) return false;
  for (const Field& f : record.fields) {
    const FieldSpec* spec = update ? match_update_field(table, f.key) : condition_field(table, f.key);
    if (!spec) return false;
  }
  return true;
}

}  // namespace

const TableSpec* effective_table(const Command& command) {
  if (const auto* d = std::get_if<DataDelete>(&command.body)) {
    const TableSpec* named = find_table(d->table);
    // Decision 26: the manual deletes reader Wiegand settings with table name WGFormat.
    if (named && named->name == "WGFormat" && !d->all && !fits(*named, d->conditions, false)) {
      const TableSpec* reader = find_table("ReaderWGFormat");
      if (reader && fits(*reader, d->conditions, false)) return reader;
    }
    return named;
  }
  if (const auto* d = std::get_if<DataUpdate>(&command.body)) {
    if (d->table.empty()) {
      // No table word (decision 26): the one table with DATA UPDATE whose fields cover every
      // record, or none when that is ambiguous.
      const TableSpec* only = nullptr;
      for (const TableSpec& t : all_tables()) {
        if (!t.supports(op_update) || d->records.empty()) continue;
        if (!std::all_of(d->records.begin(), d->records.end(), [&](const Record& r) { return fits(t, r, true); }))
          continue;
        if (only) return nullptr;
        only = &t;
      }
      return only;
    }
    const TableSpec* named = find_table(d->table);
    // Decision 26: the elevator privilege example is printed with table name biodata.
    if (named && named->name == "biodata" && !d->records.empty() && !fits(*named, d->records.front(), true)) {
      const TableSpec* floors = find_table("userleauthorize");
      if (floors && std::all_of(d->records.begin(), d->records.end(), [&](const Record& r) { return fits(*floors, r, true); }))
        return floors;
    }
    return named;
  }
  if (const auto* d = std::get_if<DataCount>(&command.body)) return find_table(d->table);
  if (const auto* d = std::get_if<DataQuery>(&command.body)) return find_table(d->table);
  if (const auto* a = std::get_if<AccountCommand>(&command.body)) return find_table(a->table);
  return nullptr;
}

Status validate_command(const Command& command) {
  if (command.id.empty() || command.id.size() > 20 || !all_digits(command.id))
    return bad(Errc::bad_value, "command id must be a decimal number", "id '" + command.id + "'");
  return check_body(command);
}

}  // namespace zkpush::protocol
