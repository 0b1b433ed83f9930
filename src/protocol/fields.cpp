#include "protocol/fields.hpp"

#include <algorithm>

#include "protocol/text.hpp"

namespace zkpush::protocol {

// ---- Record -----------------------------------------------------------------------------------------

const Field* Record::find(std::string_view key) const noexcept {
  for (const auto& f : fields)
    if (text::iequals(f.key, key)) return &f;
  return nullptr;
}

Field* Record::find(std::string_view key) noexcept {
  for (auto& f : fields)
    if (text::iequals(f.key, key)) return &f;
  return nullptr;
}

std::optional<std::string_view> Record::get(std::string_view key) const noexcept {
  if (const Field* f = find(key)) return std::string_view(f->value);
  return std::nullopt;
}

std::string_view Record::get_or(std::string_view key, std::string_view fallback) const noexcept {
  if (const Field* f = find(key)) return f->value;
  return fallback;
}

std::optional<std::int64_t> Record::get_int(std::string_view key) const noexcept {
  if (const Field* f = find(key)) return text::parse_int(f->value);
  return std::nullopt;
}

Record& Record::set(std::string_view key, std::string_view value) {
  if (Field* f = find(key)) {
    f->value = std::string(value);
    f->has_value = true;
  } else {
    fields.push_back(Field{std::string(key), std::string(value), true});
  }
  return *this;
}

Record& Record::add(std::string_view key, std::string_view value) {
  fields.push_back(Field{std::string(key), std::string(value), true});
  return *this;
}

// ---- tab records ------------------------------------------------------------------------------------

namespace {

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '~' || c == '[' || c == ']';
}

Field make_field(std::string_view piece) {
  std::size_t eq = piece.find('=');
  // Keys never carry padding; NUL and CR count as padding too (firmware pads records with them).
  if (eq == std::string_view::npos) return Field{std::string(text::trim_line(piece)), {}, false};
  return Field{std::string(text::trim_line(piece.substr(0, eq))), std::string(piece.substr(eq + 1)), true};
}

// True when `s` begins with "<key>=" where key qualifies under the options.
bool starts_with_key(std::string_view s, const TabRecordOptions& options) {
  // Scan only the run of key characters: searching for '=' over the rest of the line made every
  // space of a long value cost a pass over the remainder (quadratic).
  std::size_t eq = 0;
  while (eq < s.size() && is_key_char(s[eq])) ++eq;
  if (eq == 0 || eq == s.size() || s[eq] != '=') return false;
  std::string_view key = s.substr(0, eq);
  if (!options.known_keys.empty()) {
    for (auto k : options.known_keys)
      if (text::iequals(k, key)) return true;
    return false;
  }
  return options.split_spaces_without_schema;
}

// Splits one HT-separated piece further at spaces that precede a key (see TabRecordOptions).
void split_piece(std::string_view piece, const TabRecordOptions& options, std::vector<Field>& out) {
  bool may_split = !options.known_keys.empty() || options.split_spaces_without_schema;
  if (!may_split || piece.find(' ') == std::string_view::npos) {
    out.push_back(make_field(piece));
    return;
  }
  std::size_t start = 0;
  std::size_t search = piece.find('=');  // never split inside the first key
  if (search == std::string_view::npos) {
    out.push_back(make_field(piece));
    return;
  }
  for (;;) {
    std::size_t sp = piece.find(' ', search);
    while (sp != std::string_view::npos) {
      std::size_t next = sp;
      while (next < piece.size() && piece[next] == ' ') ++next;
      if (next < piece.size() && starts_with_key(piece.substr(next), options)) break;
      sp = piece.find(' ', next);
    }
    if (sp == std::string_view::npos) {
      out.push_back(make_field(piece.substr(start)));
      return;
    }
    out.push_back(make_field(piece.substr(start, sp - start)));
    while (sp < piece.size() && piece[sp] == ' ') ++sp;
    start = sp;
    search = piece.find('=', start);
    if (search == std::string_view::npos) search = piece.size();
  }
}

}  // namespace

Record parse_tab_record(std::string_view line, const TabRecordOptions& options) {
  Record record;
  line = text::trim_line(line);

  // Table word: the leading token before SP when it has no '=' (and no HT).
  if (options.allow_prefix) {
    std::size_t sp = line.find(' ');
    std::size_t ht = line.find('\t');
    std::size_t eq = line.find('=');
    if (sp != std::string_view::npos && (ht == std::string_view::npos || sp < ht) &&
        (eq == std::string_view::npos || sp < eq)) {
      record.prefix = std::string(line.substr(0, sp));
      line = text::trim(line.substr(sp + 1));
    }
  }

  for (std::string_view piece : text::split(line, '\t')) {
    if (text::trim_line(piece).empty()) continue;  // doubled or trailing HT, NUL padding
    split_piece(piece, options, record.fields);
  }

  // "DeviceAuthorizeSN=..." -> prefix "DeviceAuthorize" + "SN=...".
  if (record.prefix.empty() && !options.expected_prefix.empty() && !record.fields.empty()) {
    Field& first = record.fields.front();
    std::string_view rest = std::string_view(first.key).substr(
        std::min(first.key.size(), options.expected_prefix.size()));
    bool rest_is_key = !rest.empty() && std::all_of(rest.begin(), rest.end(), is_key_char);
    if (first.has_value && rest_is_key && text::istarts_with(first.key, options.expected_prefix)) {
      record.prefix = first.key.substr(0, options.expected_prefix.size());
      first.key.erase(0, options.expected_prefix.size());
    }
  }
  return record;
}

