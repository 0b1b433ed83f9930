// Records of key=value fields: the unit of almost every PUSH body.
//
// One model serves all the separators the protocol uses:
//   tab records      [prefix SP] k=v HT k=v ...      tabledata uploads, rtlog, DATA UPDATE records
//   comma lists      k=v,k=v ...                     registry, options, SET OPTIONS
//   ampersand lists  k=v&k=v ...                     devicecmd results, query strings
//   line lists       k=v LF k=v ...                  init and push-config answers, ACCOUNT overview
// A Record keeps fields in wire order with keys exactly as sent; lookups ignore case because
// firmware and the manual disagree on it (Return/return, TimeZoneId/TimezoneId...).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace zkpush::protocol {

struct Field {
  std::string key;
  std::string value;
  // False for a bare token without '=' (ACCOUNT results carry "&transaction&"; GET OPTIONS lists
  // keys only). Formatting writes such a field as the key alone.
  bool has_value = true;

  bool operator==(const Field&) const = default;
};

class Record {
 public:
  Record() = default;
  Record(std::initializer_list<Field> fields) : fields(fields) {}

  // The table word before the first field ("user", "templatev10"...); empty when the record has none.
  std::string prefix;
  std::vector<Field> fields;

  // Case-insensitive lookups; the first matching field wins.
  const Field* find(std::string_view key) const noexcept;
  Field* find(std::string_view key) noexcept;
  std::optional<std::string_view> get(std::string_view key) const noexcept;
  std::string_view get_or(std::string_view key, std::string_view fallback) const noexcept;
  std::optional<std::int64_t> get_int(std::string_view key) const noexcept;
  bool has(std::string_view key) const noexcept { return find(key) != nullptr; }

  // Replaces the value of an existing key (any case) or appends the field.
  Record& set(std::string_view key, std::string_view value);
  Record& add(std::string_view key, std::string_view value);  // appends even if present
  bool empty() const noexcept { return fields.empty(); }
  std::size_t size() const noexcept { return fields.size(); }

  bool operator==(const Record&) const = default;
};

// ---- tab records ------------------------------------------------------------------------------------

struct TabRecordOptions {
  // A leading word followed by SP whose text has no '=' is taken as the table word (prefix).
  bool allow_prefix = true;
  // Keys of the record's table, if known. Real firmware (and the PDF manual) sometimes puts spaces
  // where the grammar has HT; a space followed by "<known key>=" then also separates two fields,
  // while spaces inside values ("time=2017-01-10 11:49:32", "Name=Zhang San") are kept.
  std::span<const std::string_view> known_keys = {};
  // Without known keys, split on a space followed by any identifier and '='. Off by default:
  // values such as "Tmp=..." may legitimately contain " x=" sequences only in pathological cases,
  // but a caller that has no schema should opt in knowingly.
  bool split_spaces_without_schema = false;
  // The expected table word. Firmware has been seen gluing it to the first key
  // ("DeviceAuthorizeSN=..."); when set, such a glued prefix is separated.
  std::string_view expected_prefix = {};
};

Record parse_tab_record(std::string_view line, const TabRecordOptions& options = {});
// Splits on LF (dropping CR/NUL terminators and blank lines) and parses each line.
std::vector<Record> parse_tab_records(std::string_view body, const TabRecordOptions& options = {});
// "prefix SP k=v HT k=v" (no prefix and no SP when the record has none).
std::string format_tab_record(const Record& record);
// Records joined by LF, without a trailing LF.
std::string format_tab_records(const std::vector<Record>& records);

// ---- comma, ampersand and line lists --------------------------------------------------------------

// "k=v,k=v". Spaces around keys are trimmed (the manual writes ", " in places); a piece without
// '=' after the first is glued back to the previous value with its comma, so values containing a
// comma survive. Keys keep their '~'.
Record parse_comma_list(std::string_view text);
std::string format_comma_list(const Record& record);  // no trailing comma, no spaces

// "k=v&k=v" (devicecmd results). Bare tokens become fields with has_value=false.
Record parse_amp_list(std::string_view text);
std::string format_amp_list(const Record& record);

// One "k=v" per line (init/push-config answers, ACCOUNT overview). Lines without '=' are kept as
// bare fields.
Record parse_line_list(std::string_view text);
std::string format_line_list(const Record& record);  // LF after every line

// ---- query strings ----------------------------------------------------------------------------------

// "SN=1&table=rtlog": percent-decoded values, keys as sent, order kept.
Record parse_query(std::string_view query);
std::string format_query(const Record& query);

// Splits "/iclock/cdata?SN=1" into path and query.
struct Target {
  std::string path;
  Record query;
};
Target parse_target(std::string_view target);
std::string format_target(const Target& target);

}  // namespace zkpush::protocol