std::vector<Record> parse_tab_records(std::string_view body, const TabRecordOptions& options) {
  std::vector<Record> records;
  for (std::string_view line : text::split_lines(body)) records.push_back(parse_tab_record(line, options));
  return records;
}

std::string format_tab_record(const Record& record) {
  std::string out;
  if (!record.prefix.empty()) {
    out += record.prefix;
    out += ' ';
  }
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (i) out += '\t';
    out += record.fields[i].key;
    if (record.fields[i].has_value) {
      out += '=';
      out += record.fields[i].value;
    }
  }
  return out;
}

std::string format_tab_records(const std::vector<Record>& records) {
  std::string out;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i) out += '\n';
    out += format_tab_record(records[i]);
  }
  return out;
}

// ---- comma, ampersand and line lists --------------------------------------------------------------

Record parse_comma_list(std::string_view body) {
  Record record;
  // The list is one line; tolerate a body that was wrapped or ends with CR/LF/NUL.
  std::string joined;
  for (std::string_view line : text::split_lines(body)) {
    if (!joined.empty() && joined.back() != ',') joined += ',';
    joined.append(line);
  }
  for (std::string_view piece : text::split(joined, ',')) {
    std::string_view p = text::trim_line(piece);
    if (p.empty()) continue;
    if (p.find('=') == std::string_view::npos && !record.fields.empty() && record.fields.back().has_value) {
      // "~DeviceName=a,b": a comma inside a value.
      std::string& value = record.fields.back().value;
      value += ',';
      value.append(piece);
      value = std::string(text::trim_line(value));
      continue;
    }
    Field f = make_field(p);
    f.value = std::string(text::trim_line(f.value));
    record.fields.push_back(std::move(f));
  }
  return record;
}

std::string format_comma_list(const Record& record) {
  std::string out;
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (i) out += ',';
    out += record.fields[i].key;
    if (record.fields[i].has_value) {
      out += '=';
      out += record.fields[i].value;
    }
  }
  return out;
}

Record parse_amp_list(std::string_view body) {
  Record record;
  for (std::string_view piece : text::split(text::trim_line(body), '&')) {
    if (text::trim_line(piece).empty()) continue;
    Field f = make_field(piece);
    f.value = std::string(text::trim_line(f.value));
    record.fields.push_back(std::move(f));
  }
  return record;
}

std::string format_amp_list(const Record& record) {
  std::string out;
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    if (i) out += '&';
    out += record.fields[i].key;
    if (record.fields[i].has_value) {
      out += '=';
      out += record.fields[i].value;
    }
  }
  return out;
}

Record parse_line_list(std::string_view body) {
  Record record;
  for (std::string_view line : text::split_lines(body)) {
    Field f = make_field(text::trim_line(line));
    record.fields.push_back(std::move(f));
  }
  return record;
}

std::string format_line_list(const Record& record) {
  std::string out;
  for (const Field& f : record.fields) {
    out += f.key;
    if (f.has_value) {
      out += '=';
      out += f.value;
    }
    out += '\n';
  }
  return out;
}

// ---- query strings ----------------------------------------------------------------------------------

Record parse_query(std::string_view query) {
  Record record;
  for (std::string_view piece : text::split(query, '&')) {
    if (piece.empty()) continue;
    std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      record.fields.push_back(Field{text::percent_decode(piece), {}, false});
    } else {
      record.fields.push_back(
          Field{text::percent_decode(piece.substr(0, eq)), text::percent_decode(piece.substr(eq + 1)), true});
    }
  }
  return record;
}

std::string format_query(const Record& query) {
  std::string out;
  for (std::size_t i = 0; i < query.fields.size(); ++i) {
    if (i) out += '&';
    out += text::percent_encode(query.fields[i].key);
    if (query.fields[i].has_value) {
      out += '=';
      out += text::percent_encode(query.fields[i].value);
    }
  }
  return out;
}

Target parse_target(std::string_view target) {
  Target t;
  std::size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) t.query = parse_query(target.substr(q + 1));
  return t;
}

std::string format_target(const Target& target) {
  std::string out = target.path;
  if (!target.query.empty()) {
    out += '?';
    out += format_query(target.query);
  }
  return out;
}

}  // namespace zkpush::protocol
